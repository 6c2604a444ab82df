// The core from F# Interactive: init -> step -> step -> ... on the shipped digits, no CLI involved.
// Build once first (CI does): dotnet build src/Host -c Release
// Then: dotnet fsi scripts/train.fsx
#r "../src/Host/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Host/bin/Release/net10.0/System.Numerics.Tensors.dll"
#r "../src/Host/bin/Release/net10.0/Functional.Core.dll"
#r "../src/Host/bin/Release/net10.0/functional.dll"

open System.IO
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Layers.Layer
open Functional.Layers.Dense
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

let train, test =
    load "train-images-idx3-ubyte.gz", load "test-images-idx3-ubyte.gz"

// A network is a value: an architecture (an input shape and layers of some kind) and its weights, drawn
// from an explicit seed. The same value is what --arch "dense 64 relu, dense 10 softmax" parses to.
let arch =
    {
        Input = [| 784 |]
        Layers =
            [|
                {
                    Units = 64
                    Activation = Relu
                    Bias = true
                }
                {
                    Units = 10
                    Activation = Softmax
                    Bias = true
                }
            |]
    }

if Arch.parse [| 784 |] "dense 64 relu, dense 10 softmax" <> Ok arch then
    failwith "the --arch text should parse to the same value"

printfn "network: %s" (Arch.text arch)

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

/// The batch of examples order[offset .. offset+count-1], scaled to [0, 1] with one-hot targets.
let batchOf (images: Data.Images) (order: int[]) offset count : Batch<float32> =
    let x = Tensor.zeros<float32> 784 count
    let y = Tensor.zeros<float32> 10 count
    Data.gatherInto Data.Unit images order offset x y
    { X = x; Y = y }

// One step is a pure function: state in, state and report out. state0 is unchanged afterwards.
let order = Data.permutation 1 0 train.Count
let state1, report1 = Step.step hyper (batchOf train order 0 32) state0
printfn "step 1: loss %.4f (ln 10 = %.4f), gradient norms per layer %A" report1.Loss (log 10.0) report1.GradNorms
let state2, report2 = Step.step hyper (batchOf train order 32 32) state1
printfn "step 2: loss %.4f, update/weight ratios %A" report2.Loss report2.UpdateRatios

// One epoch is a fold of step over the batch schedule.
let final =
    Data.batches train.Count 32
    |> Array.fold (fun state (offset, count) -> fst (Step.step hyper (batchOf train order offset count) state)) state0

let accuracy (net: Network<float32>) (images: Data.Images) =
    let all = Array.init images.Count id
    let batch = batchOf images all 0 images.Count
    let predicted = argmaxColumns (forward net batch.X).Output

    let correct =
        predicted
        |> Array.mapi (fun i p -> if p = int images.Labels[i] then 1 else 0)
        |> Array.sum

    float correct / float images.Count

let acc = accuracy final.Network test
printfn "after one epoch (%d steps): test accuracy %.2f%%" final.Step (100.0 * acc)

if acc < 0.85 then
    failwithf "one epoch should reach 85%%, got %.2f%%" (100.0 * acc)
