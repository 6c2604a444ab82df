// The question that started Functional, told in F# Interactive with the core's own functions:
// "my 784-200-10 network outputs the same digit for every input, and my gradient check matched".
// Build once first (CI does): dotnet build src/Host -c Release
// Then: dotnet fsi scripts/seed-story.fsx
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Step

let load name =
    let images =
        Host.Data.DataFiles.Load(Path.Combine(__SOURCE_DIRECTORY__, "..", "data", name), null)

    ({
        Pixels = images.Pixels
        Labels = images.Labels
        Count = images.Count
        Features = images.Features
        Values = [||]
    }
    : Data.Images)

let all, test = load "train-images-idx3-ubyte.gz", load "test-images-idx3-ubyte.gz"

// The question trained on the first 100 training images.
let train: Data.Images =
    { all with
        Pixels = all.Pixels[.. 100 * 784 - 1]
        Labels = all.Labels[..99]
        Count = 100
    }

let batchOf scale (images: Data.Images) (order: int[]) offset count : Batch<float> =
    let x = Tensor.zeros<float> 784 count
    let y = Tensor.zeros<float> 10 count
    Data.gatherInto scale images order offset x y
    { X = x; Y = y }

let inOrder (images: Data.Images) = Array.init images.Count id

let predictions (net: Network<float>) scale (images: Data.Images) =
    argmaxColumns (forward net (batchOf scale images (inOrder images) 0 images.Count).X).Output

let accuracy net scale (images: Data.Images) =
    let p = predictions net scale images

    float (
        p
        |> Array.mapi (fun i c -> if c = int images.Labels[i] then 1 else 0)
        |> Array.sum
    )
    / float p.Length

let saturation (net: Network<float>) scale =
    Diagnostics.health net (forward net (batchOf scale train (inOrder train) 0 100).X)
    |> Array.map (fun h -> h.Saturated)

// ---------------------------------------------------------------------------------------------
// 1. The seed network, exactly: 784-200-10, sigmoid hidden and output, MSE, no biases,
//    W ~ N(0, n_out^-½), inputs x/255·0.99 + 0.1, targets 0.01/0.99, lr 0.4, 100 full-batch
//    iterations, and the gradient summed over the 100 examples (the original's `/m` was commented out).
let seedArch = Arch.dense [| 784; 200; 10 |] Sigmoid Sigmoid false

let seedHyper =
    {
        Loss = Mse
        Reduction = Sum
        L2 = 0.0
        Optimizer = Sgd 0.4
        Seed = 1
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Trades = 0.0
    }

let seedNet = Network.init<float> Init.NormalFanOut 1 seedArch
let fullBatch = batchOf Data.Offset train (inOrder train) 0 100

/// `iterations` steps on one fixed batch: a fold of the pure step.
let trainOn hyper batch iterations net =
    Seq.fold (fun s _ -> fst (Step.step hyper batch s)) (Step.initState hyper net) (seq { 1..iterations })

let seedRun = trainOn seedHyper fullBatch 100 seedNet

let seedHistogram =
    Diagnostics.histogram 10 (predictions seedRun.Network Data.Offset test)

printfn "1. the seed network after 100 iterations"
printfn "   predicted classes on 2,000 test images: %A" seedHistogram
printfn "   entropy %.2f bits (3.32 for ten even classes)" (Diagnostics.entropyBits seedHistogram)

printfn
    "   saturated units per layer, at init %A, after %A"
    (saturation seedNet Data.Offset)
    (saturation seedRun.Network Data.Offset)
// predicted classes: [|0; 0; 0; 0; 0; 2000; 0; 0; 0; 0|], entropy 0.00 bits; saturated [|0.0; 0.0|] → [|0.92; 1.0|]

if (seedHistogram |> Array.filter (fun c -> c > 0)).Length > 1 then
    failwith "the seed network was expected to collapse to one class"

// Why: a summed gradient makes each of the 100 updates 100 × 0.4 = 40 times the mean gradient.
let _, first = Step.step seedHyper fullBatch (Step.initState seedHyper seedNet)

printfn
    "   the first update changes the weights by %s of their size (healthy: 1e-4 … 1e-1)"
    (first.UpdateRatios |> Array.map Display.small |> String.concat ", ")

// ---------------------------------------------------------------------------------------------
// 2. The gradient check "seemed to match". Our check compares the core's analytic gradient with
//    central differences, and names what differs. The original had two slips: the error taken as
//    y − a instead of a − y (a sign flip) and a factor ½. Injected into the analytic gradient here,
//    they are named exactly.
let small = batchOf Data.Offset train (inOrder train) 0 10

let show title (layers: GradCheck.LayerCheck[]) =
    printfn "   %s" title

    for r in layers do
        printfn
            "     %s: max rel err %s, signs agree %.0f%%, ‖num‖/‖ana‖ %+.3f: %s"
            (Display.layer r.Layer)
            (Display.small r.MaxRelError)
            (100.0 * r.SignAgreement)
            r.NormRatio
            (GradCheck.verdict r)

let scaled k (grads: float[][][]) =
    grads |> Array.map (Array.map (Array.map (fun g -> g * k)))

printfn "2. gradient checks on 10 examples (float64, ε = ∛(machine ε)·max(1, |θ|))"
let correct = GradCheck.check seedHyper small seedNet 50 1
show "the core's gradient:" correct
let flipped = GradCheck.checkWith (scaled -1.0) seedHyper small seedNet 50 1
show "with the error taken as y − a:" flipped
let halved = GradCheck.checkWith (scaled 0.5) seedHyper small seedNet 50 1
show "with a stray factor ½:" halved

if
    not (Array.forall GradCheck.passed correct)
    || GradCheck.factor flipped[0] <> Some -1.0
    || GradCheck.factor halved[0] <> Some 2.0
then
    failwith "the gradient checks did not come out as told"

// The gradients of the seed network are right: its bug is not in backpropagation but in the training.

// ---------------------------------------------------------------------------------------------
// 3. The fixes, one at a time.
printfn "3. fixing it"

// a. Average the gradient instead of summing it: the same 100 full-batch steps no longer collapse.
let meanHyper = { seedHyper with Reduction = Mean }
let meanRun = trainOn meanHyper fullBatch 100 seedNet

let meanDistinct =
    (Diagnostics.histogram 10 (predictions meanRun.Network Data.Offset test)
     |> Array.filter (fun c -> c > 0))
        .Length

printfn
    "   a. --reduction mean: %d distinct classes, test accuracy %.2f%%, saturated %A"
    meanDistinct
    (100.0 * accuracy meanRun.Network Data.Offset test)
    (saturation meanRun.Network Data.Offset)

// b. Inputs in [0, 1] (the book's x/255·0.99 + 0.01: a blank pixel is 0.01, not 0.1), and an output
//    layer that starts uninformed (fan-in init: W2 ~ N(0, 200^-½) rather than N(0, 10^-½)).
// c. One update per example instead of one per pass (100 updates an epoch instead of 1), at the rate
//    `functional doctor --preset seed` recommends from its sweep.
let fixedHyper = { meanHyper with Optimizer = Sgd 1.0 }
let fixedNet = Network.init<float> Init.NormalFanIn 1 seedArch

// 10,000 steps: the fast path, as the CLI runs it. Step.stepInPlace overwrites the state it is handed
// (we donate fixedState's buffers) and reuses one workspace and one batch buffer; it gives the same bits
// as Step.step.
let fixedState = Step.initState fixedHyper (Network.copy fixedNet)
let workspace = Workspace.create<float> seedArch 1
let one = batchOf Data.Book train [| 0 |] 0 1

for e in 0..99 do
    let order = Data.permutation 1 e 100

    for i in 0..99 do
        Data.gatherInto Data.Book train order i one.X one.Y
        let t = int64 (100 * e + i)

        Step.stepInPlace fixedHyper one workspace false t fixedState.Network fixedState.Opt
        |> ignore

let fixedAccuracy = accuracy fixedState.Network Data.Book test

printfn
    "   b+c. --scale book --init normal-fanin --batch 1 --lr 1, 100 epochs (10,000 updates): test accuracy %.2f%%"
    (100.0 * fixedAccuracy)
// the same as: functional train --preset seed --init normal-fanin --scale book --reduction mean --lr 1 --batch 1

if meanDistinct < 5 || fixedAccuracy < 0.70 then
    failwithf "the fixed network should clear 70%%, got %.2f%%" (100.0 * fixedAccuracy)
