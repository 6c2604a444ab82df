module Functional.Tests.Core.InitTests

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

let initTests =
    let flatten (n: Network<float>) = Network.arrays n |> Array.concat

    testList
        "Init"
        [
            test "same seed, same weights; different seed, different weights" {
                let s = dense [| 5; 5; 5 |] Relu Softmax true

                for scheme in [ NormalFanIn; Xavier; He ] do
                    let a, b = Network.init<float> scheme 7 s, Network.init<float> scheme 7 s
                    expectSameBits (Init.name scheme) (Network.arrays a) (Network.arrays b)
                    let c = Network.init<float> scheme 8 s
                    Expect.notEqual (bits (flatten a)) (bits (flatten c)) "seed 8 differs from seed 7"
                    // Layers draw from distinct streams: two same-shaped layers differ.
                    Expect.notEqual (bits a.Params[0].[0]) (bits a.Params[1].[0]) "layers"
                    Expect.all (a.Params |> Array.collect (fun l -> l[1])) ((=) 0.0) "biases"
            }

            test "float32 init is the float64 init rounded" {
                let s = dense [| 6; 4; 3 |] Relu Softmax false
                let d = Network.init<float> He 3 s |> Network.arrays
                let f = Network.init<float32> He 3 s |> Network.arrays
                expectSameBits "rounded" (d |> Array.map (Array.map float32)) f
            }

            test "normal-fanin: std ≈ n_in^-½ for 784→200, within 3%" {
                let w =
                    (Network.init<float> NormalFanIn 1 (dense [| 784; 200 |] Relu Sigmoid true)).Params[0].[0]

                let mean = Array.average w
                let std = sqrt (Array.averageBy (fun v -> (v - mean) * (v - mean)) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (1.0 / sqrt 784.0) "std"
                Expect.isLessThan (abs mean) 0.002 "mean ≈ 0"
            }

            test "he: std ≈ √(2/n_in) for 784→200, within 3%" {
                let w =
                    (Network.init<float> He 1 (dense [| 784; 200 |] Relu Sigmoid true)).Params[0].[0]

                let std = sqrt (Array.averageBy (fun v -> v * v) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (sqrt (2.0 / 784.0)) "std"
            }

            test "xavier: within ±√(6/(in+out)) and spread across it" {
                let w =
                    (Network.init<float> Xavier 2 (dense [| 784; 200 |] Relu Sigmoid true)).Params[0].[0]

                let bound = sqrt (6.0 / (784.0 + 200.0))
                Expect.all w (fun v -> abs v <= bound) "inside the bound"
                Expect.isGreaterThan (Array.max w) (0.99 * bound) "reaches the top"
                Expect.isLessThan (Array.min w) (-0.99 * bound) "reaches the bottom"
                let std = sqrt (Array.averageBy (fun v -> v * v) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (bound / sqrt 3.0) "uniform std"
            }

            test "weights are drawn in row-major [out, in] order" {
                let net = Network.init<float> NormalFanIn 4 (dense [| 3; 2 |] Relu Sigmoid false)
                let rng = Rng.For(4, 0)
                let rowMajor = Array.init 6 (fun _ -> Functional.Init.sample NormalFanIn 3 2 rng)
                let w = net.Params[0].[0]

                Expect.equal
                    [|
                        for i in 0..1 do
                            for j in 0..2 -> w[i * 3 + j]
                    |]
                    rowMajor
                    "W[i, j] is draw i·n_in + j"
            }
        ]


[<Tests>]
let tests = testList "Core" [ initTests ]
