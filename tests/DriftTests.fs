/// Replay anywhere (the OpenBLAS kernels a run records, and the refusal where a machine cannot use them) and the
/// float32-against-float64 trajectory drift, through the core and the real binary.
module Functional.Tests.DriftTests

open System.IO
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open Expecto
open Functional
open Functional.Host
open Functional.Tests.EndToEndTests

let private small =
    [
        "--layers"
        "784,16,10"
        "--epochs"
        "1"
        "--validation"
        "0"
        "--train-count"
        "2000"
    ]

let private trainRun (extra: string list) =
    let runDir = Path.Combine(tempDir (), "run")
    let o = run repo ([ "train"; "--run"; runDir; "--quiet" ] @ small @ extra)
    Expect.equal o.Code 0 (sprintf "train: %s" o.Err)
    runDir

let private runJson dir =
    JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json"))).AsObject()

let private setRecorded dir (core: string) =
    let o = runJson dir
    o["blas_core"] <- JsonValue.Create core
    File.WriteAllText(Path.Combine(dir, "run.json"), o.ToJsonString())

let private cpu = Kernels.CpuFlags()

[<Tests>]
let tests =
    testList
        "Replay anywhere and drift"
        [
            test "which kernels a CPU can run, by its flags" {
                let avx2 =
                    System.Collections.Generic.HashSet<string>([ "avx"; "avx2"; "fma"; "sse4_2"; "ssse3"; "pni" ])

                Expect.equal (Kernels.Missing("Haswell", avx2)) [||] "every AVX2 CPU runs Haswell"
                Expect.equal (Kernels.Missing("haswell", avx2)) [||] "names are case-insensitive"

                Expect.equal
                    (Kernels.Missing("SkylakeX", avx2))
                    [| "avx512f"; "avx512bw"; "avx512cd"; "avx512dq"; "avx512vl" |]
                    "SkylakeX needs AVX-512"

                Expect.isNull (Kernels.Missing("Pentium9", avx2)) "an unknown family"
                Expect.equal (Kernels.Canonical "cooperlake") "Cooperlake" "canonical spelling"
            }

            test "a run records its kernels, and replays bit for bit whatever OPENBLAS_CORETYPE says" {
                // SkylakeX where this CPU has AVX-512, else Haswell; replay runs under the other setting.
                let kernels, other =
                    if (Kernels.Missing("SkylakeX", cpu)).Length = 0 then
                        "SkylakeX", "Haswell"
                    else
                        "Haswell", "Sandybridge"

                let runDir = trainRun [ "--kernels"; kernels; "--journal-every"; "20" ]
                let o = runJson runDir
                Expect.equal (string o["blas_core"]) kernels "the kernels used"
                Expect.equal (string o["kernels"]) kernels "the kernels asked for"
                Expect.stringStarts (string o["backend"]) "OpenBLAS" "the backend"
                Expect.equal (string o["cpu"]) (Kernels.CpuModel()) "the CPU"

                let r =
                    runWith [ "OPENBLAS_CORETYPE", other ] repo [ "replay"; runDir; "--step"; "60" ]

                Expect.equal r.Code 0 (sprintf "replay: %s %s" r.Out r.Err)
                Expect.isMatch r.Out @"reproduced steps 1\.\.60 bit for bit" "bit for bit"
            }

            test "a run whose kernels this machine cannot use is refused in one line before it starts" {
                let runDir = trainRun [ "--journal-every"; "20" ]
                // No CPU has every flag of an unknown family and no OpenBLAS has its kernels.
                let lacking =
                    if (Kernels.Missing("SapphireRapids", cpu)).Length > 0 then
                        "SapphireRapids"
                    else
                        "Pentium9"

                setRecorded runDir lacking
                let r = run repo [ "replay"; runDir; "--step"; "40" ]
                expectOneLineError r 2 [ Path.Combine(runDir, "run.json"); lacking; "--other-kernels" ]
                Expect.equal r.Out "" "nothing started"
                let anyway = run repo [ "replay"; runDir; "--step"; "40"; "--other-kernels" ]
                Expect.stringContains anyway.Err "warning: the run used OpenBLAS's" "says what differs"
                Expect.isTrue (anyway.Code = 0 || anyway.Code = 1) (sprintf "ran: %s" anyway.Err)

                let bogus =
                    run
                        repo
                        ([ "train"; "--run"; Path.Combine(tempDir (), "x") ]
                         @ small
                         @ [ "--kernels"; "Pentium9" ])

                expectOneLineError bogus 2 [ "--kernels Pentium9"; "Haswell" ]
            }

            test "the drift of float32 from float64: rounding at first, every value finite, a verdict" {
                let config =
                    { Core.Helpers.trainConfig Float32 with
                        Arch = Core.Helpers.dense [| 784; 16; 10 |] Activations.Relu Activations.Softmax true
                    }

                let images = Core.Helpers.synthetic 7 200
                let report = Api.Evaluation.Drift(config, images, images, null, 0L, 60, 20)
                Expect.isTrue (Trajectory.sound report) report.Verdict
                Expect.equal (report.Samples |> Array.map _.T) [| 20L; 40L; 60L |] "samples every 20 steps"

                Expect.equal
                    report.Measured
                    (3L * (784L * 16L + 16L + 16L * 10L + 10L))
                    "every weight compared at every sample"

                let first = report.Samples[0].Layers[0]
                Expect.isGreaterThan first.WeightRel 0.0 "float32 rounds"
                Expect.isLessThan first.WeightRel (Trajectory.bound 20L) "within rounding after 20 steps"
                Expect.isGreaterThan first.GradCosine 0.999 "the gradients agree"
                Expect.isTrue (report.Verdict.Length > 0) "a verdict"
            }

            test "a diverging pair of trajectories fails the drift check, saying why" {
                let config =
                    { Core.Helpers.trainConfig Float32 with
                        Arch = Core.Helpers.dense [| 784; 16; 10 |] Activations.Relu Activations.Softmax true
                        Optimizer = Optim.Sgd 1e30
                    }

                let images = Core.Helpers.synthetic 7 200
                let report = Api.Evaluation.Drift(config, images, images, null, 0L, 30, 5)
                Expect.isFalse (Trajectory.sound report) report.Verdict
                Expect.stringContains report.Verdict "diverged" report.Verdict
            }

            test "functional drift prints the table, the rule and the verdict, and draws the PNG" {
                let runDir = trainRun []
                let png = Path.Combine(Path.GetDirectoryName runDir, "drift.png")

                let o =
                    run
                        repo
                        [
                            "drift"
                            runDir
                            "--steps"
                            "40"
                            "--every"
                            "20"
                            "--test-count"
                            "200"
                            "--out"
                            png
                        ]

                Expect.equal o.Code 0 (sprintf "drift: %s %s" o.Out o.Err)
                Expect.stringContains o.Out "rule   rounding explains" "the rule"

                Expect.equal
                    (Regex
                        .Matches(o.Out, @"^\s+(20|40)\s+(20|40)\s+layer [12] \(layers\.[01]\)", RegexOptions.Multiline)
                        .Count)
                    4
                    "2 samples x 2 layers"

                Expect.isMatch o.Out @"drift: (within rounding|beyond rounding from step \d+ in layer)" "the verdict"
                Expect.isGreaterThan (FileInfo(png).Length) 10_000L "a PNG"

                // --json: the same figures as one object, nothing else on stdout.
                let j =
                    run
                        repo
                        [
                            "drift"
                            runDir
                            "--steps"
                            "40"
                            "--every"
                            "20"
                            "--test-count"
                            "200"
                            "--json"
                        ]

                Expect.equal j.Code 0 j.Err
                let node = JsonNode.Parse j.Out
                let samples = node["samples"].AsArray()
                Expect.equal (samples |> Seq.map (fun s -> s["t"].GetValue<int64>()) |> List.ofSeq) [ 20L; 40L ] "t"

                let table =
                    Regex.Match(o.Out, @"^\s+20\s+20\s+layer 1 \(layers\.0\)\s+(\S+?)\*?\s", RegexOptions.Multiline)

                let first = samples[0].["layers"].[0]
                Expect.equal (first["tensors"].GetValue<string>()) "layers.0" "the tensor prefix"

                Expect.equal
                    (Api.Display.Small(first["weight_rel"].GetValue<float>()))
                    table.Groups[1].Value
                    "the JSON's figure is the table's"

                Expect.equal (node["sound"].GetValue<bool>()) true "sound"
                Expect.isGreaterThan (node["values_compared"].GetValue<int64>()) 0L "something compared"
            }
        ]
