/// The thread count is a matter of speed only: every preset, trained a few steps at one thread and at two, ends
/// with the same weights, bit for bit (Gang.fs: work is cut by its shape, never by the thread count).
module Functional.Tests.ThreadsTests

open System
open Expecto
open Functional
open Functional.Cli
open Functional.Data

/// 300 images of random pixels (a fixed seed): enough for a few steps at every preset's batch and a short one.
let private images =
    let rng = Random 11
    let n = 300
    Images.ofBytes (Array.init (n * 784) (fun _ -> byte (rng.Next 256))) (Array.init n (fun i -> byte (i % 10))) n 784

/// The weights hash after three full steps and one short one, at `threads` threads.
let private trainedHash (config: Config) (threads: int) =
    Tensor.Blas.SetThreads threads
    let trainer = Api.Training.CreateTrainer(config, images)
    let order = Api.Data.Permutation(config.Seed, 0, images.Count)
    let batch = min config.Batch 64

    for s in 0..2 do
        trainer.Step(order, s * batch, batch) |> ignore

    trainer.Step(order, 3 * batch, 5) |> ignore
    trainer.WeightsHash()

[<Tests>]
let tests =
    // Sequenced: the thread count is process-wide.
    testSequenced
    <| testList
        "Threads"
        [
            for name in Presets.names do
                testCase $"%s{name}: 1 and 2 threads train the same bits"
                <| fun () ->
                    let config = (Presets.find name).Config
                    let config = config.WithBatch(min config.Batch 64)
                    let saved = Tensor.Blas.Threads

                    try
                        let one = trainedHash config 1
                        let two = trainedHash config 2
                        Expect.equal two one $"%s{name}: weights hash after 4 steps at 2 threads vs 1"
                    finally
                        Tensor.Blas.SetThreads saved
        ]
