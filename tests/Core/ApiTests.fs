module Functional.Tests.Core.ApiTests

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

let private trainOneEpoch (config: Config) (train: Images) =
    let trainer = Api.Training.CreateTrainer(config, train)
    let order = Api.Data.Permutation(config.Seed, 0, train.Count)

    let losses =
        Data.batches train.Count config.Batch
        |> Array.map (fun (offset, count) -> trainer.Step(order, offset, count))

    trainer, losses

let private expectSameModel (a: Model) (b: Model) (images: Images) =
    Expect.equal b.Spec a.Spec "spec"
    Expect.equal b.ParameterCount a.ParameterCount "parameter count"

    for i in 0 .. min 20 (images.Count - 1) do
        Expect.equal (bits (b.Outputs(images, i))) (bits (a.Outputs(images, i))) $"outputs of image %d{i}"

    let ea, eb = a.Evaluate images, b.Evaluate images
    Expect.equal eb.Predictions ea.Predictions "predictions"
    Expect.isTrue (sameFloatBits eb.Loss ea.Loss) "evaluation loss"

let endToEndTests =
    testList
        "Api"
        [
            test "784-64-10 relu/softmax/ce, adam 1e-3, batch 32: one epoch learns a synthetic set" {
                let train, heldOut = synthetic 1 2000, synthetic 2 500
                let config = trainConfig Float32
                Expect.isNull (Api.Training.Problem config) "a valid configuration"
                let trainer, losses = trainOneEpoch config train
                Expect.equal trainer.StepCount 63L "⌈2000/32⌉ steps"
                Expect.all losses Double.IsFinite "finite losses"
                Expect.isLessThan (Array.average losses[losses.Length - 10 ..]) (0.5 * losses[0]) "the loss falls"
                let model = trainer.Model
                let eval = model.Evaluate heldOut
                Expect.equal eval.Count 500 "count"
                Expect.isGreaterThan eval.Accuracy 0.9 $"held-out accuracy (loss %.4f{eval.Loss})"

                Expect.equal (eval.Confusion |> Array.sumBy Array.sum) 500 "the confusion matrix counts every image"

                let probs = model.Outputs(heldOut, 0)
                Expect.equal probs.Length 10 "ten outputs"
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } (Array.sum probs) 1.0 "probabilities"
                Expect.equal (Array.IndexOf(probs, Array.max probs)) eval.Predictions[0] "Outputs agrees"
                let loaded = Api.Models.LoadModel(model.Spec, model.Tensors())
                expectSameModel model loaded heldOut
            }

            test "LoadModel round-trips float64 and bias-free models" {
                let train = synthetic 3 200

                for sizes, bias, config in
                    [
                        [| 784; 8; 10 |],
                        true,
                        { trainConfig Float64 with
                            Arch = dense [| 784; 8; 10 |] Relu Softmax true
                        }
                        [| 784; 6; 5; 10 |],
                        false,
                        { trainConfig Float32 with
                            Arch = dense [| 784; 6; 5; 10 |] Tanh Softmax false
                            Scale = Book
                        }
                    ] do
                    let trainer, _ = trainOneEpoch config train
                    let model = trainer.Model
                    let tensors = model.Tensors()
                    let layers = sizes.Length - 1
                    Expect.equal tensors.Length (if bias then 2 * layers else layers) "tensor count"
                    Expect.equal tensors[0].Name "layers.0.weight" "names"
                    Expect.equal tensors[0].Shape [| sizes[1]; 784 |] "PyTorch's [out, in]"
                    expectSameModel model (Api.Models.LoadModel(model.Spec, tensors)) train
            }

            test "Tensors are row-major [out, in]" {
                let trainer =
                    Api.Training.CreateTrainer(
                        { trainConfig Float64 with
                            Arch = dense [| 784; 3; 10 |] Relu Softmax true
                        },
                        synthetic 4 10
                    )

                let tensors = trainer.Model.Tensors()
                let w = tensors[0].Float64
                Expect.isNull tensors[0].Float32 "float64 model"
                // Outputs of a probe image built to light only pixel 5: hidden unit i sees W[i, 5]·1 + b_i (b = 0).
                let probe: Images =
                    {
                        Pixels = Array.init 784 (fun k -> if k = 5 then 255uy else 0uy)
                        Labels = [| 0uy |]
                        Count = 1
                        Features = 784
                        Values = [||]
                    }

                let rebuilt =
                    Api.Models.LoadModel(
                        trainer.Model.Spec,
                        tensors
                        |> Array.map (fun t ->
                            if t.Name = "layers.1.weight" then
                                // Make the output layer read hidden unit 0 only, into class 0.
                                { t with
                                    Float64 = Array.init 30 (fun k -> if k = 0 then 1.0 else 0.0)
                                }
                            else
                                t)
                    )

                let expected = max 0.0 w[0 * 784 + 5]
                let out = rebuilt.Outputs(probe, 0)
                let e = exp expected
                Expect.floatClose Accuracy.veryHigh out[0] (e / (e + 9.0)) "class 0 sees relu(W[0, 5])"
            }
        ]

[<Tests>]
let tests = testList "Core" [ endToEndTests ]
