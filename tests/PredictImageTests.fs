/// `functional predict --image`: shipped test digits drawn as dark-on-light pictures of another size are predicted
/// as the originals are; --show draws what the network saw; bad pictures and options give one line.
module Functional.Tests.PredictImageTests

open System
open System.IO
open Expecto
open SkiaSharp
open Functional.Host
open Functional.Tests.EndToEndTests

/// A digit as a 64x80 picture: dark ink on light paper (grey 230, not white), enlarged into `where` with `filter`
/// and placed off-centre, so preparing it must invert, crop, shrink and centre it.
let private drawn (filter: SKFilterMode) (where: SKRect) (path: string) (pixels: byte[]) =
    let digitInfo = SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque)

    use digit =
        SKImage.FromPixelCopy(digitInfo, pixels |> Array.map (fun v -> 230uy - byte (int v * 230 / 255)))

    use surface = SKSurface.Create(SKImageInfo(64, 80))
    surface.Canvas.Clear(SKColor(230uy, 230uy, 230uy))
    surface.Canvas.DrawImage(digit, where, SKSamplingOptions(filter))
    use image = surface.Snapshot()
    use data = image.Encode(SKEncodedImageFormat.Png, 100)
    File.WriteAllBytes(path, data.ToArray())

/// Smoothly enlarged to 50x50: blurred strokes, as a scan or a photo has.
let private picture = drawn SKFilterMode.Linear (SKRect.Create(5f, 22f, 50f, 50f))

/// Each pixel a 2x2 block: preparing it can give back the original exactly.
let private blocky = drawn SKFilterMode.Nearest (SKRect.Create(4f, 14f, 56f, 56f))

/// A model of 2 epochs on the shipped training set, trained once for the tests below.
let private trained =
    lazy
        (let dir = tempDir ()
         let runDir = Path.Combine(dir, "run")
         let o = run dir [ "train"; "--epochs"; "2"; "--run"; runDir; "--quiet" ]
         Expect.equal o.Code 0 o.Err
         runDir)

[<Tests>]
let tests =
    testList
        "PredictImage"
        [
            testCase "100 test digits drawn dark on light at 64x80 are predicted as the 28x28 originals (>= 95)"
            <| fun () ->
                let dir = tempDir ()
                let runDir = trained.Force()
                let data = Inputs.Load(null, null, Inputs.TestImages)
                let model = ModelFile.Load runDir
                let originals = model.Evaluate(Inputs.ToCore data).Predictions

                let files =
                    [
                        for i in 0..99 do
                            let path = Path.Combine(dir, $"digit-%03d{i}.png")
                            picture path data.Pixels[i * 784 .. i * 784 + 783]
                            path
                    ]

                let sheet = Path.Combine(dir, "seen.png")

                let o =
                    run dir ([ "predict"; "--model"; runDir; "--show"; sheet; "--image" ] @ files)

                Expect.equal o.Code 0 o.Err
                let lines = o.Out.Trim().Split '\n'
                Expect.stringContains lines[0] "softmax probabilities" "says what the numbers are"

                let agree =
                    [
                        for i in 0..99 do
                            let line = lines |> Array.find (fun l -> l.StartsWith(files[i] + ":"))
                            Expect.stringContains line "inverted" "light paper is inverted"
                            let predicted = line.Substring(files[i].Length + 1).Trim().Split(' ')[0]
                            predicted = string originals[i]
                    ]
                    |> List.filter id
                    |> List.length

                Expect.isGreaterThanOrEqual agree 95 "predictions equal those on the originals"
                use bmp = SKBitmap.Decode sheet
                Expect.isNotNull bmp "the --show picture decodes"
                Expect.isGreaterThan bmp.Height (100 * 28 * PhotoSheet.Scale) "a row per picture"

            testCase "a digit drawn in 2x2 blocks is prepared back into itself: inverted, cropped, fitted, centred"
            <| fun () ->
                let dir = tempDir ()
                let data = Inputs.Load(null, null, Inputs.TestImages)
                let path = Path.Combine(dir, "d.png")
                let mutable close = 0

                for i in 0..19 do
                    let original = data.Pixels[i * 784 .. i * 784 + 783]
                    blocky path original
                    let struct (seen, inverted) = DigitPhoto.Prepare(Data.GrayImage.Read path, path)
                    Expect.isTrue inverted "light paper is inverted"

                    let meanError =
                        Array.map2 (fun (a: byte) (b: byte) -> abs (int a - int b)) seen original
                        |> Array.averageBy float

                    if meanError < 1.0 then
                        close <- close + 1

                // A few land one pixel off: MNIST rounded the centre of mass differently or cropped lighter ink.
                Expect.isGreaterThanOrEqual close 17 "the prepared images are the originals"

            testCase "bad pictures and options: one line each"
            <| fun () ->
                let dir = tempDir ()
                let runDir = trained.Force()
                let text = Path.Combine(dir, "notes.png")
                File.WriteAllText(text, "not an image")
                let blank = Path.Combine(dir, "blank.png")
                ImageFolderTests.writeGray blank 30 30 (Array.create 900 255uy)

                expectOneLineError (run dir [ "predict"; "--model"; runDir; "--image"; blank; text ]) 3 [ "notes.png" ]

                let message =
                    try
                        DigitPhoto.Prepare(Data.GrayImage.Read blank, blank) |> ignore
                        "no error"
                    with :? DataError as e ->
                        e.Message

                Expect.stringContains message "no ink" "a blank picture is refused"

                expectOneLineError
                    (run dir [ "predict"; "--model"; runDir; "--image"; blank; "--index"; "1" ])
                    2
                    [ "--image"; "--index" ]

                expectOneLineError
                    (run dir [ "predict"; "--model"; runDir; "--show"; "x.png" ])
                    2
                    [ "--show"; "--image" ]
        ]
