/// A model's outputs do not depend on the batch they were computed in: one image alone, seven at a time and
/// the 500-image chunks of OutputsAll give the same bits, at one OpenBLAS thread or two, for every kind.
module Functional.Tests.Core.EvaluationTests

open System
open Expecto
open Functional
open Functional.Arch
open Functional.Data
open Functional.Network
open Functional.Tests.Core.Helpers

let private archOf text =
    match Arch.parse [| 1; 28; 28 |] text with
    | Ok a -> a
    | Error e -> failwith e

let private kinds =
    [
        "dense", "input 784, dense 64 relu, dense 10 softmax"
        "conv",
        "input 1x28x28, conv 6 5x5 pad 2 relu, maxpool 2, conv 16 5x5 relu, maxpool 2, flatten, dense 32 relu, dense 10 softmax"
        "lstm", "input 1x28x28, lstm 32 orthogonal, dense 10 softmax"
        "rnn", "input 1x28x28, rnn 32 orthogonal, dense 10 sigmoid"
        "rbf", "input 784, rbf 40, dense 10 softmax"
    ]

/// 1,000 images of random pixels (a fixed seed): more than one of OutputsAll's 500-image chunks, with a tail.
let private images =
    let rng = Random 7
    let n = 1003
    let pixels = Array.init (n * 784) (fun _ -> byte (rng.Next 256))
    Images.ofBytes pixels (Array.init n (fun i -> byte (i % 10))) n 784

let private subset (from: int) (count: int) =
    Images.ofBytes (Array.sub images.Pixels (from * 784) (count * 784)) (Array.sub images.Labels from count) count 784

/// A freshly initialised model of `arch`, as training starts it.
let private model precision (arch: Arch) =
    let config =
        { Config.defaults with
            Arch = arch
            Precision = precision
            Scale = Unit
            Seed = 3
        }

    (Api.Training.CreateTrainer(config, images)).Model

let private sameBits what (a: float[]) (b: float[]) = expectSameBits what [| a |] [| b |]

[<Tests>]
let tests =
    // Sequenced: the thread count is process-wide, and no other test may run while it is 2 here and 1 there.
    testSequenced
    <| testList
        "Evaluation"
        [
            for name, text in kinds do
                for precision in [ Float32; Float64 ] do
                    testCase $"%s{name} %s{Precision.name precision}: 1, 7 or 500 at a time, 1 or 2 threads, same bits"
                    <| fun () ->
                        let m = model precision (archOf text)
                        let saved = Tensor.Blas.Threads

                        try
                            Tensor.Blas.SetThreads 1
                            let all = m.OutputsAll images
                            Tensor.Blas.SetThreads 2
                            sameBits "500 at a time, 2 threads" all (m.OutputsAll images)
                            let k = Arch.classes m.Spec.Arch

                            let sevens =
                                [|
                                    for from in 0..7 .. images.Count - 1 ->
                                        m.OutputsAll(subset from (min 7 (images.Count - from)))
                                |]
                                |> Array.concat

                            sameBits "7 at a time" all sevens

                            for i in [ 0; 1; 6; 499; 500; 777; 1002 ] do
                                sameBits $"image %d{i} alone" all[i * k .. i * k + k - 1] (m.Outputs(images, i))

                            let e = m.Evaluate images

                            for i in 0 .. images.Count - 1 do
                                let row = all[i * k .. i * k + k - 1]

                                Expect.equal
                                    e.Predictions[i]
                                    (Array.IndexOf(row, Array.max row))
                                    "Evaluate predicts from the same outputs"
                        finally
                            Tensor.Blas.SetThreads saved
        ]
