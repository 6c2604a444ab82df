/// Pictures and progress: every PNG decodes and has its size, the digit grid shows the image's exact pixels,
/// redirected output holds no escape codes.
module Functional.Tests.PlotTests

open System
open System.Diagnostics
open System.IO
open Expecto
open SkiaSharp
open Functional.Host
open Functional.Tests.EndToEndTests

let private decode (path: string) =
    Expect.isTrue (File.Exists path) $"%s{path} exists"
    let bmp = SKBitmap.Decode path
    Expect.isNotNull bmp $"%s{path} decodes as an image"
    bmp

let private expectPng (path: string) (width: int) (height: int) =
    use bmp = decode path
    Expect.equal (bmp.Width, bmp.Height) (width, height) $"%s{path} size"

/// Text was drawn: some pixels of the strip y0..y1 are dark (the title is black on white).
let private expectText (path: string) (y0: int) (y1: int) =
    use bmp = decode path

    let dark =
        seq {
            // GetPixel outside the bitmap is undefined behaviour in native code: stay inside.
            for y in max 0 y0 .. min bmp.Height y1 - 1 do
                for x in 0 .. bmp.Width - 1 do
                    let c = bmp.GetPixel(x, y)
                    if int c.Red + int c.Green + int c.Blue < 200 then 1 else 0
        }
        |> Seq.sum

    Expect.isGreaterThan dark 50 $"the title strip of %s{path} has text in it"

let private trainSmall (dir: string) =
    let runDir = Path.Combine(dir, "run")

    let t =
        run dir [ "train"; "--epochs"; "2"; "--layers"; "784,16,10"; "--run"; runDir ]

    Expect.equal t.Code 0 $"train: %s{t.Err}"
    t, runDir

/// A copy of the shared small run in DIR/run, for a test that rewrites its journal or redraws its curves.
let private smallCopy (dir: string) =
    let runDir = Path.Combine(dir, "run")
    Fixtures.copyRun (Fixtures.smallRun ()) runDir
    runDir

/// A journal in the shape the training journal writes: step lines every 10 steps, epoch lines, unknown fields.
let private writeJournal (path: string) (torn: bool) (saturation: bool) =
    use w = new StreamWriter(path)

    for step in 0..10..490 do
        let loss = 2.3 * exp (-float step / 100.0) + 0.1

        let sat =
            if saturation then
                sprintf ", \"saturation\": [%g, 0.01]" (0.5 - float step / 1000.0)
            else
                ""

        fprintfn
            w
            "{\"step\": %d, \"epoch\": %d, \"loss\": %g, \"grad_norms\": [%g, %g], \"update_ratios\": [0.01, 0.002], \"weights_hash\": \"ab12\", \"future\": {\"x\": 1}%s}"
            step
            (step / 250 + 1)
            loss
            (1.0 / float (step + 1))
            0.3
            sat

    for e in 1..2 do
        fprintfn
            w
            "{\"kind\": \"epoch\", \"epoch\": %d, \"loss\": %g, \"train_accuracy\": 0.9, \"test_accuracy\": 0.88, \"seconds\": 1.5}"
            e
            (0.5 / float e)

    if torn then
        w.Write "{\"step\": 500, \"epo"

/// Runs functional with stdout redirected to a file by the shell, CI unset and a real TERM; returns the file's bytes.
let private runToFile (cwd: string) (args: string list) =
    let log = Path.Combine(cwd, "out.log")
    let dll = Path.Combine(AppContext.BaseDirectory, "functional.dll")
    let quoted = args |> List.map (fun a -> "'" + a + "'") |> String.concat " "
    let psi = ProcessStartInfo("sh")
    psi.ArgumentList.Add "-c"
    psi.ArgumentList.Add $"dotnet '%s{dll}' %s{quoted} > '%s{log}'"
    psi.WorkingDirectory <- cwd
    psi.RedirectStandardError <- true
    psi.Environment.Remove "CI" |> ignore
    psi.Environment["TERM"] <- "xterm-256color"
    use p = Process.Start psi
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    Expect.equal p.ExitCode 0 $"exit code (stderr: %s{err})"
    File.ReadAllBytes log

[<Tests>]
let tests =
    testList
        "Pictures"
        [
            testCase "doctor --png draws each layer's activation and gradient histograms"
            <| fun () ->
                let dir = tempDir ()
                let png = Path.Combine(dir, "health.png")
                let d = run repo [ "doctor"; "--preset"; "seed"; "--png"; png ]
                Expect.equal d.Code 1 $"the seed preset fails the doctor: %s{d.Err}"
                Expect.stringContains d.Out $"png    %s{png}" "names the picture"
                expectPng png HistogramsPlot.Width (HistogramsPlot.HeightFor 2)
                expectText png 0 40

            testCase "train draws curves.png; plot redraws it with the journal, a torn last line skipped"
            <| fun () ->
                let dir = tempDir ()
                let t, runDir = trainSmall dir
                let curves = Path.Combine(runDir, "curves.png")
                Expect.stringContains t.Out $"plot  %s{curves}" "train names the picture"
                expectPng curves CurvesPlot.Width CurvesPlot.Height
                expectText curves 0 CurvesPlot.TitleHeight
                writeJournal (Path.Combine(runDir, "journal.jsonl")) true true
                let out = Path.Combine(dir, "c.png")
                let p = run dir [ "plot"; runDir; "--out"; out ]
                Expect.equal p.Code 0 $"plot: %s{p.Err}"
                expectPng out CurvesPlot.Width CurvesPlot.Height
                let h = RunHistory.Load runDir
                Expect.equal h.Steps.Count 50 "50 step lines, the torn one skipped"
                Expect.equal h.Epochs.Count 2 "the journal's epoch lines"
                Expect.equal h.Steps[3].GradNorms.Length 2 "two layers"
                Expect.isSome (Option.ofObj h.Steps[3].Saturation) "saturation read"
                Directory.Delete(dir, true)

            testCase "a journal without saturation still draws; the history says which data is missing"
            <| fun () ->
                let dir = tempDir ()
                let runDir = smallCopy dir
                writeJournal (Path.Combine(runDir, "journal.jsonl")) false false
                let p = run dir [ "plot"; runDir ]
                Expect.equal p.Code 0 $"plot: %s{p.Err}"
                expectPng (Path.Combine(runDir, "curves.png")) CurvesPlot.Width CurvesPlot.Height
                let h = RunHistory.Load runDir
                Expect.isTrue (h.Steps |> Seq.forall (fun s -> isNull s.Saturation)) "no saturation"
                Directory.Delete(dir, true)

            testCase "train journals dead ReLU units per layer; the panel draws them"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Fixtures.smallRun ()
                let h = RunHistory.Load runDir
                Expect.isGreaterThan h.Steps.Count 0 "journalled steps"

                for s in h.Steps do
                    Expect.isNotNull s.Dead $"step %d{s.Step} has \"dead\""
                    Expect.isTrue (s.Dead[0] >= 0.0 && s.Dead[0] <= 1.0) "the ReLU layer's dead fraction"
                    Expect.isTrue (Double.IsNaN s.Dead[1]) "the softmax layer has none"

                let u = CurvesPlot.Units h

                Expect.equal
                    (u.Series |> Seq.map _.Label |> List.ofSeq)
                    [ "layer 1 (layers.0): dead (ReLU)" ]
                    "one line"

                // The run's last batch is small, so the tiny-batch note (PapercutTests) may stand beside it.
                Expect.contains
                    (List.ofSeq u.Notes)
                    "not measured: layer 2 (layers.1): neither sigmoid/tanh nor ReLU"
                    "a note"

                Directory.Delete(dir, true)

            testCase "unit panel: saturated and dead lines, a note for unmeasured layers, 0 and 1 inside the axes"
            <| fun () ->
                let dir = tempDir ()
                let journal = Path.Combine(dir, "journal.jsonl")

                File.WriteAllLines(
                    journal,
                    [
                        for step in 0..10..40 ->
                            $"{{\"step\": %d{step}, \"loss\": 1, \"grad_norms\": [1, 1, 1], \"saturation\": [null, 1, null], \"dead\": [0, null, null]}}"
                    ]
                )

                let u = CurvesPlot.Units(RunHistory.Load dir)

                Expect.equal
                    (u.Series |> Seq.map (fun s -> s.Label, List.ofArray s.Fractions) |> List.ofSeq)
                    [
                        "layer 1 (layers.0): dead (ReLU)", List.replicate 5 0.0
                        "layer 2 (layers.1): saturated", List.replicate 5 1.0
                    ]
                    "dead for the ReLU layer, saturated for the sigmoid one"

                Expect.equal
                    (List.ofSeq u.Notes)
                    [ "not measured: layer 3 (layers.2): neither sigmoid/tanh nor ReLU" ]
                    "note"

                let limits = (CurvesPlot.Saturation(RunHistory.Load dir)).Axes.GetLimits()
                Expect.isLessThan limits.Bottom 0.0 "a line on 0 is inside the plot"
                Expect.isGreaterThan limits.Top 1.0 "a line on 1 is inside the plot"
                // An older journal: ReLU layers have no saturation and there is no "dead" field.
                File.WriteAllText(
                    journal,
                    "{\"step\": 0, \"loss\": 1, \"grad_norms\": [1, 1], \"saturation\": [null, null]}\n"
                )

                let old = CurvesPlot.Units(RunHistory.Load dir)
                Expect.isEmpty old.Series "no line"

                Expect.stringContains
                    (String.concat " " old.Notes)
                    "layer 1 (layers.0), layer 2 (layers.1)"
                    "both layers noted"

                Expect.stringContains (String.concat " " old.Notes) "no \"dead\" field" "and why"
                Directory.Delete(dir, true)

            testCase "the loss axes say what was plotted: summed over the batch for --reduction sum"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Path.Combine(dir, "run")

                let t =
                    run
                        dir
                        [
                            "train"
                            "--epochs"
                            "1"
                            "--layers"
                            "784,16,10"
                            "--reduction"
                            "sum"
                            "--lr"
                            "0.001"
                            "--run"
                            runDir
                        ]

                Expect.equal t.Code 0 $"train: %s{t.Err}"
                let h = RunHistory.Load runDir
                Expect.equal h.Reduction "sum" "run.json's reduction"
                Expect.stringContains (CurvesPlot.EpochLossLabel h.Reduction) "summed" "epoch loss axis"
                Expect.stringContains (CurvesPlot.StepLossLabel h.Reduction) "summed" "step loss axis"
                Expect.isFalse ((CurvesPlot.EpochLossLabel h.Reduction).StartsWith "mean") "not \"mean loss\""
                Expect.equal (CurvesPlot.EpochLossLabel "mean") "mean loss per example" "mean runs"
                Directory.Delete(dir, true)

            testCase "a script's plot and drift.png title both axes of every panel"
            <| fun () ->
                let titled (what: string) (p: ScottPlot.Plot) =
                    Expect.isNotEmpty p.Axes.Bottom.Label.Text $"%s{what}: the x axis is titled"
                    Expect.isNotEmpty p.Axes.Left.Label.Text $"%s{what}: the y axis is titled"

                let series = SeriesPlot.Build("loss", "step", "training loss", [| 2.3; 1.1; 0.7 |])
                titled "Scripting.fsx's plot" series
                Expect.equal series.Axes.Bottom.Label.Text "step" "the x title given"
                Expect.equal series.Axes.Left.Label.Text "training loss" "the y title given"
                let dir = tempDir ()

                expectPng
                    (Plots.Series(Path.Combine(dir, "loss.png"), "loss", "step", "loss", [| 1.0; 0.5 |]))
                    SeriesPlot.Width
                    SeriesPlot.Height

                let layer l : Functional.Trajectory.LayerDrift =
                    {
                        Layer = l
                        WeightRel = 1e-7
                        GradRel = 1e-6
                        GradCosine = 1.0
                        Entries = 10
                    }

                let report: Functional.Trajectory.Report =
                    {
                        From = 0L
                        Samples =
                            [|
                                for t in [ 30L; 60L ] ->
                                    {
                                        T = t
                                        Step = t
                                        Loss32 = 1.0
                                        Loss64 = 1.0
                                        Agreement = 1.0
                                        Layers = [| layer 0; layer 1 |]
                                    }
                            |]
                        FirstBeyondStep = -1L
                        FirstBeyondLayer = -1
                        Problem = ""
                        Measured = 40L
                        Verdict = ""
                    }

                DriftPlot.Panels(report, "drift")
                |> Array.iteri (fun i p -> titled $"drift.png panel %d{i + 1}" p)

            testCase "plot: a bad journal line or a folder that is not a run is one line, exit 3"
            <| fun () ->
                let dir = tempDir ()
                let runDir = smallCopy dir
                let journal = Path.Combine(runDir, "journal.jsonl")
                File.WriteAllText(journal, "{\"step\": 1, \"loss\": 2}\nnot json\n{\"step\": 2, \"loss\": 1}\n")
                expectOneLineError (run dir [ "plot"; runDir ]) 3 [ "journal.jsonl"; "line 2" ]
                expectOneLineError (run dir [ "plot"; dir ]) 3 [ "not a run folder" ]
                Directory.Delete(dir, true)

            testCase "show: the grid's first cell is the first image, pixel for pixel"
            <| fun () ->
                let dir = tempDir ()
                let png = Path.Combine(dir, "digits.png")
                let s = run dir [ "show"; "--count"; "25"; "--out"; png ]
                Expect.equal s.Code 0 $"show: %s{s.Err}"
                let images = Data.DataFiles.Load(dataFile "test-images-idx3-ubyte.gz", null)

                let struct (w, h) = DigitGrid.Size(25, images.Rows, images.Cols)

                expectPng png w h
                expectText png 0 DigitGrid.TitleHeight
                use bmp = decode png
                let struct (x0, y0) = DigitGrid.ImageOrigin(0, 25, images.Rows, images.Cols)
                let scale = DigitGrid.ScaleFor(images.Rows, images.Cols)
                Expect.equal scale DigitGrid.Scale "28×28 images keep the scale"
                let mutable differences = 0

                for r in 0 .. images.Rows - 1 do
                    for c in 0 .. images.Cols - 1 do
                        let v = images.Pixels[r * images.Cols + c]

                        for dy in 0 .. scale - 1 do
                            for dx in 0 .. scale - 1 do
                                let p = bmp.GetPixel(x0 + c * scale + dx, y0 + r * scale + dy)

                                if p.Red <> v || p.Green <> v || p.Blue <> v || p.Alpha <> 255uy then
                                    differences <- differences + 1

                Expect.equal differences 0 "every pixel of the first cell equals the first image's"
                Directory.Delete(dir, true)

            testCase "digit grid of 1×2 images: cells are scaled so neighbouring labels do not overlap"
            <| fun () ->
                let dir = tempDir ()
                let png = Path.Combine(dir, "tiny.png")
                let count = 9
                let pixels = Array.init (count * 2) (fun i -> byte (i * 13))
                let labels = Array.init count (fun i -> byte (i * 30))
                let predictions = Array.init count (fun i -> 255 - i)

                DigitGrid.Write(png, pixels, labels, 1, 2, Array.init count id, predictions, "tiny")
                |> ignore

                let struct (w, h) = DigitGrid.Size(count, 1, 2)
                expectPng png w h
                use font = new SKFont(PlotFonts.Typeface true, DigitGrid.LabelSize)
                let widest = font.MeasureText "255 → 255"
                let struct (x0, _) = DigitGrid.ImageOrigin(0, count, 1, 2)
                let struct (x1, _) = DigitGrid.ImageOrigin(1, count, 1, 2)
                let scale = DigitGrid.ScaleFor(1, 2)
                Expect.isGreaterThanOrEqual (float32 (2 * scale)) widest "a cell is as wide as the widest label"
                Expect.isGreaterThan (float32 (x1 - x0)) widest "labels of neighbouring cells are apart"
                // The second image pixel of the first cell is drawn at the new scale.
                use bmp = decode png
                let p = bmp.GetPixel(x0 + scale + scale / 2, DigitGrid.TitleHeight + scale / 2)
                Expect.equal (p.Red, p.Green, p.Blue) (13uy, 13uy, 13uy) "image pixel (0, 1)"
                Directory.Delete(dir, true)

            testCase "show --model: predictions, wrong ones counted"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Fixtures.smallRun ()
                let png = Path.Combine(dir, "p.png")
                let s = run dir [ "show"; "--model"; runDir; "--count"; "16"; "--out"; png ]
                Expect.equal s.Code 0 $"show: %s{s.Err}"
                Expect.stringContains s.Out "of 16 right" "counts right and wrong"
                let struct (w, h) = DigitGrid.Size(16, 28, 28)
                expectPng png w h
                Directory.Delete(dir, true)

            testCase "eval --png: the confusion heatmap"
            <| fun () ->
                let dir = tempDir ()
                let runDir = Fixtures.smallRun ()
                let png = Path.Combine(dir, "cm.png")
                let e = run dir [ "eval"; "--model"; runDir; "--png"; png ]
                Expect.equal e.Code 0 $"eval: %s{e.Err}"
                expectPng png ConfusionPlot.Width ConfusionPlot.Height
                Directory.Delete(dir, true)

            testCase "histograms of activations and gradients per layer"
            <| fun () ->
                let dir = tempDir ()
                let png = Path.Combine(dir, "h.png")
                let rng = Random 1

                let values n f =
                    Array.init n (fun _ -> f (rng.NextDouble()))

                let layers =
                    [|
                        LayerValues("layer 1", values 1000 (fun u -> max 0.0 (u - 0.3)), values 1000 (fun u -> u - 0.5))
                        LayerValues("layer 2", values 1000 (fun u -> 1.0 / (1.0 + exp (-10.0 * (u - 0.5)))), [||])
                    |]

                Plots.Histograms(png, layers) |> ignore
                expectPng png HistogramsPlot.Width (HistogramsPlot.HeightFor 2)
                Directory.Delete(dir, true)

            testCase "histogram ticks on a tiny range are distinct, in scientific notation"
            <| fun () ->
                let tickLabels (values: float[]) =
                    let p = HistogramsPlot.Histogram("h", values, ScottPlot.Colors.SteelBlue)
                    p.GetImage(600, 300) |> ignore

                    p.Axes.Bottom.TickGenerator.Ticks |> Array.filter _.IsMajor |> Array.map _.Label

                let tiny = tickLabels (Array.init 100 (fun i -> float i * 1e-9))
                Expect.isGreaterThan tiny.Length 2 "several ticks"
                Expect.equal (Array.distinct tiny).Length tiny.Length $"distinct labels: %A{tiny}"
                Expect.isTrue (tiny |> Array.exists (fun l -> l.Contains "E-")) $"scientific: %A{tiny}"
                let shifted = tickLabels (Array.init 100 (fun i -> 1.0 + float i * 1e-9))
                Expect.equal (Array.distinct shifted).Length shifted.Length $"distinct labels near 1: %A{shifted}"
                let plain = tickLabels (Array.init 100 (fun i -> float i / 100.0 - 0.5))
                Expect.contains plain "0" $"an ordinary range keeps ordinary labels: %A{plain}"
                Expect.isFalse (plain |> Array.exists (fun l -> l.Contains "E")) $"no exponent: %A{plain}"

            testCase "every font lookup gives the shipped DejaVu Sans, so no system font is needed"
            <| fun () ->
                PlotFonts.Register()
                Expect.equal ScottPlot.Fonts.Default PlotFonts.Family "the default font"

                for name in [ "Arial"; "sans-serif"; "Segoe UI"; PlotFonts.Family ] do
                    for bold in [ false; true ] do
                        // ScottPlot caches typefaces: do not dispose them.
                        let face = ScottPlot.Fonts.GetTypeface(name, bold, false)
                        Expect.equal face.FamilyName PlotFonts.Family $"%s{name}, bold %b{bold}"

            testCase "output redirected to a file holds no escape byte (train, bench), CI unset"
            <| fun () ->
                let dir = tempDir ()

                let train =
                    runToFile
                        dir
                        [
                            "train"
                            "--epochs"
                            "2"
                            "--layers"
                            "784,16,10"
                            "--run"
                            Path.Combine(dir, "r")
                        ]

                Expect.isFalse (Array.contains 27uy train) "no ESC in train's log"
                let text = Text.Encoding.UTF8.GetString train
                Expect.stringContains text "epoch   2/2" "the plain epoch lines"
                Expect.stringContains text "test accuracy: " "the last line"
                let bench = runToFile dir [ "bench"; "--seconds"; "0.05" ]
                Expect.isFalse (Array.contains 27uy bench) "no ESC in bench's log"
                Directory.Delete(dir, true)

            testCase "plain progress writes the lines, nothing else"
            <| fun () ->
                use w = new StringWriter()
                use p = Progress.Plain w
                p.Step(1L, 1, 2, 0.5, 32)
                p.Next "case 1"
                p.Line "epoch 1/2"
                Expect.isFalse p.IsLive "not live"
                Expect.equal (w.ToString()) ("epoch 1/2" + Environment.NewLine) "only the line"
        ]
