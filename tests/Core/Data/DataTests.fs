module Functional.Tests.Core.DataTests

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

type private PermCase = { Seed: int; Epoch: int; N: int }

let private permCases =
    gen {
        let! seed = Gen.choose (-1000, 1000)
        let! epoch = Gen.choose (0, 100)
        let! n = Gen.choose (0, 300)
        return { Seed = seed; Epoch = epoch; N = n }
    }
    |> Arb.fromGen

let dataTests =
    testList
        "Data"
        [
            testPropertyWithConfig (config 100) "permutation is a deterministic permutation, new each epoch"
            <| Prop.forAll permCases (fun c ->
                let p = Data.permutation c.Seed c.Epoch c.N
                Expect.equal (Array.sort p) (Array.init c.N id) "a permutation of 0..n−1"
                Expect.equal (Data.permutation c.Seed c.Epoch c.N) p "deterministic for (seed, epoch)"
                Expect.equal (Api.Data.Permutation(c.Seed, c.Epoch, c.N)) p "Api.Data.Permutation is the same"

                if c.N >= 20 then
                    Expect.notEqual (Data.permutation c.Seed (c.Epoch + 1) c.N) p "the next epoch differs"
                    Expect.notEqual (Data.permutation (c.Seed + 1) c.Epoch c.N) p "another seed differs")

            test "batches" {
                Expect.equal (Data.batches 10 4) [| 0, 4; 4, 4; 8, 2 |] "10 by 4"
                Expect.equal (Data.batches 10 0) [| 0, 10 |] "0 = full batch"
                Expect.equal (Data.batches 10 (-1)) [| 0, 10 |] "negative = full batch"
                Expect.equal (Data.batches 10 25) [| 0, 10 |] "batch larger than the set"
                Expect.equal (Data.batches 10 1) (Array.init 10 (fun i -> i, 1)) "batch 1"
            }

            testPropertyWithConfig (config 100) "batches tile 0..n−1 in order"
            <| Prop.forAll
                (Arb.fromGen (
                    gen {
                        let! n = Gen.choose (1, 200)
                        let! b = Gen.choose (0, 64)
                        return n, b
                    }
                ))
                (fun (n, b) ->
                    let bs = Data.batches n b
                    let covered = bs |> Array.collect (fun (o, c) -> Array.init c (fun k -> o + k))
                    Expect.equal covered (Array.init n id) "every example once, in order"
                    let size = if b = 0 then n else min b n
                    Expect.all bs[.. bs.Length - 2] (fun (_, c) -> c = size) "all but the last are full")

            // An empty set has no batches. Today this throws ("The step of a range cannot be zero"):
            // b = min batch 0 = 0 becomes the step of `0..b..n-1`. Model.Evaluate on an empty image set
            // hits it too, although Evaluate guards its own division with max images.Count 1.
            test "an empty set has no batches" {
                Expect.equal (Data.batches 0 32) [||] "0 examples, batch 32"
                Expect.equal (Data.batches 0 0) [||] "0 examples, full batch"
                let trainer = Api.Training.CreateTrainer(trainConfig Float32, synthetic 5 1)

                let empty: Images =
                    {
                        Pixels = [||]
                        Labels = [||]
                        Count = 0
                        Features = 784
                        Values = [||]
                    }

                let eval = trainer.Model.Evaluate empty
                Expect.equal eval.Count 0 "Evaluate of an empty set counts nothing"
                Expect.isEmpty eval.Predictions "and predicts nothing"
            }

            testPropertyWithConfig
                (config 200)
                "batchOfStep: every example once per epoch, in order, the last batch shorter"
            <| Prop.forAll
                (Arb.fromGen (
                    gen {
                        let! n = Gen.choose (1, 300)
                        let! b = Gen.oneof [ Gen.choose (0, 70); Gen.choose (-3, 400) ]
                        let! epochs = Gen.choose (1, 3)
                        return n, b, epochs
                    }
                ))
                (fun (n, b, epochs) ->
                    let per = Data.stepsPerEpoch n b
                    let size = if b <= 0 || b >= n then n else b
                    Expect.equal per ((n + size - 1) / size) "steps per epoch"
                    Expect.equal (Api.Data.StepsPerEpoch(n, b)) per "Api.Data.StepsPerEpoch"

                    for e in 0 .. epochs - 1 do
                        let steps = Array.init per (fun k -> Data.batchOfStep n b (int64 (e * per + k + 1)))

                        Expect.all steps (fun s -> s.Epoch = e) "the epoch"

                        let covered =
                            steps |> Array.collect (fun s -> Array.init s.Count (fun k -> s.Offset + k))

                        Expect.equal covered (Array.init n id) "every example once, in order"
                        Expect.all steps[.. per - 2] (fun s -> s.Count = size) "all but the last are full"
                        Expect.isGreaterThan steps[per - 1].Count 0 "the last is not empty"
                        Expect.isLessThanOrEqual steps[per - 1].Count size "the last may be shorter"

                        Expect.equal
                            (steps |> Array.map (fun s -> s.Offset, s.Count))
                            (Data.batches n b)
                            "the batches of Data.batches"

                        for s in steps do
                            Expect.equal (Data.stepAt n b s.Epoch s.Offset) s.Step "stepAt inverts batchOfStep"
                            Expect.equal (Api.Data.BatchOfStep(n, b, s.Step)) s "Api.Data.BatchOfStep")

            test "batchOfStep by hand, and its refusals" {
                let s = Data.batchOfStep 10 4 3L
                Expect.equal (s.Epoch, s.Offset, s.Count) (0, 8, 2) "step 3 of 10 by 4: the short batch"
                let s = Data.batchOfStep 10 4 4L
                Expect.equal (s.Epoch, s.Offset, s.Count) (1, 0, 4) "step 4 starts epoch 1"
                let s = Data.batchOfStep 10 0 7L
                Expect.equal (s.Epoch, s.Offset, s.Count) (6, 0, 10) "full batch: one step per epoch"
                Expect.equal (Data.stepAt 10 4 2 4) 8L "epoch 2, offset 4"
                Expect.throws (fun () -> Data.batchOfStep 10 4 0L |> ignore) "steps count from 1"
                Expect.throws (fun () -> Data.batchOfStep 0 4 1L |> ignore) "an empty set has no step"
            }

            test "Scale tables" {
                let unit = Scale.table<float> Unit
                Expect.equal unit[0] 0.0 "Unit[0]"
                Expect.equal unit[255] 1.0 "Unit[255]"
                Expect.floatClose Accuracy.veryHigh unit[51] 0.2 "Unit[51]"
                let book = Scale.table<float> Book
                Expect.equal book[0] 0.01 "Book[0]"
                Expect.equal book[255] 1.0 "Book[255]"
                let book32 = Scale.table<float32> Book
                Expect.floatClose { absolute = 1e-7; relative = 0.0 } (float book32[0]) 0.01 "Book[0] float32"
                Expect.equal book32[255] 1.0f "Book[255] float32"
                let unit32 = Scale.table<float32> Unit
                Expect.equal unit32[255] 1.0f "Unit[255] float32"
                Expect.equal (Scale.targets<float> Unit) (0.0, 1.0) "unit targets"
                Expect.equal (Scale.targets<float> Book) (0.01, 0.99) "book targets"
                Expect.equal (Scale.tryParse (Scale.name Book)) (Some Book) "Book's name parses back"
                Expect.equal (Scale.tryParse (Scale.name Unit)) (Some Unit) "Unit's name parses back"
            }

            test "gatherInto: image n's pixels in column j, scaled as Scale.table says, and its one-hot target" {
                let images: Images =
                    {
                        Pixels = Array.init (3 * 37) (fun k -> byte (k * 7 % 256))
                        Labels = [| 2uy; 0uy; 1uy |]
                        Count = 3
                        Features = 37
                        Values = [||]
                    }

                for scale in [ Unit; Book; Offset ] do
                    let table = Scale.table<float32> scale
                    let off, on = Scale.targets<float32> scale
                    let x = Tensor.zeros<float32> 37 2
                    let y = Tensor.zeros<float32> 3 2
                    // Fill with junk first: gatherInto must overwrite every entry.
                    Array.fill (Tensor.data x) 0 74 nanf
                    Array.fill (Tensor.data y) 0 6 nanf
                    gatherInto scale images [| 1; 2; 0 |] 1 x y

                    for j, n in [ 0, 2; 1, 0 ] do
                        for i in 0..36 do
                            let expected = table[int images.Pixels[n * 37 + i]]
                            Expect.equal x[i, j] expected $"x[%d{i}, %d{j}] under %A{scale}"

                        for k in 0..2 do
                            let expected = if k = int images.Labels[n] then on else off
                            Expect.equal y[k, j] expected $"y[%d{k}, %d{j}]"

                let unit = Scale.table<float> Unit
                Expect.equal unit.[51] (51.0 / 255.0) "unit is x/255"
            }
        ]


[<Tests>]
let tests = testList "Core" [ dataTests ]
