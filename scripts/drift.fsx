// Trajectory drift from F# Interactive: train the same batches from the same weights in float32 and float64
// side by side (Api.Evaluation.Drift, Trajectory.fs) and read how far the two trajectories move apart, layer by layer,
// with the verdict on whether float32 rounding explains it. The CLI's `functional drift RUN` prints the same.
// Build once first (CI does): dotnet build src/Host -c Release
// Then: dotnet fsi scripts/drift.fsx [STEPS [EVERY]]   (default 120 steps sampled every 30, well under a minute)
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open Functional
open Functional.Host

let args = fsi.CommandLineArgs |> Array.skip 1
let steps = if args.Length > 0 then int args[0] else 120
let every = if args.Length > 1 then int args[1] else 30

let data name =
    Path.Combine(__SOURCE_DIRECTORY__, "..", "data", name)

// The first 4,000 training images and 1,000 test images of the shipped MNIST: enough for a few hundred steps.
let train =
    Subset.First(
        Functional.Host.Data.DataFiles.Load(data "train-images-idx3-ubyte.gz", data "train-labels-idx1-ubyte.gz"),
        4000
    )

let test =
    Subset.First(
        Functional.Host.Data.DataFiles.Load(data "test-images-idx3-ubyte.gz", data "test-labels-idx1-ubyte.gz"),
        1000
    )

// The default recipe (Adam 1e-3, batch 32, ReLU) on a narrower network, to keep the script quick.
let config =
    { Api.Training.DefaultConfig with
        Arch = Api.Models.DenseArch([| 784; 128; 10 |], Activations.Relu, Activations.Softmax, true)
    }

// null: from the initial weights (step 0); a run's Trainer.State() starts from any checkpoint instead.
let report =
    Api.Evaluation.Drift(config, Inputs.ToCore train, Inputs.ToCore test, null, 0L, steps, every)

printfn "rule: %s" Api.Evaluation.DriftRule
printfn "%6s  %-19s  %10s  %9s  %10s  %13s  %7s" "step" "layer" "‖ΔW‖/‖W‖" "bound" "‖Δg‖/‖g‖" "cos" "agree"

for s in report.Samples do
    for d in s.Layers do
        printfn
            "%6d  %-19s  %10s  %9s  %10s  %13.9f  %6.2f%%"
            s.Step
            (Display.layer d.Layer)
            (Display.small d.WeightRel)
            (Display.small (Trajectory.bound s.T))
            (Display.small d.GradRel)
            d.GradCosine
            (100.0 * s.Agreement)

printfn "verdict: %s" report.Verdict

// CI runs every script: fail loudly if the comparison measured nothing or met a NaN.
if not (Trajectory.sound report) then
    failwith report.Verdict
