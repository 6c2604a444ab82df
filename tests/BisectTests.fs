/// functional bisect RUN --until COND: the step it names is checked against what the run itself recorded (the
/// training's own stop, a journal of every step, the checkpoints' predictions), never against a hard-coded number.
module Functional.Tests.BisectTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Functional
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests

let private small =
    [ "--layers"; "784,32,10"; "--epochs"; "1"; "--train-count"; "2000"; "--quiet" ]

let private train runDir (extra: string list) =
    let o = run repo ([ "train"; "--run"; runDir ] @ small @ extra)
    o

let private foundStep (out: string) =
    let m = Regex.Match(out, @"first step where \S+ holds: step (\d+)")
    Expect.isTrue m.Success out
    int64 m.Groups[1].Value

let private median (xs: float[]) =
    let s = Array.sort xs
    let n = s.Length

    if n % 2 = 1 then
        s[n / 2]
    else
        (s[n / 2 - 1] + s[n / 2]) / 2.0

/// A learning-rate jump made to trigger every journal and probe condition: a parent trained 40 steps, continued
/// at 5000 times its rate. Twice, the same bits: "sparse" (a journal line every 5 steps, a checkpoint every 10) for
/// bisect to search, "dense" (a line and a checkpoint at every step) to read the truth from.
let private jump =
    lazy
        (let dir = tempDir ()
         let parent = Path.Combine(dir, "parent")
         let p = train parent [ "--checkpoint-every"; "20" ]
         Expect.equal p.Code 0 p.Err

         let child name journal checkpoint =
             let c =
                 run
                     repo
                     [
                         "train"
                         "--from"
                         parent + "@40"
                         "--run"
                         Path.Combine(dir, name)
                         "--lr"
                         "5"
                         "--epochs"
                         "1"
                         "--train-count"
                         "2000"
                         "--journal-every"
                         journal
                         "--checkpoint-every"
                         checkpoint
                         "--quiet"
                     ]

             Expect.equal c.Code 0 c.Err
             Path.Combine(dir, name)

         parent, child "sparse" "5" "10", child "dense" "1" "1")

/// The dense run's journal, step by step (the child's own steps, 41 on).
let private denseSteps () =
    let _, _, dense = jump.Value

    Journal.Steps(dense, TextWriter.Null)
    |> Seq.map (fun kv -> kv.Value)
    |> List.ofSeq

/// Bisects the sparse run and checks the step found is the first of the dense journal where `holds` does.
let private expectFirst (condition: string) (holds: JournalStep -> bool) =
    let _, sparse, _ = jump.Value
    let truth = denseSteps () |> List.find holds
    Expect.isGreaterThan truth.Step 41L "not the jump's first step: bisect must replay to find it"
    let b = run repo [ "bisect"; sparse; "--until"; condition ]
    Expect.equal b.Code 0 (b.Out + b.Err)
    Expect.equal (foundStep b.Out) truth.Step (sprintf "the first step of the dense journal where %s holds" condition)

/// A threshold between the figure at the jump's first step and its largest on a line of the sparse journal (bisect
/// narrows by the journal it has: a condition that holds only between its lines is not seen).
let private between (figure: JournalStep -> float) =
    let _, sparse, _ = jump.Value
    let first = figure (denseSteps ()).Head

    let top =
        Journal.Steps(sparse, TextWriter.Null)
        |> Seq.map (fun kv -> figure kv.Value)
        |> Seq.max

    first + 0.95 * (top - first)

let private globalNorm (s: JournalStep) =
    sqrt (s.GradNorms |> Array.sumBy (fun g -> g * g))

let private deadShare (s: JournalStep) =
    Array.append s.Dead s.Saturation
    |> Array.filter Double.IsFinite
    |> Array.fold max 0.0

let private invariant (x: float) =
    x.ToString("R", Globalization.CultureInfo.InvariantCulture)

[<Tests>]
let tests =
    testList
        "Bisect"
        [
            testCase "--until nan names the step training stopped at, its tensor, and dumps it and the step before"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "run")

                let t =
                    train runDir [ "--optimizer"; "sgd"; "--lr"; "1e9"; "--checkpoint-every"; "50" ]

                Expect.equal t.Code ReturnCode.Diverged t.Err

                let stopped =
                    int64 (Regex.Match(t.Err, @"training stopped at step (\d+)").Groups[1].Value)

                let b = run repo [ "bisect"; runDir; "--until"; "nan" ]
                Expect.equal b.Code 0 (b.Out + b.Err)
                Expect.equal (foundStep b.Out) stopped "the step training stopped at"
                Expect.stringContains b.Out "where: " b.Out
                Expect.stringContains b.Out "1 step(s) replayed" "one step past the kept checkpoint"

                for s in [ stopped; stopped - 1L ] do
                    let dump = Path.Combine(runDir, "bisect", sprintf "step-%d" s)
                    Expect.isTrue (File.Exists(Path.Combine(dump, StepDump.HyperFile))) dump

                Expect.stringContains b.Out (sprintf "functional replay %s --step %d" runDir stopped) "follow-up"

            testCase "--until spike finds the spike a learning-rate jump plants, as a journal of every step shows it"
            <| fun () ->
                let dir = tempDir ()
                let parent = Path.Combine(dir, "parent")
                let p = train parent [ "--journal-every"; "1"; "--checkpoint-every"; "20" ]
                Expect.equal p.Code 0 p.Err
                // The jump: the child continues the parent's step 40 at 5000 times its rate.
                let child journal name =
                    let c =
                        run
                            repo
                            [
                                "train"
                                "--from"
                                parent + "@40"
                                "--run"
                                Path.Combine(dir, name)
                                "--lr"
                                "5"
                                "--epochs"
                                "1"
                                "--train-count"
                                "2000"
                                "--journal-every"
                                journal
                                "--checkpoint-every"
                                "10"
                                "--quiet"
                            ]

                    Expect.equal c.Code 0 c.Err
                    Path.Combine(dir, name)

                let sparse = child "5" "sparse"
                let every = child "1" "every"
                let b = run repo [ "bisect"; sparse; "--until"; "spike" ]
                Expect.equal b.Code 0 (b.Out + b.Err)
                let found = foundStep b.Out
                Expect.isGreaterThan found 40L "after the jump"
                // The journal of every step (the same bits) agrees: the first loss above 3 x the median of the 25 before.
                let losses =
                    Seq.append
                        (Journal.Steps(parent, TextWriter.Null) |> Seq.filter (fun kv -> kv.Key <= 40L))
                        (Journal.Steps(every, TextWriter.Null))
                    |> Seq.map (fun kv -> kv.Key, kv.Value.Loss)
                    |> Array.ofSeq

                let spikeAt i =
                    let before = losses[max 0 (i - 25) .. i - 1] |> Array.map snd
                    snd losses[i] > 3.0 * median before

                let first = [ 5 .. losses.Length - 1 ] |> List.find spikeAt
                Expect.equal found (fst losses[first]) "the first spiking step of the full journal"

            testCase "--until collapse on the seed preset names the first step whose predictions are one class"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "seed")

                let t =
                    run repo [ "train"; "--preset"; "seed"; "--epochs"; "5"; "--run"; runDir; "--quiet" ]

                Expect.equal t.Code 0 t.Err
                let b = run repo [ "bisect"; runDir; "--until"; "collapse"; "--probe"; "300" ]
                Expect.equal b.Code 0 (b.Out + b.Err)
                let found = foundStep b.Out
                // Independently: the checkpoint of that step calls every probe image one class, the state before does not.
                let r = RunFile.Read runDir
                let struct (trainSet, test) = r.LoadData TextWriter.Null
                let probe = Inputs.ToCore(Subset.First(test, 300))
                let images = Inputs.ToCore trainSet

                let classesAt (step: int64) =
                    let trainer =
                        if step = 0L then
                            Api.Training.CreateTrainer(r.Config, images)
                        else
                            let c = Checkpoints.Read(Checkpoints.PathFor(runDir, step), r)
                            Api.Training.RestoreTrainer(r.Config, images, c.State, step)

                    (trainer.Model.Evaluate probe).Predictions |> Array.distinct |> Array.length

                Expect.equal (classesAt found) 1 "collapsed at the step found"
                Expect.isGreaterThan (classesAt (found - 1L)) 1 "not before it"

            testCase "--until loss>V finds the first step above V after a learning-rate jump"
            <| fun () ->
                let v = between (fun s -> s.Loss)
                expectFirst ("loss>" + invariant v) (fun s -> s.Loss > v)

            testCase "--until grad>V finds the first step whose global gradient norm is above V"
            <| fun () ->
                let v = between globalNorm
                expectFirst ("grad>" + invariant v) (fun s -> globalNorm s > v)

            testCase "--until dead:P finds the first step where a layer's dead share is above P"
            <| fun () ->
                let p = between deadShare
                Expect.isLessThan p 1.0 "a share"
                expectFirst ("dead:" + invariant p) (fun s -> deadShare s > p)

            testCase "--until accuracy<X finds the first step whose probe accuracy falls below X, once reached"
            <| fun () ->
                let parent, sparse, dense = jump.Value
                let r = RunFile.Read dense
                let struct (trainSet, test) = r.LoadData TextWriter.Null
                let probe = Inputs.ToCore(Subset.First(test, 300))
                let images = Inputs.ToCore trainSet

                let accuracyAt dir (step: int64) =
                    let run = RunFile.Read dir
                    let c = Checkpoints.Read(Checkpoints.PathFor(dir, step), run)
                    let t = Api.Training.RestoreTrainer(run.Config, images, c.State, step)
                    (t.Model.Evaluate probe).Accuracy

                // X: below the parent's accuracy at the jump (so it was reached), above the lowest after it.
                let start = accuracyAt parent 40L

                let after =
                    Checkpoints.List dense
                    |> Seq.map (fun struct (s, _) -> s)
                    |> Seq.sort
                    |> List.ofSeq
                    |> List.map (fun s -> s, accuracyAt dense s)

                let x = (start + (after |> List.map snd |> List.min)) / 2.0
                let truth = after |> List.find (fun (_, a) -> a < x) |> fst

                let b =
                    run repo [ "bisect"; sparse; "--until"; "accuracy<" + invariant x; "--probe"; "300" ]

                Expect.equal b.Code 0 (b.Out + b.Err)
                Expect.equal (foundStep b.Out) truth "the first checkpoint of the dense run below X"

            testCase "--until nonsense is one line, exit 2"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "run")
                let t = train runDir []
                Expect.equal t.Code 0 t.Err
                let b = run repo [ "bisect"; runDir; "--until"; "loss>x" ]
                expectOneLineError b ReturnCode.Usage [ "--until loss>x" ]
        ]
