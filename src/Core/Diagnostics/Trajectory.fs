/// Trajectory drift: the same batches from the same state, trained in float32 and in float64 side by side.
/// After t steps, per layer: d_t = ‖W32 − W64‖ / ‖W64‖. Rounding alone moves a float32 weight by at most
/// u = 2⁻²⁴ of itself per store, and a step stores each weight (and, for Adam, each moment) a few times, so
/// while nothing amplifies the differences d_t ≤ 4·t·u. Beyond that bound the dynamics amplify them (a ReLU or a
/// saturated unit switching on one side only, a cancellation, a loss spike): the first step and layer beyond it
/// is where the drift stops being rounding.
module Functional.Trajectory

open System
open Functional.Data

/// float32's unit roundoff, 2⁻²⁴.
let unitRoundoff = Math.Pow(2.0, -24.0)

/// The bound rounding explains after t steps: 4·t·u (see the module comment).
let bound (t: int64) = 4.0 * float t * unitRoundoff

/// The rule in words, for reports.
let rule =
    "rounding explains ‖W32 − W64‖/‖W64‖ ≤ 4·t·2⁻²⁴ after t steps: a float32 step rounds each weight (and each optimiser moment) a few times by at most 2⁻²⁴ of itself; more than that means the training dynamics amplified the rounding"

/// One layer at one sample: weights after t steps; gradients of step t, each side at its own weights.
type LayerDrift =
    {
        Layer: int
        WeightRel: float
        GradRel: float
        GradCosine: float
        /// Parameters compared (weights and gradients alike).
        Entries: int
    }

type Sample =
    {
        /// Steps taken since the two sides split.
        T: int64
        /// The run's step number (the split's step + T).
        Step: int64
        Loss32: float
        Loss64: float
        /// Share of the test images on which the two models predict the same class.
        Agreement: float
        Layers: LayerDrift[]
    }

type Report =
    {
        /// The run's step the two sides start from.
        From: int64
        Samples: Sample[]
        /// The first run step and layer (0-based) where the weights moved apart by more than rounding explains;
        /// -1 when never.
        FirstBeyondStep: int64
        FirstBeyondLayer: int
        /// Why the comparison means nothing (a NaN or infinity on either side); "" when it is sound.
        Problem: string
        /// Values compared in all (entries over samples and layers), so that a report of nothing is visible.
        Measured: int64
        Verdict: string
    }

let private layerIndex (name: string) =
    let parts = name.Split '.'

    match Array.tryFindIndex ((=) "layers") parts with
    | Some i when i + 1 < parts.Length ->
        match Int32.TryParse parts[i + 1] with
        | true, l -> l
        | _ -> -1
    | _ -> -1

/// Per layer, (32-bit values, 64-bit values) of the named tensors, concatenated in name order.
let private byLayer (a: NamedArray[]) (b: NamedArray[]) =
    let values (t: NamedArray) = Named.values<float> t

    a
    |> Array.filter (fun t -> not (t.Name.StartsWith "optimizer."))
    |> Array.groupBy (fun t -> layerIndex t.Name)
    |> Array.filter (fun (l, _) -> l >= 0)
    |> Array.sortBy fst
    |> Array.map (fun (l, ts) ->
        let xs = ts |> Array.collect values

        let ys =
            ts
            |> Array.collect (fun t -> values (b |> Array.find (fun u -> u.Name = t.Name)))

        l, xs, ys)

let private norm (v: float[]) = sqrt (Array.sumBy (fun x -> x * x) v)

let private relDiff (xs: float[]) (ys: float[]) =
    norm (Array.map2 (-) xs ys) / max (norm ys) 1e-300

let private cosine (xs: float[]) (ys: float[]) =
    Array.fold2 (fun s x y -> s + x * y) 0.0 xs ys / max (norm xs * norm ys) 1e-300

let private finite (xs: float[]) = Array.forall Double.IsFinite xs

/// Trains `steps` steps from `state` (after `from` steps of the run; null state = the initial weights) in
/// float32 and float64 on the same batches, sampling every `every` steps and at the end; `test` gives the
/// agreement of the two models' predictions.
let run (config: Config) (train: Images) (test: Images) (state: NamedArray[]) (from: int64) (steps: int) (every: int) =
    let t32 =
        TrainerOf<float32>({ config with Precision = Float32 }, train, state, from) :> Trainer

    let t64 =
        TrainerOf<float>({ config with Precision = Float64 }, train, state, from) :> Trainer

    let n = train.Count
    let samples = ResizeArray<Sample>()
    let mutable problem = ""
    let mutable step = from

    while problem = "" && step < from + int64 steps do
        let b = Data.batchOfStep n config.Batch (step + 1L)
        let order = Data.permutation config.Seed b.Epoch n
        let t = step + 1L - from
        let sampled = t % int64 every = 0L || t = int64 steps

        let grads =
            if sampled then
                Some(t32.Gradients(order, b.Offset, b.Count), t64.Gradients(order, b.Offset, b.Count))
            else
                None

        let l32 = t32.Step(order, b.Offset, b.Count)
        let l64 = t64.Step(order, b.Offset, b.Count)
        step <- step + 1L

        if not (Double.IsFinite l32 && Double.IsFinite l64) then
            problem <-
                sprintf
                    "the loss of step %d is %s in float32 and %s in float64: the training diverged, there is no drift to measure"
                    step
                    (Display.small l32)
                    (Display.small l64)

        match grads with
        | Some(g32, g64) when problem = "" ->
            let weights = byLayer (t32.Model.Tensors()) (t64.Model.Tensors())

            let gradients =
                byLayer g32 g64 |> Array.map (fun (l, xs, ys) -> l, (xs, ys)) |> Map.ofArray

            let bad =
                weights
                |> Array.tryPick (fun (l, xs, ys) ->
                    let gx, gy = gradients[l]

                    if not (finite xs && finite ys) then
                        Some(sprintf "%s's weights" (Display.layer l))
                    elif not (finite gx && finite gy) then
                        Some(sprintf "%s's gradients" (Display.layer l))
                    else
                        None)

            match bad with
            | Some what -> problem <- sprintf "%s hold NaN or infinity after step %d: the training diverged" what step
            | None ->
                let p32 = t32.Model.Evaluate(test).Predictions
                let p64 = t64.Model.Evaluate(test).Predictions
                let same = Array.fold2 (fun s a b -> if a = b then s + 1 else s) 0 p32 p64

                samples.Add
                    {
                        T = t
                        Step = step
                        Loss32 = l32
                        Loss64 = l64
                        Agreement = float same / float (max 1 test.Count)
                        Layers =
                            weights
                            |> Array.map (fun (l, xs, ys) ->
                                let gx, gy = gradients[l]

                                {
                                    Layer = l
                                    WeightRel = relDiff xs ys
                                    GradRel = relDiff gx gy
                                    GradCosine = cosine gx gy
                                    Entries = xs.Length
                                })
                    }
        | _ -> ()

    let samples = samples.ToArray()

    let firstBeyond =
        samples
        |> Array.tryPick (fun s ->
            s.Layers
            |> Array.tryFind (fun d -> d.WeightRel > bound s.T)
            |> Option.map (fun d -> s.Step, d.Layer))

    let measured =
        samples
        |> Array.sumBy (fun s -> s.Layers |> Array.sumBy (fun d -> int64 d.Entries))

    let problem =
        if problem = "" && measured = 0L then
            "nothing measured: no sample was taken (steps < 1?)"
        else
            problem

    let verdict =
        if problem <> "" then
            problem
        else
            let last = samples[samples.Length - 1]

            match firstBeyond with
            | None ->
                sprintf
                    "within rounding: after %d steps every layer's ‖W32 − W64‖/‖W64‖ is at most 4·t·2⁻²⁴ (%s at the end); the models agree on %.2f%% of the test images"
                    last.T
                    (Display.small (bound last.T))
                    (100.0 * last.Agreement)
            | Some(at, l) ->
                let s = samples |> Array.find (fun s -> s.Step = at)
                let d = s.Layers |> Array.find (fun d -> d.Layer = l)
                let within = samples |> Array.filter (fun x -> x.Step < at)

                let lossRel = abs (s.Loss32 - s.Loss64) / max (abs s.Loss64) 1e-300

                let cause =
                    if lossRel > 1e-2 then
                        sprintf "the loss differs by %s of itself there (a spike on one side)" (Display.small lossRel)
                    elif d.GradCosine < 0.999 then
                        sprintf
                            "the two gradients there point apart (cosine %.9f): a unit switched (a ReLU or a saturating unit) on one side only"
                            d.GradCosine
                    else
                        sprintf
                            "the gradients still agree (cosine %.9f, relative difference %s): the dynamics amplify the rounding"
                            d.GradCosine
                            (Display.small d.GradRel)

                sprintf
                    "beyond rounding from step %d in %s: ‖W32 − W64‖/‖W64‖ = %s > 4·t·2⁻²⁴ = %s (t = %d)%s; %s; after %d steps the models agree on %.2f%% of the test images"
                    at
                    (Display.layer l)
                    (Display.small d.WeightRel)
                    (Display.small (bound s.T))
                    s.T
                    (if within.Length = 0 then
                         ""
                     else
                         sprintf ", within it up to step %d" within[within.Length - 1].Step)
                    cause
                    last.T
                    (100.0 * last.Agreement)

    {
        From = from
        Samples = samples
        FirstBeyondStep = firstBeyond |> Option.map fst |> Option.defaultValue -1L
        FirstBeyondLayer = firstBeyond |> Option.map snd |> Option.defaultValue -1
        Problem = problem
        Measured = measured
        Verdict = verdict
    }

/// A report passes when it measured something and met no NaN or infinity (drift beyond rounding is a finding, not a failure).
let sound (r: Report) = r.Problem = ""
