/// Convolutional networks through the real `functional` command: every capability the dense network has
/// (train, replay and resume bit for bit, gradcheck, doctor, pictures, hostile model files, divergence) works
/// for an --arch with convolutions, pooling and flattening.
module Functional.Tests.ConvNetworkTests

open System
open System.IO
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

/// A small, fast convolutional network: 4 filters of 5x5 with stride 2 (12x12), pooled to 6x6, then softmax.
let private arch = "conv 4 5x5 stride 2 relu, maxpool 2, flatten, dense 10 softmax"

// A constant rate: the resume test extends a 1-epoch run to 2, and a schedule is fixed to its run's length.
let private small =
    [
        "--schedule"
        "constant"
        "--augment"
        "none"
        "--arch"
        arch
        "--train-count"
        "400"
        "--batch"
        "20"
        "--lr"
        "0.01"
        "--journal-every"
        "5"
        "--checkpoint-every"
        "10"
    ]

/// One trained run shared by the tests that only read it.
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

let private decode (path: string) =
    use bmp = SkiaSharp.SKBitmap.Decode path
    Expect.isNotNull bmp $"%s{path} decodes as an image"
    bmp.Width, bmp.Height

/// The model file with one tensor replaced (same bytes, another shape), its tensor hash rewritten so that only
/// the shape is wrong.
let private reshaped (model: string) (name: string) (shape: int64[]) (into: string) =
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
    testSequencedGroup "Conv networks end to end"
    <| testList
        "Conv networks end to end"
        [
            testCase "train prints, records and saves the architecture"
            <| fun () ->
                let o, runDir = trained.Value
                Expect.equal o.Code 0 (sprintf "train exits 0 (stderr: %s)" o.Err)
                Expect.stringContains o.Out arch "the train line names the layers"
                let acc = accuracyOf o.Out
                Expect.isGreaterThan acc 60.0 "two epochs on 400 images learn something"
                let runJson = File.ReadAllText(Path.Combine(runDir, "run.json"))
                Expect.stringContains runJson ("input 1x28x28, " + arch) "run.json holds the architecture"

                let struct (tensors, metadata) =
                    Safetensors.Read(Path.Combine(runDir, "model.safetensors"))

                Expect.stringContains metadata["spec"] arch "the model file holds the architecture"

                let conv = tensors |> Seq.find (fun t -> t.Name = "layers.0.weight")
                Expect.equal conv.Shape [| 4L; 1L; 5L; 5L |] "conv weights are [out, in, kh, kw]"
                let dense = tensors |> Seq.find (fun t -> t.Name = "layers.3.weight")
                Expect.equal dense.Shape [| 10L; 144L |] "the dense layer after flatten is [10, 4·6·6]"

            testCase "replay reproduces the journaled steps bit for bit"
            <| fun () ->
                let runDir = trainedRun ()
                let o = run repo [ "replay"; runDir; "--step"; "33" ]
                Expect.equal o.Code 0 (sprintf "replay exits 0 (%s%s)" o.Out o.Err)
                Expect.stringContains o.Out "bit for bit" "replay says it reproduced the steps"

            testCase "a run stopped after one epoch and resumed ends with the same model bytes"
            <| fun () ->
                let whole = trainedRun ()
                let dir = tempDir ()
                let part = Path.Combine(dir, "run")

                let first =
                    run repo ([ "train"; "--run"; part; "--epochs"; "1"; "--quiet" ] @ small)

                Expect.equal first.Code 0 first.Err
                let resumed = run repo [ "resume"; part; "--epochs"; "2"; "--quiet" ]
                Expect.equal resumed.Code 0 resumed.Err

                Expect.equal
                    (File.ReadAllBytes(Path.Combine(part, "model.safetensors")))
                    (File.ReadAllBytes(Path.Combine(whole, "model.safetensors")))
                    "same bytes"

            testCase "gradcheck passes for convolution, pooling and dense layers"
            <| fun () ->
                let o =
                    run repo [ "gradcheck"; "--arch"; arch; "--params"; "40"; "--examples"; "4" ]

                Expect.equal o.Code 0 (sprintf "gradcheck exits 0 (%s%s)" o.Out o.Err)
                Expect.stringContains o.Out "gradcheck: PASS" "passes"
                // Layers 1 (conv) and 4 (dense) have parameters; pooling and flatten have none.
                Expect.isTrue
                    (o.Out.Contains "\nlayer 1 (layers.0) " && o.Out.Contains "\nlayer 4 (layers.3) ")
                    "both layers with parameters"

            testCase "doctor measures every layer of a convolutional network"
            <| fun () ->
                let o =
                    run repo [ "doctor"; "--arch"; arch; "--train-count"; "300"; "--epochs"; "1"; "--json" ]

                Expect.isTrue (o.Code = 0 || o.Code = 1) (sprintf "doctor finishes (%d: %s)" o.Code o.Err)
                Expect.stringContains o.Out "\"health" "health checks are reported"
                Expect.stringContains o.Out "dead" "dead ReLUs are measured"

            testCase "show --filters draws the first convolution's filters, eval --png the confusion matrix"
            <| fun () ->
                let runDir = trainedRun ()
                let dir = tempDir ()
                let png = Path.Combine(dir, "filters.png")
                let o = run repo [ "show"; "--filters"; runDir; "--out"; png ]
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "layers.0.weight [4,1,5,5]" "names the tensor"
                let w, h = decode png
                Expect.isGreaterThan (w * h) 0 "a picture"
                let confusion = Path.Combine(dir, "confusion.png")
                let e = run repo [ "eval"; "--model"; runDir; "--png"; confusion ]
                Expect.equal e.Code 0 e.Err
                decode confusion |> ignore

            testCase "show --filters of a dense model says there is no convolution"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Fixtures.smallRun ()

                let o =
                    run repo [ "show"; "--filters"; runDir; "--out"; Path.Combine(dir, "f.png") ]

                expectOneLineError o 2 [ "no convolution layer" ]

            testCase "a model file whose conv weight has the wrong rank or shape is refused in one line"
            <| fun () ->
                let runDir = trainedRun ()
                let dir = tempDir ()
                let model = Path.Combine(runDir, "model.safetensors")

                for shape, label in [ [| 4L; 25L |], "rank 2"; [| 4L; 1L; 25L; 1L |], "wrong kernel" ] do
                    let bad = Path.Combine(dir, "bad.safetensors")
                    reshaped model "layers.0.weight" shape bad
                    let o = run repo [ "eval"; "--model"; bad ]
                    expectOneLineError o 3 [ bad; "layers.0.weight"; "[4,1,5,5]" ]
                    Expect.isFalse (o.Err.Contains "internal error") label

            testCase "a divergent convolutional run stops naming the layer, with exit 5"
            <| fun () ->
                let dir = tempDir ()

                let o =
                    run
                        repo
                        ([
                            "train"
                            "--run"
                            Path.Combine(dir, "run")
                            "--optimizer"
                            "sgd"
                            "--lr"
                            "1e9"
                            "--epochs"
                            "1"
                         ]
                         @ (small |> List.filter (fun a -> a <> "--lr" && a <> "0.01")))

                Expect.equal o.Code 5 (sprintf "diverged (%s)" o.Err)
                // It names where the non-finite value first shows, forward then backward: a layer, or (when every
                // output is finite) the loss term itself.
                Expect.isTrue
                    (o.Err.Contains "layer" || o.Err.Contains "loss of finite outputs is")
                    $"names the layer or the loss term: %s{o.Err}"

            testCase "an architecture that cannot work is refused before training, naming the layer and both shapes"
            <| fun () ->
                let o = run repo [ "train"; "--arch"; "conv 6 5x5 relu, dense 10 softmax" ]
                expectOneLineError o 2 [ "--arch"; "layer 2"; "dense 10 softmax"; "6x24x24"; "flatten" ]

                let big =
                    run repo [ "train"; "--arch"; "conv 6 29x29 relu, flatten, dense 10 softmax" ]

                expectOneLineError big 2 [ "--arch"; "29x29"; "1x28x28" ]
                let both = run repo [ "train"; "--arch"; arch; "--layers"; "784,10" ]
                expectOneLineError both 2 [ "--arch"; "--layers" ]

            testCase "the lenet5 preset reaches 95% in 3 epochs"
            <| fun () ->
                let dir = tempDir ()

                let o =
                    run
                        repo
                        [
                            "train"
                            "--preset"
                            "lenet5"
                            "--epochs"
                            "3"
                            "--run"
                            Path.Combine(dir, "run")
                        ]

                Expect.equal o.Code 0 o.Err
                Expect.isGreaterThanOrEqual (accuracyOf o.Out) 95.0 "LeNet-5 learns the digits"
        ]
