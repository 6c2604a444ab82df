/// `functional attack` and `train --adversarial` through the real binary: bad options in one line, the table,
/// --json and the pictures.
module Functional.Tests.AttackTests

open System.IO
open System.Text.Json
open Expecto
open Functional.Tests.EndToEndTests

/// `functional train` on the shipped digits: the first `count` training images, the network `layers`, then `extra`.
let private trainOnShipped dir (layers: string) (count: string) extra =
    run
        dir
        ([
            "train"
            "--train"
            dataFile "train-images-idx3-ubyte.gz"
            "--test"
            dataFile "test-images-idx3-ubyte.gz"
            "--layers"
            layers
            "--train-count"
            count
         ]
         @ extra)

[<Tests>]
let tests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "AttackCommand"
    <| testList
        "AttackCommand"
        [
            testCase "bad attack options are one line each, exit 2"
            <| fun () ->
                let dir = tempDir ()

                for args, mention in
                    [
                        [ "--eps"; "-0.1" ], "must be >= 0"
                        [ "--eps"; "1.5" ], "above the input range"
                        [ "--eps"; "300"; "--pixels" ], "above the input range"
                        [ "--steps"; "0" ], "'--steps' must be >= 1"
                        [ "--restarts"; "0" ], "'--restarts' must be >= 1"
                        [ "--method"; "cw" ], "unknown method 'cw'"
                        [ "--method"; "apgd"; "--eps"; "0.1" ], "unknown method 'apgd'"
                        [ "--method"; "square"; "--queries"; "-5" ], "'--queries' must be >= 1"
                        [ "--method"; "autoattack"; "--target"; "3" ], "FGSM's and PGD's"
                    ] do
                    let o = run dir ([ "attack"; "model.safetensors" ] @ args)
                    Expect.equal o.Code 2 $"exit code for %A{args} (stderr: %s{o.Err})"
                    Expect.stringContains o.Err mention $"%A{args}"
                    Expect.isFalse (o.Err.Contains "   at ") "no stack trace"

                let o = run dir [ "train"; "--adversarial"; "fgsm:2"; "--epochs"; "1" ]
                Expect.equal o.Code 2 "train --adversarial fgsm:2"
                Expect.stringContains o.Err "epsilon must be in (0, 1]" "names the bound"

            testCase "attack at eps 0 is one forward pass: the clean accuracy, no steps, and a line saying so"
            <| fun () ->
                let dir = tempDir ()

                let t =
                    trainOnShipped
                        dir
                        "784,16,10"
                        "500"
                        [ "--validation"; "0"; "--epochs"; "1"; "--run"; "r"; "--quiet" ]

                Expect.equal t.Code 0 $"train (stderr: %s{t.Err})"

                let attack extra =
                    run
                        dir
                        ([
                            "attack"
                            "r"
                            "--data"
                            dataFile "test-images-idx3-ubyte.gz"
                            "--count"
                            "100"
                            "--eps"
                            "0"
                            "--steps"
                            "20"
                            "--restarts"
                            "3"
                         ]
                         @ extra)

                let j = attack [ "--json" ]
                Expect.equal j.Code 0 $"attack --json (stderr: %s{j.Err})"
                use doc = JsonDocument.Parse j.Out
                let clean = doc.RootElement.GetProperty("clean_accuracy").GetDouble()

                for r in doc.RootElement.GetProperty("results").EnumerateArray() do
                    let name = r.GetProperty("method").GetString()
                    Expect.equal (r.GetProperty("accuracy").GetDouble()) clean $"{name} at 0 is the clean accuracy"
                    Expect.equal (r.GetProperty("steps").GetInt32()) 0 $"{name}: no step"
                    Expect.equal (r.GetProperty("forward_passes").GetInt64()) 100L $"{name}: one forward an example"
                    Expect.equal (r.GetProperty("backward_passes").GetInt64()) 0L $"{name}: no gradient"

                let o = attack []
                Expect.equal o.Code 0 $"attack (stderr: %s{o.Err})"
                Expect.stringContains o.Out "eps 0 is the clean input: one forward pass" "says so"

            testCase "--monitor robust: each epoch's PGD accuracy on the validation images, the kept epoch its best"
            <| fun () ->
                let dir = tempDir ()

                let train extra =
                    trainOnShipped dir "784,32,10" "1500" ([ "--epochs"; "3" ] @ extra)

                let t =
                    train
                        [
                            "--adversarial"
                            "fgsm:0.3:random"
                            "--monitor"
                            "robust"
                            "--keep"
                            "best"
                            "--run"
                            "r"
                        ]

                Expect.equal t.Code 0 $"train (stderr: %s{t.Err})"
                Expect.stringContains t.Out " pgd " "the epoch line shows the PGD accuracy"

                let epochs =
                    File.ReadLines(Path.Combine(dir, "r", "journal.jsonl"))
                    |> Seq.map (fun l -> JsonDocument.Parse(l).RootElement)
                    |> Seq.filter (fun e ->
                        match e.TryGetProperty "kind" with
                        | true, k -> k.GetString() = "epoch"
                        | _ -> false)
                    |> Seq.map (fun e ->
                        e.GetProperty("epoch").GetInt32(), e.GetProperty("val_robust_accuracy").GetDouble())
                    |> Array.ofSeq

                Expect.equal epochs.Length 3 "one figure per epoch"

                for _, a in epochs do
                    Expect.isTrue (a >= 0.0 && a <= 1.0) $"an accuracy: %g{a}"

                let results =
                    JsonDocument
                        .Parse(File.ReadAllText(Path.Combine(dir, "r", "run.json")))
                        .RootElement.GetProperty("results")

                let best = epochs |> Array.maxBy snd

                Expect.equal
                    (results.GetProperty("kept_epoch").GetInt32())
                    (fst best)
                    "the highest PGD accuracy is kept"

                Expect.equal (results.GetProperty("best_validation_robust").GetDouble()) (snd best) "and recorded"

                let o = train [ "--monitor"; "robust"; "--run"; "plain" ]
                Expect.equal o.Code 2 "no adversary, nothing to attack with"
                Expect.stringContains o.Err "give --adversarial" "says what is missing"

            testCase "train --adversarial, then attack: a table in [0, 1] units, JSON, and both pictures"
            <| fun () ->
                let dir = tempDir ()

                let t =
                    trainOnShipped
                        dir
                        "784,32,10"
                        "1000"
                        [
                            "--validation"
                            "0"
                            "--epochs"
                            "2"
                            "--adversarial"
                            "fgsm:0.1:random"
                            "--run"
                            "r"
                            "--quiet"
                        ]

                Expect.equal t.Code 0 $"train (stderr: %s{t.Err})"
                let runJson = File.ReadAllText(Path.Combine(dir, "r", "run.json"))
                Expect.stringContains runJson "fgsm:0.1:random" "run.json records the adversary"

                let a =
                    run
                        dir
                        [
                            "attack"
                            "r"
                            "--data"
                            dataFile "test-images-idx3-ubyte.gz"
                            "--count"
                            "200"
                            "--eps"
                            "0,0.1"
                            "--steps"
                            "5"
                        ]

                Expect.equal a.Code 0 $"attack (stderr: %s{a.Err})"
                Expect.stringContains a.Out "in [0, 1] units of the pixel range" "says the units"
                Expect.stringContains a.Out "pgd-5" "the PGD row"
                Expect.isTrue (File.Exists(Path.Combine(dir, "r", "robustness.png"))) "robustness.png"
                Expect.isTrue (File.Exists(Path.Combine(dir, "r", "adversarial.png"))) "adversarial.png"

                let j =
                    run
                        dir
                        [
                            "attack"
                            "r"
                            "--data"
                            dataFile "test-images-idx3-ubyte.gz"
                            "--count"
                            "100"
                            "--method"
                            "fgsm"
                            "--eps"
                            "25.5"
                            "--pixels"
                            "--json"
                        ]

                Expect.equal j.Code 0 $"attack --json (stderr: %s{j.Err})"
                use doc = JsonDocument.Parse j.Out
                let root = doc.RootElement
                Expect.equal (root.GetProperty("eps_units").GetString()) "pixels" "units"
                let result = root.GetProperty("results")[0]

                Expect.floatClose
                    Accuracy.high
                    (result.GetProperty("eps_input").GetDouble())
                    0.1
                    "25.5 grey levels = 0.1"

                let acc = result.GetProperty("accuracy").GetDouble()
                Expect.isLessThanOrEqual acc (root.GetProperty("clean_accuracy").GetDouble()) "an attack does not help"

                let aa =
                    run
                        dir
                        [
                            "attack"
                            "r"
                            "--data"
                            dataFile "test-images-idx3-ubyte.gz"
                            "--count"
                            "60"
                            "--method"
                            "square,autoattack"
                            "--eps"
                            "0.1"
                            "--steps"
                            "5"
                            "--queries"
                            "40"
                            "--json"
                        ]

                Expect.equal aa.Code 0 $"attack --method square,autoattack --json (stderr: %s{aa.Err})"
                use doc = JsonDocument.Parse aa.Out
                let results = doc.RootElement.GetProperty("results")
                let square, ensemble = results[0], results[1]
                Expect.equal (square.GetProperty("method").GetString()) "square" "Square's row"
                Expect.equal (square.GetProperty("backward_passes").GetInt64()) 0L "Square runs no backward pass"
                Expect.equal (square.GetProperty("queries").GetInt32()) 40 "Square's budget"
                Expect.equal (ensemble.GetProperty("method").GetString()) "autoattack" "the ensemble's row"

                let stages =
                    [
                        for s in ensemble.GetProperty("stages").EnumerateArray() -> s.GetProperty("method").GetString()
                    ]

                Expect.equal stages [ "apgd-ce"; "apgd-t"; "square" ] "the ensemble's stages"

                let broken =
                    [
                        for s in ensemble.GetProperty("stages").EnumerateArray() -> s.GetProperty("broken").GetInt32()
                    ]
                    |> List.sum

                let clean = doc.RootElement.GetProperty("clean_accuracy").GetDouble()

                Expect.equal
                    broken
                    (int (round ((clean - ensemble.GetProperty("accuracy").GetDouble()) * 60.0)))
                    "the stages broke what clean accuracy lost"
        ]
