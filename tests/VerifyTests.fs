/// functional verify RUN: a run reproduces interval by interval, and a change made to one of its files, or to the
/// arithmetic (another BLAS), is placed in the interval it shows in. The intervals are counted from the run folder's
/// own checkpoints, never hard-coded.
module Functional.Tests.VerifyTests

open System.Collections.Generic
open System.IO
open System.Text.Json
open System.Text.RegularExpressions
open Expecto
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests
open Functional.Tests.Fixtures

/// A few seconds of training with a checkpoint every 10 steps: several intervals to replay.
let private trained =
    lazy
        (let dir = Path.Combine(tempDir (), "run")

         let t =
             run
                 repo
                 [
                     "train"
                     "--run"
                     dir
                     "--layers"
                     "784,32,10"
                     "--epochs"
                     "1"
                     "--train-count"
                     "2000"
                     "--checkpoint-every"
                     "10"
                     "--quiet"
                 ]

         Expect.equal t.Code 0 t.Err
         dir)

/// A copy of the run to change.
let private copy () =
    let into = Path.Combine(tempDir (), "copy")
    copyRun trained.Value into
    into

/// The run's checkpoint steps, in order: interval i ends at the i-th.
let private checkpointSteps dir =
    Checkpoints.List dir
    |> Seq.map (fun struct (s, _) -> s)
    |> Seq.sort
    |> List.ofSeq

/// Changes one weight of a checkpoint (the lowest bit of its first value); with `rehash`, its tensor_sha256 is
/// made to match again, as a careful forger would.
let private tamper (path: string) (rehash: bool) =
    let struct (tensors, metadata) = Safetensors.Read path

    let weight = tensors |> Seq.find (fun t -> not (t.Name.StartsWith "optimizer."))

    weight.Data[0] <- weight.Data[0] ^^^ 1uy
    let meta = Dictionary<string, string>(metadata :> seq<KeyValuePair<string, string>>)

    if rehash then
        meta["tensor_sha256"] <- Safetensors.TensorHash tensors

    Safetensors.Write(path, tensors, meta)

let private differsAt (out: string) =
    let m = Regex.Match(out, @"differs on this machine at interval (\d+) of (\d+)")
    Expect.isTrue m.Success out
    int m.Groups[1].Value, int m.Groups[2].Value

[<Tests>]
let tests =
    testList
        "Verify"
        [
            testCase "a run verifies N of N intervals, one for each checkpoint"
            <| fun () ->
                let n = (checkpointSteps trained.Value).Length
                Expect.isGreaterThan n 2 "several checkpoints"
                let v = run repo [ "verify"; trained.Value ]
                Expect.equal v.Code 0 (v.Out + v.Err)

                Expect.stringContains
                    v.Out
                    (sprintf "reproduces bit for bit on this machine: %d of %d intervals" n n)
                    v.Out

            testCase "every preset's run verifies on the machine that trained it"
            <| fun () ->
                for preset in Functional.Cli.Presets.names do
                    let dir = tinyRun preset
                    let v = run repo [ "verify"; dir ]
                    Expect.equal v.Code 0 (sprintf "%s: %s%s" preset v.Out v.Err)
                    Expect.stringContains v.Out "reproduces bit for bit on this machine" preset

            testCase "--json is one object: reproduces, the intervals, the machine against the run"
            <| fun () ->
                let n = (checkpointSteps trained.Value).Length
                let v = run repo [ "verify"; trained.Value; "--json" ]
                Expect.equal v.Code 0 v.Err
                use doc = JsonDocument.Parse v.Out
                let r = doc.RootElement
                Expect.isTrue (r.GetProperty("reproduces").GetBoolean()) v.Out
                Expect.equal (r.GetProperty("intervals").GetInt32()) n "intervals"
                Expect.equal (r.GetProperty("reproduced").GetInt32()) n "reproduced"
                Expect.equal (r.GetProperty("first_difference").ValueKind) JsonValueKind.Null "no difference"
                let kernels = r.GetProperty("machine").GetProperty("kernels")
                Expect.isTrue (kernels.GetProperty("same").GetBoolean()) "the run's kernels"

            testCase "a weight changed in a checkpoint, its hash made to match: the interval it closes differs"
            <| fun () ->
                let dir = copy ()
                let steps = checkpointSteps dir
                let k = steps.Length / 2
                tamper (Checkpoints.PathFor(dir, steps[k])) true
                let v = run repo [ "verify"; dir ]
                Expect.equal v.Code ReturnCode.CheckFailed (v.Out + v.Err)
                Expect.equal (differsAt v.Out) (k + 1, steps.Length) "the interval ending at the changed checkpoint"
                Expect.stringContains v.Out (sprintf "the state after step %d" steps[k]) v.Out
                Expect.stringContains v.Out "a checkpoint or the journal was changed" "nothing of the machine differs"
                let j = run repo [ "verify"; dir; "--json" ]
                Expect.equal j.Code ReturnCode.CheckFailed j.Err
                use doc = JsonDocument.Parse j.Out
                let d = doc.RootElement.GetProperty "first_difference"
                Expect.equal (d.GetProperty("interval").GetInt32()) (k + 1) "interval"
                Expect.equal (d.GetProperty("step").GetInt64()) steps[k] "step"
                Expect.equal (doc.RootElement.GetProperty("reproduced").GetInt32()) k "the intervals before it"

            testCase "a weight changed in a checkpoint, its hash no longer matching: that checkpoint's interval differs"
            <| fun () ->
                let dir = copy ()
                let steps = checkpointSteps dir
                tamper (Checkpoints.PathFor(dir, steps[1])) false
                let v = run repo [ "verify"; dir ]
                Expect.equal v.Code ReturnCode.CheckFailed (v.Out + v.Err)
                Expect.equal (differsAt v.Out) (2, steps.Length) "the second interval"
                Expect.stringContains v.Out "corrupted" v.Out

            testCase "with another BLAS than the run's (the managed provider), verify says the kernels differ"
            <| fun () ->
                let v =
                    runWith [ "FUNCTIONAL_BLAS", "managed" ] repo [ "verify"; trained.Value; "--json" ]

                Expect.equal v.Code ReturnCode.CheckFailed (v.Out + v.Err)
                use doc = JsonDocument.Parse v.Out
                let r = doc.RootElement
                Expect.isFalse (r.GetProperty("machine").GetProperty("kernels").GetProperty("same").GetBoolean()) v.Out

                Expect.stringContains
                    (r.GetProperty("first_difference").GetProperty("likely_reason").GetString())
                    "the BLAS differs"
                    v.Out

            testCase "kernels this CPU cannot run are refused in one line, naming them"
            <| fun () ->
                let flags = Kernels.CpuFlags()

                match
                    [ "SapphireRapids"; "Cooperlake"; "SkylakeX"; "Haswell" ]
                    |> List.tryFind (fun k ->
                        (Kernels.Missing(k, flags)
                         |> Option.ofObj
                         |> Option.exists (fun m -> m.Length > 0)))
                with
                | None -> skiptest "this CPU runs every kernel family named (or has no /proc/cpuinfo)"
                | Some lacking ->
                    let dir = copy ()
                    let path = Path.Combine(dir, RunFile.FileName)
                    let text = File.ReadAllText path

                    let edited =
                        Regex.Replace(text, "\"blas_core\":\\s*\"[^\"]*\"", sprintf "\"blas_core\": \"%s\"" lacking)

                    Expect.notEqual edited text "run.json names its kernels"
                    File.WriteAllText(path, edited)
                    let v = run repo [ "verify"; dir ]
                    expectOneLineError v ReturnCode.Usage [ lacking; "run.json" ]

            testCase "not a run, a run without checkpoints, a truncated journal: one line each"
            <| fun () ->
                let notRun = tempDir ()
                expectOneLineError (run repo [ "verify"; notRun ]) ReturnCode.BadData [ "run.json" ]
                let none = copy ()
                Directory.Delete(Path.Combine(none, Checkpoints.Folder), true)
                expectOneLineError (run repo [ "verify"; none ]) ReturnCode.BadData [ "no checkpoints" ]
                let cut = copy ()
                let journal = Path.Combine(cut, Journal.FileName)
                let lines = File.ReadAllLines journal
                // Up to the middle of its last step line, as a disk that filled up leaves it.
                let last = lines |> Array.findIndexBack (fun l -> l.Contains "\"weights_sha256\"")
                let kept = lines[.. last - 1] |> Array.map (fun l -> l + "\n") |> String.concat ""
                File.WriteAllText(journal, kept + lines[last].Substring(0, lines[last].Length / 2))
                expectOneLineError (run repo [ "verify"; cut ]) ReturnCode.BadData [ Journal.FileName; "truncated" ]
        ]
