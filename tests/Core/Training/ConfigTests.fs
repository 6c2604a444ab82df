module Functional.Tests.Core.ConfigTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step
open Functional.Tests.Core.Helpers

let private ofPairs (pairs: (string * string)[]) =
    Config.ofFields (fun k -> pairs |> Array.tryFind (fun (key, _) -> key = k) |> Option.map snd)

let private without key (pairs: (string * string)[]) =
    pairs |> Array.filter (fun (k, _) -> k <> key)

let private replace key value (pairs: (string * string)[]) =
    pairs |> Array.map (fun (k, v) -> if k = key then k, value else k, v)

let private configs =
    gen {
        let! sizes =
            Gen.elements [ [| 784; 10 |]; [| 784; 512; 10 |]; [| 784; 200; 10 |]; [| 784; 30; 20; 10 |] ]

        let! hidden = Gen.elements [ Sigmoid; Tanh; Relu; Linear ]
        let! output = Gen.elements [ Sigmoid; Softmax ]
        let! bias = Gen.elements [ true; false ]
        let! image = Gen.elements [ true; false ]
        let! loss = Gen.elements [ Mse; CrossEntropy ]
        let! reduction = Gen.elements [ Mean; Sum ]
        let! init = Gen.elements [ NormalFanIn; NormalFanOut; Xavier; He ]
        let! lr = Gen.elements [ 0.1; 1e-3; 0.4; 0.3333333333333333; 2.5e-7 ]

        let! optimizer =
            Gen.elements [ Sgd lr; Momentum(lr, 0.5); Momentum(lr, 0.9); OptimizerSpec.adam lr ]

        let! l2 = Gen.elements [ 0.0; 1e-4; 0.1 ]
        let! scale = Gen.elements [ Unit; Book; Offset ]
        let! seed = Gen.choose (-1000, 1000)
        let! precision = Gen.elements [ Float32; Float64 ]
        let! batch = Gen.elements [ 0; 1; 32; 100 ]

        let! schedule =
            Gen.elements
                [
                    Schedule.Constant
                    Schedule.Cosine(7500L, 0.0)
                    Schedule.StepDecay(250L, 0.1)
                    Schedule.OneCycle 1000L
                    Schedule.Warmup(10L, Schedule.Cosine(90L, 0.01))
                ]

        let! augment =
            Gen.elements
                [
                    Augment.Augment.none
                    { Augment.Augment.none with Shift = 2 }
                    { Augment.Augment.none with
                        Rotate = 12.5
                        Zoom = 0.1
                        Elastic = 34.0
                        Sigma = 4.0
                    }
                ]

        let! clip = Gen.elements [ 0.0; 1.0; 0.25 ]
        let d = dense sizes hidden output bias

        return
            {
                Arch = (if image then withFlatten [| 1; 28; 28 |] d.Layers else d)
                Loss = loss
                Reduction = reduction
                Init = init
                Optimizer = optimizer
                L2 = l2
                Scale = scale
                Seed = seed
                Precision = precision
                Batch = batch
                Schedule = schedule
                Augment = augment
                Adversarial = None
                ClipNorm = clip
            }
    }
    |> Arb.fromGen

/// run.json's "config" object as the versions before architectures wrote it.
let private oldFields =
    [|
        "sizes", "784,200,10"
        "hidden", "sigmoid"
        "output", "sigmoid"
        "bias", "false"
        "loss", "mse"
        "init", "normal-fanout"
        "optimizer", "sgd"
        "lr", "0.4"
        "l2", "0"
        "momentum", "0.9"
        "reduction", "sum"
        "scale", "offset"
        "seed", "1"
        "precision", "float64"
        "batch", "0"
    |]

let configTests =
    testList
        "Config"
        [
            testPropertyWithConfig (config 200) "ofFields (fields c) = c"
            <| Prop.forAll configs (fun c ->
                let back = ok (Config.describe c) (ofPairs (Config.fields c))
                Expect.equal back c "the same configuration"
                Expect.equal (Config.fields back) (Config.fields c) "the same fields")

            test "fields: a fixed order of keys, the arch as --arch text" {
                let f = Config.fields Config.defaults

                Expect.equal
                    (Array.map fst f)
                    [|
                        "arch"
                        "loss"
                        "init"
                        "optimizer"
                        "lr"
                        "l2"
                        "momentum"
                        "reduction"
                        "scale"
                        "seed"
                        "precision"
                        "batch"
                        "schedule"
                        "augment"
                    |]
                    "keys"

                Expect.equal (snd f[0]) "input 784, dense 512 relu, dense 10 softmax" "arch"
                Expect.equal (snd f[4]) "0.001" "lr"
            }

            test "the defaults, written once" {
                let c = Config.defaults
                Expect.equal (Arch.denseParts c.Arch) (Some([| 784; 512; 10 |], Relu, Softmax, true)) "784-512-10"

                Expect.equal
                    (c.Loss, c.Init, c.Optimizer, c.L2)
                    (CrossEntropy, He, OptimizerSpec.adam 1e-3, 1e-4)
                    "maths"

                Expect.equal
                    (c.Scale, c.Seed, c.Precision, c.Batch, c.Reduction)
                    (Unit, 1, Float32, 32, Mean)
                    "the rest"

                Expect.isNone (Config.problem c) "trainable"
                Expect.equal (Api.Training.DefaultConfig) c "Api's defaults are Config's"
            }

            test "a missing or bad field is an error naming it" {
                let good = Config.fields Config.defaults

                // Files written before schedules and augmentation trained without them.
                let optional = [ "arch"; "schedule"; "augment" ]

                for key, _ in good |> Array.filter (fun (k, _) -> not (List.contains k optional)) do
                    let e = error key (ofPairs (without key good))
                    Expect.stringContains e $"'%s{key}'" $"missing %s{key}"

                for key in [ "schedule"; "augment" ] do
                    match ofPairs (without key good) with
                    | Ok c -> Expect.equal c Config.defaults $"without %s{key}: the default"
                    | Error e -> failtest $"without %s{key}: %s{e}"

                // Without "arch" the fields are read as the old format, which names its own first field.
                Expect.isError (ofPairs (without "arch" good)) "missing arch"

                for key, value, fragment in
                    [
                        "lr", "fast", "a number"
                        "l2", "", "a number"
                        "seed", "1.5", "an integer"
                        "batch", "all", "an integer"
                        "loss", "hinge", "mse or ce"
                        "init", "zeros", "he"
                        "reduction", "max", "mean or sum"
                        "scale", "byte", "unit"
                        "precision", "float16", "float32 or float64"
                        "schedule", "cosine:soon:0", "a schedule"
                        "augment", "blur:3", "shift:2"
                    ] do
                    let e = error key (ofPairs (replace key value good))
                    Expect.stringContains e $"'%s{key}'" $"names %s{key}"
                    Expect.stringContains e $"'%s{value}'" "quotes the value"
                    Expect.stringContains e fragment "says what is expected"

                Expect.stringContains
                    (error "optimizer" (ofPairs (replace "optimizer" "rmsprop" good)))
                    "'rmsprop'"
                    "optimizer"

                Expect.stringContains (error "arch" (ofPairs (replace "arch" "dense 10 swish" good))) "'swish'" "arch"
            }

            test "a configuration that cannot train is refused" {
                let good = Config.fields Config.defaults
                Expect.stringContains (error "lr" (ofPairs (replace "lr" "0" good))) "learning rate" "lr 0"
                Expect.stringContains (error "l2" (ofPairs (replace "l2" "-1" good))) "l2" "l2 < 0"
                Expect.stringContains (error "batch" (ofPairs (replace "batch" "-2" good))) "batch" "batch < 0"

                Expect.stringContains
                    (error "momentum" (ofPairs (good |> replace "optimizer" "momentum" |> replace "momentum" "1")))
                    "momentum"
                    "momentum 1"

                Expect.stringContains
                    (error "arch" (ofPairs (replace "arch" "input 1x28x28, dense 10 softmax" good)))
                    "flatten"
                    "shapes"

                Expect.stringContains
                    (error "output" (ofPairs (replace "arch" "dense 10 relu" good)))
                    "softmax or sigmoid"
                    "output"
            }

            test "old fields (sizes, hidden, output, bias) are read as the dense network they describe" {
                let c = ok "old" (ofPairs oldFields)
                Expect.equal c.Arch (dense [| 784; 200; 10 |] Sigmoid Sigmoid false) "the seed network"
                Expect.equal (c.Loss, c.Init, c.Optimizer, c.L2) (Mse, NormalFanOut, Sgd 0.4, 0.0) "maths"
                Expect.equal (c.Reduction, c.Scale, c.Precision, c.Batch) (Sum, Offset, Float64, 0) "the rest"

                Expect.equal
                    (snd (Config.fields c).[0])
                    "input 784, dense 200 sigmoid no-bias, dense 10 sigmoid no-bias"
                    "written as an arch"

                let biased = ok "True" (ofPairs (replace "bias" "True" oldFields))
                Expect.equal biased.Arch (dense [| 784; 200; 10 |] Sigmoid Sigmoid true) "bias True"
                Expect.stringContains (error "sizes" (ofPairs (replace "sizes" "784" oldFields))) "'sizes'" "one size"

                Expect.stringContains
                    (error "sizes" (ofPairs (replace "sizes" "784,x,10" oldFields)))
                    "'sizes'"
                    "not numbers"

                Expect.stringContains
                    (error "hidden" (ofPairs (replace "hidden" "swish" oldFields)))
                    "'hidden'"
                    "hidden"

                Expect.stringContains
                    (error "output" (ofPairs (without "output" oldFields)))
                    "'output'"
                    "output missing"

                Expect.stringContains
                    (error "sizes" (ofPairs (without "sizes" oldFields)))
                    "'sizes'"
                    "no arch, no sizes"
            }

            test "describe: the layers and the maths in one line" {
                let d = Config.describe Config.defaults
                Expect.stringContains d "dense 512 relu, dense 10 softmax" "layers"
                Expect.stringContains d "ce, init he, adam lr 0.001 l2 0.0001" "maths"
                Expect.isFalse (d.Contains '\n') "one line"
            }

            test "WithLr keeps the optimizer; Hyper carries the step's maths" {
                let c =
                    { Config.defaults with
                        Optimizer = Momentum(0.1, 0.7)
                    }

                Expect.equal (c.WithLr 0.5).Optimizer (Momentum(0.5, 0.7)) "momentum"
                Expect.equal (Config.defaults.WithLr 0.5).Optimizer (OptimizerSpec.adam 0.5) "adam"
                let h = c.WithSeed(9).Hyper

                Expect.equal
                    (h.Loss, h.Reduction, h.L2, h.Optimizer, h.Seed)
                    (c.Loss, c.Reduction, c.L2, c.Optimizer, 9)
                    "hyper"
            }
        ]

[<Tests>]
let tests = testList "Core" [ configTests ]
