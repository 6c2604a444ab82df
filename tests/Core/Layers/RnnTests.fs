module Functional.Tests.Layers.RnnTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Sequence
open Functional.Layers.Rnn
open Functional.Tests.Layers.LayerKit

type RnnCase =
    {
        Layer: Rnn
        Input: Shape
        Batch: int
        Seed: int
    }

/// Sequences of 1, 2 and 7 steps, as [T; F] or as images [C; T; W]; 1–5 units; either output; batch 1–3.
let private cases =
    gen {
        let! steps = Gen.elements [ 1; 2; 7 ]
        let! image = Gen.elements [ false; true ]
        let! c = Gen.choose (1, 2)
        let! w = Gen.choose (1, 4)
        let! units = Gen.choose (1, 5)
        let! act = Gen.elements [ Tanh; Relu ]
        let! every = Gen.elements [ false; true ]
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 1_000_000)

        return
            {
                Layer =
                    {
                        Units = units
                        Nonlinearity = act
                        Init = DefaultInit
                        Every = every
                    }
                Input = (if image then [| c; steps; w |] else [| steps; w |])
                Batch = batch
                Seed = seed
            }
    }
    |> Arb.fromGen

/// The definition, example by example and step by step in PyTorch's row-major tensors: [B, T·H] or [B, H].
let naive (r: Rnn) (input: Shape) (ps: float[][]) (x: float[]) (batch: int) =
    let v =
        match view "rnn" input with
        | Ok v -> v
        | Error e -> failwith e

    let h, f, t = r.Units, v.Features, v.Steps
    let wih, whh, bih, bhh = ps[0], ps[1], ps[2], ps[3]
    let inSize = Shape.size input

    let feature j step k =
        // Feature k of step `step`: channel k / W, column k % W of row `step`.
        x[j * inSize + (k / v.Width) * t * v.Width + step * v.Width + k % v.Width]

    [|
        for j in 0 .. batch - 1 do
            let mutable state = Array.zeroCreate h
            let all = ResizeArray()

            for step in 0 .. t - 1 do
                state <-
                    Array.init h (fun u ->
                        let mutable z = bih[u] + bhh[u]

                        for k in 0 .. f - 1 do
                            z <- z + wih[u * f + k] * feature j step k

                        for k in 0 .. h - 1 do
                            z <- z + whh[u * h + k] * state[k]

                        if r.Nonlinearity = Relu then max z 0.0 else tanh z)

                all.AddRange state

            yield! (if r.Every then all.ToArray() else state)
    |]

let private forward (layer: ILayer) (input: Shape) (ps: float[][]) (x: float[]) (batch: int) =
    let outSize = Shape.size (outShape layer input)
    let y = Array.zeroCreate (outSize * batch)

    (layer.Bind<float>(input, batch))
        .Forward(ps, Tensor.ofColumnMajor (Shape.size input) batch x, Tensor.ofColumnMajor outSize batch y, Mode.eval)

    y

let private random (layer: ILayer) (input: Shape) (batch: int) (seed: int) =
    let rng = Random seed

    let ps =
        layer.Params input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape))

    ps, randoms rng (Shape.size input * batch)

[<Tests>]
let tests =
    testList
        "Layers.Rnn"
        [
            testPropertyWithConfig (config 60) "forward = PyTorch's nn.RNN equations, step by step"
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

            test "a smaller batch than the kernel's gives the same columns as its own kernel" {
                let layer =
                    {
                        Units = 6
                        Nonlinearity = Tanh
                        Init = DefaultInit
                        Every = true
                    }
                    :> ILayer

                let input = [| 5; 3 |]
                let ps, x = random layer input 2 4
                let outSize = Shape.size (outShape layer input)
                let y = Array.zeroCreate (outSize * 2)

                (layer.Bind<float>(input, 8))
                    .Forward(
                        ps,
                        Tensor.ofColumnMajor (Shape.size input) 2 x,
                        Tensor.ofColumnMajor outSize 2 y,
                        Mode.eval
                    )

                Expect.equal y (forward layer input ps x 2) "bound to 8, given 2"
            }

            test "a steady-state forward and backward allocate nothing" {
                let layer =
                    {
                        Units = 16
                        Nonlinearity = Tanh
                        Init = DefaultInit
                        Every = false
                    }

                if Tensor.Blas.NativeAvailable then
                    Tensor.Blas.With Tensor.OpenBlas (fun () ->
                        Expect.equal (steadyAllocation layer [| 1; 28; 28 |] 4 Mode.eval) 0L "rnn 16")
            }

            test "shapes, parameters with PyTorch's names, FLOPs and errors" {
                let r = (Arch.Arch.parseLayer "rnn 128" |> Result.defaultWith failwith)
                Expect.equal (r.OutShape [| 1; 28; 28 |]) (Ok [| 128 |]) "last state"
                Expect.equal (r.OutShape [| 28; 28 |]) (Ok [| 128 |]) "a TxF input"

                let every = Arch.Arch.parseLayer "rnn 64 sequence" |> Result.defaultWith failwith
                Expect.equal (every.OutShape [| 1; 28; 28 |]) (Ok [| 28; 64 |]) "every state"

                Expect.equal
                    (r.Params [| 1; 28; 28 |] |> Array.map (fun p -> p.Name, p.Shape))
                    [|
                        "weight_ih_l0", [| 128; 28 |]
                        "weight_hh_l0", [| 128; 128 |]
                        "bias_ih_l0", [| 128 |]
                        "bias_hh_l0", [| 128 |]
                    |]
                    "nn.RNN(28, 128)'s state_dict"

                Expect.equal (r.Flops [| 1; 28; 28 |]) (2.0 * 28.0 * 128.0 * (28.0 + 128.0)) "FLOPs"

                match r.OutShape [| 784 |] with
                | Error e -> Expect.stringContains e "rnn reads a sequence" "flat input"
                | Ok _ -> failtest "a flat input must be refused"
            }

            test "the syntax reads every option and gives Text back" {
                for s in
                    [
                        "rnn 128"
                        "rnn 128 relu identity"
                        "rnn 32 orthogonal sequence"
                        "rnn 5 relu sequence"
                    ] do
                    match Arch.Arch.parseLayer s with
                    | Ok l -> Expect.equal l.Text s s
                    | Error e -> failtest e

                Expect.equal
                    (Arch.Arch.parseLayer "rnn 128 tanh" |> Result.map _.Text)
                    (Ok "rnn 128")
                    "tanh is the default"

                for bad, says in
                    [
                        "rnn", "how many hidden units"
                        "rnn 0", "not a number of units"
                        "rnn 12 sigmoid", "unknown word 'sigmoid'"
                    ] do
                    match Arch.Arch.parseLayer bad with
                    | Error e -> Expect.stringContains e says bad
                    | Ok _ -> failtestf "%s must be refused" bad
            }

            test "the inits: PyTorch's uniform, orthogonal and identity recurrent weights" {
                let net text =
                    let arch =
                        Arch.Arch.parse [| 1; 28; 28 |] (text + ", dense 10 softmax")
                        |> Result.defaultWith failwith

                    (Network.Network.init<float> Init.Xavier 7 { arch with Input = [| 1; 28; 28 |] }).Params[0]

                let uniform = net "rnn 16"
                let a = 1.0 / 4.0

                for p in uniform do
                    Expect.all p (fun v -> abs v <= a) "U(±1/√H)"

                Expect.isGreaterThan (Array.max uniform[1]) (0.8 * a) "spread over the whole interval"

                let w = (net "rnn 16 orthogonal")[1]

                for i in 0..15 do
                    for k in 0..15 do
                        let dot = Array.init 16 (fun m -> w[i * 16 + m] * w[k * 16 + m]) |> Array.sum
                        Expect.floatClose Accuracy.high dot (if i = k then 1.0 else 0.0) "W Wᵀ = I"

                let irnn = net "rnn 16 relu identity"

                Expect.equal irnn[1] (Array.init 256 (fun i -> if i / 16 = i % 16 then 1.0 else 0.0)) "W_hh = I"
                Expect.all irnn[2] ((=) 0.0) "b_ih = 0"
                Expect.all irnn[3] ((=) 0.0) "b_hh = 0"
            }
        ]
