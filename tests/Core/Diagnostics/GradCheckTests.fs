module Functional.Tests.Core.GradCheckTests

open System
open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step
open Functional.Tests.Core.Helpers

let gradCheckTests =
    let s = dense [| 4; 5; 3 |] Tanh Softmax true
    let h = hyper CrossEntropy Mean 0.1 (Sgd 0.1)
    let rng = Rng.For(11, 0)
    let net = randomNet<float> rng s
    let batch = randomBatch<float> rng Soft s 3

    testList
        "GradCheck"
        [
            test "check on a correct network: tiny errors, signs agree, norm ratio 1" {
                let layers = GradCheck.check h batch net 1000 1
                Expect.equal layers.Length 2 "one report per layer"

                for r in layers do
                    Expect.equal r.Checked (net.Params[r.Layer] |> Array.sumBy Array.length) "all checked"
                    Expect.isLessThan r.MaxRelError 1e-6 $"layer %d{r.Layer} max relative error"
                    Expect.isLessThanOrEqual r.MeanRelError r.MaxRelError "mean ≤ max"
                    Expect.equal r.SignAgreement 1.0 $"layer %d{r.Layer} sign agreement"
                    Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.NormRatio 1.0 "norm ratio"
            }

            test "check samples perLayer parameters when a layer is larger" {
                let layers = GradCheck.check h batch net 7 3
                Expect.all layers (fun r -> r.Checked = 7) "7 checked per layer"
                Expect.all layers (fun r -> r.MaxRelError < 1e-6) "still accurate"
            }

            test "relError and epsilonFor" {
                Expect.equal (GradCheck.relError 2.0 2.0) 0.0 "equal"
                Expect.equal (GradCheck.relError 0.0 0.0) 0.0 "both zero"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 1.0 (-1.0)) 2.0 "sign flip"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 0.5 1.0) 0.5 "halved"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 2.0 1.0) 0.5 "doubled"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 1e-9 0.0) 0.1 "1e-8 floor"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor 0.0) 6.0554544523933395e-6 "∛ε"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor 0.5) 6.0554544523933395e-6 "|θ| < 1"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor (-100.0)) 6.0554544523933395e-4 "scaled"
            }

            test "numeric gradients flag negated and halved analytic gradients" {
                let _, grads = Step.gradients h batch net
                let analytic = Array.concat grads

                let pairs =
                    [|
                        for p in 0 .. analytic.Length - 1 do
                            for i in 0 .. analytic[p].Length - 1 -> analytic[p][i], GradCheck.numeric h batch net p i
                    |]

                // The same figures check computes, for wrong analytic gradients a' = k·a.
                let figures k =
                    let wrong = pairs |> Array.map (fun (a, n) -> k * a, n)
                    let maxErr = wrong |> Array.map (fun (a, n) -> GradCheck.relError a n) |> Array.max
                    let norm xs = sqrt (Array.sumBy (fun x -> x * x) xs)
                    let an, nn = norm (Array.map fst wrong), norm (Array.map snd wrong)
                    let dot = wrong |> Array.sumBy (fun (a, n) -> a * n)
                    let agree = wrong |> Array.filter (fun (a, n) -> sign a = sign n) |> Array.length
                    maxErr, (if dot < 0.0 then -nn / an else nn / an), float agree / float wrong.Length

                let err1, ratio1, agree1 = figures 1.0
                Expect.isLessThan err1 1e-6 "correct"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } ratio1 1.0 "correct ratio"
                Expect.equal agree1 1.0 "correct signs"
                let errNeg, ratioNeg, agreeNeg = figures (-1.0)
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } errNeg 2.0 "negated: relative error 2"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } ratioNeg -1.0 "negated: norm ratio −1"
                Expect.equal agreeNeg 0.0 "negated: no sign agrees"
                let errHalf, ratioHalf, agreeHalf = figures 0.5
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } errHalf 0.5 "halved: relative error ½"
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } ratioHalf 2.0 "halved: norm ratio 2"
                Expect.equal agreeHalf 1.0 "halved: signs still agree"
            }

            test "numeric leaves the network untouched" {
                let before = copyArrays (Network.arrays net)
                GradCheck.numeric h batch net 0 0 |> ignore
                expectSameBits "network" before (Network.arrays net)
            }
        ]


/// The directional check: one number per direction over every parameter; a wrong layer shows in its share of g·u.
let directionalTests =
    let h = hyper CrossEntropy Mean 0.1 (Sgd 0.1)

    /// A network of `arch` with random biases, its batch, from one seed.
    let case (arch: Arch) seed =
        let rng = Rng.For(seed, 0)
        randomNet<float> rng arch, randomBatch<float> rng Soft arch 4

    let tanhNet = dense [| 6; 7; 5; 3 |] Tanh Softmax true
    let reluNet = dense [| 6; 7; 5; 3 |] Relu Softmax true

    /// `k` times the gradient of layer `l`, the others as they are.
    let scaleLayer l (k: float) (grads: float[][][]) =
        grads
        |> Array.mapi (fun i g ->
            if i = l then
                g |> Array.map (Array.map (fun x -> k * x))
            else
                g)

    testList
        "GradCheck directional"
        [
            testPropertyWithConfig (config 40) "a correct gradient passes every direction (tanh and ReLU networks)"
            <| fun (seed: PositiveInt) (relu: bool) ->
                let net, batch = case (if relu then reluNet else tanhNet) seed.Get
                let c = GradCheck.directional h batch net 4 seed.Get
                Expect.equal c.Problem "" "no problem"
                Expect.isTrue (GradCheck.directionalPassed c) (sprintf "%A" c.Directions)
                Expect.equal c.Parameters (Network.arrays net |> Array.sumBy Array.length) "all parameters"

            test "a layer's gradient doubled, or its sign flipped, fails" {
                let net, batch = case tanhNet 5

                for l in 0..2 do
                    for k in [ 2.0; -1.0 ] do
                        let c = GradCheck.directionalWith (scaleLayer l k) h batch net 3 1
                        Expect.isFalse (GradCheck.directionalPassed c) (sprintf "layer %d times %g" l k)

                        Expect.isTrue
                            (c.Directions |> Array.exists (fun d -> not d.Passed && not d.Kink))
                            "a judged direction fails"
            }

            test "a ×2 slip on one layer fails the directional check, as the element-wise one names it" {
                let net, batch = case reluNet 9
                Expect.isTrue (GradCheck.directionalPassed (GradCheck.directional h batch net 3 2)) "correct"

                Expect.isFalse
                    (GradCheck.directionalPassed (GradCheck.directionalWith (scaleLayer 1 0.5) h batch net 3 2))
                    "halved"

                let layers = GradCheck.checkWith (scaleLayer 1 0.5) h batch net 100 2

                Expect.equal
                    (GradCheck.factor layers[1])
                    (Some 2.0)
                    "element-wise: numeric = 2 x analytic on that layer"
            }

            test "exactly-zero parameters are moved off zero, on a copy; the rest stay" {
                let net, batch = case reluNet 3
                let arrays = Network.arrays net
                arrays[1].[0] <- 0.0
                arrays[1].[2] <- 0.0
                let before = copyArrays arrays
                let c = GradCheck.directional h batch net 2 1
                Expect.equal c.Moved 2 "the two zeros"
                expectSameBits "the caller's network" before (Network.arrays net)
                let probe = Network.copy net
                Expect.equal (GradCheck.offKinks 1 probe) 2 "offKinks counts them"
                let moved = Network.arrays probe

                Expect.all [ moved[1].[0]; moved[1].[2] ] (fun x -> abs x >= 1e-3 && abs x <= 2e-3) "to ±1e-3..2e-3"

                for p in 0 .. before.Length - 1 do
                    for i in 0 .. before[p].Length - 1 do
                        if before[p].[i] <> 0.0 then
                            Expect.equal moved[p].[i] before[p].[i] "a non-zero parameter is kept"
            }

            test "the same seed gives the same directions" {
                let net, batch = case tanhNet 4

                let a, b =
                    GradCheck.directional h batch net 3 7, GradCheck.directional h batch net 3 7

                Expect.equal
                    (a.Directions |> Array.map (fun d -> d.Analytic))
                    (b.Directions |> Array.map (fun d -> d.Analytic))
                    "seeded"

                let c = GradCheck.directional h batch net 3 8
                Expect.notEqual (a.Directions[0].Analytic) (c.Directions[0].Analytic) "another seed, other directions"
            }
        ]

[<Tests>]
let tests = testList "Core" [ gradCheckTests; directionalTests ]
