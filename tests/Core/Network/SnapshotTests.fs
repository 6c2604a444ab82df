module Functional.Tests.Core.SnapshotTests

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

let snapshotTests =
    testList
        "Snapshot"
        [
            test "named: layers.{l}.{name}, PyTorch's shapes, copies of the values" {
                let a = withFlatten [| 1; 2; 2 |] (dense [| 4; 3; 2 |] Relu Softmax true).Layers
                let net = Network.init<float> He 1 a
                let named = Snapshot.named "optimizer.m." a net.Params

                Expect.equal
                    (named |> Array.map (fun (n, s, _) -> n, s))
                    [|
                        "optimizer.m.layers.1.weight", [| 3; 4 |]
                        "optimizer.m.layers.1.bias", [| 3 |]
                        "optimizer.m.layers.2.weight", [| 2; 3 |]
                        "optimizer.m.layers.2.bias", [| 2 |]
                    |]
                    "names and shapes"

                expectSameBits "values" (Network.arrays net) (named |> Array.map (fun (_, _, v) -> v))
                let _, _, w = named[0]
                w[0] <- 99.0
                Expect.notEqual net.Params[1].[0].[0] 99.0 "a copy"
            }

            test "moments an optimiser does not keep have no tensors (SGD's checkpoint holds the weights alone)" {
                let a = dense [| 3; 2; 2 |] Sigmoid Softmax true
                let net = Network.init<float> He 1 a
                let sgd = Optim.init (Sgd 0.1) net
                Expect.isEmpty (Snapshot.named "optimizer.m." a sgd.M) "no M"
                Snapshot.load "optimizer.v." (fun name _ -> failtestf "asked for %s" name) a sgd.V

                let trainer =
                    Api.Training.CreateTrainer(
                        { trainConfig Float32 with
                            Optimizer = Sgd 0.1
                        },
                        synthetic 1 4
                    )

                Expect.equal
                    (trainer.State() |> Array.map (fun t -> t.Name))
                    [| "layers.0.weight"; "layers.0.bias"; "layers.1.weight"; "layers.1.bias" |]
                    "weights only"
            }

            test "load fills the parameters from the finder by name" {
                let a = dense [| 3; 2; 2 |] Sigmoid Sigmoid false
                let net = Network.init<float> Xavier 5 a

                let named =
                    Snapshot.named "" a net.Params |> Array.map (fun (n, _, v) -> n, v) |> dict

                let target = Network.zeros<float> a
                Snapshot.load "" (fun name _ -> named[name]) a target.Params
                expectSameBits "loaded" (Network.arrays net) (Network.arrays target)
            }

            test "hash: the same bits, the same hash; one bit differs, the hash differs" {
                let net = Network.init<float32> He 2 (dense [| 5; 4; 3 |] Relu Softmax true)
                let h = Snapshot.hash (Network.arrays net)
                Expect.equal h (Snapshot.hash (Network.arrays (Network.copy net))) "same"
                Expect.equal h.Length 64 "sha-256 hex"
                let c = Network.copy net

                c.Params[0].[0].[0] <-
                    BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits c.Params[0].[0].[0] ^^^ 1)

                Expect.notEqual (Snapshot.hash (Network.arrays c)) h "one bit"
            }

            test "convert widens exactly and rounds back" {
                let net = Network.init<float32> He 3 (dense [| 5; 4; 3 |] Relu Softmax true)
                let wide = Snapshot.convert<float32, float> net
                let back = Snapshot.convert<float, float32> wide
                expectSameBits "round trip" (Network.arrays net) (Network.arrays back)
                Expect.equal wide.Arch net.Arch "same architecture"
            }

            test "drift: zero against itself, and the figures of a scaled gradient" {
                let g: float[][][] = [| [||]; [| [| 3.0; 4.0 |]; [| 0.0 |] |] |]
                let d = Snapshot.drift g g
                Expect.equal (d |> Array.map (fun x -> x.Layer)) [| 1 |] "layers with parameters only"
                Expect.equal (d[0].RelativeL2, d[0].MaxAbs) (0.0, 0.0) "no drift"
                Expect.floatClose Accuracy.veryHigh d[0].Cosine 1.0 "cosine 1"
                let half: float32[][][] = [| [||]; [| [| 1.5f; 2.0f |]; [| 0.0f |] |] |]
                let h = (Snapshot.drift half g)[0]
                Expect.floatClose Accuracy.veryHigh h.RelativeL2 0.5 "half the norm off"
                Expect.floatClose Accuracy.veryHigh h.MaxAbs 2.0 "max |a − r|"
                Expect.floatClose Accuracy.veryHigh h.Cosine 1.0 "same direction"
            }
        ]

[<Tests>]
let tests = testList "Core" [ snapshotTests ]
