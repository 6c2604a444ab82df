/// A run's history across interruptions and descendants: resume keeps every epoch with its whole-epoch loss, and
/// `train --from RUN@STEP` starts a child run whose replay follows the chain back. Through the real binary.
module Functional.Tests.HistoryTests

open System.IO
open System.Text.Json.Nodes
open Expecto
open Functional.Tests.EndToEndTests

// 2,000 images in batches of 32: 63 steps an epoch; a checkpoint every 20 steps falls inside epochs.
let private small =
    [
        "--layers"
        "784,16,10"
        "--validation"
        "0"
        "--train-count"
        "2000"
        "--checkpoint-every"
        "20"
    ]

let private runJson dir =
    JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))

/// results.epochs without the seconds (the only figure a clock decides).
let private epochs dir =
    let j = runJson dir

    j["results"].["epochs"].AsArray()
    |> Seq.map (fun e ->
        let o = e.AsObject().DeepClone().AsObject()
        o.Remove "seconds" |> ignore
        o.ToJsonString())
    |> List.ofSeq

let private train dir (args: string list) =
    let o = run repo ([ "train"; "--run"; dir; "--quiet" ] @ args)
    Expect.equal o.Code 0 (sprintf "train: %s" o.Err)
    o

let private tensorHash path =
    let struct (_, meta) = Functional.Host.Safetensors.Read path
    meta["tensor_sha256"]

[<Tests>]
let tests =
    testList
        "History"
        [
            test "a run resumed inside an epoch lists every epoch, the split one with its loss over the whole epoch" {
                let dir = tempDir ()
                let whole, stopped = Path.Combine(dir, "whole"), Path.Combine(dir, "stopped")
                train whole (small @ [ "--epochs"; "3" ]) |> ignore
                train stopped (small @ [ "--epochs"; "3" ]) |> ignore
                // As if the run had died after its checkpoint at step 100 (epoch 2 runs from step 64 to 126).
                for f in Directory.GetFiles(Path.Combine(stopped, "checkpoints")) do
                    if Path.GetFileName f > "step-000000100.safetensors" then
                        File.Delete f

                File.Delete(Path.Combine(stopped, "model.safetensors"))
                let r = run repo [ "resume"; stopped; "--quiet" ]
                Expect.equal r.Code 0 r.Err
                Expect.stringContains r.Out "step 100, epoch 2" "resumed inside epoch 2"
                let expected = epochs whole
                Expect.equal expected.Length 3 "three epochs"
                Expect.equal (epochs stopped) expected "the same epochs: steps, losses, accuracies, rates"
            }

            test "train --from RUN@STEP continues with changed settings; its replay follows the chain to the parent" {
                let dir = tempDir ()
                let parent = Path.Combine(dir, "parent")
                train parent (small @ [ "--epochs"; "2" ]) |> ignore
                let from = parent + "@40"

                // Nothing changed: the child ends where the parent ended, and epoch 1 (split at step 40) keeps its loss.
                let same = Path.Combine(dir, "same")
                let s = run repo [ "train"; "--from"; from; "--run"; same ]
                Expect.equal s.Code 0 s.Err
                Expect.stringContains s.Out "optimizer state kept (adam)" "says what it keeps"

                Expect.equal
                    (tensorHash (Path.Combine(same, "model.safetensors")))
                    (tensorHash (Path.Combine(parent, "model.safetensors")))
                    "the same final weights"

                Expect.equal (epochs same) (epochs parent) "the same epochs"
                let sameJson = runJson same
                let p = sameJson["parent"]
                Expect.equal (p["step"].GetValue<int64>()) 40L "parent step"
                Expect.equal (p["run"].GetValue<string>()) (Path.GetFullPath parent) "parent run"

                // A lower rate: other weights, and replay goes back to the parent's checkpoint at step 40.
                let lower = Path.Combine(dir, "lower")
                train lower [ "--from"; from; "--lr"; "0.0002" ] |> ignore

                Expect.notEqual
                    (tensorHash (Path.Combine(lower, "model.safetensors")))
                    (tensorHash (Path.Combine(parent, "model.safetensors")))
                    "the rate changed the run"

                let r = run repo [ "replay"; lower; "--step"; "50" ]
                Expect.equal r.Code 0 r.Err

                Expect.stringContains
                    r.Out
                    (Path.Combine(parent, "checkpoints", "step-000000040.safetensors"))
                    "from the parent's checkpoint"

                Expect.isMatch r.Out @"reproduced steps 41\.\.\d+ bit for bit" "bit for bit"
                let before = run repo [ "replay"; lower; "--step"; "30" ]
                expectOneLineError before 2 [ "parent"; "functional replay" ]

                // Another optimiser resets the moments; another shape, or a step without a checkpoint, is refused.
                let other =
                    run
                        repo
                        [
                            "train"
                            "--from"
                            from
                            "--run"
                            Path.Combine(dir, "sgd")
                            "--optimizer"
                            "momentum"
                            "--quiet"
                        ]

                Expect.equal other.Code 0 other.Err

                let wider =
                    run
                        repo
                        [
                            "train"
                            "--from"
                            from
                            "--run"
                            Path.Combine(dir, "wider")
                            "--layers"
                            "784,32,10"
                        ]

                expectOneLineError wider 2 [ "layers.0.weight"; "[32,784]" ]
                Expect.isFalse (Directory.Exists(Path.Combine(dir, "wider"))) "nothing written"

                let missing =
                    run repo [ "train"; "--from"; parent + "@41"; "--run"; Path.Combine(dir, "x") ]

                expectOneLineError missing 2 [ "no checkpoint at step 41"; "40" ]
            }
        ]
