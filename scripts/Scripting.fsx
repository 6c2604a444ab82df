// The one entry point for F# Interactive: `#load "Scripting.fsx"` gives the core's modules and the few helpers
// a script needs: load a data set by path, a batch from arrays of floats, step, evaluate, plot.
// Build once first (CI does): dotnet build src/Host -c Release
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/SkiaSharp.dll"
#r "../src/Host/bin/Release/net10.0/ScottPlot.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open Functional
open Functional.Network
open Functional.Optim
open Functional.Step

// The CLI's default OpenBLAS kernels (Haswell), chosen before the first product: a script's figures then match
// the CLI's on every machine, whatever kernels OpenBLAS would pick for this CPU.
Host.Kernels.Use null

/// A run folder's record, for a script that replays its steps: the run must have used the kernels chosen above
/// (the default), else this refuses in one line, as `functional replay` does, and ends the script with exit 2;
/// scripts/replay.fsx reads the run first and so replays runs of any kernels.
let openRun (dir: string) =
    try
        let run = Host.Runs.RunFile.Read dir
        Host.Kernels.ForRun(dir, run, false, "replay")
        run
    with
    | :? Host.UsageError
    | :? Host.DataError as e ->
        eprintfn "%s" e.Message
        exit 2

/// A shipped data file of the repository's data/ folder ("train-images-idx3-ubyte.gz").
let shipped (name: string) =
    Path.Combine(__SOURCE_DIRECTORY__, "..", "data", name)

/// Images and labels from a file the CLI reads (IDX raw or .gz with labels beside it, or CSV), as the core's value.
let load (path: string) : Data.Images =
    let images = Host.Data.DataFiles.Load(path, null)

    {
        Pixels = images.Pixels
        Labels = images.Labels
        Count = images.Count
        Features = images.Features
        Values = [||]
    }

/// A batch from arrays of floats: one array of features per example and its class, one-hot over `classes`.
let batchOfArrays (classes: int) (examples: float[][]) (labels: int[]) : Batch<float32> =
    let x = Tensor.zeros<float32> examples[0].Length examples.Length
    let y = Tensor.zeros<float32> classes examples.Length

    examples
    |> Array.iteri (fun j features ->
        features |> Array.iteri (fun i v -> x[i, j] <- float32 v)
        y[labels[j], j] <- 1.0f)

    { X = x; Y = y }

/// The examples order[offset .. offset+count-1] of a data set, scaled to [0, 1] with one-hot targets.
let batchOf (images: Data.Images) (order: int[]) (offset: int) (count: int) : Batch<float32> =
    let x = Tensor.zeros<float32> images.Features count
    let y = Tensor.zeros<float32> 10 count
    Data.gatherInto Data.Unit images order offset x y
    { X = x; Y = y }

/// Plain SGD at learning rate `lr` (the other optimisers: OptimizerSpec.adam lr, Momentum(lr, mu)).
let sgd (lr: float) = Sgd lr

/// One training step: the new state and its report (loss, gradient norms, update ratios).
let step (hyper: Hyper) (batch: Batch<float32>) (state: TrainState<float32>) = Step.step hyper batch state

/// The fraction of `images` the network classifies correctly.
let evaluate (net: Network<float32>) (images: Data.Images) =
    let batch = batchOf images (Array.init images.Count id) 0 images.Count
    let predicted = argmaxColumns (forward net batch.X).Output

    let correct =
        predicted
        |> Array.mapi (fun i p -> if p = int images.Labels[i] then 1 else 0)
        |> Array.sum

    float correct / float images.Count

/// Draws a series (a loss per step, an accuracy per epoch) against its index into the PNG at `path`, its axes
/// titled `xTitle` and `yTitle`, with ScottPlot and the font functional ships; returns the path.
let plot (path: string) (title: string) (xTitle: string) (yTitle: string) (ys: float[]) =
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath path))
    |> ignore

    Host.Plots.Series(path, title, xTitle, yTitle, ys)
