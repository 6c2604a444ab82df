/// Tables (tabular CSV): the reader, its bad inputs, the label checks, and the command line around them.
module Functional.Tests.TableTests

open System
open System.Globalization
open System.IO
open System.IO.Compression
open System.Text
open System.Text.Json.Nodes
open Expecto
open Functional.Host
open Functional.Host.Data
open Functional.Tests.EndToEndTests

let private inv (x: float32) =
    x.ToString("R", CultureInfo.InvariantCulture)

/// Rows of random floats (a seeded stream) with labels drawn from `labels`.
let private randomTable (seed: int) (rows: int) (features: int) (labels: string[]) =
    let rng = Random seed

    Array.init rows (fun _ ->
        labels[rng.Next labels.Length], Array.init features (fun _ -> float32 (rng.NextDouble() * 200.0 - 100.0)))

let private write (path: string) (text: string) =
    File.WriteAllText(path, text)
    path

let private gzipText (path: string) (text: string) =
    use file = File.Create path
    use z = new GZipStream(file, CompressionLevel.Fastest)
    let bytes = Encoding.UTF8.GetBytes text
    z.Write(bytes, 0, bytes.Length)
    path

let private gzipBytes (text: string) =
    use ms = new MemoryStream()

    do
        use z = new GZipStream(ms, CompressionLevel.Fastest, true)
        let bytes = Encoding.UTF8.GetBytes text
        z.Write(bytes, 0, bytes.Length)

    ms.ToArray()

let private expectDataError (path: string) (mentions: string list) (f: unit -> 'a) =
    try
        f () |> ignore
        failtest "expected a DataError"
    with :? DataError as e ->
        Expect.equal e.FilePath path "names the file"
        Expect.isFalse (e.Message.Contains '\n') "one line"
        Expect.isLessThan e.Message.Length 400 "short"

        for m in mentions do
            Expect.stringContains e.Message m "says what is wrong"

let private valuesOf (table: (string * float32[])[]) = table |> Array.collect snd

/// Iris-like measurements: per species, independent normals with the means and standard deviations of Fisher's iris
/// (cm; setosa stands apart, versicolor and virginica overlap), rounded to 0.1 as iris is; `perClass` rows of each,
/// in a seeded shuffle.
let private irisLike (seed: int) (perClass: int) =
    let species =
        [|
            "setosa", [| 5.006; 3.428; 1.462; 0.246 |], [| 0.352; 0.379; 0.174; 0.105 |]
            "versicolor", [| 5.936; 2.770; 4.260; 1.326 |], [| 0.516; 0.314; 0.470; 0.198 |]
            "virginica", [| 6.588; 2.974; 5.552; 2.026 |], [| 0.636; 0.322; 0.552; 0.275 |]
        |]

    let rng = Random seed

    let normal () =
        sqrt (-2.0 * log (1.0 - rng.NextDouble()))
        * cos (2.0 * Math.PI * rng.NextDouble())

    let rows =
        [|
            for c, (_, mean, sd) in Array.indexed species do
                for _ in 1..perClass -> c, Array.init 4 (fun j -> Math.Round(mean[j] + sd[j] * normal (), 1))
        |]

    let order = Array.init rows.Length (fun _ -> rng.Next())
    Array.zip order rows |> Array.sortBy fst |> Array.map snd, species |> Array.map (fun (n, _, _) -> n)

let private writeIris (path: string) (names: string[]) (rows: (int * float[])[]) =
    let line (c: int, x: float[]) =
        String.Join(",", x |> Array.map (fun v -> v.ToString("0.0", CultureInfo.InvariantCulture)))
        + ","
        + names[c]

    write
        path
        ("sepal_length,sepal_width,petal_length,petal_width,species\n"
         + String.Join("\n", Array.map line rows)
         + "\n")

/// The bar, from a classifier that shares nothing with the product: softmax regression on the training rows'
/// z-scores, by 2,000 steps of full-batch gradient descent (rate 0.5), then its accuracy (%) on `test`.
let private logisticAccuracy (classes: int) (train: (int * float[])[]) (test: (int * float[])[]) =
    let f = (snd train[0]).Length
    let n = float train.Length
    let mean = Array.init f (fun j -> train |> Array.averageBy (fun (_, x) -> x[j]))

    let sd =
        Array.init f (fun j -> sqrt (train |> Array.averageBy (fun (_, x) -> (x[j] - mean[j]) ** 2.0)))

    let z (x: float[]) =
        Array.init f (fun j -> (x[j] - mean[j]) / sd[j])

    let w = Array2D.zeroCreate<float> classes (f + 1)

    let probs (x: float[]) =
        let s =
            Array.init classes (fun c -> w[c, f] + Seq.sum (Seq.init f (fun j -> w[c, j] * x[j])))

        let top = Array.max s
        let e = s |> Array.map (fun v -> exp (v - top))
        e |> Array.map (fun v -> v / Array.sum e)

    let zs = train |> Array.map (fun (y, x) -> y, z x)

    for _ in 1..2000 do
        let g = Array2D.zeroCreate<float> classes (f + 1)

        for y, x in zs do
            let p = probs x

            for c in 0 .. classes - 1 do
                let d = (p[c] - (if c = y then 1.0 else 0.0)) / n
                g[c, f] <- g[c, f] + d

                for j in 0 .. f - 1 do
                    g[c, j] <- g[c, j] + d * x[j]

        for c in 0 .. classes - 1 do
            for j in 0..f do
                w[c, j] <- w[c, j] - 0.5 * g[c, j]

    let right =
        test
        |> Array.filter (fun (y, x) ->
            let p = probs (z x)
            Array.findIndex ((=) (Array.max p)) p = y)

    100.0 * float right.Length / float test.Length

/// The line train (or doctor, gradcheck) prints its configuration on.
let private configLine (command: string) (out: string) =
    out.Split('\n') |> Array.find (fun l -> l.StartsWith(command + " "))

[<Tests>]
let tests =
    testList
        "Table"
        [
            testList
                "reader"
                [
                    testCase "floats with a header, '; ' separators, gzip and the label column named"
                    <| fun () ->
                        let dir = tempDir ()
                        let table = randomTable 7 30 3 [| "0"; "1"; "2" |]

                        let text =
                            "a; b; y; c\n"
                            + String.Join(
                                "\n",
                                table |> Array.map (fun (l, v) -> $"{inv v[0]}; {inv v[1]}; {l}; {inv v[2]}")
                            )
                            + "\n"

                        for path in
                            [
                                write (Path.Combine(dir, "t.csv")) text
                                gzipText (Path.Combine(dir, "t.csv.gz")) text
                            ] do
                            let d = DataFiles.Load(path, null, TableOptions(LabelColumn = "y"), null)
                            Expect.isTrue d.IsTable "a table"
                            Expect.equal d.Count 30 "rows"
                            Expect.equal d.Features 3 "features"
                            Expect.equal d.Values (valuesOf table) "the values as written, in order"
                            Expect.equal d.Labels (table |> Array.map (fst >> byte)) "integer labels are the classes"
                            Expect.isNull d.ClassNames "integer labels have no names"

                    testCase "tab separators, no header, the label last and text labels in sorted order"
                    <| fun () ->
                        let dir = tempDir ()
                        let names = [| "setosa"; "virginica"; "versicolor" |]
                        let table = randomTable 11 20 2 names
                        let line (l, v: float32[]) = $"{inv v[0]}\t{inv v[1]}\t{l}"

                        let path =
                            write (Path.Combine(dir, "t.tsv")) (String.Join("\n", table |> Array.map line))

                        let d = DataFiles.Load(path, null, TableOptions(LabelColumn = "last"), null)
                        let sorted = Array.sort names
                        Expect.equal d.ClassNames sorted "names sorted (ordinal)"

                        Expect.equal
                            (d.Labels |> Array.map (fun c -> d.ClassNames[int c]))
                            (table |> Array.map fst)
                            "each row's label names its class"

                        // A test file seen first by another order keeps the training set's numbering.
                        let test = write (Path.Combine(dir, "u.tsv")) "1\t2\tversicolor\n3\t4\tsetosa\n"

                        let t = DataFiles.Load(test, null, TableOptions(LabelColumn = "last"), d.ClassNames)
                        Expect.equal t.Labels [| 1uy; 0uy |] "the training set's class numbers"

                    testCase "an MNIST CSV still loads as bytes, exactly as the CSV reader reads it"
                    <| fun () ->
                        let path = dataFile "mnist_test_10.csv"
                        let d = DataFiles.Load(path, null)
                        let struct (pixels, labels, count) = Csv.Read(path, 784)
                        Expect.isFalse d.IsTable "images"
                        Expect.equal (d.Rows, d.Cols) (28, 28) "28x28"
                        Expect.equal d.Pixels pixels "the same bytes"
                        Expect.equal d.Labels labels "the same labels"
                        Expect.equal d.Count count "the same count"

                    testCase "--header forces the first row to be a header, --no-header to be data"
                    <| fun () ->
                        let dir = tempDir ()
                        let path = write (Path.Combine(dir, "t.csv")) "0,1,2\n1,3,4\n0,5,6\n"
                        Expect.equal (DataFiles.Load(path, null, TableOptions(), null).Count) 3 "numbers: no header"
                        Expect.equal (DataFiles.Load(path, null, TableOptions(Header = true), null).Count) 2 "forced"

                        let named = write (Path.Combine(dir, "n.csv")) "y,x\n1,2\n0,3\n"
                        Expect.equal (DataFiles.Load(named, null, TableOptions(), null).Count) 2 "detected"

                        expectDataError named [ "row 1"; "'x'" ] (fun () ->
                            DataFiles.Load(named, null, TableOptions(Header = false), null))

                    testCase "class names: a --classes file, and Fashion-MNIST's by the labels file's content"
                    <| fun () ->
                        let dir = tempDir ()
                        let file = write (Path.Combine(dir, "names.txt")) "cat\ndog\n\n"
                        Expect.equal (ClassNames.Read file) [| "cat"; "dog" |] "one per line"
                        let dup = write (Path.Combine(dir, "dup.txt")) "cat\ncat\n"
                        expectDataError dup [ "repeats" ] (fun () -> ClassNames.Read dup)
                        Expect.isNull (ClassNames.Builtin(dataFile "train-labels-idx1-ubyte.gz")) "MNIST: digits"
                        let fashion = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"

                        if File.Exists fashion then
                            let names = ClassNames.Builtin fashion
                            Expect.equal names[0] "T-shirt/top" "class 0"
                            Expect.equal names[9] "Ankle boot" "class 9"
                            let copy = Path.Combine(dir, "renamed.gz")
                            File.Copy(fashion, copy)
                            Expect.equal (ClassNames.Builtin copy) names "by content, not by name"
                ]

            testList
                "bad input"
                [
                    let bad (name: string) (bytes: byte[]) (mentions: string list) =
                        testCase name
                        <| fun () ->
                            let path = Path.Combine(tempDir (), "bad.csv")
                            File.WriteAllBytes(path, bytes)
                            expectDataError path mentions (fun () -> DataFiles.Load(path, null, TableOptions(), null))

                    bad "bad UTF-8" (Array.concat [ "1,0.5\n"B; [| 0xC3uy; 0x28uy |]; ",0.5\n"B ]) [ "UTF-8" ]
                    bad "a ragged row" "1,0.5,0.5\n0,0.5\n"B [ "row 2"; "expected 3 values"; "found 2" ]
                    bad "a NaN cell" "1,0.5\n0,NaN\n"B [ "row 2"; "not a finite number" ]
                    bad "an infinite cell" "1,0.5\n0,-Infinity\n"B [ "row 2"; "not a finite number" ]
                    bad "1e308, beyond float32" "1,0.5\n0,1e308\n"B [ "row 2"; "float32" ]
                    bad "a blank line inside" "1,0.5\n\n0,0.5\n"B [ "row 2"; "blank" ]
                    bad "only a header" "y,x\n"B [ "no data rows" ]
                    bad "one column" "1\n2\n"B [ "one column" ]

                    bad
                        "a 4 MB line"
                        (Array.append "1,"B (Array.create (4 <<< 20) (byte 'a')))
                        [ "row 1"; "longer than any number or label" ]

                    bad
                        "a quoted cell of 1 MB that holds separators"
                        (Array.concat
                            [
                                "1,2\n0,\""B
                                Array.init (1 <<< 20) (fun i -> if i % 2 = 0 then byte 'a' else byte ',')
                                "\"\n"B
                            ])
                        [ "row 2"; "quoted cell"; "longer than any number or label" ]

                    testCase "a 20 MB cell is refused from its bytes: a short message, no copy of the text"
                    <| fun () ->
                        let path = Path.Combine(tempDir (), "huge.csv")
                        let size = 20 <<< 20

                        do
                            use f = File.Create path
                            f.Write("label,a,b\n1,2,3\n2,"B)
                            f.Write(Array.create size (byte '9'), 0, size)
                            f.Write("x,4\n"B)

                        let before = GC.GetAllocatedBytesForCurrentThread()

                        expectDataError path [ "row 3"; "longer than any number or label" ] (fun () ->
                            DataFiles.Load(path, null, TableOptions(), null))

                        let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                        // The file's bytes, once: decoding it (2 bytes a character), splitting its lines and copying
                        // the cell would each add as much again.
                        Expect.isLessThan
                            allocated
                            (int64 size * 3L / 2L)
                            $"%d{allocated} bytes allocated for a %d{size}-byte cell"

                    bad "a gzip stream cut short" ((gzipBytes "1,0.5\n0,0.25\n")[..20]) [ "gzip" ]
                ]

            testList
                "label checks"
                [
                    let table (text: string) =
                        let path = Path.Combine(tempDir (), "t.csv")
                        File.WriteAllText(path, text)
                        DataFiles.Load(path, null, TableOptions(), null)

                    testCase "one class is refused (unless allowed), naming the class"
                    <| fun () ->
                        let t = table "1,0.1,0.9\n1,0.2,0.8\n"
                        expectDataError t.LabelsPath [ "'1'"; "one class" ] (fun () -> LabelChecks.Run(t, t, 2, false))
                        let warnings = LabelChecks.Run(t, t, 2, true)
                        Expect.exists warnings (fun w -> w.Contains "no example of class '0'") "the missing class"
                        Expect.exists warnings (fun w -> w.Contains "2 of its 2 rows are identical") "the leakage"

                    testCase "labels in the last column: the first constant, the last small integers"
                    <| fun () ->
                        let t = table "0,0.5,0.1,3\n0,0.7,0.2,1\n0,0.1,0.3,2\n"

                        expectDataError t.LabelsPath [ "--label-column last" ] (fun () ->
                            LabelChecks.Run(t, t, 4, false))

                    testCase "test classes the training set lacks, and shared rows counted"
                    <| fun () ->
                        let train = table "0,0.1\n1,0.2\n0,0.3\n"
                        let test = table "2,0.1\n1,0.9\n0,0.8\n"
                        let warnings = LabelChecks.Run(train, test, 3, false)

                        Expect.exists
                            warnings
                            (fun w -> w.Contains "test classes the training set lacks: class '2'")
                            "unseen"

                        Expect.exists warnings (fun w -> w.Contains "1 of its 3 rows are identical") "one shared row"

                    testCase "a clean split warns of nothing"
                    <| fun () ->
                        let train = table "0,0.1\n1,0.2\n"
                        let test = table "0,0.3\n1,0.4\n"
                        Expect.isEmpty (LabelChecks.Run(train, test, 2, false)) "no warning"
                ]

            testList
                "command line"
                [
                    testCase
                        "an iris-like table trains with the defaults and --label-column alone, as well as logistic regression does"
                    <| fun () ->
                        // Before: refused (the default network takes 784 inputs); with --layers 16 the rows were taken
                        // as written (x/255 would not have helped either) and the cosine decayed the rate to zero within
                        // the table's few hundred updates: 60% on 30 test rows where a PyTorch MLP reaches 93%.
                        let dir = tempDir ()
                        let train, names = irisLike 11 50
                        let test, _ = irisLike 12 50
                        let trainCsv = writeIris (Path.Combine(dir, "t.csv")) names train
                        let testCsv = writeIris (Path.Combine(dir, "s.csv")) names test
                        let runDir = Path.Combine(dir, "run")

                        let o =
                            run
                                dir
                                [
                                    "train"
                                    "--train"
                                    trainCsv
                                    "--test"
                                    testCsv
                                    "--label-column"
                                    "species"
                                    "--run"
                                    runDir
                                ]

                        Expect.equal o.Code 0 o.Err
                        let line = configLine "train" o.Out
                        Expect.stringContains line "dense 512 relu, dense 3 softmax" "outputs: one per species"
                        Expect.stringContains line ", scale standard, " "the scaling applied: z-scores"
                        Expect.isFalse (line.Contains "schedule") "a table trains at a constant rate"

                        Expect.stringContains
                            o.Out
                            "4 features, 3 classes (setosa, versicolor, virginica), scale standard"
                            "the data line"

                        let trained = accuracyOf o.Out
                        let bar = logisticAccuracy 3 train test
                        // Measured (seed 1): logistic regression 97.33%, the defaults 96.00% (seeds 2, 3: 95.33%, 94.00%); with the
                        // presets' cosine 93.33%, unscaled 88.67%. Four rows of 150 below the bar leaves the network its
                        // own noise and still fails either of those.
                        Expect.isGreaterThanOrEqual
                            trained
                            (bar - 400.0 / 150.0)
                            $"within four rows of logistic regression's %.2f{bar}%%"

                        Expect.isGreaterThanOrEqual trained 90.0 "at least 90%"
                        // eval reads the table as train did (standardised by the training rows) and agrees.
                        let e = run dir [ "eval"; "--model"; runDir; "--data"; testCsv ]
                        Expect.equal e.Code 0 e.Err
                        let m = Text.RegularExpressions.Regex.Match(e.Out, @"accuracy: ([0-9.]+)%")
                        Expect.equal (float m.Groups[1].Value) trained "eval: the same accuracy as train's test"
                        // The probes read it the same way: the same network, the same transform.
                        let data = [ "--train"; trainCsv; "--label-column"; "species" ]
                        let d = run dir ([ "doctor"; "--test"; testCsv ] @ data)
                        Expect.isTrue (d.Code = 0 || d.Code = 1) d.Err

                        Expect.stringContains
                            (configLine "doctor" d.Out)
                            "dense 3 softmax; ce, init he, scale standard,"
                            "doctor's line"

                        Expect.stringContains d.Out "mean -0.000 sd 1.000" "doctor's inputs are z-scores"
                        let g = run dir ([ "gradcheck" ] @ data)
                        Expect.equal g.Code 0 g.Out
                        Expect.stringContains (configLine "gradcheck" g.Out) "scale standard," "gradcheck's line"

                    testCase "the train line names the scaling a table's rows get, whichever was chosen"
                    <| fun () ->
                        // Before: it said 'scale unit' (the targets' 0/1) whatever --scale gave the table.
                        let dir = tempDir ()
                        let rows, names = irisLike 5 10
                        let csv = writeIris (Path.Combine(dir, "t.csv")) names rows

                        for scale in [ "none"; "unit"; "standard" ] do
                            let runDir = Path.Combine(dir, scale)

                            let o =
                                run
                                    dir
                                    [
                                        "train"
                                        "--train"
                                        csv
                                        "--test"
                                        csv
                                        "--label-column"
                                        "last"
                                        "--scale"
                                        scale
                                        "--epochs"
                                        "1"
                                        "--run"
                                        runDir
                                    ]

                            Expect.equal o.Code 0 o.Err
                            Expect.stringContains (configLine "train" o.Out) $", scale %s{scale}, " $"--scale %s{scale}"
                            let info = (Runs.RunFile.Read runDir).Data
                            Expect.equal info.Scale scale "run.json records the same transform"

                    testCase
                        "the question's debug network (2-5-2, sigmoid, MSE, lr 0.5, full batch) overfits its two examples"
                    <| fun () ->
                        let dir = tempDir ()
                        let runDir = Path.Combine(dir, "run")

                        let o =
                            run
                                repo
                                [
                                    "train"
                                    "--train"
                                    "data/debug.csv"
                                    "--test"
                                    "data/debug.csv"
                                    "--layers"
                                    "2,5,2"
                                    "--activation"
                                    "sigmoid"
                                    "--output"
                                    "sigmoid"
                                    "--loss"
                                    "mse"
                                    "--optimizer"
                                    "sgd"
                                    "--lr"
                                    "0.5"
                                    "--l2"
                                    "0"
                                    "--schedule"
                                    "constant"
                                    "--batch"
                                    "full"
                                    "--epochs"
                                    "1000"
                                    "--scale"
                                    "none"
                                    "--validation"
                                    "0"
                                    "--allow-one-class"
                                    "--run"
                                    runDir
                                ]

                        Expect.equal o.Code 0 o.Err
                        let runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "run.json")))
                        let results: JsonNode = runJson["results"]
                        let epochsNode: JsonNode = results["epochs"]
                        let epochs = epochsNode.AsArray()
                        let lastEpoch = epochs[epochs.Count - 1]
                        let lossNode: JsonNode = lastEpoch["loss"]
                        let last = lossNode.GetValue<float>()
                        Expect.isLessThan last 1e-3 "the loss falls below 1e-3"
                        Expect.isTrue (File.Exists(Path.Combine(runDir, "curves.png"))) "the training curves"

                    testCase "without --allow-one-class the debug set is refused before anything is written"
                    <| fun () ->
                        let dir = tempDir ()
                        let runDir = Path.Combine(dir, "run")

                        let o =
                            run
                                repo
                                [
                                    "train"
                                    "--train"
                                    "data/debug.csv"
                                    "--test"
                                    "data/debug.csv"
                                    "--layers"
                                    "5"
                                    "--run"
                                    runDir
                                ]

                        expectOneLineError o ReturnCode.BadData [ "data/debug.csv"; "one class" ]
                        Expect.isFalse (Directory.Exists runDir) "no run folder"

                    testCase "--layers must agree with the table, naming both numbers"
                    <| fun () ->
                        let dir = tempDir ()

                        let o =
                            run
                                repo
                                [
                                    "train"
                                    "--train"
                                    "data/debug.csv"
                                    "--test"
                                    "data/debug.csv"
                                    "--layers"
                                    "3,5,2"
                                    "--allow-one-class"
                                    "--run"
                                    Path.Combine(dir, "r")
                                ]

                        expectOneLineError o ReturnCode.BadData [ "takes 3 inputs"; "has 2 features" ]

                    testCase
                        "--scale standard: eval and predict apply the training set's transform and print class names"
                    <| fun () ->
                        let dir = tempDir ()
                        let rng = Random 3
                        // Far from 0 and spread out: untransformed inputs saturate the network.
                        let row (c: string) =
                            let shift = if c = "high" then 40.0 else 0.0
                            let x = 1000.0 + shift + rng.NextDouble() * 30.0
                            let y = -500.0 + rng.NextDouble() * 10.0
                            String.Format(CultureInfo.InvariantCulture, "{0},{1:R},{2:R}", c, x, y)

                        let file name n =
                            let lines = Array.init n (fun i -> row (if i % 2 = 0 then "high" else "low"))
                            write (Path.Combine(dir, name)) ("kind,x,y\n" + String.Join("\n", lines) + "\n")

                        let train, test = file "train.csv" 200, file "test.csv" 60
                        let runDir = Path.Combine(dir, "run")

                        let o =
                            run
                                dir
                                [
                                    "train"
                                    "--train"
                                    train
                                    "--test"
                                    test
                                    "--layers"
                                    "8"
                                    "--scale"
                                    "standard"
                                    "--epochs"
                                    "20"
                                    "--batch"
                                    "16"
                                    "--run"
                                    runDir
                                ]

                        Expect.equal o.Code 0 o.Err
                        Expect.stringContains o.Out "2 features, 2 classes (high, low), scale standard" "the data line"
                        let trained = accuracyOf o.Out
                        Expect.isGreaterThan trained 90.0 "separable once standardised"
                        let e = run dir [ "eval"; "--model"; runDir; "--data"; test ]
                        Expect.equal e.Code 0 e.Err
                        let m = Text.RegularExpressions.Regex.Match(e.Out, @"accuracy: ([0-9.]+)%")
                        Expect.equal (float m.Groups[1].Value) trained "eval: the same accuracy as train's test"
                        Expect.stringContains e.Out "high 0" "the confusion matrix names its rows"
                        let p = run dir [ "predict"; "--model"; runDir; "--data"; test; "--index"; "0" ]
                        Expect.equal p.Code 0 p.Err
                        Expect.stringContains p.Out "label high" "predict names the classes"

                        Expect.stringContains
                            o.Out
                            "predicted classes on test: high:"
                            "train's histogram names the classes"

                    testCase "the digit grid and the confusion picture draw class names where there are any"
                    <| fun () ->
                        let dir = tempDir ()
                        let pixels = Array.init (4 * 784) (fun i -> byte (i % 251))
                        let labels = [| 0uy; 1uy; 1uy; 0uy |]
                        let names = [| "Ankle boot"; "T-shirt/top" |]

                        let grid (named: string[]) file =
                            DigitGrid.Write(
                                Path.Combine(dir, file),
                                pixels,
                                labels,
                                28,
                                28,
                                [| 0..3 |],
                                [| 0; 0; 1; 1 |],
                                "t",
                                named
                            )
                            |> File.ReadAllBytes

                        Expect.notEqual (grid names "named.png") (grid null "plain.png") "names change the grid"
                        let confusion = [| [| 3; 1 |]; [| 0; 4 |] |]

                        let heat (named: string[]) file =
                            ConfusionPlot.Write(Path.Combine(dir, file), confusion, "t", named)
                            |> File.ReadAllBytes

                        Expect.notEqual (heat names "cnamed.png") (heat null "cplain.png") "names change the heatmap"

                        Expect.equal
                            (Histogram.Line([| 2; 0 |], names))
                            "Ankle boot:2 T-shirt/top:0 (1 distinct)"
                            "the line"

                    testCase
                        "doctor, gradcheck and lr-find read a table as train does; attack and show refuse it in one line"
                    <| fun () ->
                        let dir = tempDir ()
                        let rng = Random 3

                        // Two classes by a + b > 45, features in their own units (-5..50), so unscaled they saturate.
                        let rows =
                            [
                                yield "label,a,b,c"
                                for _ in 1..300 ->
                                    let a, b, c =
                                        rng.NextDouble() * 55.0 - 5.0,
                                        rng.NextDouble() * 55.0 - 5.0,
                                        rng.NextDouble() * 55.0 - 5.0

                                    String.Format(
                                        CultureInfo.InvariantCulture,
                                        "{0},{1:F3},{2:F3},{3:F3}",
                                        (if a + b > 45.0 then 1 else 0),
                                        a,
                                        b,
                                        c
                                    )
                            ]

                        let csv = write (Path.Combine(dir, "t.csv")) (String.Join("\n", rows) + "\n")
                        let table = [ "--train"; csv; "--layers"; "8" ]
                        // The rows as written (tables are standardised unless told otherwise): the doctor's checks
                        // of unscaled features.
                        let raw = run dir ([ "doctor"; "--test"; csv; "--scale"; "none" ] @ table)
                        Expect.stringContains raw.Out "train 300 rows" "read as a table: 3 inputs, 2 classes"

                        Expect.stringContains
                            raw.Out
                            "--scale standard (each feature"
                            "large features: the data check's fix"

                        Expect.stringContains
                            raw.Out
                            "the loss is held at its floor"
                            "the gradient check says why it disagrees"

                        Expect.stringContains
                            raw.Out
                            "--layers 8 --scale standard"
                            "the fixed command keeps the table's form"

                        let scaled =
                            run dir ([ "doctor"; "--test"; csv; "--scale"; "standard"; "--lr"; "0.01" ] @ table)

                        Expect.stringContains scaled.Out "PASS  gradient check" "scaled: the gradients agree"

                        Expect.isFalse
                            (scaled.Out.Contains "FAIL  output collapse")
                            "two balanced classes are no collapse"

                        let g = run dir ([ "gradcheck"; "--scale"; "standard" ] @ table)
                        Expect.equal g.Code 0 g.Out
                        let png = Path.Combine(dir, "lr.png")

                        let l =
                            run dir ([ "lr-find"; "--scale"; "standard"; "--png"; png; "--steps"; "50" ] @ table)

                        Expect.equal l.Code 0 l.Err
                        Expect.stringContains l.Out "suggested lr" "a suggestion"
                        let runDir = Path.Combine(dir, "run")

                        let t =
                            run
                                dir
                                ([
                                    "train"
                                    "--test"
                                    csv
                                    "--scale"
                                    "standard"
                                    "--epochs"
                                    "2"
                                    "--run"
                                    runDir
                                    "--quiet"
                                 ]
                                 @ table)

                        Expect.equal t.Code 0 t.Err
                        // The doctor command train prints after a run that went wrong runs on the table as it is.
                        let suggested = Runs.RunWarning.DoctorCommand(Runs.RunFile.Read runDir)
                        Expect.stringContains suggested "--augment none" "the table's run had no augmentation"

                        let args =
                            suggested.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray

                        let d = run dir args.Tail
                        Expect.isTrue (d.Code = 0 || d.Code = 1) $"the suggested doctor command runs: %s{d.Err}"
                        let a = run dir [ "attack"; runDir; "--data"; csv ]
                        expectOneLineError a ReturnCode.BadData [ "model.safetensors"; "table" ]
                        let sh = run dir [ "show"; "--model"; runDir; "--data"; csv ]
                        expectOneLineError sh ReturnCode.BadData [ "t.csv"; "is a table" ]
                ]
        ]
