/// The learning-rate range test (Smith 2017, "Cyclical learning rates", section 3.3): train from the configured
/// initial weights while the rate grows exponentially from `From` to `To`, one step each, and record the loss.
/// The loss is smoothed by an exponential moving average (β = 0.98, debiased like Adam's), and the test stops
/// once the smoothed loss passes 4× its minimum. The suggested rate is where the smoothed loss falls fastest
/// against log(rate), searched before its minimum (`suggest`): large enough to learn quickly, still below the
/// rates that diverge. A tenth of the rate at the minimum, the other common rule, is reported beside it.
module Functional.LrFinder

open System
open System.Collections.Generic
open System.Numerics
open Functional.Data
open Functional.Arch
open Functional.Network
open Functional.Step

type Finding =
    {
        Rates: float[]
        Losses: float[]
        Smoothed: float[]
        /// The rate where the smoothed loss falls fastest, before its minimum.
        Suggested: float
        /// The rate at the smoothed loss's minimum.
        AtMinimum: float
        /// Why the test ended before its last step ("" when it ran them all).
        Stopped: string
    }

/// The rate of step i of `steps` between `lo` and `hi`, exponentially spaced.
let rateAt (lo: float) (hi: float) (steps: int) (i: int) =
    if steps <= 1 then
        lo
    else
        lo * Math.Pow(hi / lo, float i / float (steps - 1))

/// The suggestion rule on a recorded test: (steepest descent's rate, rate at the minimum). The slope is taken over
/// ±k points (k = a twentieth of the curve), from step max(k, 10) on, where the average has settled; with too
/// few points before the minimum, the suggestion is a tenth of the minimum's rate.
let suggest (rates: float[]) (smoothed: float[]) =
    let m = Array.IndexOf(smoothed, Array.min smoothed)
    let k = max 1 (rates.Length / 20)
    let first = max k 10

    let steepest =
        if m - k <= first then
            None
        else
            [| first .. m - k |]
            |> Array.minBy (fun i ->
                (smoothed[i + k] - smoothed[i - k])
                / (Math.Log rates[i + k] - Math.Log rates[i - k]))
            |> Some

    (match steepest with
     | Some i -> rates[i]
     | None -> rates[m] / 10.0),
    rates[m]

let private runOf<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (config: Config)
    (train: Images)
    (lo: float)
    (hi: float)
    (steps: int)
    : Finding =
    let arch = config.Arch
    let classes = Arch.classes arch
    let net = Start.network<'T> config train
    let opt = Optim.init config.Optimizer net
    let scratch = Dictionary<int, Workspace<'T> * Batch<'T>>()
    let rates, losses, smoothed = ResizeArray(), ResizeArray(), ResizeArray()
    let mutable average = 0.0
    let mutable best = Double.PositiveInfinity
    let mutable stopped = ""
    let mutable epoch, order = -1, [||]
    let mutable i = 0

    while i < steps && stopped = "" do
        let at = Data.batchOfStep train.Count config.Batch (int64 i + 1L)

        if at.Epoch <> epoch then
            epoch <- at.Epoch
            order <- Data.permutation config.Seed epoch train.Count

        let ws, batch =
            match scratch.TryGetValue at.Count with
            | true, v -> v
            | _ ->
                let v =
                    Workspace.create<'T> arch at.Count,
                    {
                        X = Tensor.zeros<'T> train.Features at.Count
                        Y = Tensor.zeros<'T> classes at.Count
                    }

                scratch[at.Count] <- v
                v

        gatherInto config.Scale train order at.Offset batch.X batch.Y
        let rate = rateAt lo hi steps i

        let hyper =
            { (config.WithLr rate).Hyper with
                Schedule = Schedule.Constant
            }

        let loss = (stepInPlace hyper batch ws false (int64 i) net opt).Loss
        average <- 0.98 * average + 0.02 * loss
        let s = average / (1.0 - Math.Pow(0.98, float (i + 1)))
        rates.Add rate
        losses.Add loss
        smoothed.Add s
        best <- min best s

        if not (Double.IsFinite loss) then
            stopped <- sprintf "the loss became %g at step %d" loss (i + 1)
        elif i >= 10 && s > 4.0 * best then
            stopped <- sprintf "the smoothed loss passed 4× its minimum at step %d" (i + 1)

        i <- i + 1

    // A non-finite last point would hide the minimum: the rule looks at the finite ones.
    let finite = smoothed |> Seq.takeWhile Double.IsFinite |> Seq.length
    let r, sm = rates.ToArray()[.. finite - 1], smoothed.ToArray()[.. finite - 1]

    let suggested, atMinimum = if finite = 0 then nan, nan else suggest r sm

    {
        Rates = rates.ToArray()
        Losses = losses.ToArray()
        Smoothed = smoothed.ToArray()
        Suggested = suggested
        AtMinimum = atMinimum
        Stopped = stopped
    }

/// The range test for this configuration (its optimiser, batch, initialisation and precision) on `train`.
let run (config: Config) (train: Images) (lo: float) (hi: float) (steps: int) : Finding =
    if not (lo > 0.0 && hi > lo && steps >= 3) then
        invalidArg "steps" (sprintf "a range test needs 0 < from < to and at least 3 steps (%g, %g, %d)" lo hi steps)

    match config.Precision with
    | Float64 -> runOf<float> config train lo hi steps
    | Float32 -> runOf<float32> config train lo hi steps
