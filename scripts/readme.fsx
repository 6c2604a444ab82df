// docs/scripts.md's F# Interactive example, whole: `dotnet fsi scripts/readme.fsx` (after `dotnet build src/Host -c Release`).
#load "Scripting.fsx"

open Functional
open Functional.Activations
open Functional.Losses
open Functional.Layers.Dense
open Functional.Arch
open Functional.Network
open Functional.Step
open Scripting

let train = load (shipped "train-images-idx3-ubyte.gz")
let test = load (shipped "test-images-idx3-ubyte.gz")

// a network is a value: the same one --arch "dense 64 relu, dense 10 softmax" parses to
let arch =
    match Arch.parse [| 784 |] "dense 64 relu, dense 10 softmax" with
    | Ok a -> a
    | Error e -> failwith e

let hyper =
    {
        Loss = CrossEntropy
        Reduction = Mean
        L2 = 0.0
        Optimizer = sgd 0.1
        Seed = 1
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Trades = 0.0
    }

let state0 = Step.initState hyper (Network.init<float32> Init.He 1 arch)

// a batch from arrays of floats: two made-up examples of classes 3 and 7
let tiny =
    batchOfArrays 10 [| Array.create 784 0.5; Array.create 784 0.1 |] [| 3; 7 |]

let state1, report1 = step hyper tiny state0
printfn "one step on two examples: loss %.4f" report1.Loss

// one epoch is a fold of step over the shuffled batch schedule
let order = Data.permutation 1 0 train.Count

let final, losses =
    Data.batches train.Count 32
    |> Array.fold
        (fun (state, losses) (offset, count) ->
            let next, report = step hyper (batchOf train order offset count) state
            next, report.Loss :: losses)
        (state0, [])

let lossPng =
    plot "runs/readme/loss.png" "loss per step, one epoch" "step" "training loss" (List.rev losses |> Array.ofList)

printfn "loss per step: %s" lossPng

let accuracy = evaluate final.Network test
printfn "after one epoch (%d steps): test accuracy %.2f%%" final.Step (100.0 * accuracy)

if accuracy < 0.85 then
    failwithf "one epoch should reach 85%%, got %.2f%%" (100.0 * accuracy)
