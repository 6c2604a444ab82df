/// The batch an adversarial training step trains on: the clean batch B attacked by the network as it is before the
/// step (Attacks, random starts a function of (seed, step, column)), then [clean | adversarial] with targets scaled
/// by 2(1 − w) and 2w (w = 1: the adversarial half alone). For softmax with cross-entropy, L = −Σ y·ln p is linear
/// in y and so is ∂L/∂z = p·Σy − y, so the step's mean loss and gradient are exactly (1 − w)·L(clean) + w·L(adv).
/// TRADES (Zhang et al. 2019): PGD maximises KL(p(x) ‖ p(x')), i.e. cross-entropy against the clean outputs p(x)
/// as soft targets, and the batch [clean | adversarial] has targets [2y | 0]: the step's loss is the clean
/// cross-entropy, and Step adds β·KL(clean ‖ adversarial) per pair with its gradient through both columns
/// (Hyper.Trades, Losses.pairedKlInto).
module Functional.AdversarialTraining

open System
open System.Collections.Generic
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Losses
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Step
open Functional.Attacks

/// Holds, per batch size, the attack's scratch, the combined batch and a workspace of its width.
type internal Adversary<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: Adversarial, config: Config, net: Network<'T>) =
    let range = Attacks.range config.Scale
    let attack = Adversarial.attack spec range config.Seed
    let trades = spec.Trades > 0.0
    let both = spec.Weight < 1.0 || trades
    let factor = if config.Reduction = Mean then 2.0 else 1.0

    let cleanScale: 'T =
        'T.CreateTruncating(if trades then factor else factor * (1.0 - spec.Weight))

    let advScale: 'T = 'T.CreateTruncating(if trades then 0.0 else factor * spec.Weight)

    let scratch =
        Dictionary<int, struct (Scratch<'T> * Matrix<'T> * int[] * Workspace<'T> * Batch<'T>)>()

    /// The step's batch and a workspace of its width, from the clean batch of step `step` (1-based).
    member _.Prepare(clean: Batch<'T>, step: int64) : struct (Workspace<'T> * Batch<'T>) =
        let n = clean.X.ColumnCount
        let features, classes = clean.X.RowCount, clean.Y.RowCount

        let struct (s, y, labels, ws, batch) =
            match scratch.TryGetValue n with
            | true, v -> v
            | _ ->
                let width = if both then 2 * n else n

                let v =
                    struct (Scratch<'T>(net, n),
                            Tensor.zeros<'T> classes n,
                            Array.zeroCreate n,
                            Workspace.create<'T> net.Arch width,
                            {
                                X = Tensor.zeros<'T> features width
                                Y = Tensor.zeros<'T> classes width
                            })

                scratch[n] <- v
                v

        let cy = Tensor.data clean.Y

        for j in 0 .. n - 1 do
            labels[j] <- TensorPrimitives.IndexOfMax(ReadOnlySpan<'T>(cy, j * classes, classes))

        if trades then
            // The attack's targets are the clean outputs of the network before the step: the ascent is on
            // KL(p(x) ‖ p(x')), which is that cross-entropy less a constant.
            Array.blit (Tensor.data clean.X) 0 (Tensor.data s.X) 0 (features * n)
            s.Forward()
            Array.blit (Tensor.data s.Output) 0 (Tensor.data y) 0 (classes * n)
        else
            oneHot labels y

        attackBatch s attack range clean.X labels y n (fun j _ -> rng trainSalt config.Seed step j) false
        |> ignore

        let bx, by = Tensor.data batch.X, Tensor.data batch.Y
        let size = features * n

        if both then
            Array.blit (Tensor.data clean.X) 0 bx 0 size
            Array.blit (Tensor.data s.X) 0 bx size size
            let c = n * classes
            TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(cy, 0, c), cleanScale, Span<'T>(by, 0, c))
            TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(cy, 0, c), advScale, Span<'T>(by, c, c))
        else
            Array.blit (Tensor.data s.X) 0 bx 0 size
            Array.blit cy 0 by 0 (n * classes)

        struct (ws, batch)
