module Functional.Tests.Core.ActivationsTests

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

type private Logits = { Rows: int; Values: float[] }

let private logitCases =
    let value =
        Gen.oneof
            [
                Gen.choose (-2000, 2000) |> Gen.map (fun k -> float k / 100.0)
                Gen.elements [ 1000.0; -1000.0; 1e4; -1e4; 709.0; 710.0; 0.0; 88.0; 89.0 ]
            ]

    gen {
        let! rows = Gen.choose (1, 10)
        let! cols = Gen.choose (1, 5)
        let! values = Gen.arrayOfLength (rows * cols) value
        return { Rows = rows; Values = values }
    }
    |> Arb.fromGen

let activationTests =
    testList
        "Activations"
        [
            testPropertyWithConfig (config 200) "softmax columns sum to 1, even for huge logits (float64)"
            <| Prop.forAll logitCases (fun c ->
                let a = Array.zeroCreate c.Values.Length
                Activation.applyInto Softmax c.Rows c.Values a

                for j in 0 .. c.Values.Length / c.Rows - 1 do
                    let col = a[j * c.Rows .. (j + 1) * c.Rows - 1]
                    Expect.all col (fun p -> Double.IsFinite p && p >= 0.0 && p <= 1.0) "probabilities"
                    Expect.floatClose { absolute = 1e-14; relative = 0.0 } (Array.sum col) 1.0 "column sum"

                    let zs = c.Values[j * c.Rows .. (j + 1) * c.Rows - 1]
                    let top = Array.IndexOf(zs, Array.max zs)
                    Expect.equal (Array.IndexOf(col, Array.max col)) top "softmax keeps the argmax")

            testPropertyWithConfig (config 200) "softmax columns sum to 1, even for huge logits (float32)"
            <| Prop.forAll logitCases (fun c ->
                let z = Array.map float32 c.Values
                let a = Array.zeroCreate z.Length
                Activation.applyInto Softmax c.Rows z a

                for j in 0 .. z.Length / c.Rows - 1 do
                    let col = a[j * c.Rows .. (j + 1) * c.Rows - 1]
                    Expect.all col (fun p -> Single.IsFinite p && p >= 0.0f && p <= 1.0f) "probabilities"
                    Expect.floatClose { absolute = 1e-5; relative = 0.0 } (float (Array.sum col)) 1.0 "column sum")

            test "softmax works in place (a and z the same array)" {
                let z = [| 1.0; 2.0; 3.0; -1.0; 0.0; 1000.0 |]
                let expected = Array.zeroCreate 6
                Activation.applyInto Softmax 3 z expected
                Activation.applyInto Softmax 3 z z
                expectSameBits "in place" [| expected |] [| z |]
            }

            test "sigmoid, tanh and relu values" {
                let z = [| -2.0; 0.0; 0.5; 3.0 |]

                let apply act =
                    let a = Array.zeroCreate 4
                    Activation.applyInto act 2 z a
                    a

                let close = { absolute = 1e-15; relative = 1e-15 }

                Array.iter2 (fun a v -> Expect.floatClose close a (1.0 / (1.0 + exp (-v))) "sigmoid") (apply Sigmoid) z

                Array.iter2 (fun a v -> Expect.floatClose close a (tanh v) "tanh") (apply Tanh) z
                Expect.equal (apply Relu) [| 0.0; 0.0; 0.5; 3.0 |] "relu"
            }

            test "backInto uses the derivative written in terms of the output" {
                let a = [| 0.25; 0.5; 0.0; 2.0 |]
                let da = [| 2.0; -1.0; 3.0; 0.5 |]

                let back act =
                    let dz = Array.zeroCreate 4
                    Activation.backInto act 4 a da dz
                    dz

                Expect.equal (back Sigmoid) [| 2.0 * 0.25 * 0.75; -0.25; 0.0; 0.5 * 2.0 * (-1.0) |] "σ' = a(1−a)"
                Expect.equal (back Tanh) [| 2.0 * (1.0 - 0.0625); -0.75; 3.0; 0.5 * (-3.0) |] "tanh' = 1−a²"
                Expect.equal (back Relu) [| 2.0; -1.0; 0.0; 0.5 |] "relu' = [a > 0]"
            }

            test "softmax+CE output gradient is (p − y)/B for one-hot targets" {
                for rows, cols in [ 10, 1; 3, 4; 5, 7 ] do
                    let rng = Rng.For(rows, cols)
                    let z = Array.init (rows * cols) (fun _ -> 3.0 * rng.NextNormal())
                    let y = targets rng OneHot rows cols
                    let p = Array.zeroCreate z.Length
                    Activation.applyInto Softmax rows z p
                    let dz = Array.zeroCreate z.Length
                    Losses.outputGradInto CrossEntropy Softmax Mean rows p y dz

                    for i in 0 .. dz.Length - 1 do
                        Expect.floatClose
                            { absolute = 1e-16; relative = 1e-15 }
                            dz[i]
                            ((p[i] - y[i]) / float cols)
                            $"entry %d{i}"

                    let dzSum = Array.zeroCreate z.Length
                    Losses.outputGradInto CrossEntropy Softmax Sum rows p y dzSum
                    Array.iteri (fun i g -> Expect.floatClose Accuracy.veryHigh g (p[i] - y[i]) "Sum: p − y") dzSum
            }

            test "softmax+CE output gradient is a·Σy − y for soft targets" {
                let p = [| 0.2; 0.3; 0.5 |]
                let y = [| 0.01; 0.99; 0.01 |]
                let dz = Array.zeroCreate 3
                Losses.outputGradInto CrossEntropy Softmax Mean 3 p y dz
                let sy = 1.01

                Array.iteri (fun i g -> Expect.floatClose Accuracy.veryHigh g (p[i] * sy - y[i]) $"entry %d{i}") dz
            }
        ]


[<Tests>]
let tests = testList "Core" [ activationTests ]
