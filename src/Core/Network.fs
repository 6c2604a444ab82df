/// A fully connected network: z_l = W_l a_{l−1} + b_l, a_l = f_l(z_l), with a_0 = x.
/// W_l is [n_l × n_{l−1}] (PyTorch's Linear.weight layout, out × in). Backward, for one batch:
/// dW_l = dz_l a_{l−1}ᵀ, db_l = Σ_columns dz_l, dz_{l−1} = f'_{l−1} ∘ (W_lᵀ dz_l).
module Functional.Network

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Init

/// What a network is, without its numbers.
type Spec =
    {
        Sizes: int[]
        Hidden: Activation
        Output: Activation
        Bias: bool
    }

module Spec =
    let layers (spec: Spec) = spec.Sizes.Length - 1
    let inputs (spec: Spec) = spec.Sizes[0]
    let classes (spec: Spec) = spec.Sizes[spec.Sizes.Length - 1]

    let activation (spec: Spec) l =
        if l = layers spec - 1 then spec.Output else spec.Hidden

    /// Why a spec cannot be built, or None.
    let problem (spec: Spec) =
        if spec.Sizes.Length < 2 then
            Some "a network needs at least an input and an output size"
        elif spec.Sizes |> Array.exists (fun n -> n < 1) then
            Some "every layer size must be at least 1"
        elif spec.Hidden = Softmax then
            Some "softmax is an output activation; hidden layers take sigmoid, tanh or relu"
        elif spec.Output <> Sigmoid && spec.Output <> Softmax then
            Some "the output activation must be sigmoid or softmax"
        else
            None

    let describe (spec: Spec) =
        sprintf
            "%s, %s hidden, %s output%s"
            (spec.Sizes |> Array.map string |> String.concat "-")
            (Activation.name spec.Hidden)
            (Activation.name spec.Output)
            (if spec.Bias then "" else ", no biases")

/// One layer's parameters (or gradients, or optimiser moments: anything shaped like them).
/// B is None when the network has no biases.
type Layer<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    { W: Matrix<'T>; B: Vector<'T> option }

type Network<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    { Spec: Spec; Layers: Layer<'T>[] }

/// What forward computed: the input and every layer's activations a_1..a_L ([n_l × B] each).
type Trace<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    {
        Input: Matrix<'T>
        Activations: Matrix<'T>[]
    }

    member t.Output = t.Activations[t.Activations.Length - 1]

module Layer =
    /// Zeros shaped like layer l of spec.
    let zeros<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (spec: Spec)
        l
        : Layer<'T> =
        {
            W = Tensor.zeros spec.Sizes[l + 1] spec.Sizes[l]
            B =
                if spec.Bias then
                    Some(Tensor.vzeros spec.Sizes[l + 1])
                else
                    None
        }

    let copy (layer: Layer<'T>) =
        {
            W = Tensor.copy layer.W
            B = layer.B |> Option.map Tensor.vcopy
        }

    /// The layer's parameter arrays, weights first (no copy).
    let arrays (layer: Layer<'T>) =
        match layer.B with
        | Some b -> [| Tensor.data layer.W; Tensor.vdata b |]
        | None -> [| Tensor.data layer.W |]

module Network =
    let zeros<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (spec: Spec)
        : Network<'T> =
        {
            Spec = spec
            Layers = Array.init (Spec.layers spec) (Layer.zeros spec)
        }

    let copy (net: Network<'T>) =
        { net with
            Layers = Array.map Layer.copy net.Layers
        }

    /// A fresh network with weights drawn by `scheme` from `seed` (layer l uses stream l) and zero biases.
    let init<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (scheme: Init)
        (seed: int)
        (spec: Spec)
        : Network<'T> =
        let net = zeros<'T> spec

        net.Layers
        |> Array.iteri (fun l layer ->
            let rng = Rng.For(seed, l)
            let nOut, nIn = spec.Sizes[l + 1], spec.Sizes[l]
            let w = Tensor.data layer.W
            // Drawn in row-major [out, in] order, as a reader of the formula would, stored column-major.
            for i in 0 .. nOut - 1 do
                for j in 0 .. nIn - 1 do
                    w[j * nOut + i] <- 'T.CreateTruncating(Init.sample scheme nIn nOut rng))

        net

    /// Every parameter array, layer by layer, weights before biases (no copy).
    let arrays (net: Network<'T>) =
        net.Layers |> Array.collect Layer.arrays

    /// True for the entries of `arrays` that are weights (L2 decay applies to these only).
    let isWeight (net: Network<'T>) =
        net.Layers
        |> Array.collect (fun l -> if l.B.IsSome then [| true; false |] else [| true |])

    let parameterCount (net: Network<'T>) =
        arrays net |> Array.sumBy (fun a -> a.Length)

/// a ← f(W x + b) for one layer, x being [n_in × B].
let layerInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (act: Activation)
    (layer: Layer<'T>)
    (x: Matrix<'T>)
    (a: Matrix<'T>)
    =
    if x.ColumnCount = 1 then
        Tensor.gemvInto 'T.One layer.W false (Tensor.data x) 'T.Zero (Tensor.data a)
    else
        Tensor.gemmInto 'T.One layer.W false x false 'T.Zero a

    // Bias and activation in one visit per column, while the column is in L1.
    let ad = Tensor.data a
    let rows = a.RowCount

    for j in 0 .. a.ColumnCount - 1 do
        let col = Span<'T>(ad, j * rows, rows)

        match layer.B with
        | Some b -> TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(Tensor.vdata b), col)
        | None -> ()

        Activation.applyColumn act col

/// Runs trace.Input ([inputs × B]) through the network, writing each layer's activations into the trace.
let forwardInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (trace: Trace<'T>)
    =
    let mutable input = trace.Input

    for l in 0 .. net.Layers.Length - 1 do
        layerInto (Spec.activation net.Spec l) net.Layers[l] input trace.Activations[l]
        input <- trace.Activations[l]

/// Fresh activation buffers for a batch of `batch` columns.
let activationBuffers<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: Spec)
    (batch: int)
    : Matrix<'T>[] =
    Array.init (Spec.layers spec) (fun l -> Tensor.zeros<'T> spec.Sizes[l + 1] batch)

/// The pure forward pass: a trace of fresh matrices.
let forward<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (x: Matrix<'T>)
    : Trace<'T> =
    let trace =
        {
            Input = x
            Activations = activationBuffers net.Spec x.ColumnCount
        }

    forwardInto net trace
    trace

/// One layer's parameter gradients from its dL/dz and its input: dW = dz belowᵀ, db = Σ_columns dz.
let layerGradInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (dz: Matrix<'T>)
    (below: Matrix<'T>)
    (g: Layer<'T>)
    =
    if dz.ColumnCount = 1 then
        Tensor.outerInto (Tensor.data dz) (Tensor.data below) g.W
    else
        Tensor.gemmInto 'T.One dz false below true 'T.Zero g.W

    match g.B with
    | Some gb ->
        let db = Span<'T>(Tensor.vdata gb)
        let dzd = Tensor.data dz
        let rows = dz.RowCount
        db.Clear()

        for j in 0 .. dz.ColumnCount - 1 do
            TensorPrimitives.Add<'T>(Span.op_Implicit db, ReadOnlySpan<'T>(dzd, j * rows, rows), db)
    | None -> ()

/// Backpropagates dL/dz of the output layer (held in deltas[L−1]) through the trace.
/// Writes every layer's dL/dz into `deltas` and, unless grads is ValueNone, the parameter gradients into it.
let backwardInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (trace: Trace<'T>)
    (deltas: Matrix<'T>[])
    (grads: Layer<'T>[] voption)
    =
    for l in net.Layers.Length - 1 .. -1 .. 0 do
        let dz = deltas[l]
        let below = if l = 0 then trace.Input else trace.Activations[l - 1]

        match grads with
        | ValueSome g -> layerGradInto dz below g[l]
        | ValueNone -> ()

        if l > 0 then
            let down = deltas[l - 1]

            if dz.ColumnCount = 1 then
                Tensor.gemvInto 'T.One net.Layers[l].W true (Tensor.data dz) 'T.Zero (Tensor.data down)
            else
                Tensor.gemmInto 'T.One net.Layers[l].W true dz false 'T.Zero down

            let dd = Tensor.data down
            Activation.backInto net.Spec.Hidden down.RowCount (Tensor.data below) dd dd

/// Index of the largest entry of each column (the predicted class of each example).
let argmaxColumns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (a: Matrix<'T>)
    : int[] =
    let d = Tensor.data a
    let rows = a.RowCount

    Array.init a.ColumnCount (fun j -> TensorPrimitives.IndexOfMax(ReadOnlySpan<'T>(d, j * rows, rows)))
