/// train --on-nonfinite stop|skip (the step that would make the weights non-finite is not applied), and the F#
/// Interactive replay reproducing the journal's hash whatever kernels OpenBLAS would pick for this CPU.
module Functional.Tests.NonFiniteTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json.Nodes
open Expecto
open Functional
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests

let private blowUp (lr: string) =
    [
        "--layers"
        "784,16,10"
        "--optimizer"
        "sgd"
        "--lr"
        lr
        "--epochs"
        "1"
        "--journal-every"
        "1"
        "--quiet"
    ]

let private journalLines runDir =
    Journal.ReadLines(Path.Combine(runDir, Journal.FileName), TextWriter.Null)
    |> Seq.map (fun struct (_, node) -> node)
    |> List.ofSeq

let private kind (o: JsonObject) =
    match o["kind"] with
    | null -> "step"
    | k -> k.GetValue<string>()

let private stepOf (o: JsonObject) = o["step"].GetValue<int64>()

/// The trainer in a checkpoint's state, on the run's own training data.
let private restore runDir (step: int64) =
    let run = RunFile.Read runDir
    let struct (train, _) = run.LoadData TextWriter.Null
    let c = Checkpoints.Read(Checkpoints.PathFor(runDir, step), run)
    run, train, Api.Training.RestoreTrainer(run.Config, Inputs.ToCore train, c.State, step)

[<Tests>]
let tests =
    testList
        "NonFinite"
        [
            testCase "stop: the state before the first bad step is the checkpoint, and that step is bad from it"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "run")

                let o =
                    run repo ([ "train"; "--run"; runDir; "--train-count"; "2000" ] @ blowUp "1e9")

                Expect.equal o.Code ReturnCode.Diverged o.Err

                let m =
                    Text.RegularExpressions.Regex.Match(o.Err, @"training stopped at step (\d+)")

                Expect.isTrue m.Success o.Err
                let bad = int64 m.Groups[1].Value
                Expect.isGreaterThan bad 1L "some steps were good"
                Expect.stringContains o.Err "the batch: examples" "the examples are named"
                Expect.stringContains o.Err (sprintf "step-%09d.safetensors (step %d)" (bad - 1L) (bad - 1L)) "kept"
                // Every step before it was journaled finite; the checkpoint before it holds finite numbers only.
                let steps = journalLines runDir |> List.filter (fun l -> kind l = "step")
                Expect.equal (steps |> List.map stepOf) [ 1L .. bad - 1L ] "steps 1..bad-1 journaled"
                let run, train, trainer = restore runDir (bad - 1L)
                Expect.isTrue (trainer.WeightsFinite()) "the kept state is finite"
                Expect.isNull (Divergence.FirstNonFinite(trainer.State())) "moments too"
                // Taking the bad step from it goes non-finite: the stop was at the first bad step, not later.
                let at = Api.Data.BatchOfStep(train.Count, run.BatchSize train.Count, bad)
                let order = Api.Data.Permutation(run.Config.Seed, at.Epoch, train.Count)
                let s = trainer.StepMeasured(order, at.Offset, at.Count)

                let finite =
                    Double.IsFinite s.Loss
                    && trainer.WeightsFinite()
                    && Array.forall Double.IsFinite (Array.append s.GradNorms s.UpdateRatios)

                Expect.isFalse finite "the next step is the bad one"
                Expect.isFalse (File.Exists(Path.Combine(runDir, ModelFile.FileName))) "no model"

            testCase "skip:K: K bad steps are journaled as skipped, the next one stops the run"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "run")

                let o =
                    run
                        repo
                        ([
                            "train"
                            "--run"
                            runDir
                            "--train-count"
                            "2000"
                            "--on-nonfinite"
                            "skip:3"
                         ]
                         @ blowUp "1e9")

                Expect.equal o.Code ReturnCode.Diverged o.Err
                let skips = journalLines runDir |> List.filter (fun l -> kind l = "skip")
                Expect.equal skips.Length 3 "three skip lines"
                Expect.stringContains o.Err "3 step(s) skipped already" o.Err
                Expect.equal (RunFile.Read(runDir).MaxSkips) 3 "run.json records the policy"

            testCase "skip: a run that skips steps replays and resumes bit for bit"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")

                let o =
                    run
                        repo
                        ([
                            "train"
                            "--run"
                            runDir
                            "--train-count"
                            "1000"
                            "--checkpoint-every"
                            "10"
                            "--on-nonfinite"
                            "skip:40"
                         ]
                         @ blowUp "4e4")

                Expect.equal o.Code 0 o.Err
                let lines = journalLines runDir
                let skipped = lines |> List.filter (fun l -> kind l = "skip") |> List.map stepOf
                let taken = lines |> List.filter (fun l -> kind l = "step") |> List.map stepOf
                Expect.isNonEmpty skipped "some steps were skipped"
                // A step journaled after skips, replayed from the checkpoint before the skips: the skips are honoured.
                let after = taken |> List.filter (fun s -> s > List.head skipped && s > 10L)
                Expect.isNonEmpty after "a step was taken after a skip"
                let r = run repo [ "replay"; runDir; "--step"; string (List.last after) ]
                Expect.equal r.Code 0 (r.Out + r.Err)
                Expect.stringContains r.Out "bit for bit" r.Out
                // Resume from the checkpoint of step 10 re-detects the same skips and ends with the same model.
                let copy = Path.Combine(dir, "copy")
                Directory.CreateDirectory copy |> ignore

                for f in Directory.GetFiles runDir do
                    File.Copy(f, Path.Combine(copy, Path.GetFileName f))

                Directory.CreateDirectory(Path.Combine(copy, "checkpoints")) |> ignore
                let ten = Checkpoints.PathFor(runDir, 10L)
                File.Copy(ten, Path.Combine(copy, "checkpoints", Path.GetFileName ten))
                File.Delete(Path.Combine(copy, ModelFile.FileName))
                let re = run repo [ "resume"; copy; "--quiet" ]
                Expect.equal re.Code 0 re.Err

                Expect.equal
                    (File.ReadAllBytes(Path.Combine(copy, ModelFile.FileName)))
                    (File.ReadAllBytes(Path.Combine(runDir, ModelFile.FileName)))
                    "the same model"

                let reSkipped =
                    journalLines copy |> List.filter (fun l -> kind l = "skip") |> List.map stepOf

                Expect.equal reSkipped skipped "the same steps skipped"

            testCase "--on-nonfinite nonsense is one line, exit 2"
            <| fun () ->
                let o =
                    run repo [ "train"; "--run"; Path.Combine(tempDir (), "r"); "--on-nonfinite"; "skip:0" ]

                expectOneLineError o ReturnCode.Usage [ "--on-nonfinite"; "skip:0" ]

            testCase "scripts/replay.fsx reproduces the journal's hash with OPENBLAS_CORETYPE unset"
            <| fun () ->
                // On an AVX-512 CPU OpenBLAS would pick other kernels than the run's Haswell ones by itself.
                let runDir = Path.Combine(tempDir (), "run")

                let t =
                    run
                        repo
                        [
                            "train"
                            "--run"
                            runDir
                            "--layers"
                            "784,16,10"
                            "--epochs"
                            "1"
                            "--train-count"
                            "2000"
                            "--checkpoint-every"
                            "25"
                            "--journal-every"
                            "10"
                            "--quiet"
                        ]

                Expect.equal t.Code 0 t.Err
                let psi = ProcessStartInfo("dotnet")

                for a in [ "fsi"; Path.Combine(repo, "scripts", "replay.fsx"); runDir; "40" ] do
                    psi.ArgumentList.Add a

                psi.WorkingDirectory <- repo
                psi.RedirectStandardOutput <- true
                psi.RedirectStandardError <- true
                psi.Environment.Remove "OPENBLAS_CORETYPE" |> ignore
                use p = Process.Start psi
                let out = p.StandardOutput.ReadToEndAsync()
                let err = p.StandardError.ReadToEndAsync()
                p.WaitForExit()
                Expect.equal p.ExitCode 0 (out.Result + err.Result)
                Expect.stringContains out.Result "weights hash after step 40 matches the journal's" out.Result
        ]
