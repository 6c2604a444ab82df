/// The real `functional` command, run as a separate process on the shipped data.
module Functional.Tests.EndToEndTests

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Expecto

/// The repository root: the first ancestor of the test binary holding data/.
let repo =
    let rec up (d: DirectoryInfo) =
        if isNull d then
            failwith "data/ not found above the test binary"
        elif File.Exists(Path.Combine(d.FullName, "data", "train-images-idx3-ubyte.gz")) then
            d.FullName
        else
            up d.Parent

    up (DirectoryInfo AppContext.BaseDirectory)

let dataFile name = Path.Combine(repo, "data", name)

/// Every folder tempDir made: Main deletes them when the tests end, passed or failed.
let madeDirs = Collections.Concurrent.ConcurrentBag<string>()

let tempDir () =
    let d =
        Path.Combine(Path.GetTempPath(), "functional-e2e-" + Guid.NewGuid().ToString("N"))

    Directory.CreateDirectory d |> ignore
    madeDirs.Add d
    d

/// Deletes the folders tempDir made (a folder still in use is left, and named on stderr).
let removeTempDirs () =
    for d in madeDirs do
        try
            if Directory.Exists d then
                Directory.Delete(d, true)
        with e ->
            eprintfn "could not remove %s: %s" d e.Message

type Outcome = { Code: int; Out: string; Err: string }

/// Runs functional.dll (copied beside the tests) with `args` in working directory `cwd`, with extra
/// environment variables `env`.
let runWith (env: (string * string) list) (cwd: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet")
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "functional.dll"))

    for a in args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- cwd
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.Environment["CI"] <- "true"

    for k, v in env do
        psi.Environment[k] <- v

    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()

    {
        Code = p.ExitCode
        Out = out.Result
        Err = err.Result
    }

let run (cwd: string) (args: string list) = runWith [] cwd args

let accuracyOf (text: string) =
    let m = Regex.Match(text, @"test accuracy: ([0-9.]+)%")
    if m.Success then float m.Groups[1].Value else nan

/// One clear line on stderr naming the file, no stack trace, the expected exit code.
let expectOneLineError (o: Outcome) (code: int) (mentions: string list) =
    Expect.equal o.Code code (sprintf "exit code (stderr: %s)" o.Err)
    let lines = o.Err.Trim().Split('\n')
    Expect.equal lines.Length 1 (sprintf "one line on stderr: %s" o.Err)
    Expect.isFalse (o.Err.Contains "   at ") "no stack trace"

    for m in mentions do
        Expect.stringContains o.Err m "the message names it"

let writeBytes path (bytes: byte[]) = File.WriteAllBytes(path, bytes)

[<Tests>]
let tests =
    testList
        "EndToEnd"
        [
            testCase "train on data/, eval and predict the saved model"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")
                let t = run repo [ "train"; "--epochs"; "3"; "--run"; runDir ]
                Expect.equal t.Code 0 (sprintf "train exit code; stderr: %s" t.Err)

                Expect.isGreaterThanOrEqual
                    (accuracyOf t.Out)
                    93.0
                    "3 epochs of the defaults reach 93% on the 2,000 test digits"

                Expect.equal
                    (Regex.Matches(t.Out, @"^epoch +\d+/3", RegexOptions.Multiline).Count)
                    3
                    "one line per epoch"

                Expect.isTrue (File.Exists(Path.Combine(runDir, "model.safetensors"))) "model written"
                let runJson = File.ReadAllText(Path.Combine(runDir, "run.json"))
                Expect.stringContains runJson "sha256" "run.json records data hashes"

                let e =
                    run dir [ "eval"; "--model"; runDir; "--data"; dataFile "test-images-idx3-ubyte.gz" ]

                Expect.equal e.Code 0 (sprintf "eval exit code; stderr: %s" e.Err)
                let m = Regex.Match(e.Out, @"accuracy: ([0-9.]+)%")
                Expect.equal (float m.Groups[1].Value) (accuracyOf t.Out) "eval agrees with train's final test accuracy"
                Expect.stringContains e.Out "target\\pred" "confusion matrix"
                Expect.stringContains e.Out "prediction" "sample of predictions"

                let p =
                    run
                        dir
                        [
                            "predict"
                            "--model"
                            runDir
                            "--data"
                            dataFile "mnist_test_10.csv"
                            "--index"
                            "3"
                        ]

                Expect.equal p.Code 0 (sprintf "predict exit code; stderr: %s" p.Err)
                let probs = Regex.Matches(p.Out, @"^\s+\d\s+([0-9.]+)", RegexOptions.Multiline)
                Expect.equal probs.Count 10 "ten class probabilities"
                let total = probs |> Seq.sumBy (fun m -> float m.Groups[1].Value)
                Expect.floatClose Accuracy.low total 1.0 "probabilities sum to 1"
                Directory.Delete(dir, true)

            testCase "the book's setup (sigmoid, MSE, SGD 0.1, per-example) reaches 90% in 5 epochs"
            <| fun () ->
                let dir = tempDir ()

                let t =
                    run
                        repo
                        [
                            "train"
                            "--layers"
                            "784,200,10"
                            "--activation"
                            "sigmoid"
                            "--output"
                            "sigmoid"
                            "--loss"
                            "mse"
                            "--init"
                            "normal-fanin"
                            "--scale"
                            "seed"
                            "--optimizer"
                            "sgd"
                            "--lr"
                            "0.1"
                            "--batch"
                            "1"
                            "--epochs"
                            "5"
                            // The book has no L2, no validation split, no schedule and no augmentation.
                            "--l2"
                            "0"
                            "--validation"
                            "0"
                            "--schedule"
                            "constant"
                            "--augment"
                            "none"
                            "--run"
                            Path.Combine(dir, "run")
                        ]

                Expect.equal t.Code 0 (sprintf "stderr: %s" t.Err)
                Expect.isGreaterThanOrEqual (accuracyOf t.Out) 90.0 "book setup accuracy"
                Directory.Delete(dir, true)

            testCase "trains from the CSV format"
            <| fun () ->
                let dir = tempDir ()

                let t =
                    run
                        dir
                        [
                            "train"
                            "--train"
                            dataFile "mnist_train_100.csv"
                            "--test"
                            dataFile "mnist_test_10.csv"
                            "--epochs"
                            "2"
                            "--layers"
                            "784,16,10"
                            "--run"
                            Path.Combine(dir, "run")
                        ]

                Expect.equal t.Code 0 (sprintf "stderr: %s" t.Err)
                // 100 rows: 88 to train on, 12 held out for validation (10%, stratified, at least one per class).
                Expect.stringContains t.Out "train 88 images" "read 100 CSV rows"
                Expect.stringContains t.Out "validation 12 held out" "the validation split"
                Directory.Delete(dir, true)

            testList
                "bad input: one line, non-zero exit"
                [
                    testCase "missing file"
                    <| fun () ->
                        let dir = tempDir ()
                        let o = run dir [ "train"; "--train"; "nope.csv"; "--epochs"; "1" ]
                        expectOneLineError o 3 [ "nope.csv"; "not found" ]
                        Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs"))) "nothing written"

                    testCase "a file that is neither IDX nor CSV"
                    <| fun () ->
                        let dir = tempDir ()
                        let f = Path.Combine(dir, "notes.bin")
                        writeBytes f [| 0x50uy; 0x4Buy; 0x03uy; 0x04uy; 0x00uy; 0x13uy |]
                        let o = run dir [ "train"; "--train"; f ]
                        expectOneLineError o 3 [ f; "neither" ]

                    testCase "images that do not fit the network's input"
                    <| fun () ->
                        let dir = tempDir ()

                        let o =
                            run dir [ "train"; "--train"; dataFile "mnist_train_100.csv"; "--layers"; "100,10" ]

                        expectOneLineError o 3 [ "mnist_train_100.csv"; "784"; "100" ]

                    testCase "a label outside 0-9"
                    <| fun () ->
                        let dir = tempDir ()
                        let f = Path.Combine(dir, "bad.csv")
                        File.WriteAllText(f, "12," + String.Join(",", Array.create 784 "0") + "\n")
                        // Any integer 0–255 is a class: a 784-10 network the user asked for has too few outputs for
                        // class 12 (without --layers the network's ends come from the data).
                        let o = run dir [ "train"; "--train"; f; "--layers"; "784,10" ]
                        expectOneLineError o 3 [ f; "13 classes"; "10 outputs" ]

                    testCase "a CSV row with the wrong number of values"
                    <| fun () ->
                        let dir = tempDir ()
                        let f = Path.Combine(dir, "short.csv")
                        let good = "3," + String.Join(",", Array.create 784 "0")
                        File.WriteAllText(f, good + "\n" + "3,1,2,3\n")
                        let o = run dir [ "train"; "--train"; f ]
                        expectOneLineError o 3 [ f; "row 2" ]

                    testCase "truncated gzip IDX"
                    <| fun () ->
                        let dir = tempDir ()
                        let src = File.ReadAllBytes(dataFile "test-images-idx3-ubyte.gz")
                        let f = Path.Combine(dir, "cut-images-idx3-ubyte.gz")
                        writeBytes f src[.. src.Length / 2]
                        File.Copy(dataFile "test-labels-idx1-ubyte.gz", Path.Combine(dir, "cut-labels-idx1-ubyte.gz"))
                        let o = run dir [ "eval"; "--model"; "x"; "--data"; f ]
                        Expect.notEqual o.Code 0 "fails"
                        Expect.isFalse (o.Err.Contains "   at ") "no stack trace"

                    testCase "an unknown option value"
                    <| fun () ->
                        let o = run repo [ "train"; "--activation"; "swish" ]
                        expectOneLineError o 2 [ "--activation" ] |> ignore

                    testCase "a model file that is not a model"
                    <| fun () ->
                        let dir = tempDir ()
                        let f = Path.Combine(dir, "model.safetensors")
                        File.WriteAllText(f, "hello")
                        let o = run dir [ "eval"; "--model"; f ]
                        expectOneLineError o 3 [ f ]
                ]
        ]
