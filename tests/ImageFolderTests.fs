/// Image folders (DIR/<class>/*.png|*.jpg): the pixels and labels they read, --resize, a test folder labelled by the
/// training folder's class names, training from folders, and one clear line for each kind of bad folder.
module Functional.Tests.ImageFolderTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open SkiaSharp
open Functional.Host
open Functional.Host.Data
open Functional.Tests.EndToEndTests

/// Writes grey pixels (row-major) as a PNG or JPEG, by the file's extension.
let writeGray (path: string) (rows: int) (cols: int) (pixels: byte[]) =
    Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
    let info = SKImageInfo(cols, rows, SKColorType.Gray8, SKAlphaType.Opaque)
    use image = SKImage.FromPixelCopy(info, pixels)

    let format, quality =
        if path.EndsWith ".jpg" then
            SKEncodedImageFormat.Jpeg, 100
        else
            SKEncodedImageFormat.Png, 100

    use data = image.Encode(format, quality)
    File.WriteAllBytes(path, data.ToArray())

let private shippedTrain = lazy (Inputs.Load(null, null, Inputs.TrainImages))

let private digit (set: LabeledImages) (i: int) = set.Pixels[i * 784 .. i * 784 + 783]

/// Folder `dir` with the first `count` shipped training digits as 28x28 PNGs in class folders named `names[label]`.
let private digitFolder (dir: string) (count: int) (names: string[]) =
    let set = shippedTrain.Force()

    for i in 0 .. count - 1 do
        writeGray (Path.Combine(dir, names[int set.Labels[i]], $"%05d{i}.png")) 28 28 (digit set i)

    set

let private words =
    [|
        "zero"
        "one"
        "two"
        "three"
        "four"
        "five"
        "six"
        "seven"
        "eight"
        "nine"
    |]

[<Tests>]
let tests =
    testList
        "ImageFolder"
        [
            testCase "reads every PNG's exact pixels, labelled by its class folder's index in ordinal order"
            <| fun () ->
                let dir = tempDir ()
                let set = digitFolder dir 60 words
                let read = DataFiles.Load(dir, null)
                let sorted = Array.sortWith (fun (a: string) b -> String.CompareOrdinal(a, b)) words
                Expect.equal read.ClassNames sorted "class names: the folders, ordinal order"
                Expect.equal (read.Count, read.Rows, read.Cols) (60, 28, 28) "60 images of 28x28"
                // Files are read class by class, by name: find each original by its file name.
                let files = ImageFolder.List dir

                for i, (cls, path) in Seq.indexed files do
                    let original = int (Path.GetFileNameWithoutExtension path)
                    Expect.equal cls words[int set.Labels[original]] "listed in its class"
                    Expect.equal read.ClassNames[int read.Labels[i]] cls "label = the class's index"
                    Expect.equal read.Pixels[i * 784 .. i * 784 + 783] (digit set original) $"pixels of %s{path}"

            testCase
                "a JPEG reads close to its pixels; --resize resamples by area; a test folder takes the training names"
            <| fun () ->
                let dir = tempDir ()
                let set = shippedTrain.Force()

                let big =
                    Array.init (56 * 56) (fun k -> (digit set 0)[(k / 56 / 2) * 28 + (k % 56) / 2])

                writeGray (Path.Combine(dir, "b", "big.png")) 56 56 big
                writeGray (Path.Combine(dir, "a", "small.jpg")) 28 28 (digit set 1)
                let o = run dir [ "train"; "--train"; dir; "--epochs"; "1" ]
                expectOneLineError o 3 [ "big.png"; "small.jpg"; "56x56"; "28x28"; "--resize" ]

                let read =
                    DataFiles.Load(dir, null, TableOptions.Default, null, Nullable<struct (int * int)>(struct (28, 28)))
                // 2x2 blocks of one value average back to the value: the exact original.
                Expect.equal read.Pixels[784..] (digit set 0) "the enlarged digit resampled back to 28x28"

                let error =
                    Array.map2 (fun (a: byte) (b: byte) -> abs (int a - int b)) read.Pixels[..783] (digit set 1)
                    |> Array.averageBy float

                Expect.isLessThan error 4.0 "JPEG at quality 100 stays within a few grey levels on average"
                // A test folder holding only class "b" is labelled as the training set's "b": index 1, not 0.
                let test = tempDir ()
                writeGray (Path.Combine(test, "b", "x.png")) 28 28 (digit set 2)
                let none = Nullable<struct (int * int)>()
                let t = DataFiles.Load(test, null, TableOptions.Default, [| "a"; "b" |], none)
                Expect.equal t.Labels [| 1uy |] "labelled by the training set's names"

                let e =
                    try
                        DataFiles.Load(test, null, TableOptions.Default, [| "a"; "c" |], none) |> ignore
                        ""
                    with :? DataError as e ->
                        e.Message

                Expect.stringContains e "not one of the training set's classes" "an unknown class is refused"

            testCase "train on a folder: the run records it, replays it, and the model carries the class names"
            <| fun () ->
                let dir = tempDir ()
                let train = Path.Combine(dir, "train")
                digitFolder train 300 words |> ignore
                let runDir = Path.Combine(dir, "run")

                let o =
                    run
                        dir
                        [
                            "train"
                            "--train"
                            train
                            "--test"
                            train
                            "--epochs"
                            "1"
                            "--run"
                            runDir
                            "--quiet"
                        ]

                Expect.equal o.Code 0 o.Err
                let r = Runs.RunFile.Read runDir
                Expect.equal r.TrainImages.Path (Path.GetFullPath train) "the folder is the training data"
                let replay = run dir [ "replay"; runDir; "--step"; "3" ]
                Expect.equal replay.Code 0 replay.Err
                Expect.stringContains replay.Out "bit for bit" "the steps reproduce from the folder"

                let struct (_, metadata) =
                    Safetensors.Read(Path.Combine(runDir, ModelFile.FileName))

                let sorted = Array.sortWith (fun (a: string) b -> String.CompareOrdinal(a, b)) words
                Expect.equal metadata["classes"] (String.Join(",", sorted)) "class names in the model"
                // Editing one image changes the folder's hash: replay refuses instead of computing other steps.
                let first = Directory.GetFiles(Path.Combine(train, "eight"))[0]
                writeGray first 28 28 (Array.zeroCreate 784)
                let changed = run dir [ "replay"; runDir; "--step"; "3" ]
                expectOneLineError changed 3 [ "contents changed" ]

            testCase "a folder of three classes trains a three-output network, which predicts all three"
            <| fun () ->
                // Before: the default 784-512-10 network kept its 10 outputs, 7 of them for classes no folder has, and
                // the run ended warning that only 3 of 10 classes are ever predicted.
                let dir = tempDir ()
                let set = shippedTrain.Force()
                let names = dict [ 0uy, "zero"; 1uy, "one"; 7uy, "seven" ]

                let picked =
                    [| 0 .. set.Count - 1 |]
                    |> Array.filter (fun i -> names.ContainsKey set.Labels[i])

                for k, i in Array.indexed picked[..449] do
                    let part = if k < 300 then "train" else "test"
                    writeGray (Path.Combine(dir, part, names[set.Labels[i]], $"%05d{i}.png")) 28 28 (digit set i)

                let runDir = Path.Combine(dir, "run")

                let o =
                    run
                        dir
                        [
                            "train"
                            "--train"
                            Path.Combine(dir, "train")
                            "--test"
                            Path.Combine(dir, "test")
                            "--epochs"
                            "3"
                            "--run"
                            runDir
                        ]

                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "train dense 512 relu, dense 3 softmax" "one output per class folder"
                Expect.equal (Runs.RunFile.Read runDir).Config.Classes 3 "the run's network has 3 outputs"

                Expect.isFalse
                    (o.Out.Contains "collapsed" || o.Err.Contains "collapsed")
                    $"no collapse warning: %s{o.Out}"

                Expect.stringContains o.Out "(3 distinct)" "all three classes are predicted"
                Expect.isGreaterThan (accuracyOf o.Out) 90.0 "three digit classes are easy to tell apart"

            testCase "a model trained with --resize reads the next folder resampled the same way, in eval and predict"
            <| fun () ->
                let dir = tempDir ()
                let set = shippedTrain.Force()
                let folder = Path.Combine(dir, "big")

                // 200 digits enlarged to 56x56 (2x2 blocks), so --resize 28x28 gives back the originals.
                for i in 0..199 do
                    let d = digit set i
                    let big = Array.init (56 * 56) (fun k -> d[(k / 56 / 2) * 28 + (k % 56) / 2])
                    writeGray (Path.Combine(folder, words[int set.Labels[i]], $"%05d{i}.png")) 56 56 big

                let runDir = Path.Combine(dir, "run")

                let o =
                    run
                        dir
                        [
                            "train"
                            "--train"
                            folder
                            "--test"
                            folder
                            "--resize"
                            "28x28"
                            "--epochs"
                            "2"
                            "--validation"
                            "0"
                            "--run"
                            runDir
                            "--quiet"
                        ]

                Expect.equal o.Code 0 o.Err
                let trained = Regex.Match(o.Out, @"test accuracy: (\S+)%").Groups[1].Value
                let e = run dir [ "eval"; "--model"; runDir; "--data"; folder ]
                Expect.equal e.Code 0 e.Err
                Expect.stringContains e.Out "200 images" "every image read"
                let evaluated = Regex.Match(e.Out, @"accuracy: (\S+)%").Groups[1].Value
                Expect.equal evaluated trained "eval resamples as training did: the same accuracy"
                let p = run dir [ "predict"; "--model"; runDir; "--data"; folder; "--index"; "0" ]
                Expect.equal p.Code 0 p.Err

            testCase "a photo's EXIF orientation is applied: the image reads as it is meant to be seen"
            <| fun () ->
                // Hand-turned: [[1 2 3] [4 5 6]] shown a quarter turn clockwise (EXIF 6) is [[4 1] [5 2] [6 3]].
                let small = [| 1uy; 2uy; 3uy; 4uy; 5uy; 6uy |]
                let cw = GrayImage.Oriented(small, 2, 3, SKEncodedOrigin.RightTop)
                Expect.equal (cw.Rows, cw.Cols, cw.Pixels) (3, 2, [| 4uy; 1uy; 5uy; 2uy; 6uy; 3uy |]) "a quarter turn"
                let back = GrayImage.Oriented(cw.Pixels, 3, 2, SKEncodedOrigin.LeftBottom)
                Expect.equal back.Pixels small "a quarter turn back"

                for o in
                    [
                        SKEncodedOrigin.TopRight
                        SKEncodedOrigin.BottomRight
                        SKEncodedOrigin.BottomLeft
                        SKEncodedOrigin.LeftTop
                        SKEncodedOrigin.RightBottom
                    ] do
                    let once = GrayImage.Oriented(small, 2, 3, o)
                    let twice = GrayImage.Oriented(once.Pixels, once.Rows, once.Cols, o)
                    Expect.equal twice.Pixels small $"%A{o} twice is the identity"

                // A JPEG as a phone writes it: the sensor's rows, and an APP1 Exif segment with orientation 6.
                let dir = tempDir ()
                let set = shippedTrain.Force()
                let plain = Path.Combine(dir, "plain.jpg")
                writeGray plain 28 28 (digit set 0)
                let jpeg = File.ReadAllBytes plain

                let tiff =
                    [|
                        0x4Duy
                        0x4Duy
                        0uy
                        0x2Auy
                        0uy
                        0uy
                        0uy
                        8uy // big-endian TIFF, first IFD at 8
                        0uy
                        1uy // one entry
                        0x01uy
                        0x12uy
                        0uy
                        3uy
                        0uy
                        0uy
                        0uy
                        1uy
                        0uy
                        6uy
                        0uy
                        0uy // Orientation, SHORT, 1, = 6
                        0uy
                        0uy
                        0uy
                        0uy
                    |] // no next IFD

                let payload = Array.append "Exif\000\000"B tiff
                let length = payload.Length + 2

                let segment =
                    Array.append [| 0xFFuy; 0xE1uy; byte (length >>> 8); byte (length &&& 0xFF) |] payload

                let turned = Path.Combine(dir, "turned.jpg")
                File.WriteAllBytes(turned, Array.concat [ jpeg[..1]; segment; jpeg[2..] ])
                let read = GrayImage.Read turned

                let expected =
                    GrayImage.Oriented(GrayImage.Read(plain).Pixels, 28, 28, SKEncodedOrigin.RightTop)

                Expect.equal read.Pixels expected.Pixels "the decoded photo turned a quarter clockwise"
                Expect.notEqual read.Pixels (GrayImage.Read plain).Pixels "not the sensor's rows"

            testCase "bad folders: one line naming the file, exit 3, and a symbolic-link loop does not hang"
            <| fun () ->
                let dir = tempDir ()
                let set = shippedTrain.Force()

                let good (d: string) =
                    writeGray (Path.Combine(d, "ok.png")) 28 28 (digit set 0)

                let case name = Path.Combine(dir, name)
                // A text file named .png.
                good (Path.Combine(case "text", "a"))
                File.WriteAllText(Path.Combine(case "text", "a", "notes.png"), "not an image\n")
                // An empty .png and a truncated one.
                good (Path.Combine(case "empty-file", "a"))
                File.WriteAllBytes(Path.Combine(case "empty-file", "a", "zero.png"), [||])
                good (Path.Combine(case "truncated", "a"))
                let bytes = File.ReadAllBytes(Path.Combine(case "truncated", "a", "ok.png"))
                File.WriteAllBytes(Path.Combine(case "truncated", "a", "cut.png"), bytes[.. bytes.Length / 2])
                // An empty folder, and a class folder without images.
                Directory.CreateDirectory(case "empty") |> ignore
                good (Path.Combine(case "no-images", "a"))
                Directory.CreateDirectory(Path.Combine(case "no-images", "b")) |> ignore
                File.WriteAllText(Path.Combine(case "no-images", "b", "README"), "nothing\n")
                // Symbolic links: one to itself, and one back up to the folder.
                good (Path.Combine(case "self-link", "a"))

                File.CreateSymbolicLink(Path.Combine(case "self-link", "loop"), Path.Combine(case "self-link", "loop"))
                |> ignore

                good (Path.Combine(case "up-link", "a"))

                Directory.CreateSymbolicLink(Path.Combine(case "up-link", "a", "up"), case "up-link")
                |> ignore

                // In process (a DataError is what the command line prints as one line, exit 3: checked once below).
                for name, mentions in
                    [
                        "empty-file", [ "zero.png"; "empty" ]
                        "truncated", [ "cut.png"; "truncated" ]
                        "empty", [ "empty"; "no class folders" ]
                        "no-images", [ "no-images/b"; "no .png or .jpg" ]
                        "self-link", [ "loop"; "symbolic link" ]
                        "up-link", [ "up"; "inside a class folder" ]
                    ] do
                    let message =
                        try
                            DataFiles.Load(case name, null) |> ignore
                            "no error"
                        with :? DataError as e ->
                            e.Message

                    Expect.isFalse (message.Contains '\n') $"one line: %s{message}"

                    for m in mentions do
                        Expect.stringContains message m $"%s{name}: the message names it"

                let o = run dir [ "train"; "--train"; case "text"; "--epochs"; "1" ]
                expectOneLineError o 3 [ "notes.png"; "not a PNG or JPEG" ]
                let o = run dir [ "train"; "--train"; case "text"; "--resize"; "28by28" ]
                expectOneLineError o 2 [ "--resize"; "WIDTHxHEIGHT" ]
        ]
