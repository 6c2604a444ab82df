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
let private browseAt (page: string) (fragment: string) =
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
            Uri(Path.GetFullPath page).AbsoluteUri + fragment
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

let private browse (page: string) = browseAt page ""

/// The page ran its whole script without an error and logged nothing.
let private expectClean (dom: string) (console: string list) =
    Expect.isEmpty console "no console message (errors, refused requests)"
    Expect.stringContains dom "data-ready=\"1\"" "the script ran to its end"
    Expect.isFalse (dom.Contains "data-errors=") "no script error"


/// One chart of the page (report's HTML or Chromium's DOM): from its <figure> to the figure's end.
let private chartOf (html: string) (id: string) =
    let start = html.IndexOf($"id=\"%s{id}\"")
    Expect.isGreaterThanOrEqual start 0 $"the page has the chart %s{id}"
    html.Substring(start, html.IndexOf("</figure>", start) - start)

/// A chart's points as the page holds them beside the SVG.
let private pointsOf (html: string) (id: string) =
    parse (attr (chartOf html id) "<script type=\"application/json\" class=\"points\">(.*?)</script>")

/// The tensors of a safetensors file, from its header: (name, shape).
let private tensorShapes (path: string) =
    let bytes = File.ReadAllBytes path
    let length = int (BitConverter.ToUInt64(bytes, 0))

    let header =
        JsonNode.Parse(Text.Encoding.UTF8.GetString(bytes, 8, length)).AsObject()

    [
        for kv in header do
            if kv.Key <> "__metadata__" then
                kv.Key,
                kv.Value["shape"].AsArray()
                |> Seq.map (fun n -> n.GetValue<int>())
                |> List.ofSeq
    ]

/// What Chromium shows of one run's page, against the run's files: the figures and run.json, the readouts and the
/// journal's last step, and a weight histogram per weight tensor of model.safetensors holding every weight of it.
let private expectRunPage (runDir: string) (dom: string) =
    let r = results runDir
    Expect.equal (num (figure dom "test_accuracy")) (r["test_accuracy"].GetValue<float>()) "run.json's test accuracy"
    Expect.equal (int64 (figure dom "steps")) (r["steps"].GetValue<int64>()) "run.json's steps"
    let steps = journalSteps runDir
    Expect.equal (int (figure dom "journal_steps")) steps.Length "the journal's step lines"
    let step, loss = Array.last steps
    let readout = attr (chartOf dom "s-loss") "<div class=\"readout\"[^>]*>(.*?)</div>"
    Expect.equal (attr readout "data-x=\"([^\"]*)\"") (string step) "the loss readout: the last journalled step"

    Expect.floatClose
        { absolute = 0.0; relative = 1e-5 }
        (num (attr readout "data-name=\"loss\" data-y=\"([^\"]*)\""))
        loss
        "its loss"

    let epochs = r["epochs"].AsArray()
    let lastEpoch = epochs[epochs.Count - 1]
    let acc = attr (chartOf dom "e-acc") "<div class=\"readout\"[^>]*>(.*?)</div>"

    Expect.floatClose
        { absolute = 0.0; relative = 1e-5 }
        (num (attr acc "data-name=\"train\" data-y=\"([^\"]*)\""))
        (100.0 * lastEpoch["train_accuracy"].GetValue<float>())
        "the last epoch's training accuracy"

    let weights =
        tensorShapes (Path.Combine(runDir, "model.safetensors"))
        |> List.filter (fun (name, shape) ->
            shape.Length >= 2
            && (name.EndsWith ".weight" || name.EndsWith ".centres" || name.Contains ".weight_"))

    Expect.isNonEmpty weights "the model has weight tensors"

    for name, shape in weights do
        let series = (pointsOf dom ("w-" + name.Replace('.', '-'))).["series"].AsArray()
        Expect.equal series.Count 2 $"%s{name}: the model's histogram and the first checkpoint's"

        for s in series do
            let total = s["ys"].AsArray() |> Seq.sumBy (fun n -> n.GetValue<float>())
            Expect.equal total (float (List.fold (fun a b -> a * b) 1 shape)) $"%s{name}: every weight in one bin"

/// report on a run (or sweep) written to a page of the test's, opened in Chromium: clean, and its DOM.
let private reportInBrowser (target: string) =
    let dir = tempDir ()
    let page = Path.Combine(dir, "page.html")
    let o = run dir [ "report"; target; "--out"; page ]
    Expect.equal o.Code 0 $"report %s{target} (stderr: %s{o.Err})"
    let dom, console = browse page
    expectClean dom console
    dom

let private kindTest (kind: string) (what: string) (extra: string -> string -> unit) =
    testCase $"%s{what} run's page in Chromium: clean, its figures those of run.json, the journal and the model"
    <| fun () ->
        let runDir = Fixtures.kindRun kind
        let dom = reportInBrowser runDir
        expectRunPage runDir dom
        extra runDir dom

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

            testCase "a dense run zoomed from the address: the step charts show the journal's steps in the range"
            <| fun () ->
                let dir, runDir = copyRun "zoom"
                let o = run dir [ "report"; "zoom" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                let dom, console = browseAt (Path.Combine(runDir, "report.html")) "#zoom=10-40"
                expectClean dom console

                let inside =
                    journalSteps runDir |> Array.filter (fun (s, _) -> s >= 10L && s <= 40L)

                Expect.isGreaterThan inside.Length 2 "the range holds journalled steps"

                for id in [ "s-loss"; "s-lr"; "s-grad" ] do
                    let chart = chartOf dom id
                    Expect.stringContains chart "data-zoom=\"10-40\"" $"%s{id} is zoomed as the address says"

                    Expect.stringContains
                        chart
                        "<g class=\"zoomed\" data-from=\"10\" data-to=\"40\">"
                        $"%s{id}: drawn zoomed"

                    for m in Regex.Matches(chart, "class=\"tick xt\"[^>]* data-v=\"([^\"]*)\"") do
                        let v = num m.Groups[1].Value
                        Expect.isTrue (v >= 10.0 && v <= 40.0) $"%s{id}: an x tick (%g{v}) inside the range"

                let chart = chartOf dom "s-loss"

                Expect.equal
                    (int (attr chart "data-n=\"(\\d+)\" data-name=\"loss\""))
                    inside.Length
                    "one point per journalled step in the range"

                let readout = attr chart "<div class=\"readout\"[^>]*>(.*?)</div>"
                let last, loss = Array.last inside
                Expect.equal (attr readout "data-x=\"([^\"]*)\"") (string last) "the readout: the range's last step"

                Expect.floatClose
                    { absolute = 0.0; relative = 1e-5 }
                    (num (attr readout "data-name=\"loss\" data-y=\"([^\"]*)\""))
                    loss
                    "its loss"

                Expect.isFalse ((chartOf dom "e-loss").Contains "data-zoom") "the epoch charts keep their own zoom"
                let whole, _ = browse (Path.Combine(runDir, "report.html"))
                Expect.isFalse (whole.Contains "<g class=\"zoomed\"") "without the address's zoom, every point"

            testCase "zoom from the keyboard, by dragging and with the buttons: the charts and the address follow"
            <| fun () ->
                let dir, runDir = copyRun "keys"
                let o = run dir [ "report"; "keys" ]
                Expect.equal o.Code 0 $"report (stderr: %s{o.Err})"
                // The page with a script after its own that works it as a user would, noting what it sees each time
                // (--dump-dom cannot press keys): 0 resets the address's zoom, + halves it, a drag across the middle
                // half of the plot zooms into it, the reset button shows everything.
                let probe =
                    """<script>(function () {
                      var f = document.getElementById("s-loss"), svg = f.querySelector("svg"), root = document.documentElement;
                      function note(name) { root.setAttribute("data-t-" + name, (f.getAttribute("data-zoom") || "none") + "|" + (document.getElementById("s-lr").getAttribute("data-zoom") || "none") + "|" + location.hash); }
                      function key(k) { svg.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true })); }
                      svg.focus(); key("0"); note("reset");
                      key("+"); note("plus");
                      var r = svg.getBoundingClientRect(), k = r.width / 640, y = r.top + r.height / 2;
                      function pointer(type, x) { svg.dispatchEvent(new PointerEvent(type, { clientX: r.left + x * k, clientY: y, bubbles: true, pointerId: 1 })); }
                      pointer("pointerdown", 62 + 144); pointer("pointermove", 62 + 432); pointer("pointerup", 62 + 432); note("drag");
                      f.querySelector("button.zreset").click(); note("button");
                    })();</script></body>"""

                let page = Path.Combine(runDir, "probe.html")
                File.WriteAllText(page, File.ReadAllText(Path.Combine(runDir, "report.html")).Replace("</body>", probe))
                let dom, console = browseAt page "#zoom=10-40"
                expectClean dom console

                let seen name =
                    let parts = (attr dom $"data-t-%s{name}=\"([^\"]*)\"").Split '|'
                    parts[0], parts[1], parts[2]

                let range (zoom: string) =
                    let m = Regex.Match(zoom, "^(\\d+)-(\\d+)$")
                    Expect.isTrue m.Success $"a step range: %s{zoom}"
                    float m.Groups[1].Value, float m.Groups[2].Value

                Expect.equal (seen "reset") ("none", "none", "") "0: every point, and the address says no zoom"
                let plus, lr, hash = seen "plus"
                let a, b = range plus
                let steps = journalSteps runDir |> Array.map (fst >> float)
                let span = Array.last steps - steps[0]
                Expect.isTrue (abs ((b - a) - span / 2.0) <= 1.0) $"+ halves the range (%s{plus} of %g{span} steps)"
                Expect.equal lr plus "the other step charts zoom with it"
                Expect.equal hash $"#zoom=%s{plus}" "the address holds the zoom"
                let drag, lr, hash = seen "drag"
                let c, d = range drag
                let quarter = (b - a) / 4.0

                Expect.isTrue
                    (abs (c - (a + quarter)) <= 1.0 && abs (d - (b - quarter)) <= 1.0)
                    $"the drag zoomed into the middle half of %s{plus}: %s{drag}"

                Expect.equal lr drag "the other step charts follow the drag"
                Expect.equal hash $"#zoom=%s{drag}" "the address holds the dragged zoom"
                Expect.equal (seen "button") ("none", "none", "") "the reset button: every point again"

            kindTest "conv" "a convolutional" (fun _ dom ->
                Expect.stringContains dom "<h2>First layer</h2>" "the first layer's filters"
                Expect.stringContains dom "filters of 1x5x5" "the 5×5 convolution's filters")

            kindTest "lstm" "an LSTM" (fun _ dom ->
                Expect.stringContains dom "train lstm 8, dense 10 softmax" "the configuration line"
                Expect.stringContains dom "id=\"w-layers-0-weight_ih_l0\"" "the input weights' histogram"
                Expect.stringContains dom "id=\"w-layers-0-weight_hh_l0\"" "the recurrent weights' histogram")

            kindTest "rbf" "an RBF" (fun _ dom ->
                Expect.stringContains dom "<h2>First layer</h2>" "the RBF centres"
                Expect.stringContains dom "id=\"w-layers-0-centres\"" "the centres' histogram")

            kindTest "adversarial" "an adversarially trained" (fun _ dom ->
                Expect.stringContains
                    dom
                    "adversarial fgsm:0.1 weight 0.5"
                    "the configuration line says how it trained")

            testCase
                "a sweep's page in Chromium: clean, a row per point with its run.json accuracy, the grid as a column"
            <| fun () ->
                let dir = tempDir ()

                let o =
                    run
                        dir
                        [
                            "sweep"
                            "--name"
                            "s"
                            "--layers"
                            "784,16,10"
                            "--lr"
                            "0.001,0.01"
                            "--train-count"
                            "200"
                            "--epochs"
                            "1"
                            "--jobs"
                            "1"
                            "--quiet"
                        ]

                Expect.equal o.Code 0 $"sweep (stderr: %s{o.Err})"
                let dom = reportInBrowser (Path.Combine(dir, "sweeps", "s"))

                let rows =
                    [
                        for m in Regex.Matches(dom, "data-v=\"([^\"]*)\" data-key=\"test_accuracy\"") ->
                            num m.Groups[1].Value
                    ]

                let expected =
                    [ "lr=0.001"; "lr=0.01" ]
                    |> List.map (fun p -> testAccuracy (Path.Combine(dir, "sweeps", "s", p)))

                Expect.equal (List.sort rows) (List.sort expected) "a row per point, run.json's test accuracy"
                Expect.equal (Regex.Matches(dom, "<tr data-run=").Count) 2 "two rows"
                Expect.stringContains dom ">lr<" "the sweep's grid as a column"
        ]
