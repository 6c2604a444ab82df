/// The state transition: step : Hyper -> Batch -> TrainState -> TrainState * StepReport.
/// One step = forward, dL/dz of the output, backward, + λW to each weight gradient (L2), optimiser update.
/// `step` allocates a fresh state; `stepInPlace` overwrites the state it is handed (the caller donates it)
/// and reuses a Workspace. Both run the same kernels in the same order, so they give the same bits.
module Functional.Step

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Losses
open Functional.Network
open Functional.Optim

type Hyper =
    {
        Loss: Loss
        Reduction: Reduction
        /// L2 decay λ: adds ½λ‖W‖² to the loss and λW to each weight gradient (biases are not decayed).
        L2: float
        Optimizer: OptimizerSpec
    }

type TrainState<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    {
        Step: int64
        Network: Network<'T>
        Opt: OptState<'T>
    }

/// Inputs X [features × B] and targets Y [classes × B], one column per example.
type Batch<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    { X: Matrix<'T>; Y: Matrix<'T> }

/// What a step measured. GradNorms and UpdateRatios (‖Δθ‖/‖θ‖) are per layer, weights and biases
/// together; they are empty when the step was asked not to measure them (the fast path's default).
[<Struct>]
type StepReport =
    {
        Loss: float
        GradNorms: float[]
        UpdateRatios: float[]
    }

/// Scratch buffers for steps of one batch size. Mutable by design: it is the fast path's scratch space.
type Workspace<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    {
        Acts: Matrix<'T>[]
        Deltas: Matrix<'T>[]
        Grads: Layer<'T>[]
        GradArrays: 'T[][]
        LayerOf: int[]
        /// One column's worth of scratch (the widest layer).
        Scratch: 'T[]
        mutable Trace: Trace<'T> voption
        mutable BoundNet: obj
        mutable BoundOpt: obj
        mutable Params: 'T[][]
        mutable M: 'T[][]
        mutable V: 'T[][]
        mutable Before: 'T[][]
    }

module Workspace =
    let create<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (spec: Spec)
        (batch: int)
        : Workspace<'T> =
        let grads = Array.init (Spec.layers spec) (Layer.zeros<'T> spec)

        {
            Acts = activationBuffers spec batch
            Deltas = activationBuffers spec batch
            Grads = grads
            GradArrays = grads |> Array.collect Layer.arrays
            LayerOf =
                grads
                |> Array.mapi (fun l g -> Array.create (Layer.arrays g).Length l)
                |> Array.concat
            Scratch = Array.zeroCreate (Array.max spec.Sizes)
            Trace = ValueNone
            BoundNet = null
            BoundOpt = null
            Params = [||]
            M = [||]
            V = [||]
            Before = [||]
        }

    /// Caches the array views of the state being stepped, so a steady-state step allocates nothing.
    let bind (ws: Workspace<'T>) (net: Network<'T>) (opt: OptState<'T>) =
        if
            not (
                Object.ReferenceEquals(ws.BoundNet, net)
                && Object.ReferenceEquals(ws.BoundOpt, opt)
            )
        then
            ws.Params <- Network.arrays net
            ws.M <- Array.collect Layer.arrays opt.M
            ws.V <- Array.collect Layer.arrays opt.V
            ws.BoundNet <- net
            ws.BoundOpt <- opt

let private sumSquares (a: 'T[]) =
    Double.CreateTruncating(TensorPrimitives.SumOfSquares(ReadOnlySpan<'T>(a)))

/// ½λ Σ‖W_l‖², the L2 term of the loss.
let l2Term (lambda: float) (net: Network<'T>) =
    if lambda = 0.0 then
        0.0
    else
        0.5
        * lambda
        * (net.Layers |> Array.sumBy (fun l -> sumSquares (Tensor.data l.W)))

/// Loss and gradients of the batch into ws.Grads (the network is only read). Returns the loss.
let private lossInto<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (ws: Workspace<'T>)
    (net: Network<'T>)
    (withGrads: bool)
    : float =
    let trace =
        match ws.Trace with
        | ValueSome t when Object.ReferenceEquals(t.Input, batch.X) -> t
        | _ ->
            let t =
                {
                    Input = batch.X
                    Activations = ws.Acts
                }

            ws.Trace <- ValueSome t
            t

    forwardInto net trace
    let out = trace.Output
    let classes = out.RowCount
    let a, y = Tensor.data out, Tensor.data batch.Y

    let loss =
        Losses.value hyper.Loss net.Spec.Output hyper.Reduction classes a y
        + l2Term hyper.L2 net

    Losses.outputGradInto
        hyper.Loss
        net.Spec.Output
        hyper.Reduction
        classes
        a
        y
        (Tensor.data ws.Deltas[ws.Deltas.Length - 1])

    backwardInto net trace ws.Deltas (if withGrads then ValueSome ws.Grads else ValueNone)

    if withGrads && hyper.L2 <> 0.0 then
        let lambda: 'T = 'T.CreateTruncating hyper.L2

        for l in 0 .. net.Layers.Length - 1 do
            let w, g = Tensor.data net.Layers[l].W, Tensor.data ws.Grads[l].W
            TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(w), lambda, ReadOnlySpan<'T>(g), Span<'T>(g))

    loss

/// Loss and gradients of the batch into ws.Grads (the network is only read). Returns the loss.
let gradientsInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (ws: Workspace<'T>)
    (net: Network<'T>)
    : float =
    lossInto hyper batch ws net true

/// The pure gradient: loss and a fresh set of gradients, shaped like the network's layers.
let gradients<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (net: Network<'T>)
    : float * Layer<'T>[] =
    let ws = Workspace.create<'T> net.Spec batch.X.ColumnCount
    let loss = gradientsInto hyper batch ws net
    loss, ws.Grads

let private perLayer (ws: Workspace<'T>) (layers: int) (f: int -> float) =
    let acc = Array.zeroCreate layers

    for p in 0 .. ws.LayerOf.Length - 1 do
        acc[ws.LayerOf[p]] <- acc[ws.LayerOf[p]] + f p

    acc

/// Plain SGD updates the weights straight from the deltas: W ← (1 − ηλ)·W + (−η)·dz·belowᵀ in one rank-k
/// product into W (β = 1 − ηλ), without writing a gradient and reading it back. Both `step` and
/// `stepInPlace` take this path for such steps, so they still agree bit for bit.
let private fusedSgd (hyper: Hyper) =
    match hyper.Optimizer with
    | Sgd _ -> true
    | _ -> false

/// Step number t+1 from the state (t, net, opt), overwriting net and opt. With `measure`, the report
/// carries per-layer gradient norms and update ratios (one extra pass over the weights).
let stepInPlace<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (ws: Workspace<'T>)
    (measure: bool)
    (t: int64)
    (net: Network<'T>)
    (opt: OptState<'T>)
    : StepReport =
    Workspace.bind ws net opt
    let fused = fusedSgd hyper
    let loss = lossInto hyper batch ws net (measure || not fused)
    let layers = net.Layers.Length

    if measure then
        if ws.Before.Length = 0 then
            ws.Before <- ws.Params |> Array.map Array.copy
        else
            ws.Params |> Array.iteri (fun p w -> Array.blit w 0 ws.Before[p] 0 w.Length)

    if fused then
        // The deltas were computed from the old weights (backward finished first), so updating layer by
        // layer now is the same step. Without the gradient buffer a step moves W1 through memory twice, not four times.
        let eta = OptimizerSpec.lr hyper.Optimizer
        let negEta: 'T = 'T.CreateTruncating(-eta)
        let keep: 'T = 'T.CreateTruncating(1.0 - eta * hyper.L2)

        for l in 0 .. layers - 1 do
            let dz = ws.Deltas[l]
            let below = if l = 0 then batch.X else ws.Acts[l - 1]
            let layer = net.Layers[l]

            if dz.ColumnCount = 1 then
                if hyper.L2 = 0.0 then
                    Tensor.gerInto negEta (Tensor.data dz) (Tensor.data below) layer.W
                else
                    // A rank-one update has no β: decay and update in one pass of our own.
                    Tensor.decayAddOuterInto keep negEta (Tensor.data dz) (Tensor.data below) layer.W ws.Scratch
            else
                Tensor.gemmInto negEta dz false below true keep layer.W

            match layer.B with
            | Some b ->
                let bd = Tensor.vdata b
                let dzd = Tensor.data dz
                let rows = dz.RowCount

                for j in 0 .. dz.ColumnCount - 1 do
                    TensorPrimitives.MultiplyAdd<'T>(
                        ReadOnlySpan<'T>(dzd, j * rows, rows),
                        negEta,
                        ReadOnlySpan<'T>(bd),
                        Span<'T>(bd)
                    )
            | None -> ()
    else
        updateArrays hyper.Optimizer (t + 1L) ws.Params ws.GradArrays ws.M ws.V

    if measure then
        let grad =
            perLayer ws layers (fun p -> sumSquares ws.GradArrays[p]) |> Array.map sqrt

        let size = perLayer ws layers (fun p -> sumSquares ws.Before[p])

        let moved =
            perLayer ws layers (fun p ->
                Double.CreateTruncating(
                    TensorPrimitives.Distance(ReadOnlySpan<'T>(ws.Params[p]), ReadOnlySpan<'T>(ws.Before[p]))
                )
                ** 2.0)

        {
            Loss = loss
            GradNorms = grad
            UpdateRatios = Array.map2 (fun m s -> sqrt m / max (sqrt s) 1e-30) moved size
        }
    else
        {
            Loss = loss
            GradNorms = Array.Empty()
            UpdateRatios = Array.Empty()
        }

/// The definition: one training step, from a state to a new state. Nothing is mutated.
let step<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (state: TrainState<'T>)
    : TrainState<'T> * StepReport =
    let net, opt = Network.copy state.Network, OptState.copy state.Opt
    let ws = Workspace.create<'T> net.Spec batch.X.ColumnCount
    let report = stepInPlace hyper batch ws true state.Step net opt

    {
        Step = state.Step + 1L
        Network = net
        Opt = opt
    },
    report

/// The first state of a run.
let initState<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (net: Network<'T>)
    : TrainState<'T> =
    {
        Step = 0L
        Network = net
        Opt = Optim.init hyper.Optimizer net
    }
