/// Runs, journals, checkpoints, resume and replay, through the real binary.
module Functional.Tests.ReplayTests

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open System.Threading
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

// Without a validation split: 8,000 images make 250 steps an epoch.
let private small =
    [ "--layers"; "784,16,10"; "--epochs"; "2"; "--validation"; "0" ]

/// A finished run in a fresh folder: `extra` options on top of a small, fast configuration.
let private trainRun (extra: string list) =
    let dir = tempDir ()
    let runDir = Path.Combine(dir, "run")
    let o = run repo ([ "train"; "--run"; runDir; "--quiet" ] @ small @ extra)
    Expect.equal o.Code 0 (sprintf "train: %s" o.Err)
    runDir

let private expectReproduced (o: Outcome) =
    Expect.equal o.Code 0 (sprintf "replay exit code; out: %s err: %s" o.Out o.Err)
    Expect.isMatch o.Out @"reproduced steps \d+\.\.\d+ bit for bit" "bit-exact"

let private tensorsOf path =
    let struct (tensors, _) = Safetensors.Read path
    tensors |> Seq.map (fun t -> t.Name, t) |> Map.ofSeq

/// Sends SIGTERM to a running `train` once its first checkpoint exists, so it stops mid-run.
let private interruptedTrain (runDir: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet")
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "functional.dll"))

    for a in [ "train"; "--run"; runDir; "--quiet" ] @ args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- repo
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    use p = Process.Start psi
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEndAsync()
    let first = Path.Combine(runDir, "checkpoints")
    let clock = Stopwatch.StartNew()

    while not p.HasExited
          && not (Directory.Exists first && Directory.GetFiles(first).Length > 0)
          && clock.Elapsed.TotalSeconds < 60.0 do
        Thread.Sleep 5

    Expect.isFalse p.HasExited "still training when the first checkpoint appeared"
    Process.Start("kill", [| "-TERM"; string p.Id |]).WaitForExit()
    p.WaitForExit()
    out.Result |> ignore
    p.ExitCode, err.Result

[<Tests>]
let tests =
    testList
        "Replay"
        [
            test "replay reproduces any step bit for bit (float32 and float64)" {
                for precision in [ "float32"; "float64" ] do
                    let runDir = trainRun [ "--checkpoint-every"; "50"; "--precision"; precision ]

                    for step in [ 1; 37; 50; 51; 249; 250; 333; 500 ] do
                        expectReproduced (run repo [ "replay"; runDir; "--step"; string step ])
            }

            test "replay of a step that is not journaled says which steps it replayed and why" {
                let runDir = trainRun [ "--journal-every"; "25"; "--checkpoint-every"; "100" ]

                let o = run repo [ "replay"; runDir; "--step"; "142" ]
                expectReproduced o

                for part in
                    [
                        "step 142 is not journaled"
                        "every 25 steps"
                        "replayed 101..150"
                        "the checkpoint of step 100"
                        "the next journaled step, 150"
                    ] do
                    Expect.stringContains o.Out part "the range and its reason"

                let journaled = run repo [ "replay"; runDir; "--step"; "150" ]
                expectReproduced journaled
                Expect.isFalse (journaled.Out.Contains "not journaled") "a journaled step needs no excuse"
            }

            test "the journal has a line per k steps with the weights hash, and checkpoints at each epoch" {
                let runDir = trainRun [ "--journal-every"; "25" ]
                let lines = File.ReadAllLines(Path.Combine(runDir, "journal.jsonl"))
                let steps = lines |> Array.filter (fun l -> not (l.Contains "\"kind\""))
                Expect.equal steps.Length (500 / 25) "one line per 25 steps"
                Expect.stringContains steps[0] "\"weights_sha256\"" "weights hash"
                Expect.stringContains steps[0] "\"grad_norms\"" "gradient norms"

                Expect.stringContains
                    steps[0]
                    "\"saturation\":[null,null]"
                    "saturation: none for relu and softmax layers"

                Expect.equal (lines |> Array.filter (fun l -> l.Contains "\"kind\":\"epoch\"")).Length 2 "epoch lines"

                let checkpoints =
                    Directory.GetFiles(Path.Combine(runDir, "checkpoints"))
                    |> Array.map Path.GetFileName
                    |> Array.sort

                Expect.equal checkpoints [| "step-000000250.safetensors"; "step-000000500.safetensors" |] "epoch ends"
            }

            test "a run stopped by SIGTERM writes a checkpoint, and resume ends byte-identical" {
                let args =
                    [
                        "--layers"
                        "784,64,10"
                        "--epochs"
                        "3"
                        "--batch"
                        "1"
                        "--checkpoint-every"
                        "500"
                    ]

                let dir = tempDir ()
                let stopped, whole = Path.Combine(dir, "stopped"), Path.Combine(dir, "whole")
                let code, err = interruptedTrain stopped args
                Expect.equal code 130 (sprintf "exit code 130; stderr: %s" err)
                Expect.stringContains err "functional resume" "says how to resume"
                let r = run repo [ "resume"; stopped; "--quiet" ]
                Expect.equal r.Code 0 (sprintf "resume: %s" r.Err)
                let w = run repo ([ "train"; "--run"; whole; "--quiet" ] @ args)
                Expect.equal w.Code 0 w.Err

                Expect.equal
                    (File.ReadAllBytes(Path.Combine(stopped, "model.safetensors")))
                    (File.ReadAllBytes(Path.Combine(whole, "model.safetensors")))
                    "final model bytes"
            }

            test "resume skips a truncated or corrupted checkpoint, saying so, and still ends identical" {
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")

                let o =
                    run repo ([ "train"; "--run"; runDir; "--quiet"; "--checkpoint-every"; "100" ] @ small)

                Expect.equal o.Code 0 o.Err
                let whole = File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))
                let cp = Path.Combine(runDir, "checkpoints")
                // Pretend the run died after step 300: later checkpoints gone, step 300's torn, step 200's flipped.
                for s in [ 400; 500 ] do
                    File.Delete(Path.Combine(cp, sprintf "step-%09d.safetensors" s))

                let s300 = Path.Combine(cp, "step-000000300.safetensors")
                let bytes = File.ReadAllBytes s300
                File.WriteAllBytes(s300, bytes[.. bytes.Length / 2])
                let s250 = Path.Combine(cp, "step-000000250.safetensors")
                let b = File.ReadAllBytes s250
                b[b.Length - 10] <- b[b.Length - 10] ^^^ 0xFFuy
                File.WriteAllBytes(s250, b)
                File.Delete(Path.Combine(runDir, "model.safetensors"))
                let r = run repo [ "resume"; runDir; "--quiet" ]
                Expect.equal r.Code 0 r.Err
                Expect.stringContains r.Err "step-000000300.safetensors" "names the truncated checkpoint"
                Expect.stringContains r.Err "step-000000250.safetensors" "names the corrupted checkpoint"
                Expect.stringContains r.Out "step-000000200.safetensors" "falls back to step 200"
                Expect.equal (File.ReadAllBytes(Path.Combine(runDir, "model.safetensors"))) whole "same final model"
            }

            test "replay names the first step that differs from the journal" {
                let runDir = trainRun [ "--checkpoint-every"; "50"; "--journal-every"; "10" ]
                let path = Path.Combine(runDir, "journal.jsonl")
                let lines = File.ReadAllLines path
                let i = lines |> Array.findIndex (fun l -> l.StartsWith "{\"step\":80,")
                lines[i] <- Regex.Replace(lines[i], "\"weights_sha256\":\"[0-9a-f]+\"", "\"weights_sha256\":\"00\"")
                File.WriteAllLines(path, lines)
                let o = run repo [ "replay"; runDir; "--step"; "90" ]
                Expect.equal o.Code 1 "a failed check"
                Expect.stringContains o.Out "first difference found at journaled step 80" "names step 80"

                Expect.stringContains
                    o.Out
                    "the last journaled match was step 70"
                    "claims only what the journal compared"

                Expect.isFalse (o.Out.Contains "..79") "no claim about unjournaled steps"
            }

            test "replay inspects a step: float64 drift, gradient check, and a safetensors dump" {
                let runDir =
                    trainRun [ "--checkpoint-every"; "50"; "--precision"; "float64"; "--l2"; "0.01" ]

                let dump = Path.Combine(Path.GetDirectoryName runDir, "dump")

                let o =
                    run
                        repo
                        [
                            "replay"
                            runDir
                            "--step"
                            "77"
                            "--precision"
                            "float64"
                            "--gradcheck"
                            "--params"
                            "15"
                            "--dump"
                            dump
                        ]

                expectReproduced o
                Expect.stringContains o.Out "relative L2" "drift table"
                Expect.stringContains o.Out "‖numeric‖/‖analytic‖" "gradient check table"

                let ratios =
                    Regex.Matches(
                        o.Out,
                        @"^\s+layer \d \(layers\.\d\)\s+15\s+([1-9]\d*)\s+\d+\s+\d+\s+\S+\s+\S+\s+100 %\s+([0-9.]+)\s+PASS",
                        RegexOptions.Multiline
                    )

                Expect.equal ratios.Count 2 "both layers measured, all signs agree, both pass"

                for m in ratios do
                    Expect.floatClose Accuracy.medium (float m.Groups[2].Value) 1.0 "norm ratio 1"

                let batch = tensorsOf (Path.Combine(dump, "batch.safetensors"))
                let before = tensorsOf (Path.Combine(dump, "before.safetensors"))
                let grads = tensorsOf (Path.Combine(dump, "grads.safetensors"))
                let after = tensorsOf (Path.Combine(dump, "after.safetensors"))
                Expect.equal batch["indices"].Dtype "I64" "indices"
                Expect.equal batch["inputs"].Shape [| 32L; 784L |] "inputs [n, 784]"
                Expect.equal batch["targets"].Shape [| 32L; 10L |] "targets [n, 10]"
                Expect.equal (Set.ofSeq grads.Keys) (Set.ofSeq before.Keys) "one gradient per weight"
                Expect.equal (Set.ofSeq after.Keys) (Set.ofSeq before.Keys) "after has the same tensors"

                // An independent implementation of the network (plain arrays, row-major, written for this test)
                // recomputes the gradients of the dumped batch from the dumped weights.
                let x = batch["inputs"].ToDoubles()
                let y = batch["targets"].ToDoubles()

                let w1, b1 =
                    before["layers.0.weight"].ToDoubles(), before["layers.0.bias"].ToDoubles()

                let w2, b2 =
                    before["layers.1.weight"].ToDoubles(), before["layers.1.bias"].ToDoubles()

                let n, h, k, f = 32, 16, 10, 784
                let gw1, gb1 = Array.zeroCreate (h * f), Array.zeroCreate h
                let gw2, gb2 = Array.zeroCreate (k * h), Array.zeroCreate k

                for e in 0 .. n - 1 do
                    let a1 =
                        Array.init h (fun i ->
                            let z =
                                b1[i] + Seq.sum (seq { for j in 0 .. f - 1 -> w1[i * f + j] * x[e * f + j] })

                            max z 0.0)

                    let z2 =
                        Array.init k (fun i -> b2[i] + Seq.sum (seq { for j in 0 .. h - 1 -> w2[i * h + j] * a1[j] }))

                    let m = Array.max z2
                    let ex = z2 |> Array.map (fun z -> exp (z - m))
                    let p = ex |> Array.map (fun v -> v / Array.sum ex)
                    let d2 = Array.init k (fun i -> (p[i] - y[e * k + i]) / float n)

                    for i in 0 .. k - 1 do
                        gb2[i] <- gb2[i] + d2[i]

                        for j in 0 .. h - 1 do
                            gw2[i * h + j] <- gw2[i * h + j] + d2[i] * a1[j]

                    for j in 0 .. h - 1 do
                        let back = Seq.sum (seq { for i in 0 .. k - 1 -> w2[i * h + j] * d2[i] })
                        let d1 = if a1[j] > 0.0 then back else 0.0
                        gb1[j] <- gb1[j] + d1

                        for q in 0 .. f - 1 do
                            gw1[j * f + q] <- gw1[j * f + q] + d1 * x[e * f + q]

                // L2 (λ = 0.01) on weights only.
                let gw1 = Array.map2 (fun g w -> g + 0.01 * w) gw1 w1
                let gw2 = Array.map2 (fun g w -> g + 0.01 * w) gw2 w2

                for name, reference in
                    [
                        "layers.0.weight", gw1
                        "layers.0.bias", gb1
                        "layers.1.weight", gw2
                        "layers.1.bias", gb2
                    ] do
                    let dumped = grads[name].ToDoubles()

                    for i in 0 .. reference.Length - 1 do
                        let a, r = dumped[i], reference[i]
                        Expect.floatClose { absolute = 1e-12; relative = 1e-6 } a r (sprintf "%s[%d]" name i)
            }

            test "the issue's reproduction: after a diverged run, replay --gradcheck fails saying nothing was measured" {
                let runDir = Path.Combine(tempDir (), "run")

                let t =
                    run
                        repo
                        ([ "train"; "--run"; runDir; "--quiet"; "--optimizer"; "sgd"; "--lr"; "1e9" ]
                         @ small)

                Expect.equal t.Code 5 (sprintf "train diverges: %s" t.Err)

                let suggested =
                    Regex.Match(t.Err, @"functional replay \S+ --step (\d+) --gradcheck")

                Expect.isTrue suggested.Success (sprintf "suggests a replay: %s" t.Err)

                let o =
                    run repo [ "replay"; runDir; "--step"; suggested.Groups[1].Value; "--gradcheck" ]

                Expect.equal o.Code 1 (sprintf "a failed check; out: %s err: %s" o.Out o.Err)
                Expect.stringContains o.Out "gradcheck: FAIL (0 of" "the summary says nothing was measured"
                Expect.stringContains o.Out "nothing measured" "the reason in words"
                Expect.isFalse (o.Out.Contains "PASS") "no layer passes"
            }

            test "replay warns when the thread count differs from the run's" {
                let runDir = trainRun [ "--threads"; "2" ]
                let o = run repo [ "replay"; runDir; "--step"; "3"; "--threads"; "1" ]
                Expect.stringContains o.Err "warning: the run used 2 BLAS thread(s)" "thread warning"
                // OpenBLAS may split a product differently on one thread, so the bits may or may not match:
                // either way replay must say which.
                let same = o.Code = 0 && o.Out.Contains "bit for bit"

                let differs =
                    o.Code = 1 && o.Out.Contains "first difference found at journaled step"

                Expect.isTrue (same || differs) o.Out
            }

            test "train refuses a folder that already holds a run; resume and replay reject a missing run" {
                let runDir = trainRun []
                let again = run repo ([ "train"; "--run"; runDir ] @ small)
                expectOneLineError again 2 [ runDir; "resume" ]
                let missing = Path.Combine(tempDir (), "none")
                expectOneLineError (run repo [ "resume"; missing ]) 3 [ missing ]
                expectOneLineError (run repo [ "replay"; missing; "--step"; "1" ]) 3 [ missing ]
            }

            test "run.json of another format version, or missing a field, is rejected naming the file" {
                let runDir = trainRun []
                let path = Path.Combine(runDir, "run.json")
                let text = File.ReadAllText path
                File.WriteAllText(path, text.Replace("functional.run/1", "functional.run/9"))
                expectOneLineError (run repo [ "resume"; runDir ]) 3 [ path; "functional.run/9" ]
                File.WriteAllText(path, Regex.Replace(text, "\"seed\":\\s*\\d+,?", ""))
                expectOneLineError (run repo [ "replay"; runDir; "--step"; "1" ]) 3 [ path; "seed" ]
            }

            test "a journal line with a duplicate key, not the last one, is rejected naming the line" {
                let runDir = trainRun [ "--journal-every"; "50" ]
                let path = Path.Combine(runDir, "journal.jsonl")
                let lines = File.ReadAllLines path
                lines[0] <- lines[0].Replace("{\"step\":50,", "{\"step\":50,\"step\":51,")
                File.WriteAllLines(path, lines)
                expectOneLineError (run repo [ "replay"; runDir; "--step"; "20" ]) 3 [ path; "line 1" ]
            }
        ]
