/// `functional report` through the real binary: the page's figures against run.json and the journal, a page that
/// fetches nothing, a folder with a broken file, a non-run; and in headless Chromium (Debian's `chromium`, which
/// .ci/run installs): the page runs its script without a console message and the readouts it builds hold the
/// journal's values.
module Functional.Tests.ReportTests

open System
open System.Diagnostics
open System.Globalization
open System.IO
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open Expecto
open Functional.Tests.EndToEndTests

/// A small run, trained once for every test here: 1,000 images, 2 epochs, a journal line every 2 steps (more than
/// 30 points, so the loss chart also draws its moving average).
let private trained =
    lazy
        (let dir = tempDir ()

         let t =
             run
                 dir
                 [
                     "train"
                     "--train"
                     dataFile "train-images-idx3-ubyte.gz"
                     "--test"
                     dataFile "test-images-idx3-ubyte.gz"
                     "--layers"
                     "784,32,10"
                     "--train-count"
                     "1000"
                     "--epochs"
                     "2"
                     "--journal-every"
                     "2"
                     "--run"
                     "r"
                     "--quiet"
                 ]

         if t.Code <> 0 then
             failwithf "train failed: %s" t.Err

         dir)

/// A copy of the trained run in a fresh folder (tests that break a file break their own copy).
let private copyRun (name: string) =
    let source = Path.Combine(trained.Force(), "r")
    let dir = tempDir ()
    let target = Path.Combine(dir, name)
    Directory.CreateDirectory target |> ignore

    for f in Directory.GetFiles source do
        File.Copy(f, Path.Combine(target, Path.GetFileName f))

    dir, target

let private runJson (runDir: string) =
    JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "run.json"))).AsObject()

/// run.json's "results" object.
let private results (runDir: string) =
    let o = runJson runDir
    o["results"].AsObject()

/// run.json's final test accuracy.
let private testAccuracy (runDir: string) =
    let r = results runDir
    r["test_accuracy"].GetValue<float>()

let private parse (json: string) = JsonNode.Parse json

/// The journal's step lines: (step, loss).
let private journalSteps (runDir: string) =
    File.ReadAllLines(Path.Combine(runDir, "journal.jsonl"))
    |> Array.filter (fun l -> l.Trim() <> "")
    |> Array.map (fun l -> JsonNode.Parse(l).AsObject())
    |> Array.filter (fun o -> isNull o["kind"])
    |> Array.map (fun o -> o["step"].GetValue<int64>(), o["loss"].GetValue<float>())

let private attr (html: string) (pattern: string) =
    let m = Regex.Match(html, pattern)
    Expect.isTrue m.Success $"the page has %s{pattern}"
    m.Groups[1].Value

let private figure (html: string) (key: string) =
    attr html $"data-key=\"%s{key}\" data-value=\"([^\"]*)\""

let private num (s: string) =
    Double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)

/// No attribute loads anything from outside the page, and no address is written in it.
let private expectSelfContained (html: string) =
    for m in Regex.Matches(html, "(?:src|href)=\"([^\"]*)\"") do
        Expect.isTrue
            (m.Groups[1].Value.StartsWith "data:" || m.Groups[1].Value.StartsWith "#")
            $"inline only: %s{m.Value}"

    Expect.isFalse (Regex.IsMatch(html, "https?:")) "no http(s) address in the page"
    Expect.stringContains html "Content-Security-Policy" "the page forbids fetching anything"

/// The confusion matrix's cells: (target, predicted, count).
let private confusion (html: string) =
    [
        for m in Regex.Matches(html, "data-t=\"(\\d+)\" data-p=\"(\\d+)\" data-n=\"(\\d+)\"") ->
            int m.Groups[1].Value, int m.Groups[2].Value, int m.Groups[3].Value
    ]

/// Debian's chromium, or the browser FUNCTIONAL_CHROMIUM names; a missing browser fails the test (CI installs it).
let private chromium () =
    let named = Environment.GetEnvironmentVariable "FUNCTIONAL_CHROMIUM"

    let candidates =
        [
            if not (String.IsNullOrEmpty named) then
                yield named
            for dir in
                (Environment.GetEnvironmentVariable "PATH"
                 |> Option.ofObj
                 |> Option.defaultValue "")
                    .Split
                    ':' do
                for name in [ "chromium"; "chromium-browser"; "google-chrome" ] do
                    yield Path.Combine(dir, name)
        ]

    match candidates |> List.tryFind File.Exists with
    | Some path -> path
    | None ->
        failtest
            "chromium not found on PATH (nor FUNCTIONAL_CHROMIUM): install Debian's chromium (apt-get install -y chromium), as .ci/run does; the browser tests cannot pass without it"

/// The DOM after the page's script ran, and every console line Chromium logged (our pages log none), from a headless
/// Chromium with a dead proxy (a request for anything outside the file would fail, and say so on the console).
let private browse (page: string) =
    let profile = tempDir ()
    let psi = ProcessStartInfo(chromium ())

    for a in
        [
            "--headless"
            "--disable-gpu"
            "--no-sandbox"
            "--no-first-run"
            "--proxy-server=127.0.0.1:9"
            "--enable-logging=stderr"
            "--v=0"
            $"--user-data-dir=%s{profile}"
            "--dump-dom"
            Uri(Path.GetFullPath page).AbsoluteUri
        ] do
        psi.ArgumentList.Add a

    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()

    if not (p.WaitForExit 120_000) then
        p.Kill true
        failtest $"chromium did not finish with %s{page} in 2 minutes"

    Expect.equal p.ExitCode 0 $"chromium's exit code (stderr: %s{err.Result})"

    let console =
        err.Result.Split '\n'
        |> Array.filter (fun l -> l.Contains ":CONSOLE")
        |> List.ofArray

    out.Result, console

/// The page ran its whole script without an error and logged nothing.
let private expectClean (dom: string) (console: string list) =
    Expect.isEmpty console "no console message (errors, refused requests)"
    Expect.stringContains dom "data-ready=\"1\"" "the script ran to its end"
    Expect.isFalse (dom.Contains "data-errors=") "no script error"

[<Tests>]
let tests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "ReportCommand"
    <| testList
        "ReportCommand"
        [
            testCase "one run: the figures, the confusion matrix and the curves' points equal run.json and the journal"
            <| fun () ->
                let dir = trained.Force()
                let o = run dir [ "report"; "r" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let page = Path.Combine("r", "report.html")
                Expect.equal (o.Out.Trim()) $"report %s{page}" "says where the page is"
                let html = File.ReadAllText(Path.Combine(dir, "r", "report.html"))
                let results = results (Path.Combine(dir, "r"))
                let accuracy = results["test_accuracy"].GetValue<float>()
                Expect.equal (num (figure html "test_accuracy")) accuracy "test accuracy, exactly run.json's"
                Expect.equal (int (figure html "kept_epoch")) (results["kept_epoch"].GetValue<int>()) "the kept epoch"
                Expect.equal (int64 (figure html "steps")) (results["steps"].GetValue<int64>()) "the steps"
                let steps = journalSteps (Path.Combine(dir, "r"))
                Expect.equal (int (figure html "journal_steps")) steps.Length "the journalled steps"
                let cells = confusion html
                Expect.equal cells.Length 100 "a 10×10 confusion matrix"
                Expect.equal (cells |> List.sumBy (fun (_, _, n) -> n)) 2000 "every test image in one cell"

                let right =
                    cells |> List.filter (fun (t, p, _) -> t = p) |> List.sumBy (fun (_, _, n) -> n)

                Expect.equal (float right / 2000.0) accuracy "the diagonal is the accuracy train recorded"
                Expect.stringContains html "train dense 32 relu" "the configuration line as train prints it"
                Expect.stringContains html "data  train " "the data line"
                Expect.stringContains html "blas  " "the BLAS line"
                Expect.stringContains html "data:image/png;base64," "pictures inline"
                Expect.stringContains html "Most confidently wrong" "the confidently wrong digits"
                Expect.stringContains html "First layer" "the first layer's weights"
                // The loss chart's points: the journal's, to six significant digits.
                let points =
                    attr html "id=\"s-loss\".*?<script type=\"application/json\" class=\"points\">(.*?)</script>"

                let series = (parse points).["series"].[0]

                let xs =
                    series["xs"].AsArray() |> Seq.map (fun n -> n.GetValue<float>()) |> Array.ofSeq

                let ys =
                    series["ys"].AsArray() |> Seq.map (fun n -> n.GetValue<float>()) |> Array.ofSeq

                Expect.equal xs.Length steps.Length "one point per journalled step"

                for i in 0 .. steps.Length - 1 do
                    let step, loss = steps[i]
                    Expect.equal xs[i] (float step) "the step"
                    Expect.floatClose { absolute = 0.0; relative = 1e-5 } ys[i] loss $"the loss of step %d{step}"

                expectSelfContained html

            testCase "a run folder with a corrupt journal or no model: the page names the file and shows the rest"
            <| fun () ->
                let dir, runDir = copyRun "broken"
                let journal = Path.Combine(runDir, "journal.jsonl")
                let lines = File.ReadAllLines journal
                lines[1] <- "{\"step\": garbage"
                File.WriteAllLines(journal, lines)
                let o = run dir [ "report"; "broken"; "--out"; "a.html" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let html = File.ReadAllText(Path.Combine(dir, "a.html"))
                let problem = attr html "<li class=\"problem\">([^<]*)</li>"
                Expect.stringContains problem "journal.jsonl: line 2" "names the file and the line"
                Expect.equal (confusion html).Length 100 "the confusion matrix is still there"
                Expect.stringContains html "id=\"e-acc\"" "the epoch curves (from run.json) are still there"
                File.Delete(Path.Combine(runDir, "model.safetensors"))
                let o = run dir [ "report"; "broken"; "--out"; "b.html" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let html = File.ReadAllText(Path.Combine(dir, "b.html"))
                Expect.stringContains html "model.safetensors: file not found" "names the missing model"
                Expect.isEmpty (confusion html) "no confusion matrix without a model"
                Expect.stringContains html "test_accuracy" "run.json's figures are still there"

            testCase "report on a non-run is one line and exit 3; the page never leaves a half-written file"
            <| fun () ->
                let dir = tempDir ()
                Directory.CreateDirectory(Path.Combine(dir, "empty")) |> ignore
                expectOneLineError (run dir [ "report"; "empty" ]) 3 [ "empty"; "not a run folder" ]
                expectOneLineError (run dir [ "report"; "nowhere" ]) 3 [ "nowhere"; "folder not found" ]
                expectOneLineError (run dir [ "report" ]) 2 [ "report" ]
                Expect.isEmpty (Directory.GetFiles(dir, "*", SearchOption.AllDirectories)) "nothing written"

            testCase "names from the run folder are escaped"
            <| fun () ->
                let dir, _ = copyRun "r<b>&'"
                let o = run dir [ "report"; "r<b>&'"; "--out"; "p.html" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let html = File.ReadAllText(Path.Combine(dir, "p.html"))
                Expect.isFalse (html.Contains "r<b>") "no raw markup from the folder's name"
                Expect.stringContains html "r&lt;b&gt;&amp;" "the name, escaped"
                // The replay command quotes the folder for the shell.
                let points =
                    attr html "id=\"s-loss\".*?<script type=\"application/json\" class=\"points\">(.*?)</script>"

                let replay = (parse points).["replay"]
                Expect.equal (replay.GetValue<string>()) "'r<b>&'\\'''" "the replay path, shell-quoted"

            testCase "several runs: one table row per run with run.json's accuracy, curves overlaid"
            <| fun () ->
                let dir, second = copyRun "second"
                let first = Path.Combine(trained.Force(), "r")
                let o = run dir [ "report"; first; "second"; "--out"; "c.html" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let html = File.ReadAllText(Path.Combine(dir, "c.html"))

                let rows =
                    [
                        for m in Regex.Matches(html, "data-v=\"([^\"]*)\" data-key=\"test_accuracy\"") ->
                            num m.Groups[1].Value
                    ]

                let expected = [ first; second ] |> List.map testAccuracy

                Expect.equal rows expected "one row per run, run.json's test accuracy"

                Expect.equal
                    (Regex.Matches(html, "<path class=\"line[^\"]*\" style=\"[^\"]*\" data-run=\"1\"").Count)
                    6
                    "the second run's lines in 3 charts, linear and log"

                expectSelfContained html
        ]

[<Tests>]
let browserTests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "ReportBrowser"
    <| testList
        "ReportBrowser"
        [
            testCase "the console check sees an error (so its silence on our pages means something)"
            <| fun () ->
                let dir = tempDir ()
                let page = Path.Combine(dir, "bad.html")

                File.WriteAllText(
                    page,
                    "<!DOCTYPE html><html><body><script>console.error('seen'); missing();</script></body></html>"
                )

                let _, console = browse page

                Expect.isTrue
                    (console |> List.exists (fun l -> l.Contains "seen"))
                    $"console.error is caught: %A{console}"

                Expect.isTrue (console |> List.exists (fun l -> l.Contains "missing")) "an uncaught error is caught"

            testCase "one run's page in Chromium: no console message, and the readouts hold the journal's last step"
            <| fun () ->
                let dir, runDir = copyRun "live"
                let o = run dir [ "report"; "live" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let dom, console = browse (Path.Combine(runDir, "report.html"))
                expectClean dom console
                let step, loss = journalSteps runDir |> Array.last
                // The readout the script built for the loss chart: its last point, and the command replaying it.
                let readout = attr dom "id=\"s-loss\".*?<div class=\"readout\"[^>]*>(.*?)</div>"
                Expect.equal (attr readout "data-x=\"([^\"]*)\"") (string step) "the last journalled step"

                Expect.floatClose
                    { absolute = 0.0; relative = 1e-5 }
                    (num (attr readout "data-name=\"loss\" data-y=\"([^\"]*)\""))
                    loss
                    "its loss"

                Expect.stringContains
                    readout
                    $"functional replay live --step %d{step}"
                    "the replay command of that step"

                let epochs = (results runDir).["epochs"].AsArray()
                let last = epochs[epochs.Count - 1]
                let acc = attr dom "id=\"e-acc\".*?<div class=\"readout\"[^>]*>(.*?)</div>"

                Expect.floatClose
                    { absolute = 0.0; relative = 1e-5 }
                    (num (attr acc "data-name=\"train\" data-y=\"([^\"]*)\""))
                    (100.0 * last["train_accuracy"].GetValue<float>())
                    "the last epoch's training accuracy"

                Expect.equal
                    (num (attr dom "data-key=\"test_accuracy\" data-value=\"([^\"]*)\""))
                    (testAccuracy runDir)
                    "the test accuracy"

            testCase "train --report: after an epoch a page that reloads itself, at the end the whole page"
            <| fun () ->
                let dir = tempDir ()
                let psi = ProcessStartInfo("dotnet")

                for a in
                    [
                        Path.Combine(AppContext.BaseDirectory, "functional.dll")
                        "train"
                        "--train"
                        dataFile "train-images-idx3-ubyte.gz"
                        "--test"
                        dataFile "test-images-idx3-ubyte.gz"
                        "--layers"
                        "784,32,10"
                        "--train-count"
                        "1000"
                        "--epochs"
                        "4"
                        "--run"
                        "live"
                        "--report"
                        "--quiet"
                    ] do
                    psi.ArgumentList.Add a

                psi.WorkingDirectory <- dir
                psi.RedirectStandardOutput <- true
                psi.RedirectStandardError <- true
                use p = Process.Start psi
                let out = p.StandardOutput.ReadToEndAsync()
                let err = p.StandardError.ReadToEndAsync()
                let page = Path.Combine(dir, "live", "report.html")
                let mutable live = None

                // The page of a run in progress, read while the run goes on (it is renamed into place whole).
                while not p.HasExited && live.IsNone do
                    if File.Exists page then
                        let html = File.ReadAllText page

                        if html.Contains "http-equiv=\"refresh\"" then
                            live <- Some html

                    Threading.Thread.Sleep 20

                p.WaitForExit()
                Expect.equal p.ExitCode 0 $"train --report (stderr: %s{err.Result})"
                let written = Path.Combine("live", "report.html")
                Expect.stringContains out.Result $"report %s{written}" "says where the page is"

                match live with
                | None -> failtest "no self-reloading page was seen while the run trained"
                | Some html ->
                    Expect.stringContains html "class=\"live\"" "says the run is training"
                    let copy = Path.Combine(dir, "live-copy.html")
                    File.WriteAllText(copy, html)
                    let dom, console = browse copy
                    expectClean dom console

                let final = File.ReadAllText page
                Expect.isFalse (final.Contains "http-equiv=\"refresh\"") "the finished run's page stays put"
                Expect.equal (confusion final).Length 100 "and has the model's sections"

                Expect.equal
                    (num (figure final "test_accuracy"))
                    (testAccuracy (Path.Combine(dir, "live")))
                    "run.json's test accuracy"

            testCase "a comparison's page in Chromium: no console message, a row per run"
            <| fun () ->
                let dir, _ = copyRun "one"
                let first = Path.Combine(trained.Force(), "r")
                let o = run dir [ "report"; first; "one"; "--out"; "c.html" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let dom, console = browse (Path.Combine(dir, "c.html"))
                expectClean dom console
                Expect.equal (Regex.Matches(dom, "<tr data-run=").Count) 2 "two rows"
        ]
