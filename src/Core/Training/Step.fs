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
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim

type Hyper =
    {
        Loss: Loss
        Reduction: Reduction
        /// L2 decay λ: adds ½λ‖W‖² to the loss and λW to each weight gradient (biases are not decayed).
        L2: float
        Optimizer: OptimizerSpec
        /// Per-step random choices (dropout masks) are drawn from (Seed, step, layer).
        Seed: int
        /// The learning rate of update t is the optimiser's rate times `Schedule.factor Schedule t`.
        Schedule: Schedule.Schedule
        /// Global gradient-norm clipping: when ‖g‖ (every tensor together, L2 term included) exceeds it, the
        /// gradient is scaled by ClipNorm/‖g‖ before the update (PyTorch's clip_grad_norm_); 0 = off.
        ClipNorm: float
        /// TRADES' β (0 = off): the batch is [clean | adversarial], column j paired with j + B, and the loss adds
        /// β·KL(clean ‖ adversarial) per pair (Losses.pairedKlInto; AdversarialTraining builds such batches).
        Trades: float
    }

module Hyper =
    /// The learning rate of the update that follows t updates.
    let lrAt (hyper: Hyper) (t: int64) =
        match hyper.Schedule with
        | Schedule.Constant -> OptimizerSpec.lr hyper.Optimizer
        | s -> OptimizerSpec.lr hyper.Optimizer * Schedule.factor s t

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

/// What a step measured. GradNorms and UpdateRatios (‖Δθ‖/‖θ‖) are per layer, all its tensors together (0 for
/// layers without parameters); they are empty when the step was asked not to measure them (the fast path).
[<Struct>]
type StepReport =
    {
        Loss: float
        GradNorms: float[]
        UpdateRatios: float[]
        /// The factor clipping scaled the gradient by (1 when it did not; NaN when not measured).
        Clip: float
    }

/// Scratch for steps of one batch size. Mutable by design: it is the fast path's scratch space.
type Workspace<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> =
    {
        Bound: Bound<'T>
        Acts: Matrix<'T>[]
        Deltas: Matrix<'T>[]
        Grads: 'T[][][]
        GradArrays: 'T[][]
        LayerOf: int[]
        Decays: bool[]
        /// Tensors the step leaves as they are (Network.frozen).
        Frozen: bool[]
        AnyFrozen: bool
        /// Layers whose gradient this step computes.
        Wanted: bool[]
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
        (arch: Arch)
        (batch: int)
        : Workspace<'T> =
        let bound = Bound.create<'T> arch batch
        let grads = Params.zeros<'T> arch

        {
            Bound = bound
            Acts = Bound.buffers bound
            Deltas = Bound.buffers bound
            Grads = grads
            GradArrays = Array.concat grads
            LayerOf = Network.layerOf arch
            Decays = Network.decays arch
            Frozen = Network.frozen arch
            AnyFrozen = Array.contains true (Network.frozen arch)
            Wanted = Array.create arch.Layers.Length true
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
            ws.M <- Array.concat opt.M
            ws.V <- Array.concat opt.V
            ws.BoundNet <- net
            ws.BoundOpt <- opt

let private sumSquares (a: 'T[]) =
    Double.CreateTruncating(TensorPrimitives.SumOfSquares(ReadOnlySpan<'T>(a)))

/// ½λ Σ‖W‖² over the arrays that decay (no allocation: the step calls it with its workspace's views).
let private l2Of (lambda: float) (decays: bool[]) (arrays: 'T[][]) =
    if lambda = 0.0 then
        0.0
    else
        let mutable s = 0.0

        for p in 0 .. arrays.Length - 1 do
            if decays[p] then
                s <- s + sumSquares arrays[p]

        0.5 * lambda * s

/// ½λ Σ‖W‖² over the tensors that decay, the L2 term of the loss.
let l2Term (lambda: float) (net: Network<'T>) =
    if lambda = 0.0 then
        0.0
    else
        l2Of lambda (Network.decays net.Arch) (Network.arrays net)

/// Loss of the batch, and the gradients of the layers in ws.Wanted into ws.Grads (the network is only read).
/// t is the number of steps taken before this one (dropout's masks depend on it).
let private lossInto<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (ws: Workspace<'T>)
    (net: Network<'T>)
    (t: int64)
    (withGrads: bool)
    : float =
    let trace =
        match ws.Trace with
        | ValueSome tr when Object.ReferenceEquals(tr.Input, batch.X) -> tr
        | _ ->
            let tr =
                {
                    Input = batch.X
                    Activations = ws.Acts
                }

            ws.Trace <- ValueSome tr
            tr

    let mode =
        {
            Training = true
            Seed = hyper.Seed
            Step = t
            Layer = 0
        }

    forwardWith ws.Bound net trace mode
    let out = trace.Output
    let classes = out.RowCount
    let a, y = Tensor.data out, Tensor.data batch.Y
    let output = Arch.output net.Arch

    let dzOut = Tensor.data ws.Deltas[ws.Deltas.Length - 1]

    Losses.outputGradInto hyper.Loss output hyper.Reduction classes a y dzOut

    let loss =
        Losses.value hyper.Loss output hyper.Reduction classes a y
        + l2Of hyper.L2 ws.Decays ws.Params
        + (if hyper.Trades > 0.0 then
               Losses.pairedKlInto hyper.Trades hyper.Reduction classes a dzOut
           else
               0.0)

    backwardWith ws.Bound net trace ws.Deltas (if withGrads then ValueSome ws.Grads else ValueNone) ws.Wanted ValueNone

    if withGrads && hyper.L2 <> 0.0 then
        let lambda: 'T = 'T.CreateTruncating hyper.L2
        let ps = ws.Params

        for p in 0 .. ws.GradArrays.Length - 1 do
            if ws.Decays[p] && ws.Wanted[ws.LayerOf[p]] then
                let w, g = ps[p], ws.GradArrays[p]
                TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(w), lambda, ReadOnlySpan<'T>(g), Span<'T>(g))

    loss

/// Loss and gradients of every layer into ws.Grads (the network is only read). Returns the loss.
let gradientsInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (ws: Workspace<'T>)
    (net: Network<'T>)
    : float =
    ws.BoundNet <- null
    ws.Params <- Network.arrays net
    Array.fill ws.Wanted 0 ws.Wanted.Length true
    lossInto hyper batch ws net 0L true

/// The gradient the step that follows t updates computes (its dropout masks), in fresh arrays; the loss with it.
let gradientsOfStep<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (net: Network<'T>)
    (t: int64)
    : float * 'T[][][] =
    let ws = Workspace.create<'T> net.Arch batch.X.ColumnCount
    ws.Params <- Network.arrays net
    let loss = lossInto hyper batch ws net t true
    loss, ws.Grads

/// The pure gradient: loss and a fresh set of gradients, shaped like the network's parameters.
let gradients<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (net: Network<'T>)
    : float * 'T[][][] =
    let ws = Workspace.create<'T> net.Arch batch.X.ColumnCount
    let loss = gradientsInto hyper batch ws net
    loss, ws.Grads

/// ∂L/∂x: the gradient of the batch's loss with respect to its inputs ([features × B], the L2 term has none).
let inputGradient<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (net: Network<'T>)
    : float * Matrix<'T> =
    let bound = Bound.create<'T> net.Arch batch.X.ColumnCount

    let trace =
        {
            Input = batch.X
            Activations = Bound.buffers bound
        }

    forwardWith bound net trace Mode.eval
    let deltas = Bound.buffers bound
    let out = trace.Output
    let output = Arch.output net.Arch
    let a, y = Tensor.data out, Tensor.data batch.Y
    let loss = Losses.value hyper.Loss output hyper.Reduction out.RowCount a y
    Losses.outputGradInto hyper.Loss output hyper.Reduction out.RowCount a y (Tensor.data deltas[deltas.Length - 1])
    let dx = Tensor.zeros<'T> batch.X.RowCount batch.X.ColumnCount
    backwardWith bound net trace deltas ValueNone (Array.create deltas.Length false) (ValueSome dx)
    loss, dx

let private perLayer (ws: Workspace<'T>) (layers: int) (f: int -> float) =
    let acc = Array.zeroCreate layers

    for p in 0 .. ws.LayerOf.Length - 1 do
        acc[ws.LayerOf[p]] <- acc[ws.LayerOf[p]] + f p

    acc

/// Step number t+1 from the state (t, net, opt), overwriting net and opt. With `measure`, the report
/// carries per-layer gradient norms and update ratios (one extra pass over the weights).
/// Plain SGD updates dense layers straight from their deltas (Kernel.FusedSgd: W ← (1 − ηλ)·W − η·dz·xᵀ in one
/// product, no gradient written and read back); `step` and `stepInPlace` both take that path, so they agree.
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
    let kernels = ws.Bound.Kernels
    let layers = kernels.Length

    let sgd =
        match hyper.Optimizer with
        | Sgd _ -> true
        | _ -> false

    let clipping = hyper.ClipNorm > 0.0
    // Clipping needs the whole gradient before any update, so it leaves SGD's fused path.
    let fused = sgd && not clipping

    for l in 0 .. layers - 1 do
        ws.Wanted[l] <- measure || not (fused && kernels[l].HasFusedSgd)

    let loss = lossInto hyper batch ws net t true

    // A frozen tensor's gradient is no part of the step: neither of its norm, its clipping nor its update.
    if ws.AnyFrozen then
        for p in 0 .. ws.GradArrays.Length - 1 do
            if ws.Frozen[p] then
                Array.Clear ws.GradArrays[p]

    let clip =
        if clipping then
            let mutable squares = 0.0

            for g in ws.GradArrays do
                squares <- squares + sumSquares g

            let norm = sqrt squares

            if norm > hyper.ClipNorm then
                let scale = hyper.ClipNorm / norm
                let s: 'T = 'T.CreateTruncating scale

                for g in ws.GradArrays do
                    TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(g), s, Span<'T>(g))

                scale
            else
                1.0
        else
            1.0

    if measure then
        if ws.Before.Length = 0 then
            ws.Before <- ws.Params |> Array.map Array.copy
        else
            ws.Params |> Array.iteri (fun p w -> Array.blit w 0 ws.Before[p] 0 w.Length)

    // Backward has finished with the old weights, so updating layer by layer now is the same step.
    let eta = Hyper.lrAt hyper t

    if fused then
        let negEta: 'T = 'T.CreateTruncating(-eta)
        let keep: 'T = 'T.CreateTruncating(1.0 - eta * hyper.L2)

        for l in 0 .. layers - 1 do
            if kernels[l].HasFusedSgd then
                let below = if l = 0 then batch.X else ws.Acts[l - 1]
                kernels[l].FusedSgd(net.Params[l], below, ws.Deltas[l], negEta, keep)

        for p in 0 .. ws.Params.Length - 1 do
            if not kernels[ws.LayerOf[p]].HasFusedSgd && not ws.Frozen[p] then
                updateArrayAt hyper.Optimizer eta (t + 1L) ws.Params[p] ws.GradArrays[p] null null
    else
        updateArraysAt hyper.Optimizer eta (t + 1L) ws.Frozen ws.Params ws.GradArrays ws.M ws.V

    if measure then
        // The norms before clipping: what the network produced (the scale is reported beside them).
        let grad =
            perLayer ws layers (fun p -> sumSquares ws.GradArrays[p])
            |> Array.map (fun s -> sqrt s / clip)

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
            UpdateRatios =
                Array.map2
                    (fun m s ->
                        if s = 0.0 && m = 0.0 then
                            0.0
                        else
                            sqrt m / max (sqrt s) 1e-30)
                    moved
                    size
            Clip = clip
        }
    else
        {
            Loss = loss
            GradNorms = Array.Empty()
            UpdateRatios = Array.Empty()
            Clip = clip
        }

/// The definition: one training step, from a state to a new state. Nothing is mutated.
let step<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (state: TrainState<'T>)
    : TrainState<'T> * StepReport =
    let net, opt = Network.copy state.Network, OptState.copy state.Opt
    let ws = Workspace.create<'T> net.Arch batch.X.ColumnCount
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
