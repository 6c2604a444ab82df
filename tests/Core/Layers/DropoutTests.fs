module Functional.Tests.Layers.DropoutTests

open System
open Expecto
open Functional
open Functional.Init
open Functional.Layers.Layer
open Functional.Layers.Dropout
open Functional.Tests.Layers.LayerKit

let private training seed step layer =
    {
        Training = true
        Seed = seed
        Step = step
        Layer = layer
    }

/// y for x = 1 everywhere: the scaled mask itself.
let private forward (p: float) (rows: int) (batch: int) (mode: Mode) =
    let layer = { P = p } :> ILayer
    let y = Array.zeroCreate (rows * batch)
    let x = Array.create (rows * batch) 1.0

    (layer.Bind<float>([| rows |], batch))
        .Forward([||], Tensor.ofColumnMajor rows batch x, Tensor.ofColumnMajor rows batch y, mode)

    y

let private bits (a: float[]) =
    a |> Array.map BitConverter.DoubleToInt64Bits

[<Tests>]
let tests =
    testList
        "Layers.Dropout"
        [
            test "the same (seed, step, layer) gives the same mask, bit for bit, from a fresh kernel" {
                let a = forward 0.5 37 5 (training 1 12L 2)
                let b = forward 0.5 37 5 (training 1 12L 2)
                Expect.equal (bits a) (bits b) "same mask"
                Expect.all a (fun v -> v = 0.0 || v = 2.0) "entries are 0 or 1/(1−P)"
            }

            test "a different step, layer or seed gives a different mask" {
                let a = forward 0.5 100 4 (training 1 12L 2)
                Expect.notEqual (bits (forward 0.5 100 4 (training 1 13L 2))) (bits a) "step"
                Expect.notEqual (bits (forward 0.5 100 4 (training 1 12L 3))) (bits a) "layer"
                Expect.notEqual (bits (forward 0.5 100 4 (training 2 12L 2))) (bits a) "seed"
            }

            test "the mask is the Rng.For(seed, stream step layer) stream read down the columns" {
                let p, rows, batch = 0.3, 23, 3
                let mode = training 42 7L 1
                let rng = Rng.For(42, stream 7L 1)

                let expected =
                    Array.init (rows * batch) (fun _ -> if rng.NextDouble() >= p then 1.0 else 0.0)

                let kept =
                    forward p rows batch mode |> Array.map (fun v -> if v > 0.0 then 1.0 else 0.0)

                Expect.equal kept expected "keep where the draw is >= P"

                for j in 0 .. batch - 1 do
                    for i in 0 .. rows - 1 do
                        Expect.equal (keeps p 42 7L 1 rows i j) (expected[j * rows + i] = 1.0) "keeps"
            }

            test "the kept fraction is 1 − P and kept entries are scaled by 1/(1−P)" {
                for p in [ 0.1; 0.5; 0.8 ] do
                    let y = forward p 1000 100 (training 9 3L 0)
                    let kept = y |> Array.filter (fun v -> v <> 0.0)
                    let fraction = float kept.Length / float y.Length
                    // 100,000 Bernoulli draws: the standard deviation of the fraction is below 0.0016.
                    Expect.isLessThan (abs (fraction - (1.0 - p))) 0.01 $"kept fraction for P = %g{p}"
                    Expect.all kept (fun v -> v = 1.0 / (1.0 - p)) "scale"
            }

            test "evaluation, and P = 0, are the identity" {
                let rng = Random 1
                let x = randoms rng 60
                let layer = { P = 0.5 } :> ILayer
                let kernel = layer.Bind<float>([| 20 |], 3)
                let y = Array.zeroCreate 60
                kernel.Forward([||], Tensor.ofColumnMajor 20 3 x, Tensor.ofColumnMajor 20 3 y, Mode.eval)
                Expect.equal (bits y) (bits x) "eval: y = x"
                let dx = Array.zeroCreate 60
                let dz = randoms rng 60

                kernel.Backward(
                    [||],
                    Tensor.ofColumnMajor 20 3 x,
                    Tensor.ofColumnMajor 20 3 y,
                    Tensor.ofColumnMajor 20 3 dz,
                    ValueNone,
                    ValueSome(Tensor.ofColumnMajor 20 3 dx)
                )

                Expect.equal (bits dx) (bits dz) "eval: dx = dz"
                Expect.all (forward 0.0 50 2 (training 1 1L 1)) (fun v -> v = 1.0) "P = 0 keeps everything"
            }

            test "∂L/∂x = central differences in training (the step's mask) and in evaluation (float64)" {
                for p in [ 0.0; 0.25; 0.5; 0.9 ] do
                    for seed in 1..3 do
                        gradCheck { P = p } [| 17 |] 3 (training seed (int64 seed) 4) seed
                        gradCheck { P = p } [| 2; 3; 4 |] 2 Mode.eval seed
            }

            test "keeps the input's shape, has no parameters or FLOPs" {
                let d = { P = 0.5 } :> ILayer
                Expect.equal (d.OutShape [| 6; 14; 14 |]) (Ok [| 6; 14; 14 |]) "CxHxW"
                Expect.equal (d.OutShape [| 128 |]) (Ok [| 128 |]) "flat"
                Expect.equal (d.Params [| 128 |]) [||] "no parameters"
                Expect.equal (d.Flops [| 128 |]) 0.0 "no FLOPs"
            }

            test "Text parses back to the same layer; bad probabilities are refused" {
                for p in [ 0.0; 0.5; 0.25; 0.1; 1.0 / 3.0; 0.999 ] do
                    let text = ({ P = p } :> ILayer).Text

                    match parse syntax text with
                    | Ok(:? Dropout as back) -> Expect.equal back.P p text
                    | Ok other -> failtestf "parsed to %s" other.Text
                    | Error e -> failtest e

                Expect.equal ({ P = 0.5 } :> ILayer).Text "dropout 0.5" "short"

                for bad in
                    [
                        "dropout"
                        "dropout 1"
                        "dropout -0.1"
                        "dropout x"
                        "dropout NaN"
                        "dropout 0.5 0.5"
                    ] do
                    Expect.isError (parse syntax bad) bad
            }

            test "float32: a steady-state forward and backward allocate nothing" {
                Expect.equal (steadyAllocation { P = 0.5 } [| 200 |] 8 (training 1 5L 2)) 0L "training"
                Expect.equal (steadyAllocation { P = 0.5 } [| 200 |] 8 Mode.eval) 0L "evaluation"
            }

            test "OpenBLAS and the managed provider agree (it calls no BLAS: bit for bit)" {
                backendsAgree<float> 0.0 { P = 0.3 } [| 50 |] 4 1
                backendsAgree<float32> 0.0 { P = 0.3 } [| 50 |] 4 1
            }
        ]
