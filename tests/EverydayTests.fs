/// Everyday use (issue 15): the packed tool, output that fits 80 columns, the warning at the end of a run that
/// went wrong, --quiet, and the command line's forgiving parses.
module Functional.Tests.EverydayTests

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Expecto
open Functional.Cli
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests

let private parse (line: string) =
    Parser.parse (line.Split(' ', StringSplitOptions.RemoveEmptyEntries))

let private invalidMessage line =
    match parse line with
    | Invalid m -> m
    | other -> failtestf "expected '%s' to be refused, got %A" line other

/// Runs a program to its end; stdout and stderr together.
let private exec (cwd: string) (file: string) (args: string list) =
    let psi = ProcessStartInfo(file)

    for a in args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- cwd
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    psi.Environment["DOTNET_NOLOGO"] <- "1"
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result + err.Result

/// What a terminal shows of Spectre's output: escape sequences removed, one entry per row.
let private screenRows (raw: string) =
    Regex.Replace(raw, "\x1b\\[[0-9;?]*[A-Za-z]|\x1b\\][^\x07]*\x07", "").Split([| '\n'; '\r' |])

let private header =
    "train 784-512-10 relu/softmax ce, init he, adam lr 0.001 l2 0.0001, scale unit, reduction mean, batch 32, 15 epochs, float32, seed 1"

let private epochLine =
    "epoch 100/100  loss 301.8963  train 100.00%  test 100.00%  12.3s  158,226 ex/s"

[<Tests>]
let tests =
    testList
        "Everyday"
        [
            testCase "the packed tool installs into a tool path and prints its version"
            <| fun () ->
                // The Host this test binary was built with, packed as it is (no rebuild: Release or Debug alike).
                let configuration =
                    DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent.Name

                let dir = tempDir ()
                let packages = Path.Combine(dir, "packages")
                let tools = Path.Combine(dir, "tools")

                let code, text =
                    exec
                        repo
                        "dotnet"
                        [
                            "pack"
                            Path.Combine("src", "Host")
                            "-c"
                            configuration
                            "--no-build"
                            "-o"
                            packages
                        ]

                Expect.equal code 0 (sprintf "dotnet pack: %s" text)
                // Only the local folder as a source: the test needs no network.
                let config = Path.Combine(dir, "nuget.config")

                File.WriteAllText(
                    config,
                    $"""<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>"""
                )

                let code, text =
                    exec
                        dir
                        "dotnet"
                        [
                            "tool"
                            "install"
                            "Functional"
                            "--tool-path"
                            tools
                            "--configfile"
                            config
                        ]

                Expect.equal code 0 (sprintf "dotnet tool install: %s" text)
                let code, text = exec dir (Path.Combine(tools, "functional")) [ "--version" ]
                Expect.equal code 0 text
                Expect.isMatch (text.Trim()) @"^functional \d+\.\d+\.\d+$" "the version line"

            testCase "the progress bar and its lines fit an 80-column terminal"
            <| fun () ->
                let screen = new StringWriter()
                let console = Terminal.ConsoleOn(screen, (fun () -> 80), (fun () -> 24))
                let p = Progress.On(console, "train", 1500L)
                p.Advance(700L, p.Status(100, 100, 12_345_678L, 12_345_679L, 301.8963, 158_226.0))
                p.Line(header)
                p.Line(epochLine, "  (1,875 updates)")
                p.Advance(1400L, p.Status(100, 100, 12_345_679L, 12_345_679L, 301.8963, 158_226.0))
                p.Dispose()
                let rows = screenRows (screen.ToString())

                for row in rows do
                    Expect.isLessThanOrEqual row.Length 80 (sprintf "fits 80 columns: '%s'" row)

                let barRows =
                    rows |> Array.filter (fun r -> r.Contains "epoch 100/100" && r.Contains "%")

                Expect.isNonEmpty barRows "the status shares one row with the bar and its percentage"
                Expect.isTrue (rows |> Array.exists (fun r -> r.StartsWith epochLine)) "the epoch line, whole"
                Expect.isFalse (rows |> Array.exists (fun r -> r.Contains "updates")) "its detail dropped at 80"
                Expect.isTrue (rows |> Array.exists (fun r -> r.Contains "seed 1")) "the header's end, wrapped"

            testCase "a line wider than the terminal is wrapped at spaces, indented, and loses no word"
            <| fun () ->
                for width in [ 80; 40; 20 ] do
                    let lines = Terminal.Fit(header, width) |> Array.ofSeq
                    Expect.isGreaterThan lines.Length 1 "wrapped"

                    for l in lines do
                        Expect.isLessThanOrEqual l.Length width (sprintf "width %d: '%s'" width l)

                    Expect.equal
                        (String.Join(" ", lines |> Array.map (fun l -> l.Trim())))
                        (Regex.Replace(header, " +", " "))
                        "the same words in order"

                    Expect.isTrue (lines[1].StartsWith "      ") "continuation under the first word's value"

                Expect.sequenceEqual (Terminal.Fit(epochLine, 80)) [ epochLine ] "a line that fits is untouched"

            testCase "RunWarning: collapse, few classes, near chance and a growing loss are named; a healthy run is not"
            <| fun () ->
                let balanced = Array.create 10 200
                Expect.isNone (Option.ofObj (RunWarning.Of(balanced, 0.96, 0.5, 0.05))) "healthy"

                let one = Array.init 10 (fun i -> if i = 5 then 2000 else 0)
                let w = RunWarning.Of(one, 0.0845, 301.9, 49.05)
                Expect.stringContains w "collapsed (100% of the test set is called 5)" "collapse"
                Expect.stringContains w "near chance" "chance"

                let few = [| 500; 500; 500; 500; 0; 0; 0; 0; 0; 0 |]
                Expect.stringContains (RunWarning.Of(few, 0.4, 1.0, 0.5)) "only 4 of 10 classes" "few classes"

                Expect.stringContains
                    (RunWarning.Of(balanced, 0.9, 0.3, 3.9e11))
                    "the loss grew over the run"
                    "loss grew"

            testCase "train --preset seed ends with the collapse warning and the doctor command, exit 0"
            <| fun () ->
                let runDir = Path.Combine(tempDir (), "seed")
                let o = run repo [ "train"; "--preset"; "seed"; "--run"; runDir ]
                Expect.equal o.Code 0 o.Err
                let lines = o.Out.Trim().Split('\n') |> Array.map (fun l -> l.TrimEnd '\r')
                let i = lines |> Array.findIndex (fun l -> l.StartsWith "warning: ")
                Expect.stringContains lines[i] "the predictions collapsed" "names the collapse"
                Expect.equal lines[i + 1] "  functional doctor --preset seed" "the exact doctor command"
                Expect.equal (i + 2) lines.Length "the last lines of the output"

                match parse (lines[i + 1].Trim().Substring "functional ".Length) with
                | Run(Command.Doctor d) -> Expect.equal d.Train.Preset "seed" "the run's configuration"
                | other -> failtestf "the printed command does not parse as doctor: %A" other

                let quiet =
                    run repo [ "train"; "--preset"; "seed"; "--run"; runDir + "-q"; "--quiet" ]

                Expect.equal quiet.Code 0 quiet.Err
                let q = quiet.Out.Trim().Split('\n')
                Expect.isTrue (q[0].StartsWith "model ") (sprintf "--quiet starts at the result: %s" quiet.Out)
                Expect.isFalse (quiet.Out.Contains "epoch ") "no epoch lines"
                Expect.stringContains quiet.Out "functional doctor --preset seed" "the warning stays"

                let again = run repo [ "resume"; runDir ]
                expectOneLineError again 2 [ "is finished"; "--epochs" ]

            testCase "--quiet says in --help what it keeps"
            <| fun () ->
                for command in [ "train"; "resume" ] do
                    match parse (command + " --help") with
                    | Help text ->
                        let text = Regex.Replace(text, @"\s+", " ")
                        Expect.stringContains text "predicted-classes, plot and test accuracy lines" "the result lines"
                        Expect.stringContains text "epoch lines or progress bar" "what goes"
                    | other -> failtestf "expected help, got %A" other

            testCase "--lr=0.01 is --lr 0.01; a value holding '=' is kept"
            <| fun () ->
                Expect.equal (parse "train --lr=0.01 --batch=full") (parse "train --lr 0.01 --batch full") "same"

                Expect.equal
                    (Parser.splitEquals "sweep" [| "--slurm-args"; "--time=10:00"; "--jobs=2" |])
                    [| "--slurm-args"; "--time=10:00"; "--jobs"; "2" |]
                    "only the command's own options are split"

            testCase "an unknown option names the closest known one"
            <| fun () ->
                Expect.stringContains
                    (invalidMessage "train --optimiser adam")
                    "unknown option '--optimiser'; did you mean '--optimizer'?"
                    "did you mean"

                Expect.stringContains (invalidMessage "eval --modle m") "did you mean '--model'?" "eval too"

                Expect.stringContains
                    (invalidMessage "train --zzzzzzzz 1")
                    "unknown option '--zzzzzzzz'."
                    "nothing close"

            testCase "bare functional lists the commands and exits 2; --version exits 0"
            <| fun () ->
                let o = run repo []
                Expect.equal o.Code 2 "usage exit code"
                Expect.stringContains o.Err "train" "the command list"
                Expect.stringContains o.Err "doctor" "the command list"
                let v = run repo [ "--version" ]
                Expect.equal v.Code 0 v.Err
                Expect.isMatch (v.Out.Trim()) @"^functional \d+\.\d+\.\d+$" "version"

            testCase "replay without --step says that --step is missing, in one sentence"
            <| fun () ->
                let m = invalidMessage "replay runs/a"
                Expect.stringContains m "missing argument '--step'" "names it"
                Expect.isFalse (m.Contains "RUN DIR") "no usage fragment"

            testCase "--batch 0 is refused, naming --batch full"
            <| fun () -> Expect.stringContains (invalidMessage "train --batch 0") "--batch full" "the way to say it"

            testCase "docs/scripts.md's F# script is scripts/readme.fsx, verbatim"
            <| fun () ->
                let script =
                    File.ReadAllText(Path.Combine(repo, "scripts", "readme.fsx")).Replace("\r\n", "\n").TrimEnd()

                let readme =
                    File.ReadAllText(Path.Combine(repo, "docs", "scripts.md")).Replace("\r\n", "\n")

                Expect.stringContains script "#load \"Scripting.fsx\"" "it uses the scripting entry point"
                Expect.stringContains readme ("```fsharp\n" + script + "\n```") "the page prints the whole script"

            testCase "eval's sample never repeats an index"
            <| fun () ->
                for n in [ 1; 2; 3; 10; 11; 2000 ] do
                    for seed in 1..20 do
                        let s = Commands.EvalCommand.Sample(Array.zeroCreate n, Array.zeroCreate n, seed)

                        let first: string = s.Split('\n').[0]

                        let picks =
                            first.Substring("index".Length).Split(' ', StringSplitOptions.RemoveEmptyEntries)

                        Expect.equal picks.Length (min 10 n) "ten, or all of a tiny set"

                        Expect.equal
                            (Array.distinct picks).Length
                            picks.Length
                            (sprintf "distinct (n=%d seed=%d)" n seed)
        ]
