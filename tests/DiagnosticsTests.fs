/// The doctor's core: presets' maths (normal-fanout, the offset scale), gradcheck's verdicts under injected
/// faults, and the Diagnostics measurements against hand-computed values.
module Functional.Tests.DiagnosticsTests

open System
open Expecto
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step
open Functional.Diagnostics

let private spec sizes hidden output bias =
    Arch.Arch.dense sizes hidden output bias

let private matrix rows cols (values: float[]) = Tensor.ofColumnMajor rows cols values

/// The original question's network on its own maths: 784-200-10 sigmoid/sigmoid, MSE summed, no biases,
/// normal-fanout, inputs scaled by Offset; a batch of 10 synthetic digits (pixel bytes drawn from a seed).
let private seedCase () =
    let s = spec [| 784; 200; 10 |] Sigmoid Sigmoid false

    let h: Hyper =
        {
            Loss = Mse
            Reduction = Sum
            L2 = 0.0
            Optimizer = Sgd 0.4
            Seed = 1
            Schedule = Schedule.Constant
            ClipNorm = 0.0
            Trades = 0.0
        }

    let rng = Rng.For(3, 0)

    let images =
        {
            Pixels =
                Array.init (10 * 784) (fun _ ->
                    if rng.NextDouble() < 0.2 then
                        byte (rng.NextInt 256)
                    else
                        0uy)
            Labels = Array.init 10 byte
            Count = 10
            Features = 784
            Values = [||]
        }

    let x = Tensor.zeros<float> 784 10
    let y = Tensor.zeros<float> 10 10
    gatherInto Offset images (Array.init 10 id) 0 x y
    s, h, { X = x; Y = y }, Network.init<float> NormalFanOut 1 s

/// Multiplies layer l's analytic gradient by k: the fault a test injects.
let private scaleLayer (l: int) (k: float) (grads: float[][][]) =
    grads
    |> Array.mapi (fun i g ->
        if i = l then
            g |> Array.map (Array.map (fun v -> v * k))
        else
            g)

let private gradCheckTests =
    let _, h, batch, net = seedCase ()

    testList
        "GradCheck verdicts"
        [
            test "the seed network's gradients pass" {
                let layers = GradCheck.check h batch net 60 1
                Expect.all layers GradCheck.passed "every layer passes"
                Expect.all layers (fun r -> r.Measured > 0) "something was measured"

                for r in layers do
                    Expect.stringContains (GradCheck.verdict r) "agree" "verdict"
            }

            test "an injected sign flip is named as a sign flip, ratio −1" {
                let layers = GradCheck.checkWith (scaleLayer 1 -1.0) h batch net 60 1
                Expect.isTrue (GradCheck.passed layers[0]) "layer 1 untouched"
                let r = layers[1]
                Expect.isFalse (GradCheck.passed r) "layer 2 fails"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.NormRatio -1.0 "norm ratio"
                Expect.equal r.SignAgreement 0.0 "no sign agrees"
                Expect.equal (GradCheck.factor r) (Some -1.0) "factor −1"
                Expect.stringStarts (GradCheck.verdict r) "sign flip:" "verdict"
            }

            test "an injected factor 2 is named as a factor 2, ratio ½" {
                let r = (GradCheck.checkWith (scaleLayer 0 2.0) h batch net 60 1)[0]
                Expect.isFalse (GradCheck.passed r) "fails"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.NormRatio 0.5 "norm ratio"
                Expect.equal r.SignAgreement 1.0 "signs still agree"
                Expect.stringStarts (GradCheck.verdict r) "factor 2:" "verdict"
            }

            test "an injected factor ½ (the original's) is named, ratio 2; with a flip, ratio −2" {
                let r = (GradCheck.checkWith (scaleLayer 0 0.5) h batch net 60 1)[0]
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.NormRatio 2.0 "ratio"
                Expect.stringStarts (GradCheck.verdict r) "factor 1/2:" "verdict"
                let both = (GradCheck.checkWith (scaleLayer 0 -0.5) h batch net 60 1)[0]
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } both.NormRatio -2.0 "ratio"
                Expect.stringStarts (GradCheck.verdict both) "sign flip and factor 1/2" "verdict"
            }

            test "a fault that is no simple factor is a mismatch" {
                let noisy (grads: float[][][]) =
                    let g = scaleLayer 99 1.0 grads |> Params.copy
                    let w = g[1].[0]
                    w |> Array.iteri (fun i v -> w[i] <- if i % 2 = 0 then v * 3.0 else v)
                    g

                let r = (GradCheck.checkWith noisy h batch net 60 1)[1]
                Expect.isFalse (GradCheck.passed r) "fails"
                Expect.equal (GradCheck.factor r) None "no factor"
                Expect.stringStarts (GradCheck.verdict r) "mismatch" "verdict"
            }

            test "injected NaN gradients fail, named in words, and do not pass as noise" {
                let nanLayer (grads: float[][][]) =
                    let g = Params.copy grads
                    g[1].[0].[3] <- nan
                    g

                let layers = GradCheck.checkWith nanLayer h batch net 60 1
                Expect.isTrue (GradCheck.passed layers[0]) "layer 1 untouched"
                Expect.isFalse (GradCheck.passed layers[1]) "layer 2 fails"

                Expect.stringStarts
                    (GradCheck.verdict layers[1])
                    "layer 2 (layers.1)'s gradients are NaN (1 of 2000 entries): the step diverged"
                    "verdict"
            }

            test "an infinite loss fails every layer, whatever the entries say" {
                // An L2 weight this size overflows the penalty (Σw² ≈ 10³) while the gradients stay finite.
                let layers = GradCheck.check { h with L2 = 1e306 } batch net 20 1
                Expect.isTrue (layers |> Array.forall (GradCheck.passed >> not)) "every layer fails"

                for r in layers do
                    Expect.equal (GradCheck.verdict r) "the loss is infinite: the step diverged" "verdict"
            }

            test "a check that measures nothing fails: blank images give layer 1 no gradient above the noise floor" {
                let blank =
                    { batch with
                        X = Tensor.zeros<float> batch.X.RowCount batch.X.ColumnCount
                    }

                let layers = GradCheck.check h blank net 30 1
                Expect.equal layers[0].Measured 0 "nothing measured in layer 1"
                Expect.equal layers[0].BelowNoise 30 "every entry below the noise floor"
                Expect.isFalse (GradCheck.passed layers[0]) "layer 1 fails"
                Expect.stringStarts (GradCheck.verdict layers[0]) "nothing measured: all 30 entries" "verdict"
                Expect.isTrue (GradCheck.passed layers[1]) "layer 2 still measured and passing"
                Expect.isGreaterThan layers[1].Measured 0 "layer 2 measured"
            }

            test "the same check through the Api on the seed preset's configuration passes" {
                let config: Config =
                    { Config.defaults with
                        Arch = spec [| 784; 200; 10 |] Sigmoid Sigmoid false
                        Loss = Mse
                        Init = NormalFanOut
                        Optimizer = Sgd 0.4
                        L2 = 0.0
                        Reduction = Sum
                        Scale = Offset
                        Seed = 1
                        Precision = Float64
                        Batch = 0
                        Schedule = Schedule.Constant
                        ClipNorm = 0.0
                        Augment = Augment.Augment.none
                        Adversarial = None
                    }

                let images =
                    {
                        Pixels = Array.init (5 * 784) (fun k -> byte (k * 31 % 256))
                        Labels = [| 0uy; 1uy; 2uy; 3uy; 4uy |]
                        Count = 5
                        Features = 784
                        Values = [||]
                    }

                let layers = Api.Evaluation.CheckGradients(config, images, 5, 30, 1)
                Expect.all layers Api.Evaluation.GradCheckPassed "passes"
            }
        ]

let private initAndScaleTests =
    testList
        "Presets' maths"
        [
            test "normal-fanout: std ≈ n_out^-½, 200^-½ for 784→200 and 10^-½ for 200→10" {
                let net =
                    Network.init<float> NormalFanOut 1 (spec [| 784; 200; 10 |] Sigmoid Sigmoid false)

                for l, nOut in [ 0, 200.0; 1, 10.0 ] do
                    let w = net.Params[l].[0]
                    let std = sqrt (Array.averageBy (fun v -> v * v) w)
                    Expect.floatClose { absolute = 0.0; relative = 0.05 } std (1.0 / sqrt nOut) $"layer %d{l}"

                Expect.equal (Init.tryParse "normal-fanout") (Some NormalFanOut) "parses"
            }

            test "offset scale: x/255·0.99+0.1, from 0.1 to 1.09, book targets" {
                let t = Scale.table<float> Offset
                Expect.floatClose Accuracy.veryHigh t[0] 0.1 "0 → 0.1"
                Expect.floatClose Accuracy.veryHigh t[255] 1.09 "255 → 1.09"
                Expect.floatClose Accuracy.veryHigh t[51] (51.0 / 255.0 * 0.99 + 0.1) "51"
                Expect.equal (Scale.targets<float> Offset) (0.01, 0.99) "targets"
                Expect.equal (Scale.tryParse (Scale.name Offset)) (Some Offset) "name parses back"
            }
        ]

let private measurementTests =
    testList
        "Diagnostics"
        [
            test "entropy of a histogram, in bits" {
                Expect.equal (entropyBits [| 0; 7; 0 |]) 0.0 "one class"
                Expect.floatClose Accuracy.veryHigh (entropyBits (Array.create 10 5)) (Math.Log2 10.0) "uniform"
                Expect.floatClose Accuracy.veryHigh (entropyBits [| 1; 1 |]) 1.0 "two halves"
                Expect.equal (entropyBits [||]) 0.0 "empty"
                Expect.equal (histogram 3 [| 2; 2; 0; 5; -1 |]) [| 1; 0; 2 |] "out-of-range values ignored"
            }

            test "saturation: a unit saturates when its mean σ' over the batch is below 0.01" {
                // Two sigmoid units over 3 examples: unit 0 at a = 0.999 always (σ' ≈ 0.001), unit 1 at 0.5.
                let a = matrix 2 3 [| 0.999; 0.5; 0.999; 0.5; 0.999; 0.5 |]
                let h = layerHealth 0 Sigmoid a
                Expect.equal h.Saturated 0.5 "one unit of two"
                Expect.equal h.SaturatedEntries 0.5 "three entries of six"
                Expect.isTrue (Double.IsNaN h.Dead) "no dead units for sigmoid"
                let t = layerHealth 0 Tanh (matrix 1 2 [| 0.9999; -0.9999 |])
                Expect.equal t.Saturated 1.0 "tanh at ±1"
            }

            test "dead ReLUs output 0 for every example" {
                let a = matrix 3 2 [| 0.0; 1.0; 0.0; 0.0; 2.0; 0.0 |]
                let h = layerHealth 0 Relu a
                Expect.floatClose Accuracy.veryHigh h.Dead (2.0 / 3.0) "units 0 and 2"
                Expect.isTrue (Double.IsNaN h.Saturated) "no saturation for relu"
            }

            test "loss expected at init: ln 10 for softmax + CE, ½Σ(½−y)² for sigmoid + MSE" {
                let oneHot =
                    matrix 10 2 (Array.init 20 (fun i -> if i % 10 = i / 10 then 1.0 else 0.0))

                Expect.floatClose Accuracy.veryHigh (uninformedLoss CrossEntropy Softmax oneHot) (log 10.0) "ln 10"
                let book = matrix 10 1 (Array.init 10 (fun i -> if i = 3 then 0.99 else 0.01))
                Expect.floatClose Accuracy.veryHigh (uninformedLoss Mse Sigmoid book) (0.5 * 10.0 * 0.49 * 0.49) "mse"
            }

            test "data summary: labels, scaled range and shared images" {
                let images =
                    {
                        Pixels = [| 0uy; 255uy; 0uy; 0uy; 10uy; 20uy |]
                        Labels = [| 1uy; 1uy; 0uy |]
                        Count = 3
                        Features = 2
                        Values = [||]
                    }

                let d = summarize Offset 3 images
                Expect.equal d.LabelCounts [| 1; 2; 0 |] "labels"
                Expect.floatClose Accuracy.veryHigh d.Min 0.1 "min"
                Expect.floatClose Accuracy.veryHigh d.Max 1.09 "max"
                Expect.equal d.NonFinite 0L "finite"

                let other =
                    {
                        Pixels = [| 10uy; 20uy; 1uy; 1uy; 0uy; 255uy |]
                        Labels = [| 0uy; 0uy; 1uy |]
                        Count = 3
                        Features = 2
                        Values = [||]
                    }

                Expect.equal (shared images other) 2 "two of three test images are training images"
            }
        ]

[<Tests>]
let tests =
    testList "Diagnostics" [ gradCheckTests; initAndScaleTests; measurementTests ]
