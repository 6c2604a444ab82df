/// A training run in progress for the host: the state of `Step.stepInPlace` held in one place, with one
/// workspace per batch size, plus what replay and the journal ask of a step (hashes, named tensors, the
/// batch, gradients, float64 drift, numeric gradients).
namespace Functional

open System
open System.Collections.Generic
open System.Numerics
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step

/// What a measured step reports (per layer: all its tensors together).
type StepSummary =
    {
        Loss: float
        GradNorms: float[]
        UpdateRatios: float[]
        /// Per layer, the fraction of sigmoid/tanh units saturated (mean σ'(z) < 0.01) over the step's batch,
        /// before its update; NaN for other activations.
        Saturation: float[]
        /// Per layer, the fraction of ReLU units that output 0 for every example of the step's batch, before its
        /// update; NaN for other activations.
        Dead: float[]
        /// The factor gradient clipping scaled the step's gradient by (1: not clipped).
        Clip: float
    }

/// Each Step overwrites the state it holds (the fast, allocation-free path).
[<AbstractClass>]
type Trainer() =
    /// Steps taken since the run began (restored with the state).
    abstract StepCount: int64
    /// Trains on examples order[offset .. offset+count−1] of the training images; returns the loss.
    abstract Step: order: int[] * offset: int * count: int -> float
    /// The same step, also measuring gradient norms and update ratios (same resulting bits as Step).
    abstract StepMeasured: order: int[] * offset: int * count: int -> StepSummary
    /// The current network (a live view: read it between steps).
    abstract Model: Model
    /// SHA-256 of every parameter's bytes (the journal's weights hash).
    abstract WeightsHash: unit -> string
    /// True when every weight is finite: one vectorised pass, cheap enough to run after every step.
    abstract WeightsFinite: unit -> bool
    /// Counts a step without taking it (train --on-nonfinite skip): the weights and moments stay as they are,
    /// the next step is the one after it (its batch, its dropout masks, its learning rate).
    abstract Skip: unit -> unit
    /// Weights and optimiser moments as named row-major tensors (a checkpoint's contents).
    abstract State: unit -> NamedArray[]
    /// The batch as fed to the network: inputs [n, features] and targets [n, classes], row-major.
    abstract Batch: order: int[] * offset: int * count: int -> NamedArray[]
    /// ∂L/∂θ of the current state on this batch (L2 included), named like the weights.
    abstract Gradients: order: int[] * offset: int * count: int -> NamedArray[]
    /// What the next step's forward pass computes on this batch (its dropout masks): per layer
    /// layers.{l}.preactivation and layers.{l}.activation, [count, the layer's output shape] row-major.
    abstract Activations: order: int[] * offset: int * count: int -> NamedArray[]
    /// ∂L/∂θ as the next step computes it (its dropout masks; L2 included, before clipping), and its loss.
    abstract StepGradients: order: int[] * offset: int * count: int -> struct (float * NamedArray[])
    /// The same gradients recomputed in float64 from the same state, compared with this precision's.
    abstract Drift: order: int[] * offset: int * count: int -> Snapshot.Drift[]

    /// Analytic against numeric (float64 central differences) gradients on `perLayer` parameters a layer.
    abstract CheckGradients:
        order: int[] * offset: int * count: int * perLayer: int * seed: int -> GradCheck.LayerCheck[]

/// The batch a step trains on: gathered, scaled, then augmented as that step's epoch asks.
module internal TrainBatch =
    /// Augments a gathered batch as the examples of step `step`'s epoch (a function of the step alone).
    let augmentFor
        (augmenter: Augment.Augmenter voption)
        (config: Config)
        (n: int)
        (step: int64)
        (order: int[])
        offset
        (x: MathNet.Numerics.LinearAlgebra.Matrix<'U>)
        =
        match augmenter with
        | ValueSome a ->
            let epoch = (Data.batchOfStep n config.Batch step).Epoch
            Augment.applyToBatch a config.Scale config.Seed epoch order offset x
        | ValueNone -> ()

    /// A fresh batch in precision 'U, as step `step` sees it (augmented).
    let batchFor<'U when 'U :> IFloatingPointIeee754<'U> and 'U: (new: unit -> 'U) and 'U: struct and 'U :> ValueType>
        (augmenter: Augment.Augmenter voption)
        (config: Config)
        (train: Images)
        (classes: int)
        (step: int64)
        (order: int[])
        offset
        count
        =
        let b = Named.batch<'U> config.Scale train classes order offset count
        augmentFor augmenter config train.Count step order offset b.X
        b

type internal TrainerOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (config: Config, train: Images, restore: NamedArray[], startStep: int64) =
    inherit Trainer()
    let hyper = config.Hyper
    let arch = config.Arch
    let classes = Arch.classes arch
    let scale = config.Scale
    // A checkpoint overwrites every tensor, so a restored trainer skips the start from data (k-means).
    let net =
        if isNull restore then
            Start.network<'T> config train
        else
            Network.init<'T> config.Init config.Seed arch

    let opt = Optim.init hyper.Optimizer net

    do
        if not (isNull restore) then
            let find = Named.finder<'T> restore
            Snapshot.load "" find arch net.Params
            // A state of weights alone (a run started --from one with another optimiser) starts the moments at zero.
            if restore |> Array.exists (fun t -> t.Name.StartsWith "optimizer.") then
                Snapshot.load "optimizer.m." find arch opt.M
                Snapshot.load "optimizer.v." find arch opt.V

    let mutable steps = startStep

    let augmenter =
        match Augment.Augment.imageSize arch.Input with
        | Some(h, w) when not (Augment.Augment.isNone config.Augment) ->
            ValueSome(Augment.Augmenter(config.Augment, h, w))
        | _ -> ValueNone

    let augment (order: int[]) offset (x: MathNet.Numerics.LinearAlgebra.Matrix<'T>) =
        TrainBatch.augmentFor augmenter config train.Count (steps + 1L) order offset x

    let batchOf order offset count =
        TrainBatch.batchFor<'T> augmenter config train classes (steps + 1L) order offset count
    // One workspace and batch buffer per batch size (an epoch has at most two: full and remainder).
    let scratch = Dictionary<int, struct (Workspace<'T> * Batch<'T>)>()
    let model = ModelOf<'T>(net, scale, config.Precision)

    let adversary =
        config.Adversarial
        |> Option.map (fun a -> AdversarialTraining.Adversary<'T>(a, config, net))

    let prepared (order: int[]) offset count =
        // Struct tuples: this runs every step and must not allocate.
        let struct (ws, batch) =
            match scratch.TryGetValue count with
            | true, v -> v
            | _ ->
                let v =
                    struct (Workspace.create<'T> arch count,
                            {
                                X = Tensor.zeros<'T> train.Features count
                                Y = Tensor.zeros<'T> classes count
                            })

                scratch[count] <- v
                v

        gatherInto scale train order offset batch.X batch.Y
        augment order offset batch.X

        match adversary with
        | Some a -> a.Prepare(batch, steps + 1L)
        | None -> struct (ws, batch)


    /// A fresh copy of the batch step `steps + 1` trains on, as the network sees it: augmented, and for an
    /// adversarial run the clean examples beside their attacked copies with the scaled targets. Dumps, traces,
    /// gradient checks and drift look at this batch, so they describe the step that was taken.
    let stepBatch order offset count : Batch<'T> =
        let b = batchOf order offset count

        match adversary with
        | Some a ->
            let struct (_, attacked) = a.Prepare(b, steps + 1L)

            {
                X = attacked.X.Clone()
                Y = attacked.Y.Clone()
            }
        | None -> b

    /// The step's batch in float64: built from the images in float64 (as exactly as they can be), except that an
    /// adversarial batch is the attack's float 'T batch widened, as the attack ran in 'T.
    let exactBatch order offset count : Batch<float> =
        match adversary with
        | Some _ ->
            let b = stepBatch order offset count

            let widen (m: MathNet.Numerics.LinearAlgebra.Matrix<'T>) =
                let w = Tensor.zeros<float> m.RowCount m.ColumnCount
                let src, dst = Tensor.data m, Tensor.data w

                for i in 0 .. src.Length - 1 do
                    dst[i] <- Double.CreateTruncating src[i]

                w

            { X = widen b.X; Y = widen b.Y }
        | None -> TrainBatch.batchFor<float> augmenter config train classes (steps + 1L) order offset count

    override _.StepCount = steps

    override _.Step(order, offset, count) =
        let struct (ws, batch) = prepared order offset count
        let report = stepInPlace hyper batch ws false steps net opt
        steps <- steps + 1L
        report.Loss

    override _.StepMeasured(order, offset, count) =
        let struct (ws, batch) = prepared order offset count
        let report = stepInPlace hyper batch ws true steps net opt
        steps <- steps + 1L

        // The step's forward pass (with the weights before its update) left the batch's activations in ws.
        let health =
            Diagnostics.health
                net
                {
                    Input = batch.X
                    Activations = ws.Acts
                }


        {
            Loss = report.Loss
            GradNorms = report.GradNorms
            UpdateRatios = report.UpdateRatios
            Saturation = health |> Array.map (fun h -> h.Saturated)
            Dead = health |> Array.map (fun h -> h.Dead)
            Clip = report.Clip
        }

    override _.Model = model

    override _.WeightsHash() = Snapshot.hash (Network.arrays net)

    override _.WeightsFinite() =
        Network.arrays net
        |> Array.forall (fun a ->
            a.Length = 0
            || Numerics.Tensors.TensorPrimitives.IsFiniteAll(ReadOnlySpan<'T>(a)))

    override _.Skip() = steps <- steps + 1L

    override _.State() =
        Array.concat
            [
                Named.ofParams "" arch net.Params
                Named.ofParams "optimizer.m." arch opt.M
                Named.ofParams "optimizer.v." arch opt.V
            ]

    override _.Batch(order, offset, count) =
        let b = stepBatch order offset count
        let width = b.X.ColumnCount
        // [features × n] column-major has the bytes of [n, features] row-major.
        [|
            Named.ofValues "inputs" [| width; train.Features |] (Array.copy (Tensor.data b.X))
            Named.ofValues "targets" [| width; classes |] (Array.copy (Tensor.data b.Y))
        |]

    override _.Gradients(order, offset, count) =
        let _, grads = gradients hyper (stepBatch order offset count) net

        Named.ofParams "" arch grads

    override _.Activations(order, offset, count) =
        let b = stepBatch order offset count
        let width = b.X.ColumnCount
        let pre, acts = Trace.ofStep hyper b net steps

        let shapes =
            match Arch.shapes arch with
            | Ok s -> s
            | Error e -> invalidOp e

        [|
            for l in 0 .. acts.Length - 1 do
                let shape = Array.append [| width |] shapes[l + 1]
                Named.ofValues (sprintf "layers.%d.preactivation" l) shape (Array.copy (Tensor.data pre[l]))
                Named.ofValues (sprintf "layers.%d.activation" l) shape (Array.copy (Tensor.data acts[l]))
        |]

    override _.StepGradients(order, offset, count) =
        let loss, grads = gradientsOfStep hyper (stepBatch order offset count) net steps
        struct (loss, Named.ofParams "" arch grads)

    override _.Drift(order, offset, count) =
        let _, own = gradients hyper (stepBatch order offset count) net

        let _, exact =
            gradients hyper (exactBatch order offset count) (Snapshot.convert<'T, float> net)

        Snapshot.drift own exact

    override _.CheckGradients(order, offset, count, perLayer, seed) =
        GradCheck.check hyper (exactBatch order offset count) (Snapshot.convert<'T, float> net) perLayer seed
