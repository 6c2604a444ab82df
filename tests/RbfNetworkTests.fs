/// RBF networks through the real `functional` command: train from k-means centres, replay and resume bit for bit,
/// gradcheck, hostile model files, divergence, the centres as pictures and the doctor's RBF checks.
module Functional.Tests.RbfNetworkTests

open System
open System.IO
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

let private small =
    [
        "--arch"
        "rbf 30, dense 10 softmax"
        "--train-count"
        "300"
        "--batch"
        "20"
        "--lr"
        "0.01"
        "--l2"
        "0"
        // A constant rate and no distortions: a resume with more epochs stays the run that was never stopped.
        "--schedule"
        "constant"
        "--augment"
        "none"
        "--journal-every"
        "5"
        "--checkpoint-every"
        "10"
    ]

let private trained =
    lazy
        (let dir = tempDir ()
         let runDir = Path.Combine(dir, "run")
         let o = run repo ([ "train"; "--run"; runDir; "--epochs"; "2" ] @ small)
         o, runDir)

let private trainedRun () =
    let o, runDir = trained.Value
    Expect.equal o.Code 0 (sprintf "train exits 0 (stderr: %s)" o.Err)
    runDir

let private withTensor (model: string) (name: string) (shape: int64[]) (into: string) =
    let struct (tensors, metadata) = Safetensors.Read model

    let changed =
        tensors
        |> Seq.map (fun t ->
            if t.Name = name then
                Safetensors.Tensor(t.Name, t.Dtype, shape, t.Data)
            else
                t)
        |> Array.ofSeq

    let meta = Collections.Generic.Dictionary<string, string>(metadata)
    meta["tensor_sha256"] <- Safetensors.TensorHash changed
    Safetensors.Write(into, changed, meta)

[<Tests>]
let tests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "RBF networks end to end"
    <| testList
        "RBF networks end to end"
        [
            testCase "train saves centres [K, 784] and log widths [K] and learns"
            <| fun () ->
                let o, runDir = trained.Value
                Expect.equal o.Code 0 (sprintf "train exits 0 (stderr: %s)" o.Err)
                Expect.isGreaterThan (accuracyOf o.Out) 25.0 "two epochs on 300 images learn something (chance: 10%)"

                let struct (tensors, _) =
                    Safetensors.Read(Path.Combine(runDir, "model.safetensors"))

                let shape name =
                    (tensors |> Seq.find (fun t -> t.Name = name)).Shape

                Expect.equal (shape "layers.0.centres") [| 30L; 784L |] "[K, F]"
                Expect.equal (shape "layers.0.log_widths") [| 30L |] "[K]"

            testCase "replay reproduces the journaled steps bit for bit"
            <| fun () ->
                let runDir = trainedRun ()
                let o = run repo [ "replay"; runDir; "--step"; "25" ]
                Expect.equal o.Code 0 (sprintf "replay exits 0 (%s%s)" o.Out o.Err)
                Expect.stringContains o.Out "bit for bit" "replay says it reproduced the steps"

            testCase "a run stopped after one epoch and resumed ends with the same model bytes"
            <| fun () ->
                let whole = trainedRun ()
                let part = Path.Combine(tempDir (), "run")

                let first =
                    run repo ([ "train"; "--run"; part; "--epochs"; "1"; "--quiet" ] @ small)

                Expect.equal first.Code 0 first.Err
                let resumed = run repo [ "resume"; part; "--epochs"; "2"; "--quiet" ]
                Expect.equal resumed.Code 0 resumed.Err

                Expect.equal
                    (File.ReadAllBytes(Path.Combine(part, "model.safetensors")))
                    (File.ReadAllBytes(Path.Combine(whole, "model.safetensors")))
                    "same bytes"

            testCase "frozen centres end as k-means left them, whatever the rate; the widths and readout train"
            <| fun () ->
                let centres lr =
                    let runDir = Path.Combine(tempDir (), "run")

                    let args =
                        small
                        |> List.map (fun a ->
                            if a = "rbf 30, dense 10 softmax" then
                                "rbf 30 frozen-centres, dense 10 softmax"
                            else
                                a)
                        |> List.map (fun a -> if a = "0.01" then lr else a)

                    let o = run repo ([ "train"; "--run"; runDir; "--epochs"; "1"; "--quiet" ] @ args)
                    Expect.equal o.Code 0 o.Err

                    let struct (tensors, _) =
                        Safetensors.Read(Path.Combine(runDir, "model.safetensors"))

                    fun name -> (tensors |> Seq.find (fun t -> t.Name = name)).Data

                let a, b = centres "0.01", centres "0.03"
                Expect.equal (a "layers.0.centres") (b "layers.0.centres") "the same centres"
                Expect.notEqual (a "layers.0.log_widths") (b "layers.0.log_widths") "the widths moved"
                Expect.notEqual (a "layers.1.weight") (b "layers.1.weight") "the readout moved"

            testCase "gradcheck passes for an rbf layer at its k-means start"
            <| fun () ->
                let a = "rbf 6, dense 10 softmax"
                let o = run repo [ "gradcheck"; "--arch"; a; "--params"; "40"; "--examples"; "3" ]
                Expect.equal o.Code 0 (sprintf "gradcheck of %s exits 0 (%s%s)" a o.Out o.Err)
                Expect.stringContains o.Out "gradcheck: PASS" a

            testCase "a model file whose centres have the wrong shape is refused in one line"
            <| fun () ->
                let runDir = trainedRun ()
                let bad = Path.Combine(tempDir (), "bad.safetensors")
                withTensor (Path.Combine(runDir, "model.safetensors")) "layers.0.centres" [| 784L; 30L |] bad
                let o = run repo [ "eval"; "--model"; bad ]
                expectOneLineError o 3 [ bad; "layers.0.centres"; "[30,784]" ]

            testCase "a divergent rbf run stops naming the layer, with exit 5"
            <| fun () ->
                let args = small |> List.map (fun a -> if a = "0.01" then "1e9" else a)

                let o =
                    run
                        repo
                        ([
                            "train"
                            "--run"
                            Path.Combine(tempDir (), "run")
                            "--optimizer"
                            "sgd"
                            "--epochs"
                            "1"
                         ]
                         @ args)

                Expect.equal o.Code 5 (sprintf "diverged (%s)" o.Err)
                Expect.stringContains o.Err "layer" "names a layer"

            testCase "the doctor names rbf units that are 0 for every input and prints the width that fixes them"
            <| fun () ->
                let o =
                    run
                        repo
                        [
                            "doctor"
                            "--arch"
                            "rbf 20 width 0.01, dense 10 softmax"
                            "--train-count"
                            "200"
                            "--epochs"
                            "1"
                        ]

                Expect.isTrue (o.Code = 0 || o.Code = 1) (sprintf "doctor finishes (%d: %s)" o.Code o.Err)

                let line =
                    o.Out.Split('\n')
                    |> Array.tryFind (fun l -> l.Contains "rbf units")
                    |> Option.defaultWith (fun () -> failtestf "no rbf units line in %s" o.Out)

                Expect.stringStarts line "WARN" "a warning"
                Expect.stringContains line "100% of units < 0.01" "every unit silent"
                Expect.stringContains line "widths are too small" "the cause"
                Expect.stringContains line "Fix: wider units: rbf 20 in --arch." "the fix: the default width"
                Expect.stringContains o.Out "--arch 'rbf 20, dense 10 softmax'" "in the command it prints"

            testCase "show --filters draws the first centres as 28x28 images"
            <| fun () ->
                let runDir = trainedRun ()
                let png = Path.Combine(tempDir (), "centres.png")
                let o = run repo [ "show"; "--filters"; runDir; "--out"; png ]
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "layers.0.centres [30,1,28,28]" "thirty centres as 1x28x28 pictures"
                Expect.isGreaterThan (FileInfo(png).Length) 1000L "a picture"
        ]
