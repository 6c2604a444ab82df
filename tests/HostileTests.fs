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

/// One small trained run, made once; each test edits a copy.
let private trained =
    lazy
        (let dir = Path.Combine(tempDir (), "base")
         let t = run repo ([ "train"; "--run"; dir; "--journal-every"; "10" ] @ small)
         Expect.equal t.Code 0 t.Err
         dir)

let rec private copyDir (from: string) (into: string) =
    Directory.CreateDirectory into |> ignore

    for f in Directory.GetFiles from do
        File.Copy(f, Path.Combine(into, Path.GetFileName f))

    for d in Directory.GetDirectories from do
        copyDir d (Path.Combine(into, Path.GetFileName d))

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
        ]
