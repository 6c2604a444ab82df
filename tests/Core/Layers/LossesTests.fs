module Functional.Tests.Core.LossesTests

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

let lossTests =
    testList
        "Losses"
        [
            test "MSE uses the ½ convention" {
                Expect.equal (Losses.value Mse Sigmoid Sum 2 [| 1.0; 0.0 |] [| 0.0; 0.0 |]) 0.5 "½·1²"
                // Mean over B = 2 columns of ½(1² + 3²) and ½(2²): (5 + 2) / 2.
                Expect.equal (Losses.value Mse Sigmoid Mean 2 [| 1.0; 3.0; 2.0; 0.0 |] (Array.zeroCreate 4)) 3.5 "mean"
                Expect.equal (Losses.value Mse Softmax Sum 2 [| 1.0f; 0.0f |] [| 0.0f; 0.0f |]) 0.5 "float32"
            }

            test "MSE output gradient has no factor 2" {
                // For a sigmoid output, dL/dz = (a − y)·a(1 − a).
                let a, y = [| 0.5; 0.25 |], [| 0.0; 1.0 |]
                let dz = Array.zeroCreate 2
                Losses.outputGradInto Mse Sigmoid Sum 2 a y dz
                Expect.equal dz [| 0.5 * 0.25; (-0.75) * 0.25 * 0.75 |] "(a − y)·σ'"
            }

            test "CE of a uniform softmax over 10 classes is ln 10" {
                let p = Array.zeroCreate<float> 10
                Activation.applyInto Softmax 10 (Array.zeroCreate<float> 10) p
                let y = Array.init 10 (fun i -> if i = 3 then 1.0 else 0.0)
                Expect.floatClose Accuracy.veryHigh (Losses.value CrossEntropy Softmax Mean 10 p y) (log 10.0) "ln 10"

                let y2 = Array.append y (Array.init 10 (fun i -> if i = 7 then 1.0 else 0.0))
                let p2 = Array.append p p
                Expect.floatClose Accuracy.veryHigh (Losses.value CrossEntropy Softmax Mean 10 p2 y2) (log 10.0) "mean"

                Expect.floatClose
                    Accuracy.veryHigh
                    (Losses.value CrossEntropy Softmax Sum 10 p2 y2)
                    (2.0 * log 10.0)
                    "sum"
            }

            test "binary CE for sigmoid outputs, and the ln floor" {
                let v = Losses.value CrossEntropy Sigmoid Sum 2 [| 0.8; 0.3 |] [| 1.0; 0.0 |]
                Expect.floatClose Accuracy.veryHigh v (-(log 0.8) - log 0.7) "−ln a − ln(1 − a)"
                let capped = Losses.value CrossEntropy Softmax Sum 2 [| 0.0; 1.0 |] [| 1.0; 0.0 |]
                Expect.floatClose Accuracy.veryHigh capped (-(log 1e-12)) "ln is floored at 1e-12"
            }
        ]


[<Tests>]
let tests = testList "Core" [ lossTests ]
