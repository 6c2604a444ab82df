module Functional.Tests.Core.NetworkTests

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

let networkTests =
    testList
        "Network"
        [
            test "parameters are one row-major array per tensor, in the architecture's order" {
                let a = withFlatten [| 1; 2; 3 |] (dense [| 6; 4; 3 |] Relu Softmax true).Layers
                let net = Network.init<float> He 1 a
                Expect.equal (net.Params |> Array.map Array.length) [| 0; 2; 2 |] "flatten has none"
                Expect.equal (Network.arrays net |> Array.map Array.length) [| 24; 4; 12; 3 |] "W, b, W, b"
                Expect.equal (Network.decays a) [| true; false; true; false |] "weights decay, biases not"
                Expect.equal (Network.layerOf a) [| 1; 1; 2; 2 |] "the layer of each array"
                Expect.equal (Network.parameterCount net) 43 "count"
                Expect.equal (Network.parameterCount net) (Arch.parameterCount a) "Arch agrees"
            }

            test "copy shares no array" {
                let net = Network.init<float> He 1 (dense [| 3; 2; 2 |] Relu Softmax true)
                let c = Network.copy net
                expectSameBits "same values" (Network.arrays net) (Network.arrays c)

                Array.iter2
                    (fun (a: float[]) b -> Expect.isFalse (Object.ReferenceEquals(a, b)) "a fresh array")
                    (Network.arrays net)
                    (Network.arrays c)
            }

            test "forward is the layers in order: a two-layer network by hand" {
                let a = dense [| 3; 2; 2 |] Tanh Sigmoid true
                let net = randomNet<float> (Rng.For(4, 4)) a
                let x = matrixOf<float> 3 2 [| 0.5; -1.0; 2.0; 0.0; 1.5; -0.5 |]
                let trace = forward net x
                let h = preActivation net 0 x |> fun z -> z.Map(fun v -> tanh v)
                let out = preActivation net 1 h |> fun z -> z.Map(fun v -> 1.0 / (1.0 + exp (-v)))

                Array.iteri2
                    (fun i e v -> Expect.floatClose Accuracy.veryHigh v e $"hidden %d{i}")
                    (Tensor.data h)
                    (Tensor.data trace.Activations[0])

                Array.iteri2
                    (fun i e v -> Expect.floatClose Accuracy.veryHigh v e $"output %d{i}")
                    (Tensor.data out)
                    (Tensor.data trace.Output)

                Expect.equal
                    (argmaxColumns trace.Output)
                    (Array.init 2 (fun j -> if out[0, j] >= out[1, j] then 0 else 1))
                    "argmax"
            }

            test "Bound.create refuses an architecture whose shapes do not work" {
                let bad: Arch =
                    {
                        Input = [| 1; 2; 2 |]
                        Layers = (dense [| 4; 2 |] Relu Softmax true).Layers
                    }

                Expect.throws (fun () -> Bound.create<float> bad 1 |> ignore) "dense after an image"
            }
        ]

[<Tests>]
let tests = testList "Core" [ networkTests ]
