// Quickstart, in the style of a notebook: load the digits, look at them, build a network, train one epoch,
// evaluate, and draw what happened. Each "cell" below is a few lines; run them one by one in an editor's
// F# Interactive, or all at once.
//
// The one build it needs first (CI does it):  dotnet build src/Host -c Release
// Then:                                        dotnet fsi scripts/quickstart.fsx
// Pictures go to runs/quickstart/ (digits.png, loss.png, predictions.png, confusion.png).
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/SkiaSharp.dll"
#r "../src/Host/bin/Release/net10.0/ScottPlot.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Step
open Functional.Host

let out =
    Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, "..", "runs", "quickstart"))

Directory.CreateDirectory out |> ignore

// ## 1. Load the shipped digits: bytes and labels, as on disk.
let load name =
    Data.DataFiles.Load(Path.Combine(__SOURCE_DIRECTORY__, "..", "data", name), null)

let trainFile, testFile =
    load "train-images-idx3-ubyte.gz", load "test-images-idx3-ubyte.gz"

let train, test = Inputs.ToCore trainFile, Inputs.ToCore testFile
printfn "train %d images, test %d, %dx%d pixels" train.Count test.Count trainFile.Rows trainFile.Cols

// ## 2. Look at them: the first 25 training images with their labels.
printfn "digits: %s" (Plots.Digits(Path.Combine(out, "digits.png"), trainFile, 0, 25))

// ## 3. A network is a value: an architecture and weights drawn from an explicit seed.
let arch = Arch.dense [| 784; 64; 10 |] Relu Softmax true

let hyper =
    {
        Loss = CrossEntropy
        Reduction = Mean
        L2 = 0.0
        Optimizer = OptimizerSpec.adam 1e-3
        Seed = 1
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Trades = 0.0
    }

let state0 = Step.initState hyper (Network.init<float32> Init.He 1 arch)

let batchOf (images: Data.Images) (order: int[]) offset count : Batch<float32> =
    let x = Tensor.zeros<float32> 784 count
    let y = Tensor.zeros<float32> 10 count
    Data.gatherInto Data.Unit images order offset x y
    { X = x; Y = y }

// ## 4. Train one epoch: a fold of the pure step over the batch schedule, keeping every step's report.
let order = Data.permutation 1 0 train.Count

let final, reports =
    Data.batches train.Count 32
    |> Array.mapFold
        (fun state (offset, count) ->
            let next, report = Step.step hyper (batchOf train order offset count) state
            report, next)
        state0
    |> fun (reports, final) -> final, reports

printfn "one epoch: %d steps, loss %.4f -> %.4f" final.Step reports[0].Loss reports[reports.Length - 1].Loss

// ## 5. Evaluate on the test set.
let predictions =
    let batch = batchOf test (Array.init test.Count id) 0 test.Count
    argmaxColumns (forward final.Network batch.X).Output

let confusion = Array.init 10 (fun _ -> Array.zeroCreate<int> 10)

predictions
|> Array.iteri (fun i p -> confusion[int test.Labels[i]][p] <- confusion[int test.Labels[i]][p] + 1)

let accuracy =
    float (Array.init 10 (fun c -> confusion[c][c]) |> Array.sum) / float test.Count

printfn "test accuracy after one epoch: %.2f%%" (100.0 * accuracy)

// ## 6. Draw: the loss of every step (ScottPlot, with the font functional ships), the first test images
// with their predictions (wrong ones in red), and the confusion matrix.
PlotFonts.Register()
let plot = new ScottPlot.Plot()

plot.Add.ScatterLine(Array.init reports.Length float, reports |> Array.map (fun r -> r.Loss))
|> ignore

plot.Title "loss per step, first epoch"
plot.XLabel "step"
plot.YLabel "cross-entropy"
plot.SavePng(Path.Combine(out, "loss.png"), 800, 500) |> ignore
printfn "loss: %s" (Path.Combine(out, "loss.png"))

printfn "predictions: %s" (Plots.Digits(Path.Combine(out, "predictions.png"), testFile, 0, 25, predictions[..24]))

printfn
    "confusion: %s"
    (ConfusionPlot.Write(Path.Combine(out, "confusion.png"), confusion, $"one epoch: accuracy %.2f{100.0 * accuracy}%%"))

// CI runs this script: it fails loudly if the story stops being true.
if accuracy < 0.85 then
    failwithf "one epoch should reach 85%%, got %.2f%%" (100.0 * accuracy)
