module Functional.Tests.Core.OptimTests

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

let optimTests =
    let s = dense [| 2; 1 |] Sigmoid Sigmoid true

    let tiny () =
        let net = Network.zeros<float> s
        net.Params[0].[0].[0] <- 0.5
        net.Params[0].[0].[1] <- -0.25
        net.Params[0].[1].[0] <- 0.1
        net

    let grads (w0: float) (w1: float) (b: float) =
        // Shaped like the network's parameters: layer 0's weight [1, 2] and bias [1].
        let g = Params.zeros<float> s
        g[0].[0].[0] <- w0
        g[0].[0].[1] <- w1
        g[0].[1].[0] <- b
        g

    let g1 = grads 0.2 (-0.4) 0.3
    let g2 = grads (-0.1) 0.05 0.2
    let w0 = [| 0.5; -0.25; 0.1 |]
    let gs1 = [| 0.2; -0.4; 0.3 |]
    let gs2 = [| -0.1; 0.05; 0.2 |]
    let flat (net: Network<float>) = Network.arrays net |> Array.concat

    /// Two updates through Optim.create, checking on the way that Update mutates none of its inputs.
    let twoSteps optimizer =
        let opt = Optim.create<float> optimizer
        let net = tiny ()
        let state = opt.Init net

        let update t (g: float[][][]) state net =
            let inputs = [ Network.arrays net; OptState.arrays state; Array.concat g ]

            let saved = inputs |> List.map copyArrays
            let result = opt.Update t g state net
            List.iter2 (expectSameBits "Update leaves its inputs alone") saved inputs
            result

        let net1, state1 = update 1L g1 state net
        let net2, state2 = update 2L g2 state1 net1
        flat net1, flat net2, OptState.arrays state2

    let close = { absolute = 1e-15; relative = 1e-13 }

    let expectVector what (actual: float[]) (expected: float[]) =
        Expect.equal actual.Length expected.Length $"%s{what}: length"
        Array.iteri2 (fun i a e -> Expect.floatClose close a e $"%s{what}[%d{i}]") actual expected

    testList
        "Optim"
        [
            test "SGD: w − ηg" {
                let w1, w2, moments = twoSteps (Sgd 0.1)
                expectVector "step 1" w1 (Array.map2 (fun w g -> w - 0.1 * g) w0 gs1)
                expectVector "step 2" w2 [| 0.5 - 0.02 + 0.01; -0.25 + 0.04 - 0.005; 0.1 - 0.03 - 0.02 |]
                Expect.isEmpty moments "SGD keeps no moments"
            }

            test "momentum (PyTorch form): v ← μv + g, w ← w − ηv" {
                let w1, w2, moments = twoSteps (Momentum(0.1, 0.9))
                let v1 = gs1
                let v2 = Array.map2 (fun v g -> 0.9 * v + g) v1 gs2
                expectVector "v after step 2" (Array.concat moments) v2
                expectVector "step 1" w1 [| 0.5 - 0.02; -0.25 + 0.04; 0.1 - 0.03 |]
                // v2 = (0.08, −0.31, 0.47).
                expectVector "step 2" w2 [| 0.48 - 0.008; -0.21 + 0.031; 0.07 - 0.047 |]
            }

            test "Adam: two steps with bias correction" {
                let lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
                let w1, w2, moments = twoSteps (Adam(lr, b1, b2, eps))
                // By hand: m1 = 0.1·g1, v1 = 0.001·g1², m̂1 = m1/0.1 = g1, v̂1 = v1/0.001 = g1²,
                // so step 1 moves every weight by lr·g1/(|g1| + ε) ≈ lr·sign(g1).
                let m1 = gs1 |> Array.map (fun g -> 0.1 * g)
                let v1 = gs1 |> Array.map (fun g -> 0.001 * g * g)
                let expected1 = Array.map2 (fun w g -> w - lr * g / (abs g + eps)) w0 gs1
                expectVector "step 1" w1 expected1
                let m2 = Array.map2 (fun m g -> 0.9 * m + 0.1 * g) m1 gs2
                let v2 = Array.map2 (fun v g -> 0.999 * v + 0.001 * g * g) v1 gs2
                let c1, c2 = 1.0 - 0.81, 1.0 - 0.998001

                let expected2 =
                    [|
                        for i in 0..2 -> expected1[i] - lr * (m2[i] / c1) / (sqrt (v2[i] / c2) + eps)
                    |]

                expectVector "step 2" w2 expected2
                expectVector "m after step 2" (Array.concat moments[0..1]) m2
                expectVector "v after step 2" (Array.concat moments[2..3]) v2
                // A concrete number, worked out on paper for the first weight:
                // m2 = 0.9·0.02 − 0.01 = 0.008, m̂2 = 0.008/0.19; v2 = 0.999·4e-5 + 1e-5 = 4.996e-5,
                // v̂2 = 4.996e-5/0.001999; w2 = 0.49 − 0.01·m̂2/(√v̂2 + 1e-8).
                let paper = 0.49 - 0.01 * (0.008 / 0.19) / (sqrt (4.996e-5 / 0.001999) + 1e-8)
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } w2[0] paper "first weight"
                Expect.floatClose { absolute = 1e-8; relative = 0.0 } w2[0] 0.48733663 "≈ 0.48733663"
            }

            test "init: moments shaped like the network, zero" {
                let net = tiny ()
                let m = Optim.init (Momentum(0.1, 0.9)) net
                let a = Optim.init (OptimizerSpec.adam 1e-3) net
                Expect.equal (OptState.arrays m |> Array.map Array.length) [| 2; 1 |] "momentum: M only"
                Expect.equal (OptState.arrays a |> Array.map Array.length) [| 2; 1; 2; 1 |] "adam: M and V"
                Expect.all (OptState.arrays a |> Array.concat) (fun v -> v = 0.0) "zeros"
            }
        ]


[<Tests>]
let tests = testList "Core" [ optimTests ]
