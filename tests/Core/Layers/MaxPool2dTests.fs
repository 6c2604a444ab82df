module Functional.Tests.Layers.MaxPool2dTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Layers.Layer
open Functional.Layers.MaxPool2d
open Functional.Tests.Layers.LayerKit

type PoolCase =
    {
        Layer: MaxPool2d
        Input: Shape
        Batch: int
        Seed: int
    }

/// Channels 1–3, sizes 2–9 (odd sizes leave a remainder that floor drops), windows 1–3, batch 1–3.
let private cases =
    gen {
        let! c = Gen.choose (1, 3)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! h = Gen.choose (kh, 9)
        let! w = Gen.choose (kw, 9)
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 1_000_000)

        return
            {
                Layer = { Size = (kh, kw) }
                Input = [| c; h; w |]
                Batch = batch
                Seed = seed
            }
    }
    |> Arb.fromGen

/// The definition: the largest value of each window, windows k apart, the remainder dropped.
let naive (m: MaxPool2d) (input: Shape) (x: float[]) (batch: int) =
    let c, h, w = input[0], input[1], input[2]
    let kh, kw = m.Size
    let ho, wo = h / kh, w / kw

    [|
        for b in 0 .. batch - 1 do
            for ch in 0 .. c - 1 do
                for oy in 0 .. ho - 1 do
                    for ox in 0 .. wo - 1 do
                        seq {
                            for ky in 0 .. kh - 1 do
                                for kx in 0 .. kw - 1 do
                                    x[b * c * h * w + (ch * h + oy * kh + ky) * w + ox * kw + kx]
                        }
                        |> Seq.max
    |]

let private run (layer: ILayer) (input: Shape) (x: float[]) (dz: float[]) (batch: int) =
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)
    let kernel = layer.Bind<float>(input, batch)
    let y = Array.zeroCreate (outSize * batch)
    let dx = Array.create (inSize * batch) nan

    let xm, ym =
        Tensor.ofColumnMajor inSize batch x, Tensor.ofColumnMajor outSize batch y

    kernel.Forward([||], xm, ym, Mode.eval)

    kernel.Backward(
        [||],
        xm,
        ym,
        Tensor.ofColumnMajor outSize batch dz,
        ValueNone,
        ValueSome(Tensor.ofColumnMajor inSize batch dx)
    )

    y, dx

let private text (m: MaxPool2d) = (m :> ILayer).Text

/// float32 forward and backward of a 2x2 pool (its vectorised path), as float64 for comparing.
let private run32 (input: Shape) (x: float[]) (dz: float[]) (batch: int) =
    let layer = { Size = (2, 2) } :> ILayer
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)
    let kernel = layer.Bind<float32>(input, batch)
    let y = Array.zeroCreate<float32>(outSize * batch)
    let dx = Array.create (inSize * batch) nanf
    let xm = Tensor.ofColumnMajor inSize batch (Array.map float32 x)
    let ym = Tensor.ofColumnMajor outSize batch y
    kernel.Forward([||], xm, ym, Mode.eval)

    kernel.Backward(
        [||],
        xm,
        ym,
        Tensor.ofColumnMajor outSize batch (Array.map float32 dz),
        ValueNone,
        ValueSome(Tensor.ofColumnMajor inSize batch dx)
    )

    Array.map float y, Array.map float dx

/// Images wide enough for whole runs of four windows, of few distinct values and some NaNs, so that ties and NaNs
/// fall in every position of a window.
let private tieCases =
    gen {
        let! c = Gen.choose (1, 2)
        let! h = Gen.choose (2, 7)
        let! w = Gen.choose (2, 21)
        let! batch = Gen.choose (1, 3)

        let! values =
            Gen.arrayOfLength (c * h * w * batch) (Gen.elements [ 0.0; 1.0; 2.0; -1.0; nan ])

        return [| c; h; w |], batch, values
    }
    |> Arb.fromGen

[<Tests>]
let tests =
    testList
        "Layers.MaxPool2d"
        [
            testPropertyWithConfig (config 100) "forward = the maximum of each window, bit for bit"
            <| Prop.forAll cases (fun c ->
                let rng = Random c.Seed
                let x = randoms rng (Shape.size c.Input * c.Batch)
                let outSize = Shape.size (outShape c.Layer c.Input)
                let y, _ = run c.Layer c.Input x (Array.zeroCreate (outSize * c.Batch)) c.Batch
                Expect.equal y (naive c.Layer c.Input x c.Batch) (text c.Layer))

            testPropertyWithConfig (config 60) "∂L/∂x = central differences (float64)"
            <| Prop.forAll cases (fun c -> gradCheckWith distinct c.Layer c.Input c.Batch Mode.eval c.Seed)

            test "a tie sends the gradient to the window's first maximum in row-major order, as PyTorch" {
                // 1x4x4 of equal values except one window, where the maximum appears twice (positions 1 and 2).
                let x = Array.create 16 1.0
                x[2 * 4 + 3] <- 5.0
                x[3 * 4 + 2] <- 5.0
                let y, dx = run { Size = (2, 2) } [| 1; 4; 4 |] x [| 1.0; 2.0; 3.0; 4.0 |] 1
                Expect.equal y [| 1.0; 1.0; 1.0; 5.0 |] "maxima"

                let expected = Array.zeroCreate 16
                expected[0] <- 1.0
                expected[2] <- 2.0
                expected[8] <- 3.0
                expected[11] <- 4.0
                Expect.equal dx expected "each window's dz goes to its first maximum; the rest of dx is zero"
            }

            testPropertyWithConfig (config 200) "float32's vectorised 2x2 windows choose as float64's loop: ties, NaNs"
            <| Prop.forAll tieCases (fun (input, batch, x) ->
                let layer = { Size = (2, 2) }
                let outSize = Shape.size (outShape layer input) * batch
                let dz = Array.init outSize (fun i -> float (i + 1))
                let y64, dx64 = run layer input x dz batch
                let y32, dx32 = run32 input x dz batch
                // NaN ≠ NaN: compare the bits' meaning, NaN where NaN.
                let same (a: float[]) (b: float[]) =
                    Array.forall2 (fun (u: float) v -> u = v || (Double.IsNaN u && Double.IsNaN v)) a b

                Expect.isTrue (same y32 y64) (sprintf "maxima of %A" input)
                Expect.isTrue (same dx32 dx64) (sprintf "where each window's gradient goes, %A" input))

            test "the remainder that floor drops gets a zero gradient" {
                let rng = Random 5
                let x = randoms rng 25
                let _, dx = run { Size = (2, 2) } [| 1; 5; 5 |] x (Array.create 4 1.0) 1

                for i in 0..4 do
                    Expect.equal dx[4 * 5 + i] 0.0 "last row"
                    Expect.equal dx[i * 5 + 4] 0.0 "last column"

                Expect.equal (Array.sum dx) 4.0 "one unit of gradient per window"
            }

            test "shapes, text and errors" {
                let pool k = { Size = (k, k) } :> ILayer
                Expect.equal ((pool 2).OutShape [| 6; 28; 28 |]) (Ok [| 6; 14; 14 |]) "LeNet pool 1"
                Expect.equal ((pool 2).OutShape [| 16; 10; 10 |]) (Ok [| 16; 5; 5 |]) "LeNet pool 2"
                Expect.equal ((pool 2).OutShape [| 64; 25; 25 |]) (Ok [| 64; 12; 12 |]) "floor"
                Expect.equal ((pool 2).Flops [| 6; 28; 28 |]) 0.0 "no FLOPs"
                Expect.equal ((pool 2).Params [| 6; 28; 28 |]) [||] "no parameters"
                Expect.equal (pool 2).Text "maxpool 2" "square"
                Expect.equal ({ Size = (2, 3) } :> ILayer).Text "maxpool 2x3" "rectangle"

                Expect.equal
                    ((pool 3).OutShape [| 4; 2; 5 |])
                    (Error "maxpool 3 needs an input of at least 3x3 but gets 4x2x5")
                    "too small"

                match (pool 2).OutShape [| 784 |] with
                | Error e -> Expect.stringStarts e "maxpool needs a CxHxW input but gets 784:" "flat"
                | Ok _ -> failtest "a flat input must be refused"
            }

            test "the syntax reads maxpool K and maxpool KxK and gives Text back" {
                for s, expected in
                    [
                        "maxpool 2", "maxpool 2"
                        "maxpool 2x2", "maxpool 2"
                        "maxpool 3x2", "maxpool 3x2"
                    ] do
                    match parse syntax s with
                    | Ok l ->
                        Expect.equal l.Text expected s

                        match parse syntax l.Text with
                        | Ok back -> Expect.equal back l "round trip"
                        | Error e -> failtest e
                    | Error e -> failtest e

                for bad in [ "maxpool"; "maxpool 0"; "maxpool 2 2"; "maxpool two" ] do
                    Expect.isError (parse syntax bad) bad
            }

            test "float32: a steady-state forward and backward allocate nothing" {
                Expect.equal (steadyAllocation { Size = (2, 2) } [| 3; 10; 9 |] 4 Mode.eval) 0L "maxpool 2"
            }

            testPropertyWithConfig (config 20) "OpenBLAS and the managed provider agree (float64 and float32)"
            <| Prop.forAll cases (fun c ->
                backendsAgree<float> 0.0 c.Layer c.Input c.Batch c.Seed
                backendsAgree<float32> 0.0 c.Layer c.Input c.Batch c.Seed)
        ]
