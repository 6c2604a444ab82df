/// What the recurrent kinds share: how an input is read as a sequence x_1..x_T of F features (a [T; F] input
/// step by step; an image [C; H; W] row by row, T = H steps of C·W values, the channels' rows side by side),
/// the time-major buffers they compute in ([F × T·B], step t's B columns at t·B), and what they hand on:
/// the last state h_T [H] or every state [T; H] (PyTorch's batch_first output, one example's states in a row).
module Functional.Layers.Sequence

open System
open System.Numerics.Tensors
open Functional.Layers.Layer

type View =
    {
        Steps: int
        Features: int
        Channels: int
        /// Values of one channel's row: Features = Channels · Width.
        Width: int
    }

/// The sequence an input shape is read as, or why it cannot be read as one.
let view (keyword: string) (input: Shape) : Result<View, string> =
    match input with
    | [| t; f |] ->
        Ok
            {
                Steps = t
                Features = f
                Channels = 1
                Width = f
            }
    | [| c; h; w |] ->
        Ok
            {
                Steps = h
                Features = c * w
                Channels = c
                Width = w
            }
    | _ ->
        Error(
            sprintf
                "%s reads a sequence, a TxF input ('input 28x28') or an image row by row, but gets %s"
                keyword
                (Shape.text input)
        )

/// The recurrent weights' starting values: PyTorch's U(±1/√H) for every tensor, orthogonal W_hh blocks, or
/// the IRNN's identity W_hh with zero biases.
type RecurrentInit =
    | DefaultInit
    | OrthogonalInit
    | IdentityInit

module RecurrentInit =
    let word =
        function
        | DefaultInit -> ""
        | OrthogonalInit -> " orthogonal"
        | IdentityInit -> " identity"

    /// How W_hh starts (a = 1/√H is the uniform bound of the other tensors).
    let recurrentFill (a: float) =
        function
        | DefaultInit -> Fill.Uniform a
        | OrthogonalInit -> Fill.Orthogonal
        | IdentityInit -> Fill.Identity

/// What the doctor reads from a recurrent kernel after a forward and backward pass.
type IRecurrent =
    /// ‖∂L/∂h_t‖ over the batch for t = 1..T, from the last Backward: vanishing when it shrinks towards t = 1,
    /// exploding when it grows.
    abstract StepGradients: float[]
    /// The fraction of the layer's nonlinear units (tanh states; an LSTM's gate units) whose derivative,
    /// averaged over the last Forward's steps and examples, is below Activation.saturationThreshold.
    abstract Saturated: unit -> float

/// The fraction of `units` rows of blocks [rows × n] (unit u of column c at c·rows + offset + u) whose mean
/// derivative d(value) over the n columns is below the saturation threshold.
let saturatedUnits<'T when 'T :> Numerics.IFloatingPointIeee754<'T>>
    (values: 'T[])
    (rows: int)
    (offset: int)
    (units: int)
    (n: int)
    (d: float -> float)
    =
    let sums = Array.zeroCreate units

    for c in 0 .. n - 1 do
        for u in 0 .. units - 1 do
            sums[u] <- sums[u] + d (Double.CreateTruncating values[c * rows + offset + u])

    let threshold = Functional.Activations.Activation.saturationThreshold
    float (sums |> Array.filter (fun s -> s / float (max n 1) < threshold) |> Array.length)

/// ‖the first n entries of a‖.
let norm<'T when 'T :> Numerics.IFloatingPointIeee754<'T>> (a: 'T[]) (n: int) =
    sqrt (Double.CreateTruncating(TensorPrimitives.SumOfSquares(ReadOnlySpan<'T>(a, 0, n))))

/// xs [F × T·b] ← the b columns of x [C·H·W × b] (time-major: step t of example j is column t·b + j).
let gather (v: View) (x: 'T[]) (b: int) (xs: 'T[]) =
    let inSize = v.Steps * v.Features
    let plane = v.Steps * v.Width

    for t in 0 .. v.Steps - 1 do
        for j in 0 .. b - 1 do
            let dst = (t * b + j) * v.Features

            for c in 0 .. v.Channels - 1 do
                Array.blit x (j * inSize + c * plane + t * v.Width) xs (dst + c * v.Width) v.Width

/// dx [C·H·W × b] ← xs [F × T·b]: gather's inverse.
let scatter (v: View) (xs: 'T[]) (b: int) (dx: 'T[]) =
    let inSize = v.Steps * v.Features
    let plane = v.Steps * v.Width

    for t in 0 .. v.Steps - 1 do
        for j in 0 .. b - 1 do
            let src = (t * b + j) * v.Features

            for c in 0 .. v.Channels - 1 do
                Array.blit xs (src + c * v.Width) dx (j * inSize + c * plane + t * v.Width) v.Width

/// y ← the states the layer hands on, from hs [H × (T+1)·b] (block t = h_t, block 0 = h_0): h_T as [H × b], or
/// every h_1..h_T as [T·H × b].
let emit (every: bool) (steps: int) (units: int) (hs: 'T[]) (b: int) (y: 'T[]) =
    if every then
        for t in 1..steps do
            for j in 0 .. b - 1 do
                Array.blit hs ((t * b + j) * units) y (j * steps * units + (t - 1) * units) units
    else
        Array.blit hs (steps * b * units) y 0 (b * units)

/// dh [H × b] += ∂L/∂h_t from the layer's output gradient dy (emit's layout): every step's own part, or all of
/// dy at the last step (t is 1-based).
let addStateGradient<'T when 'T :> Numerics.IFloatingPointIeee754<'T>>
    (every: bool)
    (steps: int)
    (units: int)
    (t: int)
    (dy: 'T[])
    (b: int)
    (dh: 'T[])
    =
    if every then
        for j in 0 .. b - 1 do
            let d = Span<'T>(dh, j * units, units)

            TensorPrimitives.Add<'T>(
                Span.op_Implicit d,
                ReadOnlySpan<'T>(dy, j * steps * units + (t - 1) * units, units),
                d
            )
    elif t = steps then
        let d = Span<'T>(dh, 0, b * units)
        TensorPrimitives.Add<'T>(Span.op_Implicit d, ReadOnlySpan<'T>(dy, 0, b * units), d)

/// g ← the sum of the n columns of an [rows × n] block: a bias gradient over every step and example.
let sumColumns<'T when 'T :> Numerics.IFloatingPointIeee754<'T>> (a: 'T[]) (rows: int) (n: int) (g: 'T[]) =
    let s = Span<'T>(g, 0, rows)
    s.Clear()

    for j in 0 .. n - 1 do
        TensorPrimitives.Add<'T>(Span.op_Implicit s, ReadOnlySpan<'T>(a, j * rows, rows), s)

/// The words the recurrent kinds share after UNITS: [orthogonal|identity] [sequence]; `other` reads the rest.
let rec parseWords
    (keyword: string)
    (expected: string)
    (other: string -> 'L -> 'L option)
    (setInit: RecurrentInit -> 'L -> 'L)
    (setEvery: 'L -> 'L)
    (layer: 'L)
    (words: string list)
    : Result<'L, string> =
    let go = parseWords keyword expected other setInit setEvery

    match words with
    | [] -> Ok layer
    | "orthogonal" :: rest -> go (setInit OrthogonalInit layer) rest
    | "identity" :: rest -> go (setInit IdentityInit layer) rest
    | "sequence" :: rest -> go (setEvery layer) rest
    | w :: rest ->
        match other w layer with
        | Some l -> go l rest
        | None -> Error(sprintf "%s: unknown word '%s' (expected %s)" keyword w expected)

/// ONNX's RNN and LSTM operators read X as [T, N, F] and give every state as Y [T, 1, N, H] and the last as
/// Y_h [1, N, H] (one direction, layout 0): the nodes that lay a layer's input out as `gather` does, and hand on
/// what `emit` does.
module OnnxSequence =
    /// x ([N, T, F], or an image [N, C, H, W] read row by row, the channels' rows side by side) as [T, N, F].
    let timeMajor (input: Shape) (x: string) (names: Onnx.Names) =
        let xt = names.Temp "x_time_major"

        match input with
        | [| _; _ |] -> xt, [ Onnx.node "Transpose" [ x ] [ xt ] [ "perm", Onnx.Ints [ 1L; 0L; 2L ] ] ]
        | _ ->
            let hncw = names.Temp "x_hncw"
            let shape, shapeNode = Onnx.ints names "x_tnf_shape" [ 0L; 0L; -1L ]

            xt,
            [
                Onnx.node "Transpose" [ x ] [ hncw ] [ "perm", Onnx.Ints [ 2L; 0L; 1L; 3L ] ]
                shapeNode
                Onnx.node "Reshape" [ hncw; shape ] [ xt ] []
            ]

    /// y ← the last state as [N, H], or every state as [N, T, H] (batch first, as emit lays them out).
    let handOn (every: bool) (states: string) (last: string) (y: string) (names: Onnx.Names) =
        if every then
            let axis, axisNode = Onnx.ints names "direction_axis" [ 1L ]
            let tnh = names.Temp "states_tnh"

            [
                axisNode
                Onnx.node "Squeeze" [ states; axis ] [ tnh ] []
                Onnx.node "Transpose" [ tnh ] [ y ] [ "perm", Onnx.Ints [ 1L; 0L; 2L ] ]
            ]
        else
            let axis, axisNode = Onnx.ints names "direction_axis" [ 0L ]
            [ axisNode; Onnx.node "Squeeze" [ last; axis ] [ y ] [] ]

    /// A parameter as ONNX's [1, ...] (one direction).
    let oneDirection (p: string) (out: string) (names: Onnx.Names) =
        let axis, axisNode = Onnx.ints names (out + "_axis") [ 0L ]
        [ axisNode; Onnx.node "Unsqueeze" [ p; axis ] [ out ] [] ]
