/// A long short-term memory layer, PyTorch's nn.LSTM (gates stacked i, f, g, o in W_ih [4H, F], W_hh [4H, H]):
/// (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), c_t = f∘c_{t−1} + i∘g, h_t = o∘tanh(c_t),
/// h_0 = c_0 = 0. Backward through time: dc_t = ∂L/∂c_t + dh_t∘o∘(1 − tanh²c_t); the gates' pre-activation
/// gradients dz_t = (dc∘g∘i(1−i), dc∘c_{t−1}∘f(1−f), dc∘i∘(1−g²), dh∘tanh(c_t)∘o(1−o)); dh_{t−1} = W_hhᵀ dz_t +
/// ∂L/∂h_{t−1}, dc_{t−1} = dc_t∘f; the products as in Rnn.fs (one gemm for all steps but the recurrence).
module Functional.Layers.Lstm

open System
open System.Numerics
open System.Numerics.Tensors
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Sequence

/// One step back through the cell, for the b columns of step t (gate block at go, state block at so): the
/// gates' pre-activation gradients into dzs, and dc ← ∂L/∂c_{t−1}.
let private gateGradients<'T when 'T :> IFloatingPointIeee754<'T>>
    (units: int)
    (b: int)
    (go: int)
    (so: int)
    (gates: 'T[])
    (cs: 'T[])
    (tcs: 'T[])
    (dh: 'T[])
    (dc: 'T[])
    (dzs: 'T[])
    =
    let one = 'T.One
    let g4 = 4 * units
    // Every product annotated: F# infers chained generic operators one link at a time.
    let inline slope (a: 'T) : 'T = a * (one - a)

    for j in 0 .. b - 1 do
        for u in 0 .. units - 1 do
            let gi = go + j * g4 + u
            let i, f = gates[gi], gates[gi + units]
            let g, o = gates[gi + 2 * units], gates[gi + 3 * units]
            let s = j * units + u
            let tc = tcs[so + s]
            let dhv = dh[s]
            let dtc: 'T = dhv * o
            let dcv: 'T = dc[s] + dtc * (one - tc * tc)
            let di: 'T = dcv * g
            let df: 'T = dcv * cs[so + s]
            let dg: 'T = dcv * i
            let dov: 'T = dhv * tc
            dzs[gi] <- di * slope i
            dzs[gi + units] <- df * slope f
            dzs[gi + 2 * units] <- dg * (one - g * g)
            dzs[gi + 3 * units] <- dov * slope o
            dc[s] <- dcv * f

type internal LstmKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (v: View, units: int, every: bool, batch: int) =
    inherit Kernel<'T>()
    let steps, features, g4 = v.Steps, v.Features, 4 * units
    // Time-major, block t-1 of gates/tcs/dzs is step t's; hs and cs hold h_0..h_T and c_0..c_T.
    let xs: 'T[] = Array.zeroCreate (features * steps * batch)
    let dxs: 'T[] = Array.zeroCreate (features * steps * batch)
    let gates: 'T[] = Array.zeroCreate (g4 * steps * batch)
    let hs: 'T[] = Array.zeroCreate (units * (steps + 1) * batch)
    let cs: 'T[] = Array.zeroCreate (units * (steps + 1) * batch)
    let tcs: 'T[] = Array.zeroCreate (units * steps * batch)
    let dzs: 'T[] = Array.zeroCreate (g4 * steps * batch)
    let dh: 'T[] = Array.zeroCreate (units * batch)
    let dc: 'T[] = Array.zeroCreate (units * batch)
    let stepGradients: float[] = Array.zeroCreate steps
    let mutable forwardColumns = 0

    let columns (x: MathNet.Numerics.LinearAlgebra.Matrix<'T>) =
        if x.ColumnCount > batch then
            invalidArg "x" (sprintf "lstm kernel bound to batch %d was given %d columns" batch x.ColumnCount)

        x.ColumnCount

    override _.Forward(ps, x, y, _) =
        let b = columns x
        let wih, whh, bih, bhh = ps[0], ps[1], ps[2], ps[3]
        let block, gblock = units * b, g4 * b
        forwardColumns <- b
        gather v (Tensor.data x) b xs

        Tensor.gemmAt
            'T.One
            (wih, 0, features, g4)
            true
            (xs, 0, features, steps * b)
            false
            'T.Zero
            (gates, 0, g4, steps * b)

        Array.Clear(hs, 0, block)
        Array.Clear(cs, 0, block)

        for t in 1..steps do
            let go = (t - 1) * gblock

            if t > 1 then
                Tensor.gemmAt
                    'T.One
                    (whh, 0, units, g4)
                    true
                    (hs, (t - 1) * block, units, b)
                    false
                    'T.One
                    (gates, go, g4, b)

            for j in 0 .. b - 1 do
                let col = Span<'T>(gates, go + j * g4, g4)
                TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(bih), col)
                TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(bhh), col)
                let ifg = col.Slice(0, 2 * units)
                TensorPrimitives.Sigmoid<'T>(Span.op_Implicit ifg, ifg)
                let g = col.Slice(2 * units, units)
                TensorPrimitives.Tanh<'T>(Span.op_Implicit g, g)
                let o = col.Slice(3 * units, units)
                TensorPrimitives.Sigmoid<'T>(Span.op_Implicit o, o)
                let i = ReadOnlySpan<'T>(gates, go + j * g4, units)
                let f = ReadOnlySpan<'T>(gates, go + j * g4 + units, units)
                let c = Span<'T>(cs, t * block + j * units, units)
                TensorPrimitives.Multiply<'T>(f, ReadOnlySpan<'T>(cs, (t - 1) * block + j * units, units), c)
                TensorPrimitives.MultiplyAdd<'T>(i, Span.op_Implicit g, Span.op_Implicit c, c)
                let tc = Span<'T>(tcs, (t - 1) * block + j * units, units)
                TensorPrimitives.Tanh<'T>(Span.op_Implicit c, tc)

                TensorPrimitives.Multiply<'T>(
                    Span.op_Implicit o,
                    Span.op_Implicit tc,
                    Span<'T>(hs, t * block + j * units, units)
                )

        emit every steps units hs b (Tensor.data y)

    override _.Backward(ps, _, _, dz, grads, dx) =
        let b = columns dz
        let wih, whh = ps[0], ps[1]
        let block, gblock = units * b, g4 * b
        let dy = Tensor.data dz
        Array.Clear(dh, 0, block)
        Array.Clear(dc, 0, block)

        for t in steps .. -1 .. 1 do
            addStateGradient every steps units t dy b dh
            stepGradients[t - 1] <- norm dh block
            let go, so = (t - 1) * gblock, (t - 1) * block

            gateGradients units b go so gates cs tcs dh dc dzs

            if t > 1 then
                Tensor.gemmAt 'T.One (whh, 0, units, g4) false (dzs, go, g4, b) false 'T.Zero (dh, 0, units, b)

        let n = steps * b

        match grads with
        | ValueSome g ->
            Tensor.gemmAt 'T.One (xs, 0, features, n) false (dzs, 0, g4, n) true 'T.Zero (g[0], 0, features, g4)
            Tensor.gemmAt 'T.One (hs, 0, units, n) false (dzs, 0, g4, n) true 'T.Zero (g[1], 0, units, g4)
            sumColumns dzs g4 n g[2]
            Array.blit g[2] 0 g[3] 0 g4
        | ValueNone -> ()

        match dx with
        | ValueSome dx ->
            Tensor.gemmAt 'T.One (wih, 0, features, g4) false (dzs, 0, g4, n) false 'T.Zero (dxs, 0, features, n)
            scatter v dxs b (Tensor.data dx)
        | ValueNone -> ()

    interface IRecurrent with
        member _.StepGradients = stepGradients

        member _.Saturated() =
            let n = steps * forwardColumns
            let sigmoid (a: float) = a * (1.0 - a)
            let tanh (a: float) = 1.0 - a * a

            let count =
                saturatedUnits gates g4 0 (2 * units) n sigmoid
                + saturatedUnits gates g4 (2 * units) units n tanh
                + saturatedUnits gates g4 (3 * units) units n sigmoid

            count / float g4

/// lstm UNITS [orthogonal] [sequence]
type Lstm =
    {
        Units: int
        Init: RecurrentInit
        /// Hand on every state [T; H] rather than the last one.
        Every: bool
    }

    interface ILayer with
        member l.Text =
            sprintf "lstm %d%s%s" l.Units (RecurrentInit.word l.Init) (if l.Every then " sequence" else "")

        member _.Activation = Linear

        member l.OutShape input =
            view "lstm" input
            |> Result.map (fun v -> if l.Every then [| v.Steps; l.Units |] else [| l.Units |])

        member l.Params input =
            let f =
                match view "lstm" input with
                | Ok v -> v.Features
                | Error e -> invalidArg "input" e

            let h = l.Units
            let a = 1.0 / sqrt (float h)

            let tensor name shape fanIn fill decays =
                {
                    Name = name
                    Shape = shape
                    FanIn = fanIn
                    FanOut = 4 * h
                    Fill = fill
                    Decays = decays
                    Frozen = false
                }

            [|
                tensor "weight_ih_l0" [| 4 * h; f |] f (Fill.Uniform a) true
                tensor "weight_hh_l0" [| 4 * h; h |] h (RecurrentInit.recurrentFill a l.Init) true
                tensor "bias_ih_l0" [| 4 * h |] h (Fill.Uniform a) false
                tensor "bias_hh_l0" [| 4 * h |] h (Fill.Uniform a) false
            |]

        member l.Flops input =
            match view "lstm" input with
            | Ok v -> 2.0 * float v.Steps * float (4 * l.Units) * float (v.Features + l.Units)
            | Error _ -> 0.0

        member l.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            match view "lstm" input with
            | Ok v -> LstmKernel<'T>(v, l.Units, l.Every, batch) :> Kernel<'T>
            | Error e -> invalidArg "input" e

    // ONNX's LSTM has nn.LSTM's equations with its gates in the order i, o, f, c where PyTorch's are i, f, g, o:
    // every tensor is split into its four gate blocks and put together again in ONNX's order.
    interface Onnx.IOnnx with
        member l.Nodes(input, x, y, names) =
            let xt, lay = OnnxSequence.timeMajor input x names

            let reorder (p: string) =
                let gate g = names.Temp(sprintf "%s_%s" p g)
                let i, f, g, o = gate "i", gate "f", gate "g", gate "o"
                let out = names.Temp(p + "_iofc")

                out,
                [
                    Onnx.node "Split" [ names.Param p ] [ i; f; g; o ] [ "axis", Onnx.Int 0L ]
                    Onnx.node "Concat" [ i; o; f; g ] [ out ] [ "axis", Onnx.Int 0L ]
                ]

            let wih, wihNodes = reorder "weight_ih_l0"
            let whh, whhNodes = reorder "weight_hh_l0"
            let bih, bihNodes = reorder "bias_ih_l0"
            let bhh, bhhNodes = reorder "bias_hh_l0"
            let w, r, b = names.Temp "W", names.Temp "R", names.Temp "B"
            let bias = names.Temp "bias"
            let states, last, cell = names.Temp "Y", names.Temp "Y_h", names.Temp "Y_c"

            lay
            @ wihNodes
            @ whhNodes
            @ bihNodes
            @ bhhNodes
            @ OnnxSequence.oneDirection wih w names
            @ OnnxSequence.oneDirection whh r names
            @ [ Onnx.node "Concat" [ bih; bhh ] [ bias ] [ "axis", Onnx.Int 0L ] ]
            @ OnnxSequence.oneDirection bias b names
            @ [
                Onnx.node "LSTM" [ xt; w; r; b ] [ states; last; cell ] [ "hidden_size", Onnx.Int(int64 l.Units) ]
            ]
            @ OnnxSequence.handOn l.Every states last y names

let syntax =
    {
        Keyword = "lstm"
        Usage = "lstm UNITS [orthogonal] [sequence]"
        Parse =
            fun words ->
                match words with
                | units :: rest ->
                    match Words.positive units with
                    | None -> Error(sprintf "lstm: '%s' is not a number of units >= 1" units)
                    | Some n ->
                        match
                            parseWords
                                "lstm"
                                "orthogonal or sequence"
                                (fun _ _ -> None)
                                (fun i (l: Lstm) -> { l with Init = i })
                                (fun l -> { l with Every = true })
                                {
                                    Units = n
                                    Init = DefaultInit
                                    Every = false
                                }
                                rest
                        with
                        | Ok l when l.Init = IdentityInit ->
                            Error "lstm: identity is the init of a relu RNN (rnn 128 relu identity), not of an LSTM"
                        | r -> r |> Result.map (fun l -> l :> ILayer)
                | [] -> Error "lstm: how many hidden units? (lstm 128)"
    }
