module Functional.Tests.Layers.RbfTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Rbf
open Functional.Tests.Layers.LayerKit

type RbfCase =
    {
        Layer: Rbf
        Input: Shape
        Batch: int
        Seed: int
    }

/// 1–6 features, 1–5 centres, batch 1–3, every combination of frozen tensors.
let private cases =
    gen {
        let! f = Gen.choose (1, 6)
        let! units = Gen.choose (1, 5)
        let! frozenCentres = Gen.elements [ false; true ]
        let! frozenWidths = Gen.elements [ false; true ]
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 1_000_000)

        return
            {
                Layer =
                    {
                        Units = units
                        Width = defaultWidth
                        FrozenCentres = frozenCentres
                        FrozenWidths = frozenWidths
                    }
                Input = [| f |]
                Batch = batch
                Seed = seed
            }
    }
    |> Arb.fromGen

/// The definition, unit by unit: φ_j(x) = exp(−‖x − c_j‖² / (2σ_j²)), σ_j = exp(s_j).
let private naive (units: int) (f: int) (ps: float[][]) (x: float[]) (batch: int) =
    [|
        for n in 0 .. batch - 1 do
            for j in 0 .. units - 1 do
                let d2 =
                    Array.init f (fun i -> x[n * f + i] - ps[0].[j * f + i])
                    |> Array.sumBy (fun d -> d * d)

                let sigma = exp ps[1].[j]
                exp (-d2 / (2.0 * sigma * sigma))
    |]

let private random (layer: ILayer) (input: Shape) (batch: int) (seed: int) =
    let rng = Random seed

    let ps =
        layer.Params input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape))

    ps, randoms rng (Shape.size input * batch)

let private forward (layer: ILayer) (input: Shape) (ps: float[][]) (x: float[]) (batch: int) =
    let outSize = Shape.size (outShape layer input)
    let y = Array.zeroCreate (outSize * batch)

    (layer.Bind<float>(input, batch))
        .Forward(ps, Tensor.ofColumnMajor (Shape.size input) batch x, Tensor.ofColumnMajor outSize batch y, Mode.eval)

    y

let private arch text =
    Arch.Arch.parse [| 784 |] text |> Result.defaultWith failwith

[<Tests>]
let tests =
    testList
        "Layers.Rbf"
        [
            testPropertyWithConfig (config 60) "forward = exp(−‖x − c‖² / 2σ²), unit by unit"
            <| Prop.forAll cases (fun c ->
                let ps, x = random c.Layer c.Input c.Batch c.Seed
                let y = forward c.Layer c.Input ps x c.Batch
                expectClose (c.Layer :> ILayer).Text 1e-12 (naive c.Layer.Units c.Input[0] ps x c.Batch) y)

            testPropertyWithConfig
                (config 60)
                "∂L/∂centres, ∂L/∂log_widths and ∂L/∂x = central differences (float64, frozen or not)"
            <| Prop.forAll cases (fun c -> gradCheck c.Layer c.Input c.Batch Mode.eval c.Seed)

            testPropertyWithConfig (config 20) "OpenBLAS and the managed provider agree (float64 and float32)"
            <| Prop.forAll cases (fun c ->
                backendsAgree<float> 1e-12 c.Layer c.Input c.Batch c.Seed
                backendsAgree<float32> 1e-4 c.Layer c.Input c.Batch c.Seed)

            test "a steady-state forward and backward allocate nothing" {
                let layer =
                    {
                        Units = 16
                        Width = defaultWidth
                        FrozenCentres = false
                        FrozenWidths = false
                    }

                if Tensor.Blas.NativeAvailable then
                    Tensor.Blas.With Tensor.OpenBlas (fun () ->
                        Expect.equal (steadyAllocation layer [| 784 |] 4 Mode.eval) 0L "rbf 16")
            }

            test "shapes, parameters, frozen flags, FLOPs and a flat input only" {
                let r = Arch.Arch.parseLayer "rbf 1000" |> Result.defaultWith failwith
                Expect.equal (r.OutShape [| 784 |]) (Ok [| 1000 |]) "one output per centre"

                Expect.equal
                    (r.Params [| 784 |] |> Array.map (fun p -> p.Name, p.Shape, p.Frozen, p.Decays))
                    [|
                        "centres", [| 1000; 784 |], false, false
                        "log_widths", [| 1000 |], false, false
                    |]
                    "centres [K, F] and log σ [K], trained, not decayed"

                let frozen =
                    Arch.Arch.parseLayer "rbf 10 frozen-centres frozen-widths"
                    |> Result.defaultWith failwith

                Expect.equal (frozen.Params [| 5 |] |> Array.map _.Frozen) [| true; true |] "both frozen"
                Expect.equal (r.Flops [| 784 |]) (2.0 * 784.0 * 1000.0) "FLOPs of the product"

                match r.OutShape [| 1; 28; 28 |] with
                | Error e -> Expect.stringContains e "flatten" "an image input"
                | Ok _ -> failtest "an image input must be refused"
            }

            test "the syntax reads every option and gives Text back" {
                for s in
                    [
                        "rbf 1000"
                        "rbf 10 width 1"
                        "rbf 3 frozen-centres"
                        "rbf 7 width 0.25 frozen-centres frozen-widths"
                    ] do
                    match Arch.Arch.parseLayer s with
                    | Ok l -> Expect.equal l.Text s s
                    | Error e -> failtest e

                Expect.equal
                    (Arch.Arch.parseLayer "rbf 10 width 0.5" |> Result.map _.Text)
                    (Ok "rbf 10")
                    "width 0.5 is the default"

                for bad, says in
                    [
                        "rbf", "how many centres"
                        "rbf 0", "not a number of units"
                        "rbf 10 width", "width needs a value"
                        "rbf 10 width -1", "not a number > 0"
                        "rbf 10 width nan", "not a number > 0"
                        "rbf 10 relu", "unknown word 'relu'"
                    ] do
                    match Arch.Arch.parseLayer bad with
                    | Error e -> Expect.stringContains e says bad
                    | Ok _ -> failtestf "%s must be refused" bad
            }

            test "the start: k-means centres of the scaled training images, σ = width × the nearest other centre" {
                let images = Functional.Tests.Core.Helpers.synthetic 7 60
                let a = arch "input 784, rbf 5 width 2, dense 10 softmax"

                let config =
                    { Config.defaults with
                        Arch = a
                        Seed = 4
                    }

                let net = Start.network<float> config images
                let again = Start.network<float> config images
                Expect.equal again.Params net.Params "a pure function of (seed, data)"

                let points =
                    {
                        Kmeans.X = Array.init (60 * 784) (fun i -> float32 images.Pixels[i] / 255.0f)
                        Kmeans.Count = 60
                        Kmeans.Features = 784
                    }

                let centres = Kmeans.fit (Start.rngFor 4 0) 5 kmeansIterations points
                Expect.equal net.Params[0].[0] centres "the centres are k-means' on the unit-scaled images"
                let nearest = Kmeans.nearestOther centres 5 784
                expectClose "σ" 1e-12 (nearest |> Array.map (fun d -> 2.0 * d)) (net.Params[0].[1] |> Array.map exp)

                let other = Start.network<float> { config with Seed = 5 } images
                Expect.notEqual other.Params[0].[0] net.Params[0].[0] "another seed, other centres"
                let plain = Network.Network.init<float> config.Init config.Seed a
                Expect.equal net.Params[1] plain.Params[1] "the readout starts as Network.init draws it"
            }

            test "a frozen tensor stays as it started through Adam steps; the others move" {
                let images = Functional.Tests.Core.Helpers.synthetic 3 40

                for text, frozen in
                    [
                        "input 784, rbf 6 frozen-centres, dense 10 softmax", [| true; false |]
                        "input 784, rbf 6 frozen-widths, dense 10 softmax", [| false; true |]
                        "input 784, rbf 6, dense 10 softmax", [| false; false |]
                    ] do
                    let config =
                        { Config.defaults with
                            Arch = arch text
                            Optimizer = Optim.OptimizerSpec.adam 1e-2
                            Precision = Float64
                            ClipNorm = 1.0
                        }

                    let net = Start.network<float> config images
                    let before = Network.Params.copy net.Params
                    let mutable state = Step.initState config.Hyper net

                    let x, y = Tensor.zeros<float> 784 40, Tensor.zeros<float> 10 40
                    Data.gatherInto config.Scale images (Array.init 40 id) 0 x y
                    let batch: Step.Batch<float> = { X = x; Y = y }

                    for _ in 1..3 do
                        state <- fst (Step.step config.Hyper batch state)

                    for p in 0..1 do
                        if frozen[p] then
                            Expect.equal state.Network.Params[0].[p] before[0].[p] $"%s{text}: tensor %d{p} frozen"
                        else
                            Expect.notEqual state.Network.Params[0].[p] before[0].[p] $"%s{text}: tensor %d{p} trains"

                    Expect.notEqual state.Network.Params[1].[0] before[1].[0] $"%s{text}: the readout trains"
            }
        ]
