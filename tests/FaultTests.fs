/// Faults around a run: kill -9 at random moments, a disk that fills, two processes on one run folder,
/// NaN in training. The real binary, as separate processes.
module Functional.Tests.FaultTests

open System
open System.Diagnostics
open System.IO
open Expecto
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests

let private small = [ "--layers"; "784,16,10"; "--batch"; "8"; "--quiet" ]

let private start (args: string list) =
    let psi = ProcessStartInfo("dotnet")
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "functional.dll"))

    for a in args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- repo
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    Process.Start psi

/// Every checkpoint of the run reads and verifies, and holds only finite numbers.
let private checkpointsSound (runDir: string) =
    let run = RunFile.Read runDir

    for struct (_, path) in Checkpoints.List runDir do
        let c = Checkpoints.Read(path, run)
        Expect.isNull (Divergence.FirstNonFinite c.State) (sprintf "%s is finite" path)

let private lockFile dir = Path.Combine(dir, RunLock.FileName)

[<Tests>]
let tests =
    testList
        "Faults"
        [
            testCase
                "kill -9 twenty times: the newest checkpoint always reads, resume ends with the uninterrupted bytes"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "killed")

                let args =
                    small @ [ "--epochs"; "2"; "--checkpoint-every"; "20"; "--journal-every"; "10" ]

                let rng = Random 20240607
                let clock = Stopwatch.StartNew()
                let mutable kills = 0

                for i in 1..20 do
                    let cmd =
                        if File.Exists(Path.Combine(runDir, RunFile.FileName)) then
                            [ "resume"; runDir; "--quiet" ]
                        else
                            [ "train"; "--run"; runDir ] @ args

                    use p = start cmd
                    // The kill comes at a random moment after training began (run.json exists, data loaded).
                    let wait = rng.Next 600
                    let runJson = Path.Combine(runDir, RunFile.FileName)
                    let began = Stopwatch.StartNew()

                    while not (File.Exists runJson)
                          && not p.HasExited
                          && began.ElapsedMilliseconds < 20_000L do
                        Threading.Thread.Sleep 5

                    if not (p.WaitForExit(300 + wait)) then
                        p.Kill true
                        kills <- kills + 1

                    p.WaitForExit()

                    let listed = Checkpoints.List runDir

                    if listed.Count > 0 then
                        // The newest by name, not merely the newest valid: an atomic write never leaves a half file.
                        let struct (_, newest) = listed[0]
                        Checkpoints.Read(newest, RunFile.Read runDir) |> ignore


                let r = run repo [ "resume"; runDir; "--quiet" ]
                Expect.equal r.Code 0 (sprintf "resume finishes: %s" r.Err)
                let whole = Path.Combine(dir, "whole")
                let w = run repo ([ "train"; "--run"; whole ] @ args)
                Expect.equal w.Code 0 w.Err

                Expect.equal
                    (File.ReadAllBytes(Path.Combine(runDir, ModelFile.FileName)))
                    (File.ReadAllBytes(Path.Combine(whole, ModelFile.FileName)))
                    "the same model bytes as the run never interrupted"

                Expect.isFalse (File.Exists(lockFile runDir)) "the lock is released at the end"
                eprintfn "kill -9: %d kills in 20 starts, %.1f s" kills clock.Elapsed.TotalSeconds
                Expect.isGreaterThanOrEqual kills 15 "most starts were killed mid-run"

            testCase "a full disk during a checkpoint: one line, exit 4, the previous checkpoint intact"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")

                let t =
                    run
                        repo
                        ([ "train"; "--run"; runDir; "--checkpoint-every"; "50" ]
                         // A constant rate: resume extends the run, which a schedule laid out for 1 epoch refuses.
                         @ [
                             "--layers"
                             "784,16,10"
                             "--epochs"
                             "1"
                             "--quiet"
                             "--schedule"
                             "constant"
                         ])

                Expect.equal t.Code 0 t.Err
                let before = Checkpoints.List runDir
                let struct (_, newest) = before[0]
                let bytes = File.ReadAllBytes newest
                // Files may not grow past 20 KB: the next checkpoint (~150 KB) cannot be written. SIGXFSZ is
                // ignored so that the write fails with EFBIG, as on a full disk, instead of killing the process.
                let dll = Path.Combine(AppContext.BaseDirectory, "functional.dll")

                let psi = ProcessStartInfo("bash")
                psi.ArgumentList.Add "-c"

                psi.ArgumentList.Add(
                    sprintf
                        "trap '' XFSZ; ulimit -f 20; DOTNET_EnableWriteXorExecute=0 exec dotnet '%s' resume '%s' --epochs 2 --quiet"
                        dll
                        runDir
                )

                psi.RedirectStandardError <- true
                psi.RedirectStandardOutput <- true
                use p = Process.Start psi
                let err = p.StandardError.ReadToEnd()
                p.WaitForExit()

                expectOneLineError
                    {
                        Code = p.ExitCode
                        Out = ""
                        Err = err
                    }
                    ReturnCode.IoError
                    [ "cannot write"; "checkpoints" ]

                Expect.equal (File.ReadAllBytes newest) bytes "the previous checkpoint is intact"
                Checkpoints.Read(newest, RunFile.Read runDir) |> ignore
                Expect.isEmpty (Directory.GetFiles(Path.GetDirectoryName newest, "*.tmp-*")) "no temp file left"
                Expect.isFalse (File.Exists(lockFile runDir)) "the lock is released"

            testCase "a second train into a run folder held by a live process is refused, naming the PID"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")
                Directory.CreateDirectory runDir |> ignore
                // This test process is alive: it plays the first train.
                File.WriteAllText(lockFile runDir, string Environment.ProcessId)
                let o = run repo ([ "train"; "--run"; runDir ] @ small)
                expectOneLineError o ReturnCode.Busy [ string Environment.ProcessId; runDir ]
                Expect.isFalse (File.Exists(Path.Combine(runDir, RunFile.FileName))) "nothing written"
                Expect.equal (File.ReadAllText(lockFile runDir)) (string Environment.ProcessId) "the owner's lock stays"
                let r = run repo [ "resume"; runDir ]
                Expect.notEqual r.Code 0 "resume is refused too"

            testCase "two trains started together into one new folder: exactly one runs"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")
                let args = [ "train"; "--run"; runDir ] @ small @ [ "--epochs"; "1" ]
                use a = start args
                use b = start args
                let ea = a.StandardError.ReadToEndAsync()
                let eb = b.StandardError.ReadToEndAsync()
                a.WaitForExit()
                b.WaitForExit()
                let codes = List.sort [ a.ExitCode; b.ExitCode ]

                Expect.contains
                    [ [ 0; ReturnCode.Usage ]; [ 0; ReturnCode.Busy ] ]
                    codes
                    (sprintf "one wins: %s | %s" ea.Result eb.Result)

            testCase "a stale lock of a dead process is taken over with a warning"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")
                Directory.CreateDirectory runDir |> ignore
                use dead = Process.Start(ProcessStartInfo("true"))
                dead.WaitForExit()
                File.WriteAllText(lockFile runDir, sprintf "%d 12345" dead.Id)
                let o = run repo ([ "train"; "--run"; runDir ] @ small @ [ "--epochs"; "1" ])
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Err "stale lock" "warned"
                Expect.isFalse (File.Exists(lockFile runDir)) "released at the end"

            testCase "a lock of a zombie (exited, never reaped) is stale too"
            <| fun () ->
                if not (Directory.Exists "/proc/self") then
                    skiptest "zombies are read from /proc"

                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")
                Directory.CreateDirectory runDir |> ignore
                // sh starts a short sleep and becomes a long one, which never reaps it: the short sleep stays a
                // zombie. It must outlive the exec: a child that ended before it, the shell itself may reap
                // (so CI once found no /proc entry at all).
                use parent =
                    Process.Start(
                        ProcessStartInfo(
                            "sh",
                            [ "-c"; "sleep 0.5 & echo $!; exec sleep 30" ],
                            RedirectStandardOutput = true
                        )
                    )

                let zombie = int (parent.StandardOutput.ReadLine())

                let stat () =
                    File.ReadAllText(sprintf "/proc/%d/stat" zombie)

                let clock = Stopwatch.StartNew()

                while not (stat().Contains ") Z ") && clock.Elapsed.TotalSeconds < 10.0 do
                    Threading.Thread.Sleep 10

                let fields = (stat ()).Substring((stat ()).LastIndexOf ')' + 2).Split ' '
                Expect.equal fields[0] "Z" "the lock's owner is a zombie"
                // The owner as the lock records it: PID and start time, so only the zombie state makes it stale.
                File.WriteAllText(lockFile runDir, sprintf "%d %s" zombie fields[19])
                let o = run repo ([ "train"; "--run"; runDir ] @ small @ [ "--epochs"; "1" ])
                parent.Kill()
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Err "stale lock" "warned"

            testCase "NaN in training: exit 5, the layer named, replay suggested, no bad checkpoint"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")

                let o =
                    run
                        repo
                        [
                            "train"
                            "--run"
                            runDir
                            "--layers"
                            "784,16,10"
                            "--activation"
                            "relu"
                            "--optimizer"
                            "sgd"
                            "--lr"
                            "1e30"
                            "--checkpoint-every"
                            "1"
                            "--epochs"
                            "1"
                            "--quiet"
                        ]

                Expect.equal o.Code ReturnCode.Diverged o.Err
                Expect.stringContains o.Err "layers." "the layer is named"
                Expect.stringContains o.Err (sprintf "functional replay %s --step" runDir) "replay suggested"
                Expect.isFalse (o.Err.Contains "   at ") "no stack trace"
                Expect.isFalse (File.Exists(Path.Combine(runDir, ModelFile.FileName))) "no model of the bad state"
                checkpointsSound runDir
                Expect.isFalse (File.Exists(lockFile runDir)) "the lock is released"
        ]
