/// What every kind of layer provides, as pure functions of the shape it is given: its parameters' names and
/// shapes, its output shape, its FLOPs, and a kernel for forward, y = f(layer(x)), and backward: given
/// dz = ∂L/∂(pre-activation output), the parameter gradients ∂L/∂θ and the input gradient ∂L/∂x.
/// Activations travel as [size × B] column-major matrices: one column per example, its values in PyTorch's
/// (channel, row, column) order, so a column has the bytes of one row of PyTorch's [B, C, H, W] tensor.
module Functional.Layers.Layer

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.Activations

/// The shape of one example: [features], or [channels; height; width].
type Shape = int[]

module Shape =
    let size (s: Shape) = Array.fold (*) 1 s

    /// "784", "1x28x28".
    let text (s: Shape) = String.Join("x", s)

    let tryParse (s: string) : Shape option =
        let parts = s.Trim().Split 'x'

        let values =
            parts
            |> Array.map (fun p ->
                match Int32.TryParse p with
                | true, v when v > 0 -> Some v
                | _ -> None)

        if parts.Length >= 1 && parts.Length <= 3 && Array.forall Option.isSome values then
            Some(Array.map Option.get values)
        else
            None

/// How a parameter tensor starts: drawn by the run's initialisation scheme with the tensor's fans, or zeros.
type Fill =
    | Scheme
    | Zeros
    /// U(−a, a), whatever the run's scheme: PyTorch's default for every tensor of a recurrent layer, a = 1/√hidden.
    | Uniform of bound: float
    /// Each square block of rows ([g·n, n] as g blocks [n, n]) an orthogonal matrix: recurrent weights, gate by gate.
    | Orthogonal
    /// Each square block of rows the identity: the IRNN's recurrent weights (Le, Jaitly, Hinton 2015).
    | Identity
    /// Every entry this value: a layer's fallback when it starts without data (IFromData).
    | Constant of value: float

/// One parameter tensor of a layer, named and laid out as PyTorch does (row-major).
type ParamInfo =
    {
        /// "weight", "bias", …: the tensor is saved as layers.{i}.{Name}.
        Name: string
        Shape: int[]
        FanIn: int
        FanOut: int
        Fill: Fill
        /// True for weights, which L2 decays; false for biases.
        Decays: bool
        /// True for a tensor training leaves as it started (frozen RBF centres): the step gives it no update.
        Frozen: bool
    }

/// What forward may depend on besides its input: dropout draws its mask from (seed, step, layer).
[<Struct>]
type Mode =
    {
        Training: bool
        Seed: int
        Step: int64
        Layer: int
    }

module Mode =
    let eval =
        {
            Training = false
            Seed = 0
            Step = 0L
            Layer = 0
        }

/// A layer bound to an input shape and a batch size: it owns its scratch (unfolded patches, pooling indices,
/// masks), so a steady-state step allocates nothing. Parameters are handed in on every call.
[<AbstractClass>]
type Kernel<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>() =
    /// y ← f(layer(x)): x is [inSize × B], y [outSize × B].
    abstract Forward: ps: 'T[][] * x: Matrix<'T> * y: Matrix<'T> * mode: Mode -> unit

    /// From dz = ∂L/∂(pre-activation output) [outSize × B] (x and y as forward left them): writes the parameter
    /// gradients into grads and ∂L/∂x into dx, each when asked. dz is this layer's to overwrite.
    abstract Backward:
        ps: 'T[][] * x: Matrix<'T> * y: Matrix<'T> * dz: Matrix<'T> * grads: 'T[][] voption * dx: Matrix<'T> voption ->
            unit

    /// True when the kind has FusedSgd (dense layers); the others get their gradient computed and updated.
    abstract HasFusedSgd: bool
    default _.HasFusedSgd = false

    /// Plain SGD fused into backward's products, θ ← keep·θ − η·∂L/∂θ (keep = 1 − ηλ for weights, 1 for biases),
    /// without a gradient buffer. Called after the whole backward pass, with this layer's input and dz.
    abstract FusedSgd: ps: 'T[][] * x: Matrix<'T> * dz: Matrix<'T> * negEta: 'T * keep: 'T -> unit

    default _.FusedSgd(_, _, _, _, _) =
        invalidOp "this layer kind has no fused SGD path"

/// A layer of some kind, with its settings: the value an architecture is made of.
type ILayer =
    /// The layer in the --arch syntax ("conv 6 5x5 pad 2 relu"); parsing it gives the same layer back.
    abstract Text: string
    /// Applied to the layer's output; Linear for kinds without one.
    abstract Activation: Activation
    /// The output shape for this input shape, or why the input cannot go through this layer.
    abstract OutShape: input: Shape -> Result<Shape, string>
    abstract Params: input: Shape -> ParamInfo[]
    /// FLOPs of the forward pass for one example (2 per multiply-add); the backward pass of a layer with
    /// parameters costs the same again for ∂L/∂θ and again for ∂L/∂x.
    abstract Flops: input: Shape -> float

    abstract Bind<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> :
        input: Shape * batch: int -> Kernel<'T>

/// A layer that starts from the training inputs, not from the seed alone (RBF centres by k-means). Start.fs calls
/// it for every run, probe and replay, so a run's first weights stay a pure function of (seed, data).
type IFromData =
    /// The starting tensors, in Params' order and row-major, from `count` examples of the layer's input
    /// (x: [inSize × count] column-major) and a generator of the run's seed for this layer.
    abstract Start: input: Shape * x: float32[] * count: int * rng: Functional.Init.Rng -> float[][]

/// How one kind reads its part of the --arch syntax: a keyword and the words after it.
type Syntax =
    {
        Keyword: string
        /// e.g. "conv CHANNELS KxK [stride S] [pad P] [ACTIVATION] [no-bias]"
        Usage: string
        Parse: string list -> Result<ILayer, string>
    }

/// Words shared by the kinds' syntaxes.
module Words =
    let activation (w: string) =
        Activation.all |> List.tryFind (fun a -> Activation.name a = w)

    let positive (w: string) =
        match Int32.TryParse w with
        | true, v when v > 0 -> Some v
        | _ -> None

    let nonNegative (w: string) =
        match Int32.TryParse w with
        | true, v when v >= 0 -> Some v
        | _ -> None

    /// "5x5" or "5" → (5, 5).
    let kernel (w: string) =
        match w.Split 'x' with
        | [| k |] -> positive k |> Option.map (fun v -> v, v)
        | [| h; v |] ->
            match positive h, positive v with
            | Some a, Some b -> Some(a, b)
            | _ -> None
        | _ -> None

    /// The activation word of a layer's text: "" for Linear.
    let activationSuffix (a: Activation) =
        match a with
        | Linear -> ""
        | a -> " " + Activation.name a

/// The shared bias-and-activation pass of layers with a [rows × B] output: col ← f(col + b), one column at a
/// time while it is in L1.
let biasActivate<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (act: Activation)
    (bias: 'T[] voption)
    (y: Matrix<'T>)
    =
    let yd = Functional.Tensor.data y
    let rows = y.RowCount

    for j in 0 .. y.ColumnCount - 1 do
        let col = Span<'T>(yd, j * rows, rows)

        match bias with
        | ValueSome b ->
            System.Numerics.Tensors.TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(b), col)
        | ValueNone -> ()

        Activation.applyColumn act col
