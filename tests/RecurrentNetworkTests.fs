/// Recurrent networks through the real `functional` command: train (with --clip-norm journaled), replay and
/// resume bit for bit, gradcheck, the doctor's through-time check and hostile model files work for rnn and lstm.
module Functional.Tests.RecurrentNetworkTests

open System
open System.IO
open Expecto
open Functional
open Functional.Host
open Functional.Tests.EndToEndTests

let private arch = "lstm 8, dense 10 softmax"

let private small =
    [
        "--arch"
        arch
        "--train-count"
        "300"
        "--batch"
        "20"
        "--lr"
        "0.1"
        "--clip-norm"
        "0.5"
        // A constant rate and no distortions: the run's figures, and a resume with more epochs, stay those
        // of a plain run whatever train's defaults become.
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

/// One layer's gradient through time for a relu RNN of 4 units whose recurrent weights are s·I, on inputs of
/// ones: every step multiplies the gradient by s on its way back.
let private growthFor (s: float) =
    let a =
        Arch.Arch.parse [| 6; 2 |] "input 6x2, rnn 4 relu, dense 3 softmax"
        |> Result.defaultWith failwith

    let net = Network.Network.init<float> Init.Xavier 1 a
    let ps = net.Params[0]
    Array.fill ps[0] 0 ps[0].Length 0.5
    Array.fill ps[2] 0 4 0.1
    Array.fill ps[3] 0 4 0.1

    for i in 0..15 do
        ps[1].[i] <- if i / 4 = i % 4 then s else 0.0

    let x = Tensor.ofColumnMajor 12 2 (Array.create 24 1.0)
    let y = Tensor.ofColumnMajor 3 2 [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |]

    let hyper: Step.Hyper =
        {
            Loss = Losses.CrossEntropy
            Reduction = Losses.Mean
            L2 = 0.0
            Optimizer = Optim.Sgd 0.1
            Seed = 1
            Schedule = Schedule.Constant
            ClipNorm = 0.0
            Trades = 0.0
        }

    Diagnostics.throughTime hyper net { X = x; Y = y }

[<Tests>]
let tests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "Recurrent networks end to end"
    <| testList
        "Recurrent networks end to end"
        [
            test "the doctor's through-time figure: a factor s per step gives s⁵ over six steps" {
                for s in [ 2.0; 0.5 ] do
                    match growthFor s with
                    | [| t |] ->
                        Expect.equal t.Layer 0 "the rnn layer"
                        Expect.equal t.StepNorms.Length 6 "one norm per step"
                        Expect.floatClose Accuracy.high t.FirstOverLast (s ** 5.0) "first / last"
                        Expect.isTrue (Double.IsNaN t.Saturated) "a relu RNN has no saturation figure"
                    | other -> failtestf "one recurrent layer expected, got %d" other.Length
            }

            testCase "train saves PyTorch's nn.LSTM names and journals the clipping"
            <| fun () ->
                let o, runDir = trained.Value
                Expect.equal o.Code 0 (sprintf "train exits 0 (stderr: %s)" o.Err)
                Expect.isGreaterThan (accuracyOf o.Out) 20.0 "two epochs on 300 images learn something"

                let struct (tensors, _) =
                    Safetensors.Read(Path.Combine(runDir, "model.safetensors"))

                let shape name =
                    (tensors |> Seq.find (fun t -> t.Name = name)).Shape

                Expect.equal (shape "layers.0.weight_ih_l0") [| 32L; 28L |] "[4H, F]"
                Expect.equal (shape "layers.0.weight_hh_l0") [| 32L; 8L |] "[4H, H]"
                Expect.equal (shape "layers.0.bias_hh_l0") [| 32L |] "[4H]"
                Expect.stringContains (File.ReadAllText(Path.Combine(runDir, "run.json"))) "clip_norm" "run.json"

                let journal = File.ReadAllText(Path.Combine(runDir, "journal.jsonl"))
                Expect.stringContains journal "\"clip\":" "each journaled step says how much it clipped"

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

            testCase "gradcheck passes for rnn and lstm layers"
            <| fun () ->
                for a in [ "rnn 6, dense 10 softmax"; "lstm 5 sequence, flatten, dense 10 softmax" ] do
                    let o = run repo [ "gradcheck"; "--arch"; a; "--params"; "40"; "--examples"; "3" ]
                    Expect.equal o.Code 0 (sprintf "gradcheck of %s exits 0 (%s%s)" a o.Out o.Err)
                    Expect.stringContains o.Out "gradcheck: PASS" a

            testCase "doctor measures the gradient through time"
            <| fun () ->
                let o =
                    run
                        repo
                        [
                            "doctor"
                            "--arch"
                            "rnn 8, dense 10 softmax"
                            "--train-count"
                            "200"
                            "--epochs"
                            "1"
                        ]

                Expect.isTrue (o.Code = 0 || o.Code = 1) (sprintf "doctor finishes (%d: %s)" o.Code o.Err)
                Expect.stringContains o.Out "through time" "the through-time check"
                Expect.stringContains o.Out "‖∂L/∂h_1‖/‖∂L/∂h_T‖" "its figure"

            testCase "a model file whose recurrent weight has the wrong shape is refused in one line"
            <| fun () ->
                let runDir = trainedRun ()
                let dir = tempDir ()
                let model = Path.Combine(runDir, "model.safetensors")
                let bad = Path.Combine(dir, "bad.safetensors")
                let struct (tensors, metadata) = Safetensors.Read model

                let changed =
                    tensors
                    |> Seq.map (fun t ->
                        if t.Name = "layers.0.weight_hh_l0" then
                            Safetensors.Tensor(t.Name, t.Dtype, [| 8L; 32L |], t.Data)
                        else
                            t)
                    |> Array.ofSeq

                let meta = Collections.Generic.Dictionary<string, string>(metadata)
                meta["tensor_sha256"] <- Safetensors.TensorHash changed
                Safetensors.Write(bad, changed, meta)
                let o = run repo [ "eval"; "--model"; bad ]
                expectOneLineError o 3 [ bad; "layers.0.weight_hh_l0"; "[32,8]" ]
        ]
