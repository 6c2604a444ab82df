/// Trained runs that many tests read, each trained once per test run (the first test to ask waits for it) instead
/// of once per test. They are shared by tests running in parallel, so a test only reads one: eval, predict, export
/// and inspect write nothing into a run folder; a test that edits or resumes a run copies it first (`copyRun`).
module Functional.Tests.Fixtures

open System.Collections.Concurrent
open System.IO
open Expecto
open Functional.Tests.EndToEndTests

/// Every fixture lives under one temporary folder, removed with the others when the tests end.
let private root = lazy (tempDir ())

let private made = ConcurrentDictionary<string, Lazy<string>>()

/// The run folder made by `train` in `root/name`, trained the first time anyone asks for `name`; a failed training
/// fails every test that asks, each with train's stderr.
let private shared (name: string) (args: string list) =
    let build () =
        let runDir = Path.Combine(root.Value, name)
        let o = run root.Value ([ "train" ] @ args @ [ "--run"; runDir; "--quiet" ])
        Expect.equal o.Code 0 (sprintf "fixture %s: train %s: %s" name (String.concat " " args) o.Err)
        runDir

    made.GetOrAdd(name, fun _ -> lazy (build ())).Value

/// A preset's network trained for one epoch on the first 200 training images: enough to move the weights away from
/// initialisation, which is all the export, predict and model-file tests need of it.
let tinyRun (preset: string) =
    shared ("tiny-" + preset) [ "--preset"; preset; "--train-count"; "200"; "--epochs"; "1" ]

/// One tiny run of each kind of network the report must draw ("conv", "lstm", "rbf", "adversarial"; the LSTM stands
/// for the recurrent layers, whose weights are named alike): 200 training images, one epoch of 6 steps, every step
/// journalled and a checkpoint every 2 (so the first checkpoint is not the model). A couple of seconds each.
let kindRun (kind: string) =
    let network =
        match kind with
        | "conv" -> [ "--arch"; "conv 4 5x5 relu, maxpool 2, flatten, dense 10 softmax" ]
        | "lstm" -> [ "--arch"; "lstm 8, dense 10 softmax" ]
        | "rbf" -> [ "--arch"; "rbf 20, dense 10 softmax" ]
        | "adversarial" -> [ "--layers"; "784,16,10"; "--adversarial"; "fgsm:0.1" ]
        | other -> failwithf "no tiny run of kind %s" other

    shared
        ("kind-" + kind)
        (network
         @ [
             "--train-count"
             "200"
             "--epochs"
             "1"
             "--journal-every"
             "1"
             "--checkpoint-every"
             "2"
         ])

/// A small dense network (784-16-10) trained for one epoch with a journal line every 10 steps: a real run folder
/// (run.json, journal, checkpoints, model, curves) for the tests that read, draw or edit one.
let smallRun () =
    shared "small" [ "--layers"; "784,16,10"; "--epochs"; "1"; "--journal-every"; "10" ]

/// A copy of a shared run in a folder of the caller's, for a test that changes it. A run.lock is left out: it is
/// a live process's (a refused resume of the shared run holds one for a moment), never part of the run.
let rec copyRun (from: string) (into: string) =
    Directory.CreateDirectory into |> ignore

    for f in Directory.GetFiles from do
        if Path.GetFileName f <> Functional.Host.Runs.RunLock.FileName then
            File.Copy(f, Path.Combine(into, Path.GetFileName f))

    for d in Directory.GetDirectories from do
        copyRun d (Path.Combine(into, Path.GetFileName d))
