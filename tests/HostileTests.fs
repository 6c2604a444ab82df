/// The hostile corpus of issue 25: files edited by hand or forged, command lines that are typos, through the
/// real binary. Each case is one line on stderr, no stack trace, a documented exit code, nothing damaged.
module Functional.Tests.HostileTests

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open Expecto
open Functional.Host
open Functional.Host.Runs
open Functional.Tests.EndToEndTests

type private Tensor = Safetensors.Tensor

let private small = [ "--layers"; "784,16,10"; "--epochs"; "1"; "--quiet" ]

/// The shared small run (Fixtures.smallRun): a test reads it, or edits a copy.
let private trained = lazy (Fixtures.smallRun ())

let private copyDir = Fixtures.copyRun

/// A copy of the trained run with run.json changed by `edit`.
let private editedRun (edit: JsonObject -> unit) =
    let dir = Path.Combine(tempDir (), "edited")
    copyDir trained.Value dir
    let path = Path.Combine(dir, RunFile.FileName)
    let o = JsonNode.Parse(File.ReadAllText path).AsObject()
    edit o
    File.WriteAllText(path, o.ToJsonString())
    dir

let private rawSafetensors (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; data ]

/// PNG's chunk checksum (ISO 3309 CRC-32).
let private crc32 (bytes: byte[]) =
    let mutable c = 0xFFFFFFFFu

    for b in bytes do
        c <- c ^^^ uint32 b

        for _ in 1..8 do
            c <-
                if c &&& 1u <> 0u then
                    0xEDB88320u ^^^ (c >>> 1)
                else
                    c >>> 1

    c ^^^ 0xFFFFFFFFu

let private runJsonCase name (edit: JsonObject -> unit) (mentions: string list) =
    testCase name
    <| fun () ->
        let dir = editedRun edit
        let before = File.ReadAllBytes(Path.Combine(dir, RunFile.FileName))
        let r = run repo [ "resume"; dir; "--quiet" ]
        expectOneLineError r ReturnCode.BadData ([ RunFile.FileName ] @ mentions)
        Expect.equal (File.ReadAllBytes(Path.Combine(dir, RunFile.FileName))) before "run.json untouched"

/// A started `functional`, not waited for (its output read, so it never blocks on a full pipe).
let private start (cwd: string) (args: string list) =
    let psi = Diagnostics.ProcessStartInfo("dotnet")
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "functional.dll"))

    for a in args do
        psi.ArgumentList.Add a

    psi.WorkingDirectory <- cwd
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.Environment["CI"] <- "true"
    let p = Diagnostics.Process.Start psi
    p.StandardOutput.ReadToEndAsync() |> ignore
    p.StandardError.ReadToEndAsync() |> ignore
    p

/// A process's state letter and parent, from /proc (None: gone).
let private statOf (pid: int) =
    try
        let text = File.ReadAllText $"/proc/%d{pid}/stat"
        let fields = text.Substring(text.LastIndexOf ')' + 2).Split ' '
        Some(fields[0], int fields[1])
    with _ ->
        None

let private childrenOf (pid: int) =
    [
        for d in Directory.GetDirectories "/proc" do
            match Int32.TryParse(Path.GetFileName d) with
            | true, p ->
                match statOf p with
                | Some(_, parent) when parent = pid -> yield p
                | _ -> ()
            | _ -> ()
    ]

/// Alive: not gone, and not a zombie waiting for a parent that does not reap it.
let private alive (pid: int) =
    match statOf pid with
    | Some(state, _) -> state <> "Z" && state <> "X"
    | None -> false

let private tool (name: string) (args: string list) =
    use p =
        Diagnostics.Process.Start(
            Diagnostics.ProcessStartInfo(name, args, RedirectStandardError = true, RedirectStandardOutput = true)
        )

    let err = p.StandardError.ReadToEnd()
    p.StandardOutput.ReadToEnd() |> ignore
    p.WaitForExit()
    p.ExitCode, err.Trim()

let private tempFiles (dir: string) =
    Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
    |> Array.filter (fun f -> f.Contains ".tmp-")

/// A baseline JPEG of four components (CMYK: an Adobe APP14 segment, transform 0, the values stored inverted as
/// Photoshop writes them), each 8x8 block one flat colour: DC coefficients only, so the encoder stays small.
/// `ink bx by` is the block's C, M, Y, K ink, 0..255.
let private cmykJpeg (blocksWide: int) (blocksHigh: int) (ink: int -> int -> byte[]) =
    let out = Collections.Generic.List<byte>()
    let u16 (v: int) = [| byte (v >>> 8); byte v |]

    let segment (marker: byte) (body: byte[]) =
        out.AddRange [| 0xFFuy; marker |]
        out.AddRange(u16 (body.Length + 2))
        out.AddRange body

    let dcCounts =
        [|
            0uy
            1uy
            5uy
            1uy
            1uy
            1uy
            1uy
            1uy
            1uy
            0uy
            0uy
            0uy
            0uy
            0uy
            0uy
            0uy
        |]

    out.AddRange [| 0xFFuy; 0xD8uy |]
    segment 0xEEuy (Array.concat [ "Adobe"B; u16 100; u16 0; u16 0; [| 0uy |] ])
    segment 0xDBuy (Array.append [| 0uy |] (Array.create 64 1uy))

    segment
        0xC0uy
        (Array.concat
            [
                [| 8uy |]
                u16 (8 * blocksHigh)
                u16 (8 * blocksWide)
                [| 4uy |]
                [|
                    for c in 1..4 do
                        yield! [| byte c; 0x11uy; 0uy |]
                |]
            ])

    segment 0xC4uy (Array.concat [ [| 0x00uy |]; dcCounts; Array.init 12 byte ])
    // One AC code, of length 1: end of block.
    segment 0xC4uy (Array.concat [ [| 0x10uy; 1uy |]; Array.zeroCreate 15; [| 0uy |] ])

    segment
        0xDAuy
        (Array.concat
            [
                [| 4uy |]
                [|
                    for c in 1..4 do
                        yield! [| byte c; 0uy |]
                |]
                [| 0uy; 63uy; 0uy |]
            ])

    let codes = Array.zeroCreate<int * int> 12
    let mutable code = 0
    let mutable symbol = 0

    for length in 1..16 do
        for _ in 1 .. int dcCounts[length - 1] do
            codes[symbol] <- (code, length)
            code <- code + 1
            symbol <- symbol + 1

        code <- code <<< 1

    let bits = [| 0; 0 |] // accumulated bits, their count

    let put (value: int) (length: int) =
        for i in length - 1 .. -1 .. 0 do
            bits[0] <- (bits[0] <<< 1) ||| ((value >>> i) &&& 1)
            bits[1] <- bits[1] + 1

            if bits[1] = 8 then
                out.Add(byte bits[0])

                if bits[0] = 0xFF then
                    out.Add 0uy

                bits[0] <- 0
                bits[1] <- 0

    let previous = Array.zeroCreate 4

    for by in 0 .. blocksHigh - 1 do
        for bx in 0 .. blocksWide - 1 do
            let inks = ink bx by

            for c in 0..3 do
                let dc = 8 * (255 - int inks[c] - 128)
                let diff = dc - previous[c]
                previous[c] <- dc

                let category =
                    if diff = 0 then
                        0
                    else
                        Numerics.BitOperations.Log2(uint (abs diff)) + 1

                let huffman, length = codes[category]
                put huffman length

                if category > 0 then
                    put (if diff < 0 then diff + (1 <<< category) - 1 else diff) category

                put 0 1

    if bits[1] > 0 then
        put 0x7F (8 - bits[1])

    out.AddRange [| 0xFFuy; 0xD9uy |]
    out.ToArray()

/// 784 pixels for a class: a pattern of its own, with contrast.
let private pattern (k: int) =
    Array.init 784 (fun i -> byte ((i * (k + 3) * 37 + k * 101) % 256))

let private writeFile (path: string) (text: string) =
    File.WriteAllText(path, text)
    path

/// An MNIST CSV of 30 rows whose label at line `line` is `label`.
let private mnistCsvWith (dir: string) (name: string) (line: int) (label: string) =
    let rows =
        Array.init 30 (fun r ->
            let l = if r + 1 = line then label else string (r % 10)
            l + "," + String.Join(",", Array.init 784 (fun i -> string ((r * 7 + i) % 256))))

    writeFile (Path.Combine(dir, name)) (String.Join("\n", rows) + "\n")

/// Device nodes of our own (/dev/full's 1,7 and /dev/null's 1,3) in `dir`: a writer that renamed over them would
/// replace them, never the system's. Without mknod (not root) the system's, which a non-root rename cannot replace.
let private devices (dir: string) =
    let full, nul = Path.Combine(dir, "full"), Path.Combine(dir, "null")

    let made =
        [ full, "7"; nul, "3" ]
        |> List.map (fun (p, minor) -> fst (tool "mknod" [ "-m"; "666"; p; "c"; "1"; minor ]))

    let usable () =
        try
            File.AppendAllText(nul, "")
            true
        with _ ->
            false

    if List.forall ((=) 0) made && usable () then
        full, nul
    elif Environment.UserName <> "root" then
        "/dev/full", "/dev/null"
    else
        skiptest "cannot make a device node to write to (mknod failed or the file system is nodev)"

let private isCharDevice (path: string) =
    let code, _ = tool "test" [ "-c"; path ]
    code = 0

/// A minimal RFC 4180 reader (quoted cells may hold separators, doubled quotes and line breaks), independent of the
/// product's, to read predict --out back.
let private rfc4180 (text: string) =
    let rows = Collections.Generic.List<string list>()
    let cells = Collections.Generic.List<string>()
    let cell = StringBuilder()
    let mutable i = 0
    let mutable quoted = false

    while i < text.Length do
        let c = text[i]

        if quoted then
            if c = '"' && i + 1 < text.Length && text[i + 1] = '"' then
                cell.Append '"' |> ignore
                i <- i + 1
            elif c = '"' then
                quoted <- false
            else
                cell.Append c |> ignore
        elif c = '"' then
            quoted <- true
        elif c = ',' then
            cells.Add(cell.ToString())
            cell.Clear() |> ignore
        elif c = '\n' then
            cells.Add(cell.ToString())
            cell.Clear() |> ignore
            rows.Add(List.ofSeq cells)
            cells.Clear()
        else
            cell.Append c |> ignore

        i <- i + 1

    List.ofSeq rows

[<Tests>]
let tests =
    testList
        "Hostile"
        [
            testList
                "safetensors"
                [
                    testCase "a header length near 2^63 is refused by its size"
                    <| fun () ->
                        let path = Path.Combine(tempDir (), "big.safetensors")

                        File.WriteAllBytes(
                            path,
                            Array.append
                                (BitConverter.GetBytes((1UL <<< 63) - 5UL))
                                (Encoding.ASCII.GetBytes "{}      ")
                        )

                        let r = run repo [ "eval"; "--model"; path ]
                        expectOneLineError r ReturnCode.BadData [ path; "over the limit" ]

                    testCase "offsets past the end, a shape whose product overflows, nesting 100,000 deep"
                    <| fun () ->
                        let dir = tempDir ()

                        for name, header, data, says in
                            [
                                "past",
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4611686018427387904]}}",
                                4,
                                "cover"
                                "overflow",
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}",
                                4,
                                "too large"
                                "deep",
                                "{\"__metadata__\":{\"x\":" + String('[', 100_000) + String(']', 100_000) + "}}",
                                0,
                                "depth"
                            ] do
                            let path = Path.Combine(dir, name + ".safetensors")
                            File.WriteAllBytes(path, rawSafetensors header (Array.zeroCreate data))
                            let r = run repo [ "eval"; "--model"; path ]
                            expectOneLineError r ReturnCode.BadData [ path; says ]

                    testCase "a model of F16, BF16 or I64 tensors is refused for its dtype, not sent to --rehash"
                    <| fun () ->
                        let model = Path.Combine(trained.Value, ModelFile.FileName)
                        let struct (tensors, metadata) = Safetensors.Read model

                        for dtype, size in [ "F16", 2; "BF16", 2; "I64", 8 ] do
                            let path = Path.Combine(tempDir (), dtype + ".safetensors")

                            let converted =
                                tensors
                                |> Seq.map (fun t ->
                                    Tensor(t.Name, dtype, t.Shape, Array.zeroCreate (int t.ElementCount * size)))
                                |> Array.ofSeq

                            Safetensors.Write(path, converted, metadata)
                            let r = run repo [ "eval"; "--model"; path ]
                            expectOneLineError r ReturnCode.BadData [ path; "dtype " + dtype ]
                            Expect.isFalse (r.Err.Contains "--rehash") "no advice that cannot work"
                ]

            testList
                "run folders edited by hand"
                [
                    runJsonCase
                        "an arch of 10^9 units is refused before allocating, naming the layer and its size"
                        (fun o -> o["config"].["arch"] <- "input 784, dense 1000000000 relu, dense 10 softmax")
                        [ "layer 1 (layers.0"; "784,000,000,000 values"; "3.1 TB" ]
                    runJsonCase "negative epochs" (fun o -> o["epochs"] <- -1) [ "'epochs' is -1" ]
                    runJsonCase
                        "a validation that is a number, not an object"
                        (fun o -> o["validation"] <- 5)
                        [ "'validation' is a number" ]
                    runJsonCase
                        "a config that is an array"
                        (fun o -> o["config"] <- JsonArray(JsonValue.Create 1))
                        [ "'config' is an array" ]
                    runJsonCase "epochs as a string" (fun o -> o["epochs"] <- "3") [ "'epochs'" ]

                    testCase "a journal line cut in half: one line, exit 3, and resume leaves run.json as it was"
                    <| fun () ->
                        let dir = Path.Combine(tempDir (), "cut")
                        copyDir trained.Value dir
                        let journal = Path.Combine(dir, Journal.FileName)
                        let lines = File.ReadAllLines journal
                        lines[3] <- lines[3].Substring(0, lines[3].Length / 2)
                        File.WriteAllLines(journal, lines)
                        let before = File.ReadAllBytes(Path.Combine(dir, RunFile.FileName))
                        let r = run repo [ "resume"; dir; "--epochs"; "3"; "--quiet" ]
                        expectOneLineError r ReturnCode.BadData [ journal; "line 4" ]

                        Expect.equal
                            (File.ReadAllBytes(Path.Combine(dir, RunFile.FileName)))
                            before
                            "run.json keeps its epochs and results"

                    testCase
                        "train --arch with 10^9 units, or too large for this machine's memory: exit 2, nothing trained"
                    <| fun () ->
                        for arch, says in
                            [
                                "input 784, dense 1000000000 relu, dense 10 softmax", "3.1 TB as float32"
                                "input 784, rbf 100000000, dense 10 softmax", "its centres"
                                "input 784, dense 1000000 relu, dense 10 softmax", "of memory, more than"
                            ] do
                            let dir = Path.Combine(tempDir (), "r")

                            let r =
                                run repo [ "train"; "--run"; dir; "--arch"; arch; "--batch"; "full"; "--quiet" ]

                            expectOneLineError r ReturnCode.Usage [ "layer 1 (layers.0"; says ]
                            Expect.isFalse (File.Exists(Path.Combine(dir, RunFile.FileName))) "no run.json"
                ]

            testList
                "command line"
                [
                    testCase "--run at a file is refused"
                    <| fun () ->
                        let path = Path.Combine(tempDir (), "afile")
                        File.WriteAllText(path, "mine")
                        let r = run repo ([ "train"; "--run"; path ] @ small)
                        expectOneLineError r ReturnCode.Usage [ path; "is a file" ]
                        Expect.equal (File.ReadAllText path) "mine" "the file is untouched"

                    testCase "--run at a folder of other files (/, a project) is refused and nothing is written there"
                    <| fun () ->
                        let dir = tempDir ()
                        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine")
                        let r = run repo ([ "train"; "--run"; dir ] @ small)
                        expectOneLineError r ReturnCode.Usage [ dir; "notes.txt"; "not a run" ]
                        Expect.equal (Directory.GetFileSystemEntries dir).Length 1 "only the user's file"
                        let root = run repo ([ "train"; "--run"; "/" ] @ small)
                        expectOneLineError root ReturnCode.Usage [ "--run /"; "not a run" ]
                        Expect.isFalse (File.Exists "/run.json") "nothing written into /"

                    testCase "--threads 0 is auto, 1000 is refused; --epochs 0 and --lr nan are refused"
                    <| fun () ->
                        let ok =
                            run repo ([ "train"; "--run"; Path.Combine(tempDir (), "t0"); "--threads"; "0" ] @ small)

                        Expect.equal ok.Code 0 ok.Err

                        for args, says in
                            [
                                [ "--threads"; "1000" ], "'--threads' must be 0..64"
                                [ "--epochs"; "0" ], "'--epochs' must be >= 1"
                                [ "--lr"; "nan" ], "'--lr' must be > 0"
                            ] do
                            let r =
                                run
                                    repo
                                    ([
                                        "train"
                                        "--run"
                                        Path.Combine(tempDir (), "r")
                                        "--layers"
                                        "784,16,10"
                                        "--quiet"
                                     ]
                                     @ args)

                            expectOneLineError r ReturnCode.Usage [ says ]

                    testCase
                        "a sweep of 10^20 points is refused at once, by count, with the option that raises the bound"
                    <| fun () ->
                        let dir = tempDir ()
                        let clock = Diagnostics.Stopwatch.StartNew()

                        let huge =
                            run
                                repo
                                [
                                    "sweep"
                                    "--dir"
                                    dir
                                    "--seed"
                                    "1..10000"
                                    "--lr"
                                    "1..10000"
                                    "--batch"
                                    "1..10000"
                                    "--l2"
                                    "1..10000"
                                    "--momentum"
                                    "1..10000"
                                ]

                        expectOneLineError huge ReturnCode.Usage [ "--max-points" ]
                        Expect.isLessThan clock.Elapsed.TotalSeconds 30.0 "counted, not built"

                        let million =
                            run repo [ "sweep"; "--dir"; dir; "--seed"; "1..1000"; "--lr"; "1..1000" ]

                        expectOneLineError million ReturnCode.Usage [ "1,000,000 points"; "--max-points 1000000" ]
                        let low = run repo [ "sweep"; "--dir"; dir; "--seed"; "1..3"; "--max-points"; "2" ]
                        expectOneLineError low ReturnCode.Usage [ "3 points"; "at most 2" ]
                        Expect.isEmpty (Directory.GetFileSystemEntries dir) "no sweep folder written"
                ]

            testList
                "pictures"
                [
                    testCase
                        "an animated GIF named .png and a 30,000 × 30,000 PNG of a few kB are refused before decoding"
                    <| fun () ->
                        let dir = tempDir ()
                        let gif = Path.Combine(dir, "anim.png")

                        File.WriteAllBytes(
                            gif,
                            Convert.FromHexString(
                                "474946383961020002008000000000ffffff21ff0b4e45545343415045322e300301000000"
                                + "21f904000a0000002c00000000020002000002028c0a00"
                                + "21f904000a0000002c00000000020002000002028c0a00"
                                + "3b"
                            )
                        )

                        let g = run repo [ "predict"; "--model"; trained.Value; "--image"; gif ]
                        expectOneLineError g ReturnCode.BadData [ gif; "Gif" ]
                        // Only the header matters: it is read, and refused, before any pixel is inflated.
                        let huge = Path.Combine(dir, "huge.png")

                        let chunk (kind: string) (data: byte[]) =
                            let body = Array.append (Encoding.ASCII.GetBytes kind) data
                            let crc = crc32 body

                            Array.concat
                                [
                                    Buffers.Binary.BinaryPrimitives.ReverseEndianness(uint32 data.Length)
                                    |> BitConverter.GetBytes
                                    body
                                    Buffers.Binary.BinaryPrimitives.ReverseEndianness crc |> BitConverter.GetBytes
                                ]

                        let ihdr =
                            Array.concat
                                [
                                    BitConverter.GetBytes(Buffers.Binary.BinaryPrimitives.ReverseEndianness 30000u)
                                    BitConverter.GetBytes(Buffers.Binary.BinaryPrimitives.ReverseEndianness 30000u)
                                    [| 8uy; 0uy; 0uy; 0uy; 0uy |]
                                ]

                        File.WriteAllBytes(
                            huge,
                            Array.concat
                                [
                                    [| 0x89uy; byte 'P'; byte 'N'; byte 'G'; 13uy; 10uy; 26uy; 10uy |]
                                    chunk "IHDR" ihdr
                                    chunk "IDAT" [| 0x78uy; 0x9Cuy; 3uy; 0uy; 0uy; 0uy; 0uy; 1uy |]
                                    chunk "IEND" [||]
                                ]
                        )

                        let h = run repo [ "predict"; "--model"; trained.Value; "--image"; huge ]
                        expectOneLineError h ReturnCode.BadData [ huge; "30000x30000" ]

                    testCase "--resize 0x0 and 100000x100000 are refused"
                    <| fun () ->
                        for size in [ "0x0"; "100000x100000" ] do
                            let r =
                                run repo ([ "train"; "--run"; Path.Combine(tempDir (), "r"); "--resize"; size ] @ small)

                            expectOneLineError r ReturnCode.Usage [ "--resize"; size ]
                ]

            testList
                "CSV"
                [
                    testCase "a header only, and a million-column line, are one line each"
                    <| fun () ->
                        let dir = tempDir ()
                        let header = Path.Combine(dir, "header.csv")

                        File.WriteAllText(
                            header,
                            "label," + String.Join(",", Array.init 784 (fun i -> sprintf "p%d" i)) + "\n"
                        )

                        let h = run repo [ "eval"; "--model"; trained.Value; "--data"; header ]
                        expectOneLineError h ReturnCode.BadData [ header; "only a header" ]
                        let wide = Path.Combine(dir, "wide.csv")
                        File.WriteAllText(wide, "1," + String.Join(",", Array.create 1_000_000 "0") + "\n")
                        let w = run repo [ "eval"; "--model"; trained.Value; "--data"; wide ]
                        expectOneLineError w ReturnCode.BadData [ wide; "1000000 features" ]
                ]

            testList
                "faults the tests still missed"
                [
                    testCase
                        "kill -9 of a sweep takes its training child with it; the sweep run again finishes every point"
                    <| fun () ->
                        if not (OperatingSystem.IsLinux()) then
                            skiptest "the child's death signal (prctl PR_SET_PDEATHSIG) is Linux's"

                        let dir = tempDir ()

                        let args =
                            [
                                "sweep"
                                "--name"
                                "k"
                                "--jobs"
                                "1"
                                "--preset"
                                "book"
                                "--train-count"
                                "2000"
                                // A point lasts seconds: far longer than the 20 ms poll below needs to see its child.
                                "--epochs"
                                "10"
                                "--checkpoint-every"
                                "100"
                                "--lr"
                                "0.03,0.3"
                            ]

                        use sweep = start dir args
                        let journal = Path.Combine(dir, "sweeps", "k", "lr=0.03", Journal.FileName)
                        let clock = Diagnostics.Stopwatch.StartNew()
                        let mutable children = []

                        while (children.IsEmpty || not (File.Exists journal))
                              && not sweep.HasExited
                              && clock.Elapsed.TotalSeconds < 120.0 do
                            children <- childrenOf sweep.Id
                            Threading.Thread.Sleep 20

                        Expect.isNonEmpty children "a child trains the first point"
                        Expect.isFalse sweep.HasExited "the sweep still runs"
                        sweep.Kill()
                        sweep.WaitForExit()
                        let gone = Diagnostics.Stopwatch.StartNew()

                        while List.exists alive children && gone.Elapsed.TotalSeconds < 10.0 do
                            Threading.Thread.Sleep 50

                        Expect.isEmpty (List.filter alive children) "no child outlives the sweep by 10 s"
                        let again = run dir args
                        Expect.equal again.Code 0 again.Err
                        Expect.stringContains again.Out "all 2 points finished" "the second run completes the sweep"

                    testCase
                        "a writer that fails midway leaves the old file and no temporary; export and predict --out rename"
                    <| fun () ->
                        let dir = tempDir ()
                        let path = Path.Combine(dir, "kept.csv")
                        File.WriteAllText(path, "old")

                        Expect.throws
                            (fun () ->
                                AtomicFile.Write(
                                    path,
                                    fun s ->
                                        s.Write(Array.create 100_000 1uy, 0, 100_000)
                                        failwith "killed midway"
                                ))
                            "the failure comes through"

                        Expect.equal (File.ReadAllText path) "old" "the old file is intact"
                        Expect.isEmpty (tempFiles dir) "the temporary is gone"
                        // A file written in place would change under its second name too; a rename leaves that one old.
                        let csv = Path.Combine(dir, "p.csv")
                        let onnx = Path.Combine(dir, "m.onnx")

                        for target, args in
                            [
                                csv,
                                [
                                    "predict"
                                    "--model"
                                    trained.Value
                                    "--data"
                                    dataFile "mnist_test_10.csv"
                                    "--out"
                                    csv
                                ]
                                onnx, [ "export"; trained.Value; "--onnx"; onnx; "--force" ]
                            ] do
                            File.WriteAllText(target, "old")
                            let code, err = tool "ln" [ target; target + ".link" ]
                            Expect.equal code 0 err
                            let r = run repo args
                            Expect.equal r.Code 0 r.Err

                            Expect.equal
                                (File.ReadAllText(target + ".link"))
                                "old"
                                $"%s{target} was replaced, not overwritten"

                            Expect.notEqual (File.ReadAllText target) "old" "the new file is there"

                    testCase "a full disk: one line naming the file and 'no space left', exit 4, old files intact"
                    <| fun () ->
                        let full =
                            AtomicFile.Failure(
                                "out.csv",
                                IOException("No space left on device : 'out.csv.tmp-1'", 28),
                                "kept"
                            )

                        Expect.stringContains
                            full.Message
                            "out.csv: cannot write: no space left on the device"
                            "ENOSPC in words"

                        Expect.isFalse (full.Message.Contains ".tmp-") "not the temporary's name"
                        let dir = Path.Combine(tempDir (), "full")
                        Directory.CreateDirectory dir |> ignore
                        let code, err = tool "mount" [ "-t"; "tmpfs"; "-o"; "size=2m"; "tmpfs"; dir ]

                        if code <> 0 then
                            eprintfn "Hostile full-disk test skipped: cannot mount a 2 MB tmpfs here (%s)" err
                            skiptest $"cannot mount a 2 MB tmpfs (mount: %s{err}); needs root or CAP_SYS_ADMIN"

                        try
                            let csv = writeFile (Path.Combine(dir, "p.csv")) "old"
                            let onnx = writeFile (Path.Combine(dir, "m.onnx")) "old"

                            let fill (leave: int64) =
                                use f = new FileStream(Path.Combine(dir, "fill"), FileMode.Append)
                                let chunk = Array.zeroCreate<byte> 4096

                                try
                                    while DriveInfo(dir).AvailableFreeSpace > leave do
                                        f.Write(chunk, 0, chunk.Length)
                                        f.Flush()
                                with :? IOException ->
                                    ()

                            fill 40_000L
                            let run' = Path.Combine(dir, "run")
                            let t = run repo ([ "train"; "--run"; run' ] @ small)
                            expectOneLineError t ReturnCode.IoError [ run'; "no space left" ]
                            fill 0L

                            let p =
                                run
                                    repo
                                    [
                                        "predict"
                                        "--model"
                                        trained.Value
                                        "--data"
                                        dataFile "mnist_test_10.csv"
                                        "--out"
                                        csv
                                    ]

                            expectOneLineError p ReturnCode.IoError [ csv; "no space left" ]
                            let e = run repo [ "export"; trained.Value; "--onnx"; onnx; "--force" ]
                            expectOneLineError e ReturnCode.IoError [ onnx; "no space left" ]
                            Expect.equal (File.ReadAllText csv) "old" "predict's old file is intact"
                            Expect.equal (File.ReadAllText onnx) "old" "export's old file is intact"
                            Expect.isEmpty (tempFiles dir) "no temporary left"
                        finally
                            tool "umount" [ "-l"; dir ] |> ignore

                    testCase "a CMYK JPEG reads as it looks: white paper, black ink, and predict takes it"
                    <| fun () ->
                        let path = Path.Combine(tempDir (), "cmyk.jpg")

                        File.WriteAllBytes(
                            path,
                            cmykJpeg 6 6 (fun bx by ->
                                if bx >= 2 && bx <= 3 && by >= 1 && by <= 4 then
                                    [| 0uy; 0uy; 0uy; 255uy |]
                                else
                                    [| 0uy; 0uy; 0uy; 0uy |])
                        )

                        let image = Data.GrayImage.Read path
                        Expect.equal (image.Rows, image.Cols) (48, 48) "its size"
                        Expect.isGreaterThan image.Pixels[0] 250uy "no ink: white"
                        Expect.isLessThan image.Pixels[24 * 48 + 24] 5uy "black ink: black"
                        let r = run repo [ "predict"; "--model"; trained.Value; "--image"; path ]
                        Expect.equal r.Code 0 r.Err
                        Expect.stringContains r.Out "cmyk.jpg: " "one line for the picture"

                    testCase
                        "CSV cells quoted as RFC 4180 has them: a comma inside is the cell's; an unclosed quote is one line"
                    <| fun () ->
                        let dir = tempDir ()

                        let t =
                            Data.DataFiles.Load(
                                writeFile
                                    (Path.Combine(dir, "q.csv"))
                                    "\"cat, tabby\",0.1,0.2\n\"dog\",\"0.3\",0.4\n\"say \"\"hi\"\"\",1,2\n",
                                null,
                                Data.TableOptions(),
                                null
                            )

                        Expect.equal t.Features 2 "two features, not three"
                        Expect.equal t.ClassNames [| "cat, tabby"; "dog"; "say \"hi\"" |] "the quoted names"
                        let bad = writeFile (Path.Combine(dir, "bad.csv")) "1,0.1,0.2\n\"2,0.3,0.4\n"
                        let r = run repo [ "eval"; "--model"; trained.Value; "--data"; bad ]
                        expectOneLineError r ReturnCode.BadData [ bad; "row 2"; "not closed" ]
                        let comma = writeFile (Path.Combine(dir, "comma.csv")) "1,0.1,0.2\n2,\"0,3\",0.4\n"
                        let c = run repo [ "eval"; "--model"; trained.Value; "--data"; comma ]
                        expectOneLineError c ReturnCode.BadData [ comma; "row 2, column 1"; "'0,3' is not a number" ]

                    testCase "a float or negative label among integers is named, with its file and line"
                    <| fun () ->
                        let dir = tempDir ()

                        for name, line, label in [ "float.csv", 6, "1.5"; "negative.csv", 7, "-1"; "big.csv", 3, "300" ] do
                            let path = mnistCsvWith dir name line label
                            let r = run repo [ "eval"; "--model"; trained.Value; "--data"; path ]
                            expectOneLineError r ReturnCode.BadData [ path; $"row %d{line}: label '%s{label}'" ]

                    testCase "a 10-output model of a 4-class folder names the 4 classes in inspect, export and predict"
                    <| fun () ->
                        let dir = tempDir ()
                        let folder = Path.Combine(dir, "animals")

                        for k, name in List.indexed [ "cat"; "dog"; "eel"; "fox" ] do
                            for i in 0..2 do
                                ImageFolderTests.writeGray (Path.Combine(folder, name, $"%d{i}.png")) 28 28 (pattern k)

                        let runDir = Path.Combine(dir, "run")

                        let t =
                            run
                                repo
                                [
                                    "train"
                                    "--train"
                                    folder
                                    "--test"
                                    folder
                                    "--layers"
                                    "784,16,10"
                                    "--epochs"
                                    "1"
                                    "--run"
                                    runDir
                                    "--quiet"
                                ]

                        Expect.equal t.Code 0 t.Err
                        let names = "cat,dog,eel,fox,4,5,6,7,8,9"
                        let i = run repo [ "inspect"; runDir ]
                        Expect.stringContains i.Out ("classes         " + names) "inspect names them"
                        let onnx = Path.Combine(dir, "m.onnx")
                        let e = run repo [ "export"; runDir; "--onnx"; onnx ]
                        Expect.equal e.Code 0 e.Err
                        Expect.stringContains (File.ReadAllText onnx) names "the ONNX metadata names them"
                        let p = run repo [ "predict"; "--model"; runDir; "--data"; folder ]
                        Expect.stringContains p.Out "p_cat,p_dog,p_eel,p_fox,p_4" "predict's columns"
                        let rehash = run repo [ "inspect"; runDir; "--rehash" ]
                        Expect.equal rehash.Code 0 rehash.Err

                        let after =
                            run repo [ "inspect"; Path.Combine(runDir, ModelFile.FileName); "--json" ]

                        Expect.stringContains after.Out names "the names survive --rehash"

                    testCase "a memory refusal leaves no run folder behind"
                    <| fun () ->
                        for arch in
                            [
                                "input 784, dense 1000000 relu, dense 10 softmax"
                                "input 784, dense 1000000000 relu, dense 10 softmax"
                            ] do
                            let dir = Path.Combine(tempDir (), "r")

                            let r =
                                run repo [ "train"; "--run"; dir; "--arch"; arch; "--batch"; "full"; "--quiet" ]

                            Expect.equal r.Code ReturnCode.Usage r.Err
                            Expect.isFalse (Directory.Exists dir) $"no folder %s{dir}"

                    testCase "a checkpoint whose epoch or offset passes 2^31 is refused, not cast"
                    <| fun () ->
                        let dir = Path.Combine(tempDir (), "cp")
                        copyDir trained.Value dir
                        let runFile = RunFile.Read dir
                        let struct (_, newest) = (Checkpoints.List dir)[0]
                        let struct (tensors, metadata) = Safetensors.Read newest

                        for key in [ "epoch"; "offset" ] do
                            let edited = Collections.Generic.Dictionary<string, string>(metadata)
                            edited[key] <- "4294967297"
                            let path = Path.Combine(dir, $"%s{key}.safetensors")
                            Safetensors.Write(path, tensors, edited)

                            let message =
                                try
                                    Checkpoints.Read(path, runFile) |> ignore
                                    "read"
                                with :? DataError as e ->
                                    e.Message

                            Expect.stringContains
                                message
                                $"%s{path}: __metadata__ '%s{key}' is 4294967297"
                                "refused, named"

                    testCase "predict --model of a CSV or a PNG says it is not a model file"
                    <| fun () ->
                        let dir = tempDir ()
                        let csv = writeFile (Path.Combine(dir, "some.csv")) "label,p0,p1\n1,0,0\n"
                        let png = Path.Combine(dir, "some.png")
                        ImageFolderTests.writeGray png 28 28 (pattern 0)

                        for model, says in [ csv, "it starts with text: 'label,p0,p1'"; png, "PNG" ] do
                            let r =
                                run repo [ "predict"; "--model"; model; "--data"; dataFile "mnist_test_10.csv" ]

                            expectOneLineError
                                r
                                ReturnCode.BadData
                                [ model; "not a model file (expected safetensors"; says ]
                ]

            testList
                "writers and edited runs (issue 34)"
                [
                    testCase "a device is written into: /dev/full says no space left (exit 4), /dev/null stays a device"
                    <| fun () ->
                        let full, nul = devices (tempDir ())
                        let e = run repo [ "export"; trained.Value; "--onnx"; full ]
                        expectOneLineError e ReturnCode.IoError [ full; "no space left on the device" ]
                        Expect.isTrue (isCharDevice full) $"%s{full} is still a device"

                        let p =
                            run
                                repo
                                [
                                    "predict"
                                    "--model"
                                    trained.Value
                                    "--data"
                                    dataFile "mnist_test_10.csv"
                                    "--out"
                                    nul
                                ]

                        Expect.equal p.Code 0 p.Err
                        Expect.isTrue (isCharDevice nul) $"%s{nul} is still a device"

                    testCase "a symbolic link is followed: its target is replaced, the link kept"
                    <| fun () ->
                        let dir = tempDir ()
                        Directory.CreateDirectory(Path.Combine(dir, "real")) |> ignore
                        let csv = writeFile (Path.Combine(dir, "real", "p.csv")) "old"
                        let onnx = writeFile (Path.Combine(dir, "real", "m.onnx")) "old"

                        for target, link, args in
                            [
                                csv,
                                Path.Combine(dir, "p.csv"),
                                [
                                    "predict"
                                    "--model"
                                    trained.Value
                                    "--data"
                                    dataFile "mnist_test_10.csv"
                                    "--out"
                                ]
                                onnx, Path.Combine(dir, "m.onnx"), [ "export"; trained.Value; "--force"; "--onnx" ]
                            ] do
                            File.CreateSymbolicLink(link, Path.Combine("real", Path.GetFileName target))
                            |> ignore

                            let r = run repo (args @ [ link ])
                            Expect.equal r.Code 0 r.Err
                            Expect.isNotNull (FileInfo link).LinkTarget $"%s{link} is still a link"
                            Expect.notEqual (File.ReadAllText target) "old" "its target holds the new file"
                            Expect.isEmpty (tempFiles dir) "no temporary left"

                    testCase "export refuses an existing file without --force, and a run's own files even with it"
                    <| fun () ->
                        let dir = editedRun ignore
                        let mine = writeFile (Path.Combine(tempDir (), "m.onnx")) "mine"
                        let r = run repo [ "export"; dir; "--onnx"; mine ]
                        expectOneLineError r ReturnCode.Usage [ mine; "exists"; "--force" ]
                        Expect.equal (File.ReadAllText mine) "mine" "the file is untouched"
                        let forced = run repo [ "export"; dir; "--onnx"; mine; "--force" ]
                        Expect.equal forced.Code 0 forced.Err
                        let struct (_, checkpoint) = (Checkpoints.List dir)[0]

                        for own in
                            [
                                Path.Combine(dir, RunFile.FileName)
                                Path.Combine(dir, ModelFile.FileName)
                                Path.Combine(dir, Journal.FileName)
                                checkpoint
                            ] do
                            let before = File.ReadAllBytes own
                            let o = run repo [ "export"; dir; "--onnx"; own; "--force" ]
                            expectOneLineError o ReturnCode.Usage [ own; "a file of a run" ]
                            Expect.equal (File.ReadAllBytes own) before $"%s{own} untouched"

                        let beside = run repo [ "export"; dir; "--onnx"; Path.Combine(dir, "model.onnx") ]
                        Expect.equal beside.Code 0 $"a new file beside the run's is the user's: %s{beside.Err}"

                    testCase
                        "every writer refuses a run's own file as its output, before any work; plot may redraw curves.png"
                    <| fun () ->
                        let dir = editedRun ignore
                        let struct (_, checkpoint) = (Checkpoints.List dir)[0]
                        let runJson = Path.Combine(dir, RunFile.FileName)
                        let journal = Path.Combine(dir, Journal.FileName)
                        let model = Path.Combine(dir, ModelFile.FileName)
                        let link = Path.Combine(tempDir (), "to-run.json")
                        File.CreateSymbolicLink(link, runJson) |> ignore
                        let files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories) |> Array.sort
                        let before = files |> Array.map File.ReadAllBytes

                        for args, target, option in
                            [
                                [ "attack"; dir; "--png" ], runJson, "--png"
                                [ "attack"; dir; "--grid" ], journal, "--grid"
                                [ "compare"; dir; "--png" ], runJson, "--png"
                                [ "doctor"; "--png" ], checkpoint, "--png"
                                [ "drift"; dir; "--out" ], runJson, "--out"
                                [ "eval"; "--model"; dir; "--png" ], model, "--png"
                                [ "lr-find"; "--png" ], runJson, "--png"
                                [ "plot"; dir; "--out" ], runJson, "--out"
                                [ "predict"; "--model"; dir; "--out" ], runJson, "--out"
                                [ "report"; dir; "--out" ], journal, "--out"
                                [ "show"; "--out" ], checkpoint, "--out"
                                [ "show"; "--out" ], link, "--out"
                                [ "import"; "x.safetensors"; "--arch"; "dense 10 softmax"; "--out" ], model, "--out"
                            ] do
                            let o = run repo (args @ [ target ])
                            expectOneLineError o ReturnCode.Usage [ option; target; "a file of a run" ]

                        Expect.equal (files |> Array.map File.ReadAllBytes) before "every file of the run untouched"
                        let redraw = run repo [ "plot"; dir; "--out"; Path.Combine(dir, "curves.png") ]
                        Expect.equal redraw.Code 0 $"plot redraws its run's curves.png: %s{redraw.Err}"

                    runJsonCase
                        "train_count -1, as --train-count refuses it"
                        (fun o -> o["train_count"] <- -1)
                        [ "'train_count' is -1" ]
                    runJsonCase
                        "epochs 2^31 - 1, as --epochs refuses it"
                        (fun o -> o["epochs"] <- Int32.MaxValue)
                        [ "'epochs' is 2147483647"; "1..1,000,000" ]
                    runJsonCase
                        "train_count as a string names the field"
                        (fun o -> o["train_count"] <- "x")
                        [ "'train_count'" ]
                    runJsonCase
                        "monitor as a number names the field"
                        (fun o -> o["monitor"] <- 3)
                        [ "'monitor' is a number" ]
                    runJsonCase "keep that is neither best nor last" (fun o -> o["keep"] <- "all") [ "'keep' is 'all'" ]

                    runJsonCase
                        "epochs raised past a cosine schedule (what resume --epochs refuses)"
                        (fun o -> o["epochs"] <- 2)
                        [ "'epochs' is 2"; "schedule" ]

                    testCase "an edited config is refused naming the field; model, journal and checkpoints untouched"
                    <| fun () ->
                        for edit, says in
                            [
                                (fun (o: JsonObject) -> o["config"].["batch"] <- 1_000_000_000),
                                "'batch' is '1000000000', the run trained with '32'"
                                (fun (o: JsonObject) -> o["config"].["lr"] <- 0.01),
                                "'lr' is '0.01', the run trained with '0.001'"
                            ] do
                            let dir = editedRun edit
                            let files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories) |> Array.sort
                            let before = files |> Array.map File.ReadAllBytes
                            let r = run repo [ "resume"; dir; "--quiet" ]
                            expectOneLineError r ReturnCode.BadData [ RunFile.FileName; "edited"; says ]

                            Expect.equal
                                (Directory.GetFiles(dir, "*", SearchOption.AllDirectories) |> Array.sort)
                                files
                                "no file added or removed"

                            Expect.equal (files |> Array.map File.ReadAllBytes) before "every file untouched"

                    testCase "--epochs 2147483647 is refused by train and resume"
                    <| fun () ->
                        let t =
                            run repo [ "train"; "--run"; Path.Combine(tempDir (), "r"); "--epochs"; "2147483647" ]

                        expectOneLineError t ReturnCode.Usage [ "--epochs"; "at most 1,000,000"; "2147483647" ]
                        let r = run repo [ "resume"; trained.Value; "--epochs"; "2147483647" ]
                        expectOneLineError r ReturnCode.Usage [ "--epochs"; "at most 1,000,000"; "2147483647" ]

                    testCase "--run below a file or in /proc is one line naming the folder, not the runtime's words"
                    <| fun () ->
                        let file = writeFile (Path.Combine(tempDir (), "afile")) "mine"
                        let below = Path.Combine(file, "run")
                        let f = run repo ([ "train"; "--run"; below ] @ small)
                        expectOneLineError f ReturnCode.Usage [ below; $"%s{file} is a file" ]

                        if OperatingSystem.IsLinux() then
                            let p = run repo ([ "train"; "--run"; "/proc/self/run" ] @ small)

                            expectOneLineError
                                p
                                ReturnCode.IoError
                                [ "--run /proc/self/run"; "cannot create the folder" ]

                            Expect.isFalse (p.Err.Contains "Could not find") p.Err

                    testCase "predict --out quotes class names holding a comma, a quote or a line break, and reads back"
                    <| fun () ->
                        let dir = tempDir ()
                        let folder = Path.Combine(dir, "odd")
                        let names = [ "a,b"; "say \"hi\""; "two\nlines"; "plain" ]

                        for k, name in List.indexed names do
                            for i in 0..2 do
                                ImageFolderTests.writeGray (Path.Combine(folder, name, $"%d{i}.png")) 28 28 (pattern k)

                        let runDir = Path.Combine(dir, "run")

                        let t =
                            run
                                repo
                                [
                                    "train"
                                    "--train"
                                    folder
                                    "--test"
                                    folder
                                    "--layers"
                                    "784,16,4"
                                    "--epochs"
                                    "1"
                                    "--run"
                                    runDir
                                    "--quiet"
                                ]

                        Expect.equal t.Code 0 t.Err
                        let out = Path.Combine(dir, "p.csv")
                        let p = run repo [ "predict"; "--model"; runDir; "--data"; folder; "--out"; out ]
                        Expect.equal p.Code 0 p.Err
                        let rows = rfc4180 (File.ReadAllText out)
                        let sorted = List.sortWith (fun a b -> String.CompareOrdinal(a, b)) names

                        Expect.equal
                            rows.Head
                            ([ "index"; "label"; "predicted" ] @ (sorted |> List.map (fun n -> "p_" + n)))
                            "the header"

                        Expect.equal rows.Length 13 "a header and 12 rows"

                        for row in rows.Tail do
                            Expect.equal row.Length 7 $"7 cells: %A{row}"
                            Expect.contains names row[1] "the label is a class name"
                            Expect.contains names row[2] "the prediction is a class name"

                        Expect.equal
                            (rows.Tail |> List.map (fun r -> r[1]) |> List.countBy id |> List.length)
                            4
                            "every class labels rows"

                    testCase "a CSV error quotes at most 60 characters of a huge cell"
                    <| fun () ->
                        let dir = tempDir ()
                        let rows = [ "label,a,b"; "0,1,2"; "1," + String('1', 1_000_000) + ",2"; "0,3,4" ]

                        let path =
                            writeFile (Path.Combine(dir, "huge.csv")) (String.Join("\n", rows) + "\n")

                        let r =
                            run
                                repo
                                ([ "train"; "--train"; path; "--test"; path; "--run"; Path.Combine(dir, "r") ]
                                 @ small.Tail.Tail)

                        expectOneLineError r ReturnCode.BadData [ path; "row 3, column 1"; String('1', 60) + "…" ]
                        Expect.isLessThan r.Err.Length 300 $"the message is short (%d{r.Err.Length} characters)"

                    testCase "a PNG with a bad CRC or an impossible bit depth is called so, not truncated"
                    <| fun () ->
                        let dir = tempDir ()
                        let good = Path.Combine(dir, "good.png")
                        ImageFolderTests.writeGray good 28 28 (pattern 1)
                        let bytes = File.ReadAllBytes good

                        let find (kind: string) =
                            let k = Encoding.ASCII.GetBytes kind
                            seq { 8 .. bytes.Length - 8 } |> Seq.find (fun i -> bytes[i .. i + 3] = k)

                        let idat = find "IDAT"

                        let length =
                            int (
                                Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(
                                    ReadOnlySpan bytes[idat - 4 .. idat - 1]
                                )
                            )

                        let crc = Array.copy bytes
                        crc[idat + 4 + length] <- crc[idat + 4 + length] ^^^ 0xFFuy
                        let depth = Array.copy bytes
                        depth[24] <- 3uy // IHDR's bit depth: 8 + 4 + 4 + width and height
                        let ihdr = crc32 depth[12..28]
                        Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(Span(depth, 29, 4), ihdr)

                        for name, content, says in
                            [
                                "crc.png", crc, "chunk 'IDAT' at byte"
                                "depth.png", depth, "bit depth 3 is not valid for colour type 0"
                                "cut.png", bytes[.. idat + 20], "truncated"
                            ] do
                            let path = Path.Combine(dir, name)
                            File.WriteAllBytes(path, content)
                            let r = run repo [ "predict"; "--model"; trained.Value; "--image"; path ]
                            expectOneLineError r ReturnCode.BadData [ path; says ]

                            if name <> "cut.png" then
                                Expect.isFalse (r.Err.Contains "truncated") r.Err

                    testCase "a model holding NaN is refused by eval, naming the tensor, not scored at 10%"
                    <| fun () ->
                        let dir = editedRun ignore
                        let model = Path.Combine(dir, ModelFile.FileName)
                        let struct (tensors, metadata) = Safetensors.Read model
                        let first = tensors[0]
                        let data = Array.copy first.Data
                        BitConverter.GetBytes(Single.NaN).CopyTo(data, 0)
                        let nan = Tensor(first.Name, first.Dtype, first.Shape, data)
                        let edited = [| yield nan; yield! Seq.skip 1 tensors |]
                        let meta = Collections.Generic.Dictionary<string, string>(metadata)
                        meta["tensor_sha256"] <- Safetensors.TensorHash edited
                        Safetensors.Write(model, edited, meta)
                        let r = run repo [ "eval"; "--model"; dir; "--data"; dataFile "mnist_test_10.csv" ]
                        expectOneLineError r ReturnCode.BadData [ model; $"'%s{first.Name}'"; "NaN" ]
                        let i = run repo [ "inspect"; model ]
                        Expect.equal i.Code 0 $"inspect still shows it: %s{i.Err}"
                ]
        ]
