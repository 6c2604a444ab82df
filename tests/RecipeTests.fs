/// Training recipes through the real binary: the validation split, early stopping and keep-best, schedules and
/// augmentation, and that runs using them resume and replay bit for bit.
module Functional.Tests.RecipeTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

let private trained (args: string list) =
    let dir = tempDir ()
    let runDir = Path.Combine(dir, "run")
    let o = run repo ([ "train"; "--run"; runDir; "--quiet" ] @ args)
    Expect.equal o.Code 0 (sprintf "train: %s %s" o.Out o.Err)
    runDir, o

let private json (path: string) =
    JsonNode.Parse(File.ReadAllText path).AsObject()

let private epochLines (runDir: string) =
    File.ReadAllLines(Path.Combine(runDir, "journal.jsonl"))
    |> Array.filter (fun l -> l.Contains "\"kind\":\"epoch\"")
    |> Array.map (fun l -> JsonNode.Parse(l).AsObject())

let private tensors (path: string) =
    let struct (ts, metadata) = Safetensors.Read path
    ts |> Seq.map (fun t -> t.Name, t.ToFloats()) |> Map.ofSeq, metadata

[<Tests>]
let tests =
    testList
        "Recipes"
        [
            test "the validation split is held out of training, recorded, and printed instead of the test set" {
                let runDir, o =
                    trained [ "--layers"; "784,16,10"; "--epochs"; "1"; "--train-count"; "1000" ]

                let r = json (Path.Combine(runDir, "run.json"))
                let v = r["validation"]
                Expect.equal (v["fraction"].GetValue<float>()) 0.1 "fraction"
                Expect.equal (v["count"].GetValue<int>()) 100 "100 of 1,000 held out"
                let e = (epochLines runDir)[0]
                Expect.isNotNull (e["val_loss"]) "validation loss per epoch"
                Expect.isNotNull (e["val_accuracy"]) "validation accuracy per epoch"
                Expect.isNull (e["test_accuracy"]) "no test figure per epoch"
                // 900 training images in batches of 32: 29 steps.
                Expect.equal (e["step"].GetValue<int>()) 29 "steps over the 900 kept images"
                Expect.isNotNull (r["results"]["test_accuracy"]) "the test set once, at the end"
                Expect.stringContains o.Out "test accuracy:" "printed at the end"
            }

            test "early stopping stops, keeps the best validation epoch, and resume says the run is finished" {
                // Adam at 0.01 on 270 images overfits within a few epochs: the validation loss turns up.
                let args =
                    [
                        "--layers"
                        "784,64,10"
                        "--lr"
                        "0.01"
                        "--train-count"
                        "300"
                        "--batch"
                        "16"
                        "--epochs"
                        "40"
                        "--early-stop"
                        "3"
                    ]

                let runDir, _ = trained args
                let epochs = epochLines runDir
                let results = (json (Path.Combine(runDir, "run.json")))["results"]
                let stopped = results["stopped_early_after"].GetValue<int>()
                Expect.isLessThan stopped 40 "stopped before the last epoch"
                Expect.equal epochs.Length stopped "one epoch line per epoch trained"

                let losses = epochs |> Array.map (fun e -> e["val_loss"].GetValue<float>())
                let best = Array.findIndex ((=) (Array.min losses)) losses + 1
                Expect.equal (results["kept_epoch"].GetValue<int>()) best "kept the epoch of lowest validation loss"
                Expect.equal stopped (best + 3) "stopped 3 epochs (the patience) after the best"

                let model, metadata = tensors (Path.Combine(runDir, "model.safetensors"))
                let kept, _ = tensors (Path.Combine(runDir, "best.safetensors"))
                Expect.equal model kept "model.safetensors holds the best epoch's weights"
                Expect.equal (metadata["epoch"]) (string best) "the model file says which epoch it holds"
                Expect.equal (metadata["kept"]) "best" "and why"

                let last, _ =
                    tensors (Directory.GetFiles(Path.Combine(runDir, "checkpoints")) |> Array.max)

                Expect.notEqual (last |> Map.filter (fun k _ -> k.StartsWith "layers.")) model "not the last epoch's"

                let r = run repo [ "resume"; runDir ]
                Expect.equal r.Code 2 "resume refuses"
                Expect.stringContains r.Err "stopped early" "and says why"
            }

            test "--keep last keeps the final epoch; keep and early stopping need a validation set" {
                let runDir, _ =
                    trained
                        [
                            "--layers"
                            "784,16,10"
                            "--epochs"
                            "2"
                            "--train-count"
                            "500"
                            "--keep"
                            "last"
                        ]

                let model, metadata = tensors (Path.Combine(runDir, "model.safetensors"))
                Expect.equal (metadata["kept"]) "last" "kept"
                Expect.equal (metadata["epoch"]) "2" "epoch"
                Expect.isFalse (File.Exists(Path.Combine(runDir, "best.safetensors"))) "no best file"

                for args in
                    [
                        [ "--validation"; "0"; "--early-stop"; "2" ]
                        [ "--validation"; "0"; "--keep"; "best" ]
                    ] do
                    let o = run repo ([ "train"; "--epochs"; "1" ] @ args)
                    Expect.equal o.Code 2 (String.Join(" ", args))
                    Expect.stringContains o.Err "validation" "names what is missing"

                for bad in [ "1.5"; "-0.1" ] do
                    let o = run repo [ "train"; "--validation"; bad ]
                    Expect.equal o.Code 2 bad
                    Expect.stringContains o.Err "--validation" bad
            }

            test "a run with augmentation, a schedule and a validation split replays and resumes bit for bit" {
                let args =
                    [
                        "--layers"
                        "784,16,10"
                        "--epochs"
                        "2"
                        "--train-count"
                        "2000"
                        "--augment"
                        "shift:2,rotate:10,scale:0.1,elastic:8:4"
                        "--schedule"
                        "cosine"
                        "--warmup"
                        "0.5"
                        "--checkpoint-every"
                        "20"
                        "--journal-every"
                        "5"
                    ]

                let runDir, _ = trained args
                let r = json (Path.Combine(runDir, "run.json"))
                // 1,800 training images in batches of 32: 57 steps an epoch, 114 in all; warm-up half an epoch.
                let c = r["config"]
                Expect.equal (c["schedule"].GetValue<string>()) "warmup:28+cosine:86:0" "stored in steps"
                Expect.equal (c["augment"].GetValue<string>()) "shift:2,rotate:10,scale:0.1,elastic:8:4" "augment"

                let steps =
                    File.ReadAllLines(Path.Combine(runDir, "journal.jsonl"))
                    |> Array.filter (fun l -> not (l.Contains "\"kind\""))
                    |> Array.map (fun l -> JsonNode.Parse(l).AsObject())

                let lr (s: JsonObject) = s["lr"].GetValue<float>()
                Expect.floatClose Accuracy.veryHigh (lr steps[0]) (0.001 * 5.0 / 28.0) "step 5 of the warm-up"
                Expect.isLessThan (lr steps[steps.Length - 1]) 1e-5 "the cosine ends near 0"

                for step in [ 1; 20; 21; 57; 58; 100; 114 ] do
                    let o = run repo [ "replay"; runDir; "--step"; string step ]
                    Expect.equal o.Code 0 (sprintf "replay %d: %s %s" step o.Out o.Err)
                    Expect.isMatch o.Out @"reproduced steps \d+\.\.\d+ bit for bit" "bit-exact"

                // Resume from the middle of epoch 2 ends with the same model as the run that was never stopped.
                let whole = File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))
                let cp = Path.Combine(runDir, "checkpoints")

                for f in Directory.GetFiles cp do
                    if Path.GetFileName f > "step-000000080.safetensors" then
                        File.Delete f

                File.Delete(Path.Combine(runDir, "model.safetensors"))
                let o = run repo [ "resume"; runDir; "--quiet" ]
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "step-000000080" "resumed mid-epoch"
                Expect.equal (File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))) whole "same model bytes"
                Expect.equal (epochLines runDir).Length 2 "the whole history"
            }

            test "lr-find draws the range test and suggests a rate, with its rule; bad ranges are refused" {
                let dir = tempDir ()
                let png = Path.Combine(dir, "lr.png")

                let o =
                    run repo [ "lr-find"; "--train-count"; "1000"; "--steps"; "120"; "--png"; png; "--json" ]

                Expect.equal o.Code 0 o.Err
                let j = JsonNode.Parse(o.Out).AsObject()
                let rates = j["rates"].AsArray()
                Expect.isTrue (rates.Count >= 3 && rates.Count <= 120) "one rate per step taken"
                let suggested = j["suggested"].GetValue<float>()
                Expect.isTrue (suggested > 1e-7 && suggested < 10.0) "inside the range"
                Expect.stringContains (j["rule"].GetValue<string>()) "falls fastest" "the rule is stated"
                Expect.isTrue (File.Exists png && FileInfo(png).Length > 10000L) "the PNG"

                for args in
                    [
                        [ "--from"; "0" ]
                        [ "--from"; "1"; "--to"; "0.5" ]
                        [ "--steps"; "2" ]
                        [ "--png"; Path.Combine(dir, "missing", "x.png") ]
                    ] do
                    let b = run repo ([ "lr-find"; "--train-count"; "200" ] @ args)
                    Expect.notEqual b.Code 0 (String.Join(" ", args))
                    Expect.equal (b.Err.Trim().Split('\n').Length) 1 $"one line: %s{b.Err}"
            }

            test "show --augmented draws one digit as training sees it, epoch after epoch" {
                let dir = tempDir ()
                let png = Path.Combine(dir, "aug.png")

                let o =
                    run repo [ "show"; "--augmented"; "shift:2,rotate:10"; "--count"; "8"; "--out"; png ]

                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "8 augmented versions (shift:2,rotate:10)" "what was drawn"
                Expect.isTrue (File.Exists png) "the PNG"
                let bad = run repo [ "show"; "--augmented"; "twirl:3"; "--out"; png ]
                Expect.equal bad.Code 2 "a bad spec"
                Expect.stringContains bad.Err "twirl:3" "names it"
            }

            test "a separate validation file: recorded with its hash, measured every epoch, and resume reads it again" {
                let runDir, o =
                    trained
                        [
                            "--layers"
                            "784,16,10"
                            "--epochs"
                            "2"
                            "--train-count"
                            "500"
                            "--validation"
                            Path.Combine(repo, "data", "mnist_test_10.csv")
                            "--checkpoint-every"
                            "5"
                        ]

                let v = (json (Path.Combine(runDir, "run.json")))["validation"]
                Expect.equal (v["count"].GetValue<int>()) 10 "10 validation images"
                let images = v["images"]
                Expect.stringContains (images["path"].GetValue<string>()) "mnist_test_10.csv" "the file"
                let first = (epochLines runDir)[0]
                Expect.equal (first["step"].GetValue<int>()) 16 "all 500 images train: 16 steps"
                let whole = File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))

                for f in Directory.GetFiles(Path.Combine(runDir, "checkpoints")) do
                    if Path.GetFileName f > "step-000000020.safetensors" then
                        File.Delete f

                File.Delete(Path.Combine(runDir, "model.safetensors"))
                let r = run repo [ "resume"; runDir; "--quiet" ]
                Expect.equal r.Code 0 r.Err
                Expect.equal (File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))) whole "same model bytes"
            }
        ]
