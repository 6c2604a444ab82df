module Functional.Tests.Core.Layers.FlattenTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
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

let private flatten = Layers.Flatten.Flatten :> ILayer

let kindTests =
    testList
        "Flatten"
        [
            test "text, parse and shapes" {
                Expect.equal flatten.Text "flatten" "text"
                Expect.equal (ok "parse" (Arch.parseLayer "flatten")) flatten "parses back"
                Expect.stringContains (error "settings" (Arch.parseLayer "flatten 2")) "'2'" "takes no settings"
                Expect.equal (flatten.OutShape [| 3; 4; 5 |]) (Ok [| 60 |]) "C·H·W"
                Expect.equal (flatten.OutShape [| 7 |]) (Ok [| 7 |]) "a flat input stays flat"
                Expect.isEmpty (flatten.Params [| 3; 4; 5 |]) "no parameters"
                Expect.equal (flatten.Flops [| 3; 4; 5 |]) 0.0 "no FLOPs"
                Expect.equal flatten.Activation Linear "no activation"
            }

            test "forward copies each column in (channel, row, column) order; backward copies back" {
                let arch: Arch =
                    {
                        Input = [| 2; 2; 3 |]
                        Layers = [| flatten |]
                    }

                let x = matrixOf<float> 12 2 (Array.init 24 float)
                let trace = forward (Network.zeros<float> arch) x
                Expect.equal (Tensor.data trace.Output) (Tensor.data x) "the same values, in the same order"
                let bound = Bound.create<float> arch 2
                let dz = matrixOf<float> 12 2 (Array.init 24 (fun i -> float (100 - i)))
                let dx = Tensor.zeros<float> 12 2

                bound.Kernels[0].Backward([||], x, trace.Output, Tensor.copy dz, ValueNone, ValueSome dx)

                Expect.equal (Tensor.data dx) (Tensor.data dz) "∂L/∂x = ∂L/∂y"
            }

            test "a network with flatten has the dense network's parameters and outputs" {
                let d = dense [| 12; 4; 3 |] Tanh Softmax true
                let f = withFlatten [| 3; 2; 2 |] d.Layers
                let rng = Rng.For(2, 2)
                let a = randomNet<float> rng d

                let b =
                    { Network.zeros<float> f with
                        Params = Array.append [| [||] |] (Params.copy a.Params)
                    }

                let x = randomBatch<float> rng Soft d 3
                Expect.equal (Arch.parameterCount f) (Arch.parameterCount d) "flatten adds no parameters"
                Expect.equal (Arch.classes f) 3 "classes"
                Expect.equal (Arch.inputs f) 12 "inputs"

                expectSameBits
                    "outputs"
                    [| Tensor.data (forward a x.X).Output |]
                    [| Tensor.data (forward b x.X).Output |]
            }

            testPropertyWithConfig (config 30) "gradients through flatten: analytic = numeric"
            <| Prop.forAll
                (Arb.fromGen (
                    gen {
                        let! c = Gen.choose (1, 3)
                        let! h = Gen.choose (1, 3)
                        let! w = Gen.choose (1, 3)
                        let! hidden = Gen.elements [ Sigmoid; Tanh; Relu; Linear ]
                        let! units = Gen.choose (1, 5)
                        let! classes = Gen.choose (1, 4)
                        let! cols = Gen.choose (1, 3)
                        let! seed = Gen.choose (0, 1_000_000)
                        let! middle = Gen.elements [ true; false ]
                        return c, h, w, hidden, units, classes, cols, seed, middle
                    }
                ))
                (fun (c, h, w, hidden, units, classes, cols, seed, middle) ->
                    let d = dense [| c * h * w; units; classes |] hidden Softmax true

                    let layers =
                        if middle then
                            [| d.Layers[0]; flatten; d.Layers[1] |]
                        else
                            d.Layers

                    expectGradientsMatch
                        (withFlatten [| c; h; w |] layers)
                        (hyper CrossEntropy Mean 0.01 (Sgd 0.1))
                        OneHot
                        cols
                        seed)

            test "GradCheck reports only the layers with parameters" {
                let arch = withFlatten [| 1; 3; 3 |] (dense [| 9; 4; 3 |] Tanh Softmax true).Layers
                let rng = Rng.For(12, 0)
                let net = randomNet<float> rng arch
                let batch = randomBatch<float> rng OneHot arch 2

                let layers =
                    GradCheck.check (hyper CrossEntropy Mean 0.0 (Sgd 0.1)) batch net 1000 1

                Expect.equal (layers |> Array.map (fun r -> r.Layer)) [| 1; 2 |] "layers 1 and 2 (0 is flatten)"
                Expect.all layers GradCheck.passed "they pass"
            }
        ]

[<Tests>]
let tests = testList "Core" [ testList "Layers" [ kindTests ] ]
