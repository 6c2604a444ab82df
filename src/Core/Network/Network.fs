/// A network: an architecture and its numbers. Forward runs the layers in order, a_l = layer_l(a_{l−1}) with
/// a_0 = x; backward runs them in reverse, each turning dz_l = ∂L/∂(pre-activation of layer l) into its
/// parameter gradients and ∂L/∂a_{l−1}, which the previous layer's activation turns into dz_{l−1}:
/// dz_{l−1} = f'_{l−1} ∘ ∂L/∂a_{l−1}.
module Functional.Network

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch

/// One tensor array per parameter of each layer: Params[l][p] holds layer l's p-th tensor (in the order of
/// its ParamInfo), row-major as PyTorch lays it out. Gradients and optimiser moments have the same shape.
type Network<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    { Arch: Arch; Params: 'T[][][] }

/// What forward computed: the input and every layer's activations a_1..a_L ([size_l × B] each).
type Trace<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    {
        Input: Matrix<'T>
        Activations: Matrix<'T>[]
    }

    member t.Output = t.Activations[t.Activations.Length - 1]

module Params =
    /// Zeros shaped like the architecture's parameters.
    let zeros<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (arch: Arch)
        : 'T[][][] =
        Arch.parameters arch
        |> Array.map (Array.map (fun p -> Array.zeroCreate (Array.fold (*) 1 p.Shape)))

    let copy (ps: 'T[][][]) = ps |> Array.map (Array.map Array.copy)

module Network =
    let zeros<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (arch: Arch)
        : Network<'T> =
        {
            Arch = arch
            Params = Params.zeros arch
        }

    let copy (net: Network<'T>) =
        { net with
            Params = Params.copy net.Params
        }

    /// A fresh network: layer l draws its weights from stream l of `seed`, tensor after tensor in row-major
    /// order, by `scheme` with each tensor's fans (or the tensor's own Fill: uniform, orthogonal, identity);
    /// biases start at zero unless their Fill says otherwise.
    let init<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (scheme: Init)
        (seed: int)
        (arch: Arch)
        : Network<'T> =
        let net = zeros<'T> arch
        let infos = Arch.parameters arch

        for l in 0 .. infos.Length - 1 do
            let rng = Rng.For(seed, l)

            for p in 0 .. infos[l].Length - 1 do
                let info = infos[l].[p]

                match info.Fill with
                | Scheme ->
                    let w = net.Params[l].[p]

                    for i in 0 .. w.Length - 1 do
                        w[i] <- 'T.CreateTruncating(Init.sample scheme info.FanIn info.FanOut rng)
                | Zeros -> ()
                | Constant v -> Array.fill net.Params[l].[p] 0 net.Params[l].[p].Length ('T.CreateTruncating v)
                | Uniform bound ->
                    let w = net.Params[l].[p]

                    for i in 0 .. w.Length - 1 do
                        w[i] <- 'T.CreateTruncating((2.0 * rng.NextDouble() - 1.0) * bound)
                | Orthogonal
                | Identity ->
                    let w = net.Params[l].[p]
                    let n = info.Shape[info.Shape.Length - 1]

                    for block in 0 .. w.Length / (n * n) - 1 do
                        let q =
                            if info.Fill = Orthogonal then
                                Init.orthogonal n rng
                            else
                                Array.init (n * n) (fun i -> if i / n = i % n then 1.0 else 0.0)

                        for i in 0 .. q.Length - 1 do
                            w[block * n * n + i] <- 'T.CreateTruncating q[i]

        net

    /// Every parameter array, layer by layer, in ParamInfo order (no copy).
    let arrays (net: Network<'T>) = Array.concat net.Params

    /// For each entry of `arrays`: true when L2 decays it (weights, not biases).
    let decays (arch: Arch) =
        Arch.parameters arch |> Array.collect (Array.map (fun p -> p.Decays))

    /// For each entry of `arrays`: true when training leaves it as it is (a frozen tensor).
    let frozen (arch: Arch) =
        Arch.parameters arch |> Array.collect (Array.map (fun p -> p.Frozen))

    /// For each entry of `arrays`: the layer it belongs to.
    let layerOf (arch: Arch) =
        Arch.parameters arch
        |> Array.mapi (fun l ps -> Array.create ps.Length l)
        |> Array.concat

    let parameterCount (net: Network<'T>) =
        arrays net |> Array.sumBy (fun a -> a.Length)

/// The layers bound to one batch size, with their activation buffers: what a forward and backward pass of
/// that size needs, allocated once.
type Bound<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> =
    {
        Arch: Arch
        Shapes: Shape[]
        Kernels: Kernel<'T>[]
        Batch: int
    }

module Bound =
    let create<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (arch: Arch)
        (batch: int)
        : Bound<'T> =
        let shapes =
            match Arch.shapes arch with
            | Ok s -> s
            | Error e -> invalidArg "arch" e

        {
            Arch = arch
            Shapes = shapes
            Kernels = arch.Layers |> Array.mapi (fun l layer -> layer.Bind<'T>(shapes[l], batch))
            Batch = batch
        }

    /// Fresh [size_l × B] buffers for every layer's output.
    let buffers (b: Bound<'T>) : Matrix<'T>[] =
        Array.init b.Kernels.Length (fun l -> Tensor.zeros<'T> (Shape.size b.Shapes[l + 1]) b.Batch)

/// Runs trace.Input through the network, writing each layer's activations into the trace.
let forwardWith<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (bound: Bound<'T>)
    (net: Network<'T>)
    (trace: Trace<'T>)
    (mode: Mode)
    =
    let mutable input = trace.Input

    for l in 0 .. bound.Kernels.Length - 1 do
        bound.Kernels[l].Forward(net.Params[l], input, trace.Activations[l], { mode with Layer = l })
        input <- trace.Activations[l]

/// The pure forward pass (inference mode): a trace of fresh matrices.
let forward<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (x: Matrix<'T>)
    : Trace<'T> =
    let bound = Bound.create<'T> net.Arch x.ColumnCount

    let trace =
        {
            Input = x
            Activations = Bound.buffers bound
        }

    forwardWith bound net trace Mode.eval
    trace

/// Backpropagates dz of the output layer (held in deltas[L−1]) through the trace: every layer's dz into
/// `deltas`, the parameter gradients into grads[l] where wanted[l] (when grads is given), and ∂L/∂x into
/// dInput when given.
let backwardWith<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (bound: Bound<'T>)
    (net: Network<'T>)
    (trace: Trace<'T>)
    (deltas: Matrix<'T>[])
    (grads: 'T[][][] voption)
    (wanted: bool[])
    (dInput: Matrix<'T> voption)
    =
    let layers = bound.Kernels.Length

    for l in layers - 1 .. -1 .. 0 do
        let below = if l = 0 then trace.Input else trace.Activations[l - 1]

        let g =
            match grads with
            | ValueSome g when wanted[l] -> ValueSome g[l]
            | _ -> ValueNone

        let dx = if l > 0 then ValueSome deltas[l - 1] else dInput
        bound.Kernels[l].Backward(net.Params[l], below, trace.Activations[l], deltas[l], g, dx)

        if l > 0 then
            let down = Tensor.data deltas[l - 1]

            Activations.Activation.backInto
                bound.Arch.Layers[l - 1].Activation
                deltas[l - 1].RowCount
                (Tensor.data below)
                down
                down

/// Index of the largest entry of each column (the predicted class of each example).
let argmaxColumns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (a: Matrix<'T>)
    : int[] =
    let d = Tensor.data a
    let rows = a.RowCount

    Array.init a.ColumnCount (fun j -> TensorPrimitives.IndexOfMax(ReadOnlySpan<'T>(d, j * rows, rows)))
