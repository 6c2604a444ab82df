// Replay from F# Interactive: load a run's checkpoint, rebuild the batch of a step, call the core's `step`
// directly, and look at the same drift figures `functional replay --precision float64` prints.
// Build once first (CI does): dotnet build src/Host -c Release
// Then: dotnet fsi scripts/replay.fsx [RUN_DIR [STEP]]   (without a run, it trains a small one first)
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System
open System.IO
open System.Diagnostics
open Functional
open Functional.Network
open Functional.Optim
open Functional.Step
open Functional.Host
open Functional.Host.Runs

let args = fsi.CommandLineArgs |> Array.skip 1

let runDir =
    match args with
    | [| dir; _ |]
    | [| dir |] -> dir
    | _ ->
        let dir =
            Path.Combine(Path.GetTempPath(), "functional-replay-" + Guid.NewGuid().ToString("N"))

        // The example run is this script's own: removed when it ends, also when it fails.
        AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
            try
                if Directory.Exists dir then
                    Directory.Delete(dir, true)
            with _ ->
                ())

        let exe =
            Path.Combine(__SOURCE_DIRECTORY__, "..", "src", "Host", "bin", "Release", "net10.0", "functional.dll")

        let train =
            Process.Start(
                "dotnet",
                [|
                    exe
                    "train"
                    "--layers"
                    "784,32,10"
                    "--epochs"
                    "1"
                    "--checkpoint-every"
                    "50"
                    "--run"
                    dir
                    "--quiet"
                |]
            )

        train.WaitForExit()

        if train.ExitCode <> 0 then
            failwith "training the example run failed"

        dir

let stepNo = if args.Length = 2 then int64 args[1] else 100L

// The run's config and data, exactly as `functional replay` reads them; its recorded OpenBLAS kernels, as
// `functional replay` uses them: chosen before the first product loads the library, else this process would round
// with this CPU's own kernels and the hashes would differ. A run this machine cannot replay is one line, exit 2.
let run =
    try
        let run = RunFile.Read runDir
        Kernels.ForRun(runDir, run, false, "replay")
        run
    with
    | :? UsageError
    | :? DataError as e ->
        eprintfn "%s" e.Message
        exit 2

let struct (train, _) = run.LoadData Console.Error
let images = Inputs.ToCore train
let checkpoint = Checkpoints.NewestValid(runDir, run, stepNo - 1L, Console.Error)

printfn
    "run %s, step %d, from %s"
    runDir
    stepNo
    (if isNull (box checkpoint) then
         "the seed"
     else
         checkpoint.Path)

// Into the core's own types: run.Config is the typed configuration; the network and optimiser state of
// the checkpoint, in float32.
let config = run.Config
let hyper = config.Hyper
let scale = config.Scale
let net = Start.network<float32> config images

let opt = Optim.init hyper.Optimizer net

let valuesOf (t: NamedArray) =
    if isNull t.Float32 then
        Array.map float32 t.Float64
    else
        t.Float32

let find (name: string) (_: int[]) =
    valuesOf (checkpoint.State |> Array.find (fun t -> t.Name = name))

if not (isNull (box checkpoint)) then
    Snapshot.load "" find config.Arch net.Params
    Snapshot.load "optimizer.m." find config.Arch opt.M
    Snapshot.load "optimizer.v." find config.Arch opt.V

// Step through to the state before `stepNo` with the core's pure `step`.
let n = images.Count

// The batch of step N: the core's one definition, the same that train and replay use.
let batchOf<'T
    when 'T :> Numerics.IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (step: int64)
    : Batch<'T> =
    let at = Data.batchOfStep n config.Batch step
    let x = Tensor.zeros<'T> images.Features at.Count
    let y = Tensor.zeros<'T> config.Classes at.Count
    let order = Data.permutation config.Seed at.Epoch n
    Data.gatherInto scale images order at.Offset x y

    // Then each example distorted as (seed, epoch, example index) asks, when the run augments.
    match Augment.Augment.imageSize config.Arch.Input with
    | Some(h, w) when not (Augment.Augment.isNone config.Augment) ->
        Augment.applyToBatch (Augment.Augmenter(config.Augment, h, w)) scale config.Seed at.Epoch order at.Offset x
    | _ -> ()

    { X = x; Y = y }

let start = if isNull (box checkpoint) then 0L else checkpoint.At.Step

// Steps that `train --on-nonfinite skip` left out are counted and not taken, as the run did.
let skipped = Journal.Skips(runDir, Console.Error)

let before =
    [ start + 1L .. stepNo - 1L ]
    |> List.fold
        (fun state s ->
            if skipped.Contains s then
                { state with Step = state.Step + 1L }
            else
                fst (step hyper (batchOf<float32> s) state))
        {
            Step = start
            Network = net
            Opt = opt
        }

// Step `stepNo` itself, and its gradients in float32 against float64 from the same weights.
let after, report = step hyper (batchOf<float32> stepNo) before
let _, own = gradients hyper (batchOf<float32> stepNo) before.Network

let _, exact =
    gradients hyper (batchOf<float> stepNo) (Snapshot.convert<float32, float> before.Network)

printfn "step %d: loss %.6f, gradient norms %A" stepNo report.Loss report.GradNorms
printfn "  layer   relative L2      max |Δ|       cosine"

for d in Snapshot.drift own exact do
    printfn "  %5d  %11.2e  %11.2e  %11.9f" d.Layer d.RelativeL2 d.MaxAbs d.Cosine

// The journal agrees when the run used Adam and this step was journaled.
let journal = Journal.Steps(runDir, Console.Error)

match journal.TryGetValue stepNo with
| true, line when config.Optimizer.IsAdam ->
    let hash = Snapshot.hash (Network.arrays after.Network)

    printfn
        "weights hash after step %d %s the journal's"
        stepNo
        (if hash = line.WeightsHash then
             "matches"
         else
             "DIFFERS from")

    if hash <> line.WeightsHash then
        exit 1
| _ -> printfn "(step %d is not journaled: nothing to compare the weights hash with)" stepNo
