module Functional.Tests.HostIoTests

open System
open System.Collections.Generic
open System.IO
open System.IO.Compression
open System.Security.Cryptography
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional.Host
open Functional.Host.Data

type Tensor = Safetensors.Tensor

// ---------------------------------------------------------------------------------------------
// Helpers: every test gets its own folder, deleted afterwards (tests run in parallel).

let private withTemp (f: string -> 'a) : 'a =
    let dir =
        Path.Combine(Path.GetTempPath(), "functional-hostio-" + Guid.NewGuid().ToString("N"))

    Directory.CreateDirectory dir |> ignore

    try
        f dir
    finally
        try
            Directory.Delete(dir, true)
        with _ ->
            ()

/// Runs f, expects a DataError whose one-line message is "PATH: ..." and contains every fragment.
let private expectDataError (path: string) (fragments: string list) (f: unit -> 'a) =
    let error =
        try
            f () |> ignore
            None
        with :? DataError as e ->
            Some e

    match error with
    | None -> failtestf "expected a DataError about %s (%A), but nothing was thrown" path fragments
    | Some e ->
        let message = e.Message
        Expect.isFalse (message.Contains '\n' || message.Contains '\r') $"one line: {message}"
        Expect.stringStarts message (path + ": ") "the message starts with the path"
        Expect.equal e.FilePath path "FilePath"

        for fragment in fragments do
            Expect.stringContains message fragment "the message says what is wrong"

let private gzipBytes (bytes: byte[]) =
    use output = new MemoryStream()

    do
        use zip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen = true)
        zip.Write(bytes, 0, bytes.Length)

    output.ToArray()

let private bigEndian (values: int list) =
    values
    |> List.collect (fun v -> [ byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v ])
    |> Array.ofList

let private imagesHeader count rows cols =
    bigEndian [ 0x00000803; count; rows; cols ]

let private labelsHeader count = bigEndian [ 0x00000801; count ]

let private write (path: string) (bytes: byte[]) =
    File.WriteAllBytes(path, bytes)
    path

let private writeText (path: string) (text: string) =
    File.WriteAllText(path, text, UTF8Encoding(false))
    path

/// A valid CSV line of `features` pixels.
let private csvLine (label: int) (pixels: int seq) =
    String.Join(",", Seq.append [ label ] pixels)

let private zeros n = Seq.replicate n 0

// ---------------------------------------------------------------------------------------------
// Generators

type ImageSet =
    {
        Count: int
        Rows: int
        Cols: int
        Pixels: byte[]
        Labels: byte[]
        Gzip: bool
    }

let private imageSetGen =
    gen {
        let! count = Gen.choose (1, 5)
        let! rows = Gen.choose (1, 6)
        let! cols = Gen.choose (1, 6)

        let! pixels =
            Gen.arrayOfLength (count * rows * cols) (Gen.choose (0, 255) |> Gen.map byte)

        let! labels = Gen.arrayOfLength count (Gen.choose (0, 9) |> Gen.map byte)
        let! gzip = Gen.elements [ true; false ]

        return
            {
                Count = count
                Rows = rows
                Cols = cols
                Pixels = pixels
                Labels = labels
                Gzip = gzip
            }
    }

let private dtypes =
    [
        "BOOL"
        "U8"
        "I8"
        "I16"
        "U16"
        "F16"
        "BF16"
        "I32"
        "U32"
        "F32"
        "F64"
        "I64"
        "U64"
    ]

let private tensorsGen =
    gen {
        let! n = Gen.choose (0, 5)

        let! specs =
            Gen.listOfLength
                n
                (gen {
                    let! dtype = Gen.elements dtypes
                    let! rank = Gen.choose (0, 3)
                    let! shape = Gen.arrayOfLength rank (Gen.choose (0, 4) |> Gen.map int64)
                    return dtype, shape
                })

        let! tensors =
            specs
            |> List.mapi (fun i (dtype, shape) ->
                let size = (Safetensors.DtypeSize dtype).Value
                let bytes = int (Array.fold (*) 1L shape) * size

                Gen.arrayOfLength bytes (Gen.choose (0, 255) |> Gen.map byte)
                |> Gen.map (fun data -> Tensor($"layer.{i}.ß\"{dtype}", dtype, shape, data)))
            |> Gen.sequenceToList

        let! metadata =
            Gen.listOf (Gen.elements [ "format", "pt"; "epoch", "3"; "note", "ünïcode \"quoted\" \\ <tag>" ])
            |> Gen.map List.distinct

        return tensors, metadata
    }

// ---------------------------------------------------------------------------------------------
// Safetensors helpers

/// A file made of the 8-byte little-endian header length, the header text and the data.
let private rawSafetensors (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; data ]

let private readSafetensors path =
    let struct (tensors, metadata) = Safetensors.Read path
    List.ofSeq tensors, metadata |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq

let private safetensorsRejections =
    let f32 name (b: int) (e: int) shape =
        $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{shape}],\"data_offsets\":[{b},{e}]}}"

    [
        "shorter than 8 bytes", [| 1uy; 0uy; 0uy |], [ "too short" ]
        "header length below 2", Array.append (BitConverter.GetBytes 1UL) [| byte '{' |], [ "header length is 1" ]
        "header length over the limit",
        Array.append (BitConverter.GetBytes 100_000_001UL) (Encoding.ASCII.GetBytes "{}"),
        [ "over the limit" ]
        "header past the end of the file",
        Array.append (BitConverter.GetBytes 50UL) (Encoding.ASCII.GetBytes "{}      "),
        [ "past the end of the file" ]
        "header not UTF-8",
        Array.append (BitConverter.GetBytes 4UL) [| byte '{'; 0xFFuy; 0xFEuy; byte '}' |],
        [ "UTF-8" ]
        "header not an object", rawSafetensors "[1, 2]" [||], [ "does not start with '{'" ]
        "header starting with a space", rawSafetensors " {}" [||], [ "does not start with '{'" ]
        "header not JSON", rawSafetensors "{\"a\": " [||], [ "not valid JSON" ]
        "unknown dtype",
        rawSafetensors "{\"w\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}" (Array.zeroCreate 4),
        [ "tensor 'w'"; "unknown dtype 'F7'" ]
        "negative dimension",
        rawSafetensors "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}" (Array.zeroCreate 4),
        [ "negative dimension -1" ]
        "non-integer dimension",
        rawSafetensors "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}" (Array.zeroCreate 4),
        [ "must hold integers" ]
        "size does not match the byte range",
        rawSafetensors ("{" + f32 "w" 0 12 "2" + "}") (Array.zeroCreate 12),
        [ "need 8 bytes"; "cover 12" ]
        "offsets not starting at 0", rawSafetensors ("{" + f32 "w" 4 12 "2" + "}") (Array.zeroCreate 12), [ "gap" ]
        "gap between tensors",
        rawSafetensors ("{" + f32 "a" 0 4 "1" + "," + f32 "b" 8 12 "1" + "}") (Array.zeroCreate 12),
        [ "tensor 'b'"; "gap" ]
        "overlapping tensors",
        rawSafetensors ("{" + f32 "a" 0 8 "2" + "," + f32 "b" 4 12 "2" + "}") (Array.zeroCreate 12),
        [ "tensor 'b'"; "overlap" ]
        "offsets ending before they begin",
        rawSafetensors ("{" + f32 "w" 8 4 "1" + "}") (Array.zeroCreate 8),
        [ "end before they begin" ]
        "data longer than the offsets cover",
        rawSafetensors ("{" + f32 "w" 0 4 "1" + "}") (Array.zeroCreate 6),
        [ "cover 4 bytes but 6 bytes follow" ]
        "data shorter than the offsets cover",
        rawSafetensors ("{" + f32 "w" 0 8 "2" + "}") (Array.zeroCreate 4),
        [ "cover 8 bytes but 4 bytes follow" ]
        "duplicate names",
        rawSafetensors ("{" + f32 "w" 0 4 "1" + "," + f32 "w" 4 8 "1" + "}") (Array.zeroCreate 8),
        [ "'w' twice" ]
        "duplicate metadata keys", rawSafetensors "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}" [||], [ "'a' twice" ]
        "metadata value not a string",
        rawSafetensors "{\"__metadata__\":{\"epoch\":3}}" [||],
        [ "'epoch' is a number, not a string" ]
        "metadata not an object", rawSafetensors "{\"__metadata__\":\"x\"}" [||], [ "__metadata__ is not an object" ]
    ]

// ---------------------------------------------------------------------------------------------

[<Tests>]
let tests =
    testList
        "Host.IO"
        [
            testList
                "IDX"
                [
                    testProperty "images and labels round-trip, raw and gzip"
                    <| Prop.forAll (Arb.fromGen imageSetGen) (fun set ->
                        withTemp (fun dir ->
                            let suffix = if set.Gzip then ".gz" else ""
                            let images = Path.Combine(dir, "x-images-idx3-ubyte" + suffix)
                            let labels = Path.Combine(dir, "x-labels-idx1-ubyte" + suffix)
                            Idx.WriteImages(images, set.Pixels, set.Count, set.Rows, set.Cols, set.Gzip)
                            Idx.WriteLabels(labels, set.Labels, set.Gzip)
                            let struct (pixels, count, rows, cols) = Idx.ReadImages images
                            let isGzip = File.ReadAllBytes(images).[0] = 0x1Fuy

                            pixels = set.Pixels
                            && (count, rows, cols) = (set.Count, set.Rows, set.Cols)
                            && Idx.ReadLabels labels = set.Labels
                            && isGzip = set.Gzip))

                    testCase "gzip is detected by content, not by name"
                    <| fun () ->
                        withTemp (fun dir ->
                            let raw = Path.Combine(dir, "named.gz")
                            let zipped = Path.Combine(dir, "named.raw")
                            Idx.WriteLabels(raw, [| 1uy; 2uy |], false)
                            Idx.WriteLabels(zipped, [| 3uy; 4uy |], true)
                            Expect.equal (Idx.ReadLabels raw) [| 1uy; 2uy |] "raw file named .gz"
                            Expect.equal (Idx.ReadLabels zipped) [| 3uy; 4uy |] "gzip file without .gz")

                    for imagesSuffix, labelsSuffix in [ ".gz", ".gz"; "", ""; ".gz", ""; "", ".gz" ] do
                        testCase
                            $"labels are found beside images{imagesSuffix} as train-labels-idx1-ubyte{labelsSuffix}"
                        <| fun () ->
                            withTemp (fun dir ->
                                let images = Path.Combine(dir, "train-images-idx3-ubyte" + imagesSuffix)
                                let labels = Path.Combine(dir, "train-labels-idx1-ubyte" + labelsSuffix)
                                Idx.WriteImages(images, Array.init 8 byte, 2, 2, 2, (imagesSuffix = ".gz"))
                                Idx.WriteLabels(labels, [| 7uy; 9uy |], (labelsSuffix = ".gz"))
                                let set = DataFiles.Load(images, null)
                                Expect.equal set.Labels [| 7uy; 9uy |] "labels"
                                Expect.equal set.Pixels (Array.init 8 byte) "pixels"
                                Expect.equal (set.Count, set.Rows, set.Cols, set.Features) (2, 2, 2, 4) "sizes"
                                Expect.equal set.ImagesPath images "images path"
                                Expect.equal set.LabelsPath labels "labels path")

                    testCase "an explicit labels path wins over the standard name"
                    <| fun () ->
                        withTemp (fun dir ->
                            let images = Path.Combine(dir, "t10k-images-idx3-ubyte")
                            let labels = Path.Combine(dir, "my-labels")
                            Idx.WriteImages(images, Array.zeroCreate 4, 1, 2, 2, false)
                            Idx.WriteLabels(labels, [| 5uy |], true)
                            let set = DataFiles.Load(images, labels)
                            Expect.equal set.Labels [| 5uy |] "labels"
                            Expect.equal set.LabelsPath labels "labels path")

                    testCase "missing labels beside the images name the expected path and the options"
                    <| fun () ->
                        withTemp (fun dir ->
                            let images = Path.Combine(dir, "train-images-idx3-ubyte.gz")
                            Idx.WriteImages(images, Array.zeroCreate 4, 1, 2, 2, true)

                            expectDataError
                                (Path.Combine(dir, "train-labels-idx1-ubyte.gz"))
                                [ "not found"; "--train-labels/--test-labels" ]
                                (fun () -> DataFiles.Load(images, null)))

                    testCase "a non-standard images name without a labels path is rejected"
                    <| fun () ->
                        withTemp (fun dir ->
                            let images = Path.Combine(dir, "digits.idx")
                            Idx.WriteImages(images, Array.zeroCreate 4, 1, 2, 2, false)

                            expectDataError images [ "--train-labels/--test-labels" ] (fun () ->
                                DataFiles.Load(images, null)))

                    testCase "missing file"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "nothing-images-idx3-ubyte")
                            expectDataError path [ "file not found" ] (fun () -> Idx.ReadImages path)
                            expectDataError path [ "file not found" ] (fun () -> Idx.ReadLabels path)
                            expectDataError path [ "file not found" ] (fun () -> DataFiles.Load(path, null)))

                    testCase "wrong magic"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path =
                                write
                                    (Path.Combine(dir, "bad"))
                                    (Array.append (bigEndian [ 0x12345678; 1; 1; 1 ]) [| 0uy |])

                            expectDataError path [ "not an IDX file"; "0x12345678"; "0x00000803" ] (fun () ->
                                Idx.ReadImages path))

                    testCase "unsupported IDX type"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path =
                                write
                                    (Path.Combine(dir, "floats"))
                                    (Array.append (bigEndian [ 0x00000D03; 1; 1; 1 ]) [| 0uy |])

                            expectDataError path [ "0x00000D03"; "32-bit floats" ] (fun () -> Idx.ReadImages path))

                    testCase "labels given as images, and images as labels"
                    <| fun () ->
                        withTemp (fun dir ->
                            let labels = Path.Combine(dir, "l")
                            let images = Path.Combine(dir, "i")
                            Idx.WriteLabels(labels, [| 1uy |], true)
                            Idx.WriteImages(images, [| 1uy |], 1, 1, 1, false)

                            expectDataError labels [ "this is an IDX labels file, expected images" ] (fun () ->
                                Idx.ReadImages labels)

                            expectDataError labels [ "this is an IDX labels file, expected images" ] (fun () ->
                                DataFiles.Load(labels, images))

                            expectDataError images [ "this is an IDX images file, expected labels" ] (fun () ->
                                Idx.ReadLabels images))

                    testCase "truncated images, raw and gzip"
                    <| fun () ->
                        withTemp (fun dir ->
                            let bytes = Array.append (imagesHeader 3 2 2) (Array.zeroCreate 10)
                            let raw = write (Path.Combine(dir, "raw")) bytes
                            let zipped = write (Path.Combine(dir, "zipped")) (gzipBytes bytes)

                            for path in [ raw; zipped ] do
                                expectDataError
                                    path
                                    [
                                        "truncated: header declares 3 images of 2x2 (12 bytes) but only 10 bytes follow"
                                    ]
                                    (fun () -> Idx.ReadImages path))

                    testCase "truncated header"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = write (Path.Combine(dir, "short")) (Array.sub (imagesHeader 1 1 1) 0 10)
                            expectDataError path [ "truncated header" ] (fun () -> Idx.ReadImages path))

                    testCase "a huge claim in a small gzip file fails without allocating the claim"
                    <| fun () ->
                        withTemp (fun dir ->
                            let bytes = Array.append (imagesHeader 2_000_000 28 28) (Array.zeroCreate 100)
                            let path = write (Path.Combine(dir, "claim.gz")) (gzipBytes bytes)
                            let before = GC.GetAllocatedBytesForCurrentThread()

                            expectDataError
                                path
                                [ "truncated"; "2000000 images of 28x28"; "only 100 bytes follow" ]
                                (fun () -> Idx.ReadImages path)

                            let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                            Expect.isLessThan allocated 50_000_000L "allocated far less than the 1.5 GB claimed")

                    testCase "a claim larger than an array can hold"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = write (Path.Combine(dir, "huge")) (imagesHeader 100_000 1000 1000)
                            expectDataError path [ "more than one array can hold" ] (fun () -> Idx.ReadImages path))

                    testCase "zero dimensions"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = write (Path.Combine(dir, "zero")) (imagesHeader 1 0 28)
                            expectDataError path [ "rows = 0"; "positive" ] (fun () -> Idx.ReadImages path))

                    testCase "trailing bytes, raw and gzip"
                    <| fun () ->
                        withTemp (fun dir ->
                            let bytes = Array.append (labelsHeader 2) [| 1uy; 2uy; 3uy |]
                            let raw = write (Path.Combine(dir, "raw")) bytes
                            let zipped = write (Path.Combine(dir, "zipped")) (gzipBytes bytes)

                            expectDataError
                                raw
                                [ "trailing data: header declares 2 labels (2 bytes) but 3 bytes follow" ]
                                (fun () -> Idx.ReadLabels raw)

                            expectDataError zipped [ "trailing data: header declares 2 labels (2 bytes)" ] (fun () ->
                                Idx.ReadLabels zipped))

                    testCase "corrupt gzip"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path =
                                write
                                    (Path.Combine(dir, "corrupt.gz"))
                                    [|
                                        0x1Fuy
                                        0x8Buy
                                        8uy
                                        0uy
                                        0uy
                                        0uy
                                        0uy
                                        0uy
                                        0uy
                                        3uy
                                        0xFFuy
                                        0xFFuy
                                        0xFFuy
                                        0xFFuy
                                    |]

                            expectDataError path [ "not a valid gzip stream: " ] (fun () -> Idx.ReadImages path)
                            expectDataError path [ "not a valid gzip stream: " ] (fun () -> DataFiles.Load(path, null)))

                    testCase "label count differs from image count"
                    <| fun () ->
                        withTemp (fun dir ->
                            let images = Path.Combine(dir, "a-images-idx3-ubyte")
                            let labels = Path.Combine(dir, "a-labels-idx1-ubyte")
                            Idx.WriteImages(images, Array.zeroCreate 12, 3, 2, 2, false)
                            Idx.WriteLabels(labels, [| 1uy; 2uy |], false)

                            expectDataError labels [ "has 2 labels"; "has 3 images" ] (fun () ->
                                DataFiles.Load(images, null)))

                    testCase "label 10 is rejected"
                    <| fun () ->
                        withTemp (fun dir ->
                            let images = Path.Combine(dir, "a-images-idx3-ubyte.gz")
                            let labels = Path.Combine(dir, "a-labels-idx1-ubyte.gz")
                            Idx.WriteImages(images, Array.zeroCreate 12, 3, 2, 2, true)
                            Idx.WriteLabels(labels, [| 1uy; 2uy; 10uy |], true)

                            expectDataError labels [ "label 10 at index 2 is outside 0–9" ] (fun () ->
                                DataFiles.Load(images, null)))
                ]

            testList
                "CSV"
                [
                    testProperty "round-trip"
                    <| Prop.forAll (Arb.fromGen imageSetGen) (fun set ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "set.csv")
                            let features = set.Rows * set.Cols
                            Csv.Write(path, set.Pixels, set.Labels, set.Count, features)
                            let struct (pixels, labels, count) = Csv.Read(path, features)
                            pixels = set.Pixels && labels = set.Labels && count = set.Count))

                    testCase "CRLF, a trailing newline and a BOM are accepted"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "windows.csv")
                            let text = "\uFEFF" + "3,0,255,7\r\n" + "9,1,2,3\r\n"
                            File.WriteAllBytes(path, Encoding.UTF8.GetBytes text)
                            let struct (pixels, labels, count) = Csv.Read(path, 3)
                            Expect.equal count 2 "count"
                            Expect.equal labels [| 3uy; 9uy |] "labels"
                            Expect.equal pixels [| 0uy; 255uy; 7uy; 1uy; 2uy; 3uy |] "pixels")

                    testCase "no trailing newline and trailing blank lines are accepted"
                    <| fun () ->
                        withTemp (fun dir ->
                            let a = writeText (Path.Combine(dir, "a.csv")) "1,2\n3,4"
                            let b = writeText (Path.Combine(dir, "b.csv")) "1,2\n3,4\n\n\n"

                            for path in [ a; b ] do
                                let struct (pixels, labels, count) = Csv.Read(path, 1)
                                Expect.equal (pixels, labels, count) ([| 2uy; 4uy |], [| 1uy; 3uy |], 2) path)

                    testCase "a full-size MNIST CSV loads through DataFiles as 28x28"
                    <| fun () ->
                        withTemp (fun dir ->
                            let lines =
                                [ for i in 0..49 -> csvLine (i % 10) (Seq.init 784 (fun p -> (p + i) % 256)) ]

                            let path =
                                writeText (Path.Combine(dir, "mnist.csv")) (String.Join("\n", lines) + "\n")

                            let set = DataFiles.Load(path, null)
                            Expect.equal (set.Count, set.Rows, set.Cols) (50, 28, 28) "sizes"
                            Expect.equal set.Labels.[13] 3uy "label"
                            Expect.equal set.Pixels.[13 * 784 + 5] 18uy "pixel"
                            Expect.equal set.LabelsPath path "labels path is the CSV itself")

                    testCase "a row with 700 values names the row"
                    <| fun () ->
                        withTemp (fun dir ->
                            let lines =
                                [ for row in 1..20 -> csvLine 1 (zeros (if row = 17 then 699 else 784)) ]

                            let path = writeText (Path.Combine(dir, "short.csv")) (String.Join("\n", lines))

                            expectDataError
                                path
                                [ "row 17: expected 785 values (label + 784 pixels), found 700" ]
                                (fun () -> Csv.Read path))

                    testCase "pixel 256"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "p.csv")) "1,0,0\n2,0,256\n"

                            expectDataError path [ "row 2: pixel 1"; "256"; "outside 0–255" ] (fun () ->
                                Csv.Read(path, 2)))

                    testCase "negative pixel"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "n.csv")) "1,-1,0\n"

                            expectDataError path [ "row 1: pixel 0"; "-1"; "outside 0–255" ] (fun () ->
                                Csv.Read(path, 2)))

                    testCase "label 11"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "l.csv")) "1,0,0\n1,0,0\n11,0,0\n"
                            expectDataError path [ "row 3: label 11 is outside 0–9" ] (fun () -> Csv.Read(path, 2)))

                    testCase "text instead of a number"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "t.csv")) "1,0,0\n1,0.5,0\n"

                            expectDataError path [ "row 2: pixel 0"; "not an integer: '0.5'" ] (fun () ->
                                Csv.Read(path, 2)))

                    testCase "empty value"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "e.csv")) "1,,0\n"
                            expectDataError path [ "row 1: pixel 0"; "is empty" ] (fun () -> Csv.Read(path, 2)))

                    testCase "blank line in the middle"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "b.csv")) "1,0,0\n\n1,0,0\n"
                            expectDataError path [ "row 2: blank line" ] (fun () -> Csv.Read(path, 2)))

                    testCase "stray carriage return"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "r.csv")) "1,0\r,0\n"
                            expectDataError path [ "row 1: carriage return" ] (fun () -> Csv.Read(path, 2)))

                    testCase "empty file"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = write (Path.Combine(dir, "empty.csv")) [||]

                            let bom =
                                write (Path.Combine(dir, "bom.csv")) [| 0xEFuy; 0xBBuy; 0xBFuy; byte '\n' |]

                            expectDataError path [ "empty file" ] (fun () -> Csv.Read path)
                            expectDataError bom [ "empty file" ] (fun () -> Csv.Read bom)
                            expectDataError path [ "empty" ] (fun () -> DataFiles.Load(path, null)))

                    testCase "a CSV with a separate labels file is rejected"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "x.csv")) (csvLine 1 (zeros 784))
                            let other = Path.Combine(dir, "labels")
                            expectDataError other [ "CSV" ] (fun () -> DataFiles.Load(path, other))
                            Expect.equal (DataFiles.Load(path, path).Count) 1 "the CSV itself as labels is fine")
                ]

            testList
                "detection"
                [
                    testCase "a file that is neither IDX nor CSV"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = writeText (Path.Combine(dir, "notes.txt")) "hello, world\n"

                            expectDataError path [ "only a header row, no data rows" ] (fun () ->
                                DataFiles.Load(path, null)))

                    testCase "a folder instead of a file"
                    <| fun () ->
                        withTemp (fun dir -> expectDataError dir [ "folder" ] (fun () -> DataFiles.Load(dir, null)))

                    testCase "ShippedPath falls back to the cwd-relative path"
                    <| fun () ->
                        let name = "no-such-file-" + Guid.NewGuid().ToString("N")
                        Expect.equal (DataFiles.ShippedPath name) (Path.Combine("data", name)) "relative path"
                ]

            testList
                "safetensors"
                [
                    testProperty "round-trip of random dtypes, shapes and metadata"
                    <| Prop.forAll (Arb.fromGen tensorsGen) (fun (tensors, metadata) ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "t.safetensors")
                            Safetensors.Write(path, Array.ofList tensors, readOnlyDict metadata)
                            let read, readMetadata = readSafetensors path
                            let fileLength = FileInfo(path).Length
                            let headerLength = BitConverter.ToUInt64(File.ReadAllBytes path, 0)

                            read = tensors
                            && List.sort readMetadata = List.sort metadata
                            && headerLength % 8UL = 0UL
                            && fileLength =
                                8L + int64 headerLength + (tensors |> List.sumBy (fun t -> int64 t.Data.Length))
                            && Safetensors.TensorHash(Array.ofList read) =
                                Safetensors.TensorHash(Array.ofList tensors)))

                    testCase "byte layout of one F32 tensor of shape [2]"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "one.safetensors")

                            Safetensors.Write(
                                path,
                                [| Tensor.FromFloats("w", [| 2L |], [| 1.0f; 2.0f |]) |],
                                readOnlyDict []
                            )
                            // {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} is 54 bytes; 2 spaces pad it to 56.
                            let json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  "

                            let expected =
                                Array.concat
                                    [
                                        [| 56uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy |]
                                        Encoding.ASCII.GetBytes json
                                        [| 0x00uy; 0x00uy; 0x80uy; 0x3Fuy |] // 1.0f little-endian
                                        [| 0x00uy; 0x00uy; 0x00uy; 0x40uy |]
                                    ] // 2.0f little-endian

                            Expect.equal (File.ReadAllBytes path) expected "bytes")

                    testCase "byte layout with metadata, as the reference implementation writes it"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "meta.safetensors")

                            let tensor =
                                Tensor.FromFloats("attn.0", [| 1L; 2L; 3L |], [| 0.0f; 1.0f; 2.0f; 3.0f; 4.0f; 5.0f |])

                            Safetensors.Write(path, [| tensor |], readOnlyDict [ "format", "pt" ])

                            let json =
                                "{\"__metadata__\":{\"format\":\"pt\"},"
                                + "\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}"

                            let padded = json.PadRight((json.Length + 7) / 8 * 8)
                            let bytes = File.ReadAllBytes path
                            Expect.equal (BitConverter.ToUInt64(bytes, 0)) (uint64 padded.Length) "header length"
                            Expect.equal (Encoding.ASCII.GetString(bytes, 8, padded.Length)) padded "header"

                            Expect.equal
                                bytes.[8 + padded.Length + 4 ..]
                                [|
                                    0uy
                                    0uy
                                    128uy
                                    63uy
                                    0uy
                                    0uy
                                    0uy
                                    64uy
                                    0uy
                                    0uy
                                    64uy
                                    64uy
                                    0uy
                                    0uy
                                    128uy
                                    64uy
                                    0uy
                                    0uy
                                    160uy
                                    64uy
                                |]
                                "data"

                            let read, metadata = readSafetensors path
                            Expect.equal read [ tensor ] "tensor"
                            Expect.equal metadata [ "format", "pt" ] "metadata")

                    testCase "a hand-built file with tensors listed out of offset order reads in data order"
                    <| fun () ->
                        withTemp (fun dir ->
                            let header =
                                "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]},"
                                + "\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}"

                            let path =
                                write (Path.Combine(dir, "x.safetensors")) (rawSafetensors header [| 7uy; 8uy; 9uy |])

                            let read, metadata = readSafetensors path

                            Expect.equal
                                read
                                [
                                    Tensor("a", "U8", [||], [| 7uy |])
                                    Tensor("b", "U8", [| 2L |], [| 8uy; 9uy |])
                                ]
                                "tensors"

                            Expect.isEmpty metadata "metadata")

                    testCase "typed conversions round-trip"
                    <| fun () ->
                        let floats = [| 1.5f; -0.0f; Single.MaxValue; Single.Epsilon |]
                        let doubles = [| Math.PI; -1e300 |]
                        let longs = [| Int64.MinValue; 0L; 42L |]
                        Expect.equal (Tensor.FromFloats("f", [| 2L; 2L |], floats).ToFloats()) floats "floats"
                        Expect.equal (Tensor.FromDoubles("d", [| 2L |], doubles).ToDoubles()) doubles "doubles"
                        Expect.equal (Tensor.FromInt64s("i", [| 3L |], longs).ToInt64s()) longs "longs"

                        Expect.equal
                            (Tensor.FromInt64s("i", [| 3L |], longs).Data.[8..15])
                            (Array.zeroCreate 8)
                            "LE zero"

                        Expect.throwsT<ArgumentException>
                            (fun () -> Tensor.FromFloats("f", [| 3L |], floats) |> ignore)
                            "shape mismatch"

                        Expect.throwsT<InvalidOperationException>
                            (fun () -> Tensor.FromInt64s("i", [| 3L |], longs).ToFloats() |> ignore)
                            "wrong dtype"

                    testCase "writing rejects bad tensors"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "bad.safetensors")
                            let ok = Tensor.FromFloats("w", [| 1L |], [| 1.0f |])

                            for tensors in
                                [
                                    [| ok; ok |]
                                    [| Tensor("__metadata__", "U8", [| 1L |], [| 0uy |]) |]
                                    [| Tensor("x", "F7", [| 1L |], [| 0uy |]) |]
                                    [| Tensor("x", "F32", [| 2L |], [| 0uy |]) |]
                                ] do
                                Expect.throwsT<ArgumentException>
                                    (fun () -> Safetensors.Write(path, tensors, readOnlyDict []))
                                    "rejected"

                            Expect.isFalse (File.Exists path) "nothing written")

                    testCase "TensorHash is defined by the documented byte sequence"
                    <| fun () ->
                        let t = Tensor("w", "U8", [| 2L |], [| 5uy; 6uy |])

                        let expected =
                            Array.concat
                                [
                                    BitConverter.GetBytes 1UL
                                    BitConverter.GetBytes 1u
                                    "w"B
                                    BitConverter.GetBytes 2u
                                    "U8"B
                                    BitConverter.GetBytes 1u
                                    BitConverter.GetBytes 2L
                                    BitConverter.GetBytes 2UL
                                    [| 5uy; 6uy |]
                                ]
                            |> SHA256.HashData
                            |> Convert.ToHexStringLower

                        Expect.equal (Safetensors.TensorHash [| t |]) expected "hash"
                        let other = Tensor("w", "U8", [| 2L |], [| 5uy; 7uy |])
                        Expect.notEqual (Safetensors.TensorHash [| other |]) expected "data matters"
                        let reshaped = Tensor("w", "U8", [| 1L; 2L |], [| 5uy; 6uy |])
                        Expect.notEqual (Safetensors.TensorHash [| reshaped |]) expected "shape matters"

                    testList
                        "rejections"
                        [
                            for name, bytes, fragments in safetensorsRejections ->
                                testCase name
                                <| fun () ->
                                    withTemp (fun dir ->
                                        let path = write (Path.Combine(dir, "bad.safetensors")) bytes
                                        expectDataError path fragments (fun () -> Safetensors.Read path))
                        ]

                    testCase "missing file"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "none.safetensors")
                            expectDataError path [ "file not found" ] (fun () -> Safetensors.Read path))
                ]

            testList
                "model file"
                [
                    testCase "a model written before architectures (sizes, hidden, output, bias) loads and evaluates"
                    <| fun () ->
                        withTemp (fun dir ->
                            // A 4-3-2 network, sigmoid hidden, softmax output, with biases, as the old ModelFile wrote
                            // it: row-major [out, in] weights and a spec without "arch".
                            let w0 = Array.init 12 (fun i -> float32 (i - 6) / 8.0f)
                            let b0 = [| 0.5f; -0.25f; 0.0f |]
                            let w1 = [| 1.0f; -2.0f; 0.5f; -1.0f; 1.5f; 0.25f |]
                            let b1 = [| 0.1f; -0.1f |]

                            let tensors =
                                [|
                                    Tensor.FromFloats("layers.0.weight", [| 3L; 4L |], w0)
                                    Tensor.FromFloats("layers.0.bias", [| 3L |], b0)
                                    Tensor.FromFloats("layers.1.weight", [| 2L; 3L |], w1)
                                    Tensor.FromFloats("layers.1.bias", [| 2L |], b1)
                                |]

                            let spec =
                                """{"sizes":[4,3,2],"hidden":"sigmoid","output":"softmax","bias":true,"scale":"unit","precision":"float32"}"""

                            let path = Path.Combine(dir, "old.safetensors")

                            Safetensors.Write(
                                path,
                                tensors,
                                readOnlyDict
                                    [
                                        "format", ModelFile.Format
                                        "spec", spec
                                        "tensor_sha256", Safetensors.TensorHash tensors
                                    ]
                            )

                            let model = ModelFile.Load path

                            Expect.equal
                                model.Spec.Arch
                                (Functional.Arch.Arch.dense
                                    [| 4; 3; 2 |]
                                    Functional.Activations.Sigmoid
                                    Functional.Activations.Softmax
                                    true)
                                "the dense network the spec describes"

                            Expect.equal model.Spec.ArchText "input 4, dense 3 sigmoid, dense 2 softmax" "as an arch"
                            Expect.equal model.ParameterCount 23 "parameters"

                            let images: Functional.Data.Images =
                                {
                                    Pixels = [| 0uy; 255uy; 51uy; 102uy; 255uy; 0uy; 0uy; 204uy |]
                                    Labels = [| 1uy; 0uy |]
                                    Count = 2
                                    Features = 4
                                    Values = [||]
                                }

                            // By hand, in float64: h = σ(W0 x + b0), p = softmax(W1 h + b1).
                            let expected n =
                                let x = Array.init 4 (fun i -> float images.Pixels[n * 4 + i] / 255.0)

                                let h =
                                    Array.init 3 (fun i ->
                                        let z =
                                            float b0[i]
                                            + Seq.sum (seq { for k in 0..3 -> float w0[i * 4 + k] * x[k] })

                                        1.0 / (1.0 + exp (-z)))

                                let z =
                                    Array.init 2 (fun i ->
                                        float b1[i] + Seq.sum (seq { for k in 0..2 -> float w1[i * 3 + k] * h[k] }))

                                let m = Array.max z
                                let e = z |> Array.map (fun v -> exp (v - m))
                                e |> Array.map (fun v -> v / Array.sum e)

                            for n in 0..1 do
                                let out = model.Outputs(images, n)
                                let p = expected n

                                for k in 0..1 do
                                    Expect.floatClose
                                        { absolute = 1e-6; relative = 1e-5 }
                                        out[k]
                                        p[k]
                                        $"image %d{n} class %d{k}"

                            let eval = model.Evaluate images
                            Expect.equal eval.Count 2 "count"

                            let predicted =
                                [| 0..1 |]
                                |> Array.map (fun n -> let p = expected n in if p[0] >= p[1] then 0 else 1)

                            Expect.equal eval.Predictions predicted "predictions"

                            let loss =
                                [| 0..1 |]
                                |> Array.averageBy (fun n -> -log (expected n).[int images.Labels[n]])

                            Expect.floatClose { absolute = 1e-6; relative = 1e-5 } eval.Loss loss "mean cross-entropy"

                            // Saved again, it is written in today's format and loads to the same model.
                            let again = Path.Combine(dir, "new.safetensors")
                            ModelFile.Save(again, model)
                            let reloaded = ModelFile.Load again
                            Expect.equal reloaded.Spec model.Spec "same spec"
                            Expect.equal (reloaded.Outputs(images, 1)) (model.Outputs(images, 1)) "same outputs")

                    testCase "run.json's config as written before architectures reads as the dense network"
                    <| fun () ->
                        let json =
                            """{"sizes":[784,200,10],"hidden":"sigmoid","output":"sigmoid","loss":"mse","init":"normal-fanout","bias":false,"optimizer":"sgd","lr":0.4,"l2":0,"momentum":0.9,"reduction":"sum","scale":"offset","seed":1,"precision":"float64","batch":0}"""

                        let c =
                            Functional.Host.Runs.RunFile.ConfigOf(
                                System.Text.Json.Nodes.JsonNode.Parse(json).AsObject()
                            )

                        Expect.equal c Functional.Cli.Presets.seed.Config "the seed preset's configuration"
                        let back = Functional.Host.Runs.RunFile.ConfigJson c

                        Expect.equal
                            (back["arch"].GetValue<string>())
                            "input 784, dense 200 sigmoid no-bias, dense 10 sigmoid no-bias"
                            "written back as an arch"
                ]

            testList
                "AtomicFile"
                [
                    testCase "a failing write leaves the previous content and no temp file"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "model.safetensors")
                            File.WriteAllText(path, "previous")

                            Expect.throwsT<InvalidOperationException>
                                (fun () ->
                                    AtomicFile.Write(
                                        path,
                                        fun stream ->
                                            stream.Write(Encoding.ASCII.GetBytes "half-writ", 0, 9)
                                            stream.Flush()
                                            invalidOp "boom"
                                    ))
                                "the action's exception comes through"

                            Expect.equal (File.ReadAllText path) "previous" "content intact"
                            Expect.equal (Directory.GetFiles dir) [| path |] "no temp file left")

                    testCase "a write creates the folder and replaces the file"
                    <| fun () ->
                        withTemp (fun dir ->
                            let path = Path.Combine(dir, "a", "b", "out.bin")
                            AtomicFile.Write(path, fun s -> s.Write([| 1uy |], 0, 1))
                            AtomicFile.Write(path, fun s -> s.Write([| 2uy; 3uy |], 0, 2))
                            Expect.equal (File.ReadAllBytes path) [| 2uy; 3uy |] "replaced"
                            Expect.equal (Directory.GetFiles(Path.GetDirectoryName path)) [| path |] "only the file")
                ]
        ]
