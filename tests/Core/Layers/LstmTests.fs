module Functional.Tests.Layers.LstmTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Layers.Layer
open Functional.Layers.Sequence
open Functional.Layers.Lstm
open Functional.Tests.Layers.LayerKit

type LstmCase =
    {
        Layer: Lstm
        Input: Shape
        Batch: int
        Seed: int
    }

let private cases =
    gen {
        let! steps = Gen.elements [ 1; 2; 7 ]
        let! image = Gen.elements [ false; true ]
        let! c = Gen.choose (1, 2)
        let! w = Gen.choose (1, 4)
        let! units = Gen.choose (1, 5)
        let! every = Gen.elements [ false; true ]
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 1_000_000)

        return
            {
                Layer =
                    {
                        Units = units
                        Init = DefaultInit
                        Every = every
                    }
                Input = (if image then [| c; steps; w |] else [| steps; w |])
                Batch = batch
                Seed = seed
            }
    }
    |> Arb.fromGen

let private sigmoid z = 1.0 / (1.0 + exp -z)

/// The definition, in PyTorch's nn.LSTM gate order i, f, g, o, example by example and step by step.
let naive (l: Lstm) (input: Shape) (ps: float[][]) (x: float[]) (batch: int) =
    let v =
        match view "lstm" input with
        | Ok v -> v
        | Error e -> failwith e

    let h, f, t = l.Units, v.Features, v.Steps
    let wih, whh, bih, bhh = ps[0], ps[1], ps[2], ps[3]
    let inSize = Shape.size input

    let feature j step k =
        x[j * inSize + (k / v.Width) * t * v.Width + step * v.Width + k % v.Width]

    [|
        for j in 0 .. batch - 1 do
            let mutable hs = Array.zeroCreate h
            let mutable cs = Array.zeroCreate h
            let all = ResizeArray()

            for step in 0 .. t - 1 do
                let z =
                    Array.init (4 * h) (fun r ->
                        let mutable s = bih[r] + bhh[r]

                        for k in 0 .. f - 1 do
                            s <- s + wih[r * f + k] * feature j step k

                        for k in 0 .. h - 1 do
                            s <- s + whh[r * h + k] * hs[k]

                        s)

                let gate g u = z[g * h + u]
                cs <- Array.init h (fun u -> sigmoid (gate 1 u) * cs[u] + sigmoid (gate 0 u) * tanh (gate 2 u))
                hs <- Array.init h (fun u -> sigmoid (gate 3 u) * tanh cs[u])
                all.AddRange hs

            yield! (if l.Every then all.ToArray() else hs)
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

[<Tests>]
let tests =
    testList
        "Layers.Lstm"
        [
            testPropertyWithConfig (config 60) "forward = PyTorch's nn.LSTM equations (gates i, f, g, o)"
            <| Prop.forAll cases (fun c ->
                let ps, x = random c.Layer c.Input c.Batch c.Seed
                let y = forward c.Layer c.Input ps x c.Batch
                expectClose (c.Layer :> ILayer).Text 1e-12 (naive c.Layer c.Input ps x c.Batch) y)

            testPropertyWithConfig (config 60) "every ∂L/∂θ and ∂L/∂x = central differences (float64, T = 1, 2, 7)"
            <| Prop.forAll cases (fun c -> gradCheck c.Layer c.Input c.Batch Mode.eval c.Seed)

            testPropertyWithConfig (config 20) "OpenBLAS and the managed provider agree (float64 and float32)"
            <| Prop.forAll cases (fun c ->
                backendsAgree<float> 1e-12 c.Layer c.Input c.Batch c.Seed
                backendsAgree<float32> 1e-4 c.Layer c.Input c.Batch c.Seed)

            test "a steady-state forward and backward allocate nothing" {
                let layer =
                    {
                        Units = 16
                        Init = DefaultInit
                        Every = true
                    }

                if Tensor.Blas.NativeAvailable then
                    Tensor.Blas.With Tensor.OpenBlas (fun () ->
                        Expect.equal (steadyAllocation layer [| 1; 28; 28 |] 4 Mode.eval) 0L "lstm 16 sequence")
            }

            test "parameters with PyTorch's names and shapes, FLOPs, syntax" {
                let l = Arch.Arch.parseLayer "lstm 128" |> Result.defaultWith failwith

                Expect.equal
                    (l.Params [| 1; 28; 28 |] |> Array.map (fun p -> p.Name, p.Shape))
                    [|
                        "weight_ih_l0", [| 512; 28 |]
                        "weight_hh_l0", [| 512; 128 |]
                        "bias_ih_l0", [| 512 |]
                        "bias_hh_l0", [| 512 |]
                    |]
                    "nn.LSTM(28, 128)'s state_dict"

                Expect.equal (l.Flops [| 1; 28; 28 |]) (2.0 * 28.0 * 512.0 * (28.0 + 128.0)) "FLOPs"

                for s in
                    [
                        "lstm 128"
                        "lstm 64 orthogonal"
                        "lstm 8 sequence"
                        "lstm 8 orthogonal sequence"
                    ] do
                    match Arch.Arch.parseLayer s with
                    | Ok l -> Expect.equal l.Text s s
                    | Error e -> failtest e

                for bad, says in
                    [
                        "lstm", "how many hidden units"
                        "lstm 8 relu", "unknown word 'relu'"
                        "lstm 8 identity", "identity is the init of a relu RNN"
                    ] do
                    match Arch.Arch.parseLayer bad with
                    | Error e -> Expect.stringContains e says bad
                    | Ok _ -> failtestf "%s must be refused" bad
            }

            test "orthogonal init makes each gate's block of W_hh orthogonal" {
                let arch =
                    Arch.Arch.parse [| 1; 6; 6 |] "lstm 6 orthogonal, dense 10 softmax"
                    |> Result.defaultWith failwith

                let w =
                    (Network.Network.init<float> Init.Xavier 3 { arch with Input = [| 1; 6; 6 |] }).Params[0].[1]

                for g in 0..3 do
                    for i in 0..5 do
                        for k in 0..5 do
                            let dot =
                                Array.init 6 (fun m -> w[(g * 6 + i) * 6 + m] * w[(g * 6 + k) * 6 + m])
                                |> Array.sum

                            Expect.floatClose Accuracy.high dot (if i = k then 1.0 else 0.0) "block Wᵀ W = I"
            }
        ]
