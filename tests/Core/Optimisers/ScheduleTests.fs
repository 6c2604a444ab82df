module Functional.Tests.Core.ScheduleTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Arch
open Functional.Network
open Functional.Schedule
open Functional.Tests.Core.Helpers

let private close (expected: float) (actual: float) (what: string) =
    Expect.floatClose Accuracy.veryHigh actual expected what

let private schedules =
    gen {
        let! n = Gen.choose (2, 5000)
        let! k = Gen.choose (1, 400)
        let! gamma = Gen.elements [ 0.1; 0.5; 0.9; 1.0 ]
        let! floor = Gen.elements [ 0.0; 0.01; 0.5 ]

        let! main =
            Gen.elements
                [
                    Constant
                    StepDecay(int64 k, gamma)
                    Cosine(int64 n, floor)
                    OneCycle(int64 n)
                ]

        let! warm = Gen.elements [ 0L; 1L; int64 k ]
        return if warm > 0L then Warmup(warm, main) else main
    }
    |> Arb.fromGen

let scheduleTests =
    testList
        "Schedule"
        [
            test "each schedule's values at given steps" {
                close 1.0 (factor Constant 12345L) "constant"
                close 1.0 (factor (StepDecay(100L, 0.1)) 0L) "step: first update"
                close 1.0 (factor (StepDecay(100L, 0.1)) 99L) "step: the 100th update"
                close 0.1 (factor (StepDecay(100L, 0.1)) 100L) "step: after one decay"
                close 0.01 (factor (StepDecay(100L, 0.1)) 250L) "step: after two decays"
                close 1.0 (factor (Cosine(1000L, 0.0)) 0L) "cosine starts at the base rate"
                close 0.5 (factor (Cosine(1000L, 0.0)) 500L) "cosine: half-way is half"
                close 0.0 (factor (Cosine(1000L, 0.0)) 1000L) "cosine ends at its floor"
                close 0.1 (factor (Cosine(1000L, 0.1)) 5000L) "cosine stays at its floor"
                close 0.55 (factor (Cosine(1000L, 0.1)) 500L) "cosine with a floor: half-way between"
                close (1.0 / 25.0) (factor (OneCycle 1000L) 0L) "one-cycle starts at base/25"
                close 1.0 (factor (OneCycle 1000L) 300L) "one-cycle peaks at 30%"
                close (1.0 / 250000.0) (factor (OneCycle 1000L) 1000L) "one-cycle ends at base/(25·10⁴)"
                close 0.25 (factor (Warmup(4L, Constant)) 0L) "warm-up: update 1 of 4"
                close 1.0 (factor (Warmup(4L, Constant)) 3L) "warm-up: update 4 of 4"
                close 1.0 (factor (Warmup(4L, Cosine(10L, 0.0))) 4L) "after warm-up the schedule starts"
                close 0.5 (factor (Warmup(4L, Cosine(10L, 0.0))) 9L) "and counts from the warm-up's end"
            }

            testPropertyWithConfig (config 300) "text reads back, and every factor is in [0, 1]"
            <| Prop.forAll schedules (fun s ->
                Expect.equal (tryParse (text s)) (Some s) (text s)
                Expect.isNone (problem s) "valid"

                Expect.isTrue (factor s 0L > 0.0) "the first update moves"

                for t in [ 0L; 1L; 7L; 99L; 1000L; 4999L; 100000L ] do
                    let f = factor s t
                    Expect.isTrue (f >= 0.0 && f <= 1.0 + 1e-12) $"factor %g{f} at %d{t} in [0, 1]")

            test "requests in epochs resolve to steps" {
                let r (text: string) =
                    match Request.parse text with
                    | Ok r -> r
                    | Error e -> failtest e

                Expect.equal (Request.resolve (r "constant") 250 10) Constant "constant"
                Expect.equal (Request.resolve (r "cosine") 250 10) (Cosine(2500L, 0.0)) "cosine over the run"
                Expect.equal (Request.resolve (r "cosine:0.01") 250 10) (Cosine(2500L, 0.01)) "with a floor"
                Expect.equal (Request.resolve (r "step:3") 250 10) (StepDecay(750L, 0.1)) "every 3 epochs ×0.1"
                Expect.equal (Request.resolve (r "step:2.5:0.5") 100 10) (StepDecay(250L, 0.5)) "fractional epochs"
                Expect.equal (Request.resolve (r "onecycle") 250 10) (OneCycle 2500L) "one-cycle over the run"

                Expect.equal
                    (Request.resolve { r "cosine" with Warmup = 1.0 } 250 10)
                    (Warmup(250L, Cosine(2250L, 0.0)))
                    "warm-up, then cosine over the rest"

                for bad in [ "cosine:2"; "step"; "step:0"; "step:2:0"; "step:2:1.5"; "linear"; "" ] do
                    Expect.isError (Request.parse bad) bad
            }

            test "a stored schedule that makes no sense is named" {
                Expect.isSome (problem (StepDecay(0L, 0.1))) "no steps between decays"
                Expect.isSome (problem (Cosine(10L, 2.0))) "a floor above 1"
                Expect.isSome (problem (Warmup(0L, Constant))) "an empty warm-up"
                Expect.isNone (tryParse "cosine:ten:0") "unreadable"
            }

            test "a step takes its scheduled rate: SGD moves by lr·factor·gradient" {
                let arch = Arch.dense [| 4; 3 |] Activations.Linear Activations.Softmax true
                let net = Network.init<float> Init.Xavier 1 arch
                let x = Tensor.ofColumnMajor 4 1 [| 0.1; 0.5; -0.2; 0.3 |]
                let y = Tensor.ofColumnMajor 3 1 [| 0.0; 1.0; 0.0 |]
                let batch: Step.Batch<float> = { X = x; Y = y }

                let hyper schedule : Step.Hyper =
                    {
                        Loss = Losses.CrossEntropy
                        Reduction = Losses.Mean
                        L2 = 0.0
                        Optimizer = Optim.Sgd 0.5
                        Seed = 1
                        Schedule = schedule
                        ClipNorm = 0.0
                        Trades = 0.0
                    }

                let _, g = Step.gradients (hyper Constant) batch net
                let state = Step.initState (hyper Constant) net

                let moved schedule (t: int64) =
                    let s, _ = Step.step (hyper schedule) batch { state with Step = t }
                    let before, after = (Network.arrays net).[0], (Network.arrays s.Network).[0]
                    Array.map2 (fun a b -> a - b) before after

                let decay = StepDecay(10L, 0.1)

                let gw = g[0][0]

                moved decay 9L
                |> Array.iteri (fun i d -> close (0.5 * gw[i]) d "before the decay")

                moved decay 10L
                |> Array.iteri (fun i d -> close (0.05 * gw[i]) d "after the decay")
            }

            test "lr-find suggests where the smoothed loss falls fastest, before its minimum" {
                // A loss that falls as a logistic in log(rate), steepest at 1e-3, with its minimum at 1e-1 and a
                // rise after it.
                let rates = Array.init 200 (fun i -> LrFinder.rateAt 1e-7 10.0 200 i)

                let loss (r: float) =
                    let x = Math.Log10 r

                    2.0 / (1.0 + Math.Exp(3.0 * (x + 3.0)))
                    + (if x > -1.0 then 5.0 * (x + 1.0) ** 2.0 else 0.0)

                let suggested, atMinimum = LrFinder.suggest rates (Array.map loss rates)
                Expect.floatClose { absolute = 0.0; relative = 0.1 } suggested 1e-3 "steepest at 1e-3"
                Expect.floatClose { absolute = 0.0; relative = 0.1 } atMinimum 1e-1 "minimum at 1e-1"
                Expect.floatClose Accuracy.veryHigh (LrFinder.rateAt 1e-7 10.0 200 0) 1e-7 "first rate"
                Expect.floatClose Accuracy.veryHigh (LrFinder.rateAt 1e-7 10.0 200 199) 10.0 "last rate"
            }
        ]

[<Tests>]
let tests = testList "Core" [ scheduleTests ]
