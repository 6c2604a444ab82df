/// `functional sweep`, `runs` and `compare` through the real binary: a sweep's points are the bytes of separate
/// train runs, whether run locally (and killed half-way, then run again) or as a Slurm array job.
module Functional.Tests.SweepTests

open System
open System.Diagnostics
open System.IO
open System.Threading
open Expecto
open Functional.Tests.EndToEndTests

/// 2 learning rates × 2 seeds of the book's network on 1,000 images, 1 epoch; journaled and checkpointed
/// often enough that a kill lands in a run with something to resume from.
let private sweepOptions =
    [
        "--preset"
        "book"
        "--train-count"
        "1000"
        "--epochs"
        "1"
        "--journal-every"
        "100"
        "--checkpoint-every"
        "250"
        "--lr"
        "0.03,0.3"
        "--seed"
        "1..2"
    ]

/// (point folder, lr, seed) in the sweep's order.
let private points =
    [
        for lr in [ "0.03"; "0.3" ] do
            for seed in [ "1"; "2" ] -> $"lr=%s{lr}_seed=%s{seed}", lr, seed
    ]

let private functionalStart (cwd: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet")
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "functional.dll"))

    for a in args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- cwd
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.Environment["CI"] <- "true"
    Process.Start psi

let private signal (name: string) (pid: int) =
    use k = Process.Start("kill", [ "-" + name; string pid ])
    k.WaitForExit()

let private model (dir: string) =
    File.ReadAllBytes(Path.Combine(dir, "model.safetensors"))

/// The local sweep, killed with SIGTERM while its second point trains and run again; and the same four points
/// as separate `train` runs. Computed once: the Slurm and compare tests use it too.
let private local =
    lazy
        (let dir = tempDir ()
         let args = [ "sweep"; "--name"; "s"; "--jobs"; "1" ] @ sweepOptions
         let first = functionalStart dir args
         let out = first.StandardOutput.ReadToEndAsync()
         let err = first.StandardError.ReadToEndAsync()
         let journal = Path.Combine(dir, "sweeps", "s", "lr=0.03_seed=2", "journal.jsonl")
         let clock = Stopwatch.StartNew()

         while not (File.Exists journal)
               && not first.HasExited
               && clock.Elapsed.TotalSeconds < 60.0 do
             Thread.Sleep 10

         signal "TERM" first.Id
         first.WaitForExit()

         let killed =
             {
                 Code = first.ExitCode
                 Out = out.Result
                 Err = err.Result
             }

         let again = run dir args

         let separate =
             points
             |> List.map (fun (name, lr, seed) ->
                 async {
                     let o =
                         run
                             dir
                             ([ "train" ]
                              @ (sweepOptions |> List.take 10)
                              @ [ "--lr"; lr; "--seed"; seed; "--run"; Path.Combine(dir, "separate", name) ])

                     return name, o
                 })
             |> fun jobs -> Async.Parallel(jobs, 2)
             |> Async.RunSynchronously

         dir, killed, again, separate)

[<Tests>]
let tests =
    testList
        "Sweep"
        [
            testCase "command-line lists: commas, A..B ranges, a value train takes whole, flags"
            <| fun () ->
                let spec = Functional.Host.Sweeps.SweepSpec()

                spec.AddCommandLine(
                    [|
                        "--lr"
                        "1e-3,3e-3"
                        "--seed"
                        "1..3"
                        "--layers"
                        "784,100,10"
                        "--no-bias"
                    |]
                )

                let points = spec.Points()
                Expect.equal points.Count 6 "2 rates × 3 seeds"
                Expect.equal points[0].Name "lr=1e-3_seed=1" "a point is named by its axes"

                Expect.sequenceEqual
                    points[5].Args
                    [| "--lr"; "3e-3"; "--seed"; "3"; "--layers"; "784,100,10"; "--no-bias" |]
                    "options forwarded as typed"

                let flags = Functional.Host.Sweeps.SweepSpec()
                flags.AddCommandLine([| "--no-bias"; "true,false"; "--lr"; "0.1" |])

                Expect.equal
                    [ for p in flags.Points() -> List.ofArray p.Args ]
                    [ [ "--no-bias"; "--lr"; "0.1" ]; [ "--lr"; "0.1" ] ]
                    "a flag sweeps as given and left out"

            testCase "a local sweep killed half-way and run again equals four separate train runs, byte for byte"
            <| fun () ->
                let dir, killed, again, separate = local.Value
                Expect.equal killed.Code 130 $"SIGTERM stops the sweep (stdout: %s{killed.Out} stderr: %s{killed.Err})"
                Expect.stringContains killed.Err "run it again to resume" "says how to continue"
                Expect.equal again.Code 0 $"the second run completes the sweep (stderr: %s{again.Err})"
                Expect.stringContains again.Out "all 4 points finished" "every point finished"
                Expect.stringContains again.Out "±" "mean ± std over the two seeds"

                for name, o in separate do
                    Expect.equal o.Code 0 $"train %s{name}: %s{o.Err}"

                    Expect.isTrue
                        (model (Path.Combine(dir, "sweeps", "s", name)) = model (Path.Combine(dir, "separate", name)))
                        $"%s{name}: the sweep's model.safetensors is the separate run's"

                let log =
                    File.ReadAllText(Path.Combine(dir, "sweeps", "s", "lr=0.03_seed=2", "train.log"))

                Expect.stringContains log "functional resume" "the interrupted point was resumed, not retrained"

            testCase "runs lists the sweep's runs; compare tables a sweep and names the first step two runs differ"
            <| fun () ->
                let dir, _, _, _ = local.Value
                let r = run dir [ "runs" ]
                Expect.equal r.Code 0 r.Err

                Expect.stringContains
                    r.Out
                    "input 784, dense 200 sigmoid, dense 10 sigmoid"
                    "architecture, in the --arch syntax"

                Expect.stringContains r.Out "finished" "status"
                Expect.stringContains r.Out "sweeps/s/lr=0.3_seed=2" "the points are listed"

                let c = run dir [ "compare"; Path.Combine("sweeps", "s") ]
                Expect.equal c.Code 0 c.Err
                Expect.stringContains c.Out "seeds" "grouped over seeds"
                Expect.isTrue (File.Exists(Path.Combine(dir, "sweeps", "s", "compare.png"))) "compare.png drawn"

                let same =
                    run
                        dir
                        [
                            "compare"
                            Path.Combine("sweeps", "s", "lr=0.3_seed=1")
                            Path.Combine("separate", "lr=0.3_seed=1")
                        ]

                Expect.stringContains same.Out "identical" $"same configuration, same bytes: %s{same.Out}"

                // A copy whose journal says the weights differed after step 500.
                let copy = Path.Combine(dir, "tampered")
                Directory.CreateDirectory copy |> ignore

                for f in [ "run.json"; "journal.jsonl"; "model.safetensors" ] do
                    File.Copy(Path.Combine(dir, "separate", "lr=0.3_seed=1", f), Path.Combine(copy, f))

                let lines =
                    File.ReadAllLines(Path.Combine(copy, "journal.jsonl"))
                    |> Array.map (fun l ->
                        if l.StartsWith "{\"step\":500," then
                            Text.RegularExpressions.Regex.Replace(
                                l,
                                "\"weights_sha256\":\"[0-9a-f]+\"",
                                "\"weights_sha256\":\"00\""
                            )
                        else
                            l)

                File.WriteAllLines(Path.Combine(copy, "journal.jsonl"), lines)
                let differ = run dir [ "compare"; Path.Combine("separate", "lr=0.3_seed=1"); copy ]
                Expect.equal differ.Code 0 differ.Err
                Expect.stringContains differ.Out "first differ at journaled step 500" differ.Out

            testCase "the same sweep as a Slurm array job gives the local executor's bytes"
            <| fun () ->
                if isNull (Functional.Host.Sweeps.SlurmExecutor.Which "sbatch") then
                    if Environment.GetEnvironmentVariable "CI" = "true" then
                        failtest
                            "sbatch is not on the PATH: CI runs .ci/slurm-up to install and start Slurm; see its output"
                    else
                        skiptest "no Slurm here (sbatch not on the PATH); .ci/slurm-up sets one up"

                let localDir, _, _, _ = local.Value
                let dir = tempDir ()

                let o =
                    run
                        dir
                        ([ "sweep"; "--name"; "s"; "--executor"; "slurm"; "--slurm-args"; "--time=10" ]
                         @ sweepOptions)

                Expect.equal o.Code 0 $"stdout: %s{o.Out} stderr: %s{o.Err}"
                Expect.stringContains o.Out "slurm job" "submitted with sbatch"

                for name, _, _ in points do
                    Expect.isTrue
                        (model (Path.Combine(dir, "sweeps", "s", name)) =
                            model (Path.Combine(localDir, "sweeps", "s", name)))
                        $"%s{name}: Slurm's model.safetensors is the local one"

            testCase "a point that fails is reported with its log and the others finish"
            <| fun () ->
                let dir = tempDir ()

                let o =
                    run
                        dir
                        [
                            "sweep"
                            "--name"
                            "bad"
                            "--preset"
                            "book"
                            "--train-count"
                            "300"
                            "--epochs"
                            "1"
                            "--lr"
                            "0.3,-1"
                        ]

                Expect.equal o.Code 1 $"some point failed (stderr: %s{o.Err})"
                Expect.stringContains o.Out "lr=-1: failed: option '--lr' must be > 0" "the point's own error"
                Expect.stringContains o.Out (Path.Combine("sweeps", "bad", "lr=-1", "train.log")) "the path to its log"

                Expect.isTrue
                    (File.Exists(Path.Combine(dir, "sweeps", "bad", "lr=0.3", "model.safetensors")))
                    "the other point ran"

                expectOneLineError o 1 [ "1 of 2 points did not finish" ]

            testCase "no sbatch: one line, non-zero exit"
            <| fun () ->
                let dir = tempDir ()
                // Only dotnet on the PATH.
                let dotnet =
                    (Environment.GetEnvironmentVariable "PATH").Split(':')
                    |> Array.map (fun d -> Path.Combine(d, "dotnet"))
                    |> Array.find File.Exists

                let bin = Path.Combine(dir, "bin")
                Directory.CreateDirectory bin |> ignore
                File.CreateSymbolicLink(Path.Combine(bin, "dotnet"), dotnet) |> ignore

                let o =
                    runWith [ "PATH", bin ] dir [ "sweep"; "--lr"; "0.1,0.3"; "--executor"; "slurm" ]

                expectOneLineError o 2 [ "sbatch" ]

            testCase "bad input: missing or malformed spec, unknown option — one line naming it"
            <| fun () ->
                let dir = tempDir ()
                File.WriteAllText(Path.Combine(dir, "broken.json"), "{\"options\": {\"lr\": [0.1,}")
                File.WriteAllText(Path.Combine(dir, "unknown.json"), "{\"options\": {\"frobnicate\": 3}}")
                expectOneLineError (run dir [ "sweep"; "missing.json" ]) 3 [ "missing.json"; "not found" ]
                expectOneLineError (run dir [ "sweep"; "broken.json" ]) 3 [ "broken.json"; "JSON" ]
                expectOneLineError (run dir [ "sweep"; "unknown.json" ]) 3 [ "unknown.json"; "--frobnicate" ]
                expectOneLineError (run dir [ "sweep"; "--lr"; "0.1,0.3"; "--frobnicate"; "2" ]) 2 [ "--frobnicate" ]
                expectOneLineError (run dir [ "compare"; "nowhere" ]) 3 [ "nowhere" ]
        ]
