module Functional.Tests.Core.Layers.DenseTests

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

type private GradCase =
    {
        Units: int[]
        Cols: int
        CaseSeed: int
        Kind: TargetKind
    }

let private gradCases =
    gen {
        let! layers = Gen.choose (1, 3)
        let! units = Gen.arrayOfLength (layers + 1) (Gen.choose (1, 6))
        let! cols = Gen.choose (1, 4)
        let! seed = Gen.choose (0, 1_000_000)
        let! kind = Gen.elements [ OneHot; BookHot; Soft ]

        return
            {
                Units = units
                Cols = cols
                CaseSeed = seed
                Kind = kind
            }
    }
    |> Arb.fromGen

/// Analytic gradients against central differences, over every combination of the maths.
let private gradientsMatch (hidden, output, loss, bias, reduction, lambda) (c: GradCase) =
    expectGradientsMatch
        (dense c.Units hidden output bias)
        (hyper loss reduction lambda (Sgd 0.1))
        c.Kind
        c.Cols
        c.CaseSeed

let gradientTests =
    testList
        "Dense"
        [
            for hidden in [ Sigmoid; Tanh; Relu ] do
                for output in [ Sigmoid; Softmax ] do
                    for loss in [ Mse; CrossEntropy ] do
                        for bias in [ true; false ] do
                            for reduction in [ Mean; Sum ] do
                                for lambda in [ 0.0; 0.1 ] do
                                    let name =
                                        sprintf
                                            "%s-%s %s bias=%b %s l2=%g: analytic = numeric"
                                            (Activation.name hidden)
                                            (Activation.name output)
                                            (Loss.name loss)
                                            bias
                                            (Reduction.name reduction)
                                            lambda

                                    testPropertyWithConfig
                                        (config 60)
                                        name
                                        (Prop.forAll
                                            gradCases
                                            (gradientsMatch (hidden, output, loss, bias, reduction, lambda)))
            // Linear (no activation) hidden layers, new with layer kinds.
            for output in [ Sigmoid; Softmax ] do
                for loss in [ Mse; CrossEntropy ] do
                    for bias in [ true; false ] do
                        for lambda in [ 0.0; 0.1 ] do
                            testPropertyWithConfig
                                (config 30)
                                (sprintf
                                    "linear-%s %s bias=%b mean l2=%g: analytic = numeric"
                                    (Activation.name output)
                                    (Loss.name loss)
                                    bias
                                    lambda)
                                (Prop.forAll gradCases (gradientsMatch (Linear, output, loss, bias, Mean, lambda)))
        ]

let private layer units act bias : Layers.Dense.Dense =
    {
        Units = units
        Activation = act
        Bias = bias
    }

let kindTests =
    testList
        "Dense kind"
        [
            test "text and parse round-trip" {
                for d in
                    [
                        layer 10 Softmax true
                        layer 128 Relu true
                        layer 3 Sigmoid false
                        layer 7 Tanh true
                        layer 5 Linear false
                        layer 1 Linear true
                    ] do
                    let text = (d :> ILayer).Text
                    let back = ok text (Arch.parseLayer text)
                    Expect.equal back (d :> ILayer) text
                    Expect.equal back.Text text "the same text again"

                Expect.equal (layer 10 Softmax true :> ILayer).Text "dense 10 softmax" "text"
                Expect.equal (layer 5 Linear false :> ILayer).Text "dense 5 no-bias" "linear is the default"

                Expect.equal
                    (ok "order" (Arch.parseLayer "dense 4 no-bias relu"))
                    (layer 4 Relu false :> ILayer)
                    "any order"
            }

            test "parse errors name the word" {
                Expect.stringContains (error "no units" (Arch.parseLayer "dense")) "how many units" "no units"
                Expect.stringContains (error "zero" (Arch.parseLayer "dense 0 relu")) "'0'" "zero units"
                Expect.stringContains (error "word" (Arch.parseLayer "dense 4 swish")) "'swish'" "unknown word"
            }

            test "out shape, parameters and FLOPs" {
                let d = layer 3 Relu true :> ILayer
                Expect.equal (d.OutShape [| 5 |]) (Ok [| 3 |]) "flat input"
                let e = error "image" (d.OutShape [| 1; 2; 2 |])
                Expect.stringContains e "1x2x2" "names the shape"
                Expect.stringContains e "flatten" "says what to do"
                let ps = d.Params [| 5 |]
                Expect.equal (ps |> Array.map (fun p -> p.Name)) [| "weight"; "bias" |] "names"
                Expect.equal ps[0].Shape [| 3; 5 |] "PyTorch's [out, in]"
                Expect.equal ps[1].Shape [| 3 |] "bias [out]"
                Expect.equal (ps |> Array.map (fun p -> p.Decays)) [| true; false |] "L2 decays the weight only"
                Expect.equal (ps |> Array.map (fun p -> p.Fill)) [| Scheme; Zeros |] "fills"
                Expect.equal (ps[0].FanIn, ps[0].FanOut) (5, 3) "fans"
                Expect.equal ((layer 3 Relu false :> ILayer).Params [| 5 |]).Length 1 "no bias, no tensor"
                Expect.equal (d.Flops [| 5 |]) 30.0 "2·in·out"
            }

            test "forward is f(W x + b) with W row-major [out, in]" {
                for act in [ Linear; Relu; Tanh; Sigmoid; Softmax ] do
                    for cols in [ 1; 3 ] do
                        let arch: Arch =
                            {
                                Input = [| 4 |]
                                Layers = [| layer 3 act true |]
                            }

                        let rng = Rng.For(cols, 17)
                        let net = randomNet<float> rng arch
                        let x = matrixOf<float> 4 cols (Array.init (4 * cols) (fun _ -> rng.NextNormal()))
                        let z = preActivation net 0 x
                        let w, b = net.Params[0].[0], net.Params[0].[1]

                        for i in 0..2 do
                            for j in 0 .. cols - 1 do
                                let byHand = b[i] + Seq.sum (seq { for k in 0..3 -> w[i * 4 + k] * x[k, j] })
                                Expect.floatClose Accuracy.veryHigh z[i, j] byHand "z by hand"

                        let expected = Array.copy (Tensor.data z)
                        Activation.applyInto act 3 expected expected
                        let a = Tensor.data (forward net x).Output

                        Array.iteri2
                            (fun i e v ->
                                Expect.floatClose Accuracy.veryHigh v e $"%s{Activation.name act} entry %d{i}")
                            expected
                            a
            }
        ]


[<Tests>]
let tests = testList "Core" [ testList "Layers" [ gradientTests; kindTests ] ]
