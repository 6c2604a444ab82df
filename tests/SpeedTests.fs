/// What the fast path promises besides speed: the fused per-example SGD update computes the defined
/// update, a steady-state step allocates nothing, and `bench` reports every case it measures.
module Functional.Tests.SpeedTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Network
open Functional.Optim
open Functional.Step

let private spec sizes hidden output bias =
    Arch.Arch.dense sizes hidden output bias

let private batchOf<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rng: Rng)
    (s: Arch.Arch)
    (cols: int)
    : Batch<'T> =
    let classes = Arch.Arch.classes s
    let x = Tensor.zeros<'T> (Arch.Arch.inputs s) cols
    let y = Tensor.zeros<'T> classes cols
    let xd, yd = Tensor.data x, Tensor.data y

    for i in 0 .. xd.Length - 1 do
        xd[i] <- 'T.CreateTruncating(rng.NextDouble())

    for j in 0 .. cols - 1 do
        yd[j * classes + rng.NextInt classes] <- 'T.One

    { X = x; Y = y }

let private hyperOf optimizer l2 : Hyper =
    {
        Loss = CrossEntropy
        Reduction = Mean
        L2 = l2
        Optimizer = optimizer
        Seed = 1
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Trades = 0.0
    }

/// Bytes this thread allocates over `steps` steps after `warm` warm-up steps.
let private allocatedPerStep (stepOnce: unit -> unit) =
    for _ in 1..5 do
        stepOnce ()

    let before = GC.GetAllocatedBytesForCurrentThread()

    for _ in 1..50 do
        stepOnce ()

    GC.GetAllocatedBytesForCurrentThread() - before

let private fusedTests =
    testList
        "fused SGD (no gradient buffer)"
        [
            for hidden in [ Sigmoid; Relu; Tanh ] do
                for bias, cols, l2 in [ true, 1, 0.0; false, 1, 0.05; true, 4, 0.05; false, 4, 0.0 ] do
                    test (
                        sprintf
                            "equals gradient-then-update, %s bias=%b batch %d l2 %g"
                            (Activation.name hidden)
                            bias
                            cols
                            l2
                    ) {
                        let s = spec [| 12; 7; 5; 3 |] hidden Softmax bias
                        let rng = Rng.For(5, 1)
                        let net = Network.init<float> Xavier 3 s
                        let h = hyperOf (Sgd 0.3) l2

                        let mutable state = initState h net
                        let mutable reference = Network.copy net

                        for _ in 1..10 do
                            let batch = batchOf<float> rng s cols
                            let next, _ = step h batch state
                            // The definition, unfused: g = ∂L/∂θ, then w ← w − η g.
                            let _, grads = gradients h batch reference

                            let net', _ =
                                (Optim.create<float>(Sgd 0.3)).Update 1L grads { M = [||]; V = [||] } reference

                            state <- next
                            reference <- net'

                        let a, b = Network.arrays state.Network, Network.arrays reference

                        for p in 0 .. a.Length - 1 do
                            for i in 0 .. a[p].Length - 1 do
                                let fused, defined = a.[p].[i], b.[p].[i]
                                let accuracy = { absolute = 1e-13; relative = 1e-12 }
                                Expect.floatClose accuracy fused defined (sprintf "array %d entry %d" p i)
                    }

            test "is what the managed and the OpenBLAS backend both compute (float32, 784-200-10)" {
                let s = spec [| 784; 200; 10 |] Sigmoid Softmax true
                let h = hyperOf (Sgd 0.1) 0.0

                let run backend =
                    Tensor.Blas.With backend (fun () ->
                        let rng = Rng.For(9, 0)
                        let net = Network.init<float32> NormalFanIn 1 s
                        let opt = Optim.init h.Optimizer net
                        let ws = Workspace.create<float32> s 1

                        for t in 0..19 do
                            stepInPlace h (batchOf<float32> rng s 1) ws false (int64 t) net opt |> ignore

                        Network.arrays net)

                let managed = run Tensor.Managed
                Expect.equal (run Tensor.Managed) managed "managed is deterministic"

                if Tensor.Blas.NativeAvailable then
                    let native = run Tensor.OpenBlas
                    Expect.equal (run Tensor.OpenBlas) native "OpenBLAS is deterministic"

                    for p in 0 .. native.Length - 1 do
                        for i in 0 .. native[p].Length - 1 do
                            let n, m = float native.[p].[i], float managed.[p].[i]
                            Expect.floatClose { absolute = 1e-6; relative = 1e-4 } n m "backends agree"
            }
        ]

let private allocationTests =
    testList
        "a steady-state step allocates nothing"
        [
            for optimizer in [ Sgd 0.1; Momentum(0.1, 0.9); OptimizerSpec.adam 1e-3 ] do
                for cols in [ 1; 16 ] do
                    for l2 in [ 0.0; 1e-4 ] do
                        test (sprintf "%s, batch %d, l2 %g" (OptimizerSpec.name optimizer) cols l2) {
                            let s = spec [| 30; 20; 10 |] Sigmoid Softmax true
                            let h = hyperOf optimizer l2
                            let rng = Rng.For(3, cols)
                            let net = Network.init<float32> He 2 s
                            let opt = Optim.init h.Optimizer net
                            let ws = Workspace.create<float32> s cols
                            let batch = batchOf<float32> rng s cols
                            let mutable t = 0L

                            let bytes =
                                allocatedPerStep (fun () ->
                                    stepInPlace h batch ws false t net opt |> ignore
                                    t <- t + 1L)

                            Expect.equal bytes 0L "bytes allocated by 50 steps"
                        }

            test "through the Api trainer the CLI uses (gather + step)" {
                let images: Data.Images =
                    {
                        Pixels = Array.init (64 * 784) (fun i -> byte (i % 251))
                        Labels = Array.init 64 (fun i -> byte (i % 10))
                        Count = 64
                        Features = 784
                        Values = [||]
                    }

                let config: Config =
                    { Config.defaults with
                        Arch = spec [| 784; 32; 10 |] Relu Softmax true
                        Loss = CrossEntropy
                        Init = He
                        Optimizer = OptimizerSpec.adam 1e-3
                        L2 = 0.0
                        Reduction = Mean
                        Scale = Data.Unit
                        Seed = 1
                        Precision = Float32
                        Batch = 8
                        Schedule = Schedule.Constant
                        ClipNorm = 0.0
                        Augment = Augment.Augment.none
                        Adversarial = None
                    }

                let trainer = Api.Training.CreateTrainer(config, images)
                let order = Api.Data.Permutation(1, 0, 64)
                let mutable offset = 0

                let bytes =
                    allocatedPerStep (fun () ->
                        trainer.Step(order, offset, 8) |> ignore
                        offset <- (offset + 8) % 64)

                Expect.equal bytes 0L "bytes allocated by 50 trainer steps"
            }
        ]

let private benchTests =
    testList
        "bench"
        [
            test "the roofline counts every matrix a layer multiplies by: dense weights, convolutions, rbf centres" {
                let products text =
                    match Arch.Arch.parse [| 1; 28; 28 |] text with
                    | Ok a -> Benchmark.products a 32
                    | Error e -> failtest e

                Expect.equal
                    (products "input 784, rbf 100, dense 10 softmax")
                    [| 32, 100, 784; 32, 10, 100 |]
                    "the centres [100, 784] and the readout [10, 100]"

                Expect.equal
                    (products "input 784, dense 30 relu, dense 10 softmax")
                    [| 32, 30, 784; 32, 10, 30 |]
                    "weights, not biases"

                Expect.equal
                    (products "conv 4 5x5 relu, flatten, dense 10 softmax")
                    [| 32 * 24 * 24, 4, 25; 32, 10, 4 * 24 * 24 |]
                    "a convolution as its patches' product"
            }

            test "--json prints one object per case with every field" {
                let o =
                    EndToEndTests.run EndToEndTests.repo [ "bench"; "--json"; "--seconds"; "0.05" ]

                Expect.equal o.Code 0 (sprintf "exit code; stderr: %s" o.Err)

                let lines =
                    o.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)

                Expect.equal
                    lines.Length
                    15
                    "float32 and float64 at batch 1, 32, 128 and full; lenet5 and cnn at 32 and 64; rnn and lstm at 64; rbf at 32"

                let fields =
                    [
                        "batch"
                        "precision"
                        "examples_per_s"
                        "seconds_per_epoch"
                        "gflops"
                        "roofline_gflops"
                        "roofline_fraction"
                        "bytes_per_step"
                        "peak_working_set_mb"
                    ]

                let cases =
                    [
                        for line in lines do
                            use doc = JsonDocument.Parse line
                            let root = doc.RootElement

                            for f in fields do
                                Expect.isTrue (fst (root.TryGetProperty f)) (sprintf "field %s in %s" f line)

                            for f in fields |> List.filter (fun f -> f <> "precision" && f <> "bytes_per_step") do
                                Expect.isGreaterThan (root.GetProperty(f).GetDouble()) 0.0 (sprintf "%s > 0" f)

                            yield
                                root.GetProperty("network").GetString(),
                                root.GetProperty("precision").GetString(),
                                root.GetProperty("batch").GetInt32()
                    ]

                Expect.equal
                    cases
                    [
                        for p in [ "float32"; "float64" ] do
                            for b in [ 1; 32; 128; 8000 ] -> "seed", p, b
                        for n in [ "lenet5"; "cnn" ] do
                            for b in [ 32; 64 ] -> n, "float32", b
                        yield "rnn", "float32", 64
                        yield "lstm", "float32", 64
                        yield "rbf", "float32", 32
                    ]
                    "the cases, in order"
            }

            test "--profile --json gives every layer of every preset a forward and a backward time" {
                for name in Functional.Cli.Presets.names do
                    let o =
                        EndToEndTests.run
                            EndToEndTests.repo
                            [ "bench"; "--profile"; "--json"; "--preset"; name; "--seconds"; "0.05" ]

                    Expect.equal o.Code 0 (sprintf "%s: exit code; stderr: %s" name o.Err)
                    let arch = (Functional.Cli.Presets.find name).Config.Arch

                    let rows =
                        o.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
                        |> Array.filter (fun l -> l.StartsWith "{")
                        |> Array.map (fun l -> JsonDocument.Parse(l).RootElement)

                    Expect.equal rows.Length arch.Layers.Length (sprintf "%s: one row per layer" name)

                    for l, r in Array.indexed rows do
                        Expect.equal
                            (r.GetProperty("text").GetString())
                            arch.Layers[l].Text
                            (sprintf "%s layer %d" name l)

                        Expect.isGreaterThan
                            (r.GetProperty("forward_ms").GetDouble())
                            0.0
                            (sprintf "%s layer %d forward" name l)

                        Expect.isGreaterThan
                            (r.GetProperty("backward_ms").GetDouble())
                            0.0
                            (sprintf "%s layer %d backward" name l)

                    let withWeights =
                        rows
                        |> Array.filter (fun r -> r.GetProperty("roofline_gflops").GetDouble() > 0.0)

                    Expect.isNonEmpty withWeights (sprintf "%s: layers with matrix products have a roofline" name)
            }

            test "train records the BLAS backend and thread count, and runs on the managed backend" {
                let dir = EndToEndTests.tempDir ()
                let psiRun = Path.Combine(dir, "run")

                let o =
                    EndToEndTests.runWith
                        [ "FUNCTIONAL_BLAS", "managed" ]
                        dir
                        [
                            "train"
                            "--train"
                            EndToEndTests.dataFile "mnist_train_100.csv"
                            "--test"
                            EndToEndTests.dataFile "mnist_test_10.csv"
                            "--layers"
                            "784,16,10"
                            "--epochs"
                            "1"
                            "--threads"
                            "1"
                            "--run"
                            psiRun
                        ]

                Expect.equal o.Code 0 (sprintf "stderr: %s" o.Err)
                Expect.stringContains o.Out "blas  MathNet managed provider (1 thread(s))" "backend printed"
                use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(psiRun, "run.json")))
                Expect.stringContains (doc.RootElement.GetProperty("blas").GetString()) "MathNet" "backend recorded"
                Expect.equal (doc.RootElement.GetProperty("threads").GetInt32()) 1 "threads recorded"
                Directory.Delete(dir, true)
            }
        ]

[<Tests>]
let tests = testList "Speed" [ fusedTests; allocationTests; benchTests ]
