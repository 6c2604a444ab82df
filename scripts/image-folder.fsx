// Writes shipped digits as an image folder in torchvision's ImageFolder layout, DIR/<class>/NNNNN.png, the classes
// named in words (zero, one, ...): data to try `functional train --train DIR/train --test DIR/test` on.
//
// The one build it needs first:  dotnet build src/Host -c Release
// Then:                           dotnet fsi scripts/image-folder.fsx [DIR] [TRAIN_COUNT] [TEST_COUNT]
// (defaults: runs/digits-folder, 2000, 500).
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/SkiaSharp.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open SkiaSharp
open Functional.Host

let args = fsi.CommandLineArgs |> Array.skip 1

let dir =
    if args.Length > 0 then
        args[0]
    else
        Path.Combine("runs", "digits-folder")

let trainCount = if args.Length > 1 then int args[1] else 2000
let testCount = if args.Length > 2 then int args[2] else 500

let names =
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

NativeAssets.Install()

let write (set: Data.LabeledImages) (count: int) (folder: string) =
    let info = SKImageInfo(set.Cols, set.Rows, SKColorType.Gray8, SKAlphaType.Opaque)

    for i in 0 .. min count set.Count - 1 do
        let classDir = Path.Combine(dir, folder, names[int set.Labels[i]])
        Directory.CreateDirectory classDir |> ignore

        use image =
            SKImage.FromPixelCopy(info, set.Pixels[i * set.Features .. (i + 1) * set.Features - 1])

        use data = image.Encode(SKEncodedImageFormat.Png, 100)
        File.WriteAllBytes(Path.Combine(classDir, $"%05d{i}.png"), data.ToArray())

    printfn "%s: %d images" (Path.Combine(dir, folder)) (min count set.Count)

let shipped name =
    Inputs.Load(Path.Combine(__SOURCE_DIRECTORY__, "..", "data", name), null, name)

write (shipped Inputs.TrainImages) trainCount "train"
write (shipped Inputs.TestImages) testCount "test"
