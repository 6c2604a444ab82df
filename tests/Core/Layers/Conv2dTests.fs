module Functional.Tests.Layers.Conv2dTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Conv2d
open Functional.Tests.Layers.LayerKit

let private conv channels (kh, kw) stride pad act bias =
    {
        Channels = channels
        Kernel = (kh, kw)
        Stride = stride
        Padding = pad
        Activation = act
        Bias = bias
    }

type ConvCase =
    {
        Layer: Conv2d
        Input: Shape
        Batch: int
        Seed: int
    }

/// Channels 1–3, sizes 3–8, kernels 1–3, stride 1–2, padding 0–2, batch 1–3, every activation, with and without bias.
let private cases (activations: Activation list) =
    gen {
        let! cin = Gen.choose (1, 3)
        let! cout = Gen.choose (1, 3)
        let! h = Gen.choose (3, 8)
        let! w = Gen.choose (3, 8)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! stride = Gen.choose (1, 2)
        let! pad = Gen.choose (0, 2)
        let! act = Gen.elements activations
        let! bias = Gen.elements [ true; false ]
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 1_000_000)

        return
            {
                Layer = conv cout (kh, kw) stride pad act bias
                Input = [| cin; h; w |]
                Batch = batch
                Seed = seed
            }
    }
    |> Arb.fromGen

/// The definition, six loops deep (per example and output channel): z = b + Σ W·x over the window, x zero outside.
let naive (c: Conv2d) (input: Shape) (ps: float[][]) (x: float[]) (batch: int) =
    let cin, h, w = input[0], input[1], input[2]
    let kh, kw = c.Kernel

    let ho, wo =
        (h + 2 * c.Padding - kh) / c.Stride + 1, (w + 2 * c.Padding - kw) / c.Stride + 1

    let outSize = c.Channels * ho * wo
    let y = Array.zeroCreate (outSize * batch)

    for b in 0 .. batch - 1 do
        for co in 0 .. c.Channels - 1 do
            for oy in 0 .. ho - 1 do
                for ox in 0 .. wo - 1 do
                    let mutable s = if c.Bias then ps[1][co] else 0.0

                    for ci in 0 .. cin - 1 do
                        for ky in 0 .. kh - 1 do
                            for kx in 0 .. kw - 1 do
                                let iy, ix = oy * c.Stride - c.Padding + ky, ox * c.Stride - c.Padding + kx

                                if iy >= 0 && iy < h && ix >= 0 && ix < w then
                                    s <-
                                        s
                                        + ps[0][((co * cin + ci) * kh + ky) * kw + kx]
                                          * x[b * cin * h * w + (ci * h + iy) * w + ix]

                    y[b * outSize + (co * ho + oy) * wo + ox] <- s

        Activation.applyColumn c.Activation (Span<float>(y, b * outSize, outSize))

    y

let private forwardMatchesNaive (c: ConvCase) =
    let layer = c.Layer :> ILayer
    let rng = Random c.Seed

    let ps =
        layer.Params c.Input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape))

    let x = randoms rng (Shape.size c.Input * c.Batch)
    let outSize = Shape.size (outShape layer c.Input)
    let y = Array.zeroCreate (outSize * c.Batch)

    (layer.Bind<float>(c.Input, c.Batch))
        .Forward(
            ps,
            Tensor.ofColumnMajor (Shape.size c.Input) c.Batch x,
            Tensor.ofColumnMajor outSize c.Batch y,
            Mode.eval
        )

    expectClose $"%s{layer.Text} on %s{Shape.text c.Input}" 1e-12 (naive c.Layer c.Input ps x c.Batch) y

let private text (c: Conv2d) = (c :> ILayer).Text

/// y, gradients and dx of one Forward+Backward by a kernel that multiplies `chunk` examples at a time.
let private chunked (c: ConvCase) (chunk: int) =
    let layer = c.Layer :> ILayer
    let rng = Random c.Seed

    let ps =
        layer.Params c.Input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape))

    let inSize, outSize = Shape.size c.Input, Shape.size (outShape layer c.Input)
    let x = randoms rng (inSize * c.Batch)
    let r = randoms rng (outSize * c.Batch)

    let kernel =
        Conv2dKernel<float>(
            c.Layer.Geometry c.Input,
            c.Layer.Channels,
            c.Layer.Activation,
            c.Layer.Bias,
            c.Batch,
            chunk
        )

    analytic layer kernel c.Input ps x r Mode.eval

[<Tests>]
let tests =
    testList
        "Layers.Conv2d"
        [
            testPropertyWithConfig (config 60) "forward = the six-loop definition (stride, padding, activations)"
            <| Prop.forAll (cases Activation.all) forwardMatchesNaive

            testPropertyWithConfig (config 60) "∂L/∂W, ∂L/∂b and ∂L/∂x = central differences (float64)"
            <| Prop.forAll (cases Activation.all) (fun c -> gradCheck c.Layer c.Input c.Batch Mode.eval c.Seed)

            test "every activation passes the gradient check on a padded, strided case" {
                for act in Activation.all do
                    gradCheck (conv 2 (3, 2) 2 1 act true) [| 3; 7; 6 |] 2 Mode.eval 11
            }

            testPropertyWithConfig (config 60) "one example or two per product = the whole batch in one product"
            <| Prop.forAll (cases Activation.all) (fun c ->
                let y, grads, dx = chunked c c.Batch

                for chunk in [ 1; 2 ] do
                    let y', grads', dx' = chunked c chunk
                    let what = sprintf "%s, %d per product" (text c.Layer) chunk
                    expectClose $"%s{what}: y" 1e-12 y y'
                    Array.iteri2 (fun i g g' -> expectClose $"%s{what}: gradient %d{i}" 1e-12 g g') grads grads'
                    expectClose $"%s{what}: dx" 1e-12 dx dx')

            // Without OpenBLAS a last, smaller chunk uses the front of buffers sized for a whole one; MathNet's
            // managed product takes whole arrays only, and once refused it (an internal error on a fresh machine).
            test "the managed product (no OpenBLAS) handles a last chunk smaller than the others" {
                let c =
                    {
                        Layer = conv 2 (3, 3) 1 1 Activation.Relu true
                        Input = [| 2; 6; 5 |]
                        Batch = 5
                        Seed = 7
                    }

                let y, grads, dx = chunked c c.Batch

                let y', grads', dx' = Tensor.Blas.With Tensor.Managed (fun () -> chunked c 2)

                expectClose "managed, 2 per product: y" 1e-12 y y'
                Array.iteri2 (fun i g g' -> expectClose $"managed: gradient %d{i}" 1e-12 g g') grads grads'
                expectClose "managed: dx" 1e-12 dx dx'
            }

            test "patches over 16 MiB go one example at a time" {
                let g = (conv 64 (3, 3) 1 0 Relu true).Geometry [| 32; 26; 26 |]
                Expect.equal (chunkFor g 32 4) 1 "cnn conv2 at batch 32: 21 MB of float32 patches"
                Expect.equal (chunkFor ((conv 16 (5, 5) 1 0 Relu true).Geometry [| 6; 14; 14 |]) 64 4) 64 "LeNet conv2"
            }

            test "LeNet-5's shapes, parameters and FLOPs" {
                let c1 = conv 6 (5, 5) 1 2 Relu true :> ILayer
                let c2 = conv 16 (5, 5) 1 0 Relu true :> ILayer
                Expect.equal (c1.OutShape [| 1; 28; 28 |]) (Ok [| 6; 28; 28 |]) "conv1"
                Expect.equal (c2.OutShape [| 6; 14; 14 |]) (Ok [| 16; 10; 10 |]) "conv2"
                Expect.equal (c1.Flops [| 1; 28; 28 |]) 235_200.0 "conv1 FLOPs"
                Expect.equal (c2.Flops [| 6; 14; 14 |]) 480_000.0 "conv2 FLOPs"
                let ps = c2.Params [| 6; 14; 14 |]
                Expect.equal (ps |> Array.map _.Name) [| "weight"; "bias" |] "names"
                Expect.equal ps[0].Shape [| 16; 6; 5; 5 |] "PyTorch's weight layout"
                Expect.equal (ps[0].FanIn, ps[0].FanOut) (150, 400) "fans as PyTorch counts them"
                Expect.equal (ps[0].Fill, ps[0].Decays, ps[1].Fill, ps[1].Decays) (Scheme, true, Zeros, false) "fills"
                Expect.equal ((conv 4 (3, 3) 1 0 Linear false :> ILayer).Params [| 2; 5; 5 |]).Length 1 "no-bias"
            }

            test "stride and padding follow PyTorch's floor" {
                let shape (c: Conv2d) input = (c :> ILayer).OutShape input
                Expect.equal (shape (conv 4 (3, 3) 2 0 Linear true) [| 1; 8; 8 |]) (Ok [| 4; 3; 3 |]) "(8−3)/2+1"
                Expect.equal (shape (conv 4 (3, 3) 2 1 Linear true) [| 1; 8; 8 |]) (Ok [| 4; 4; 4 |]) "(8+2−3)/2+1"
                Expect.equal (shape (conv 1 (3, 1) 1 0 Linear true) [| 1; 5; 4 |]) (Ok [| 1; 3; 4 |]) "3x1"
                Expect.equal (shape (conv 1 (5, 5) 1 2 Linear true) [| 1; 1; 1 |]) (Ok [| 1; 1; 1 |]) "all padding"
            }

            test "OutShape names both shapes when the input does not fit" {
                let err (c: Conv2d) input =
                    match (c :> ILayer).OutShape input with
                    | Error e -> e
                    | Ok s -> failtestf "expected an error, got %s" (Shape.text s)

                Expect.equal
                    (err (conv 6 (5, 5) 1 0 Linear true) [| 1; 3; 3 |])
                    "conv 6 5x5 needs an input of at least 5x5 but gets 1x3x3"
                    "too small"

                Expect.stringContains
                    (err (conv 6 (5, 5) 1 1 Relu true) [| 1; 2; 9 |])
                    "conv 6 5x5 pad 1 relu needs an input of at least 3x3 but gets 1x2x9"
                    "padding counts"

                Expect.stringStarts
                    (err (conv 6 (5, 5) 1 0 Linear true) [| 784 |])
                    "conv needs a CxHxW input but gets 784:"
                    "flat"

                Expect.stringStarts
                    (err (conv 6 (5, 5) 1 0 Linear true) [| 28; 28 |])
                    "conv needs a CxHxW input but gets 28x28:"
                    "2-D"

                Expect.throws
                    (fun () -> (conv 6 (5, 5) 1 0 Linear true :> ILayer).Bind<float>([| 784 |], 1) |> ignore)
                    "Bind refuses"
            }

            test "Text prints stride and pad only when not 1 and 0" {
                Expect.equal (text (conv 6 (5, 5) 1 2 Relu true)) "conv 6 5x5 pad 2 relu" "pad"
                Expect.equal (text (conv 32 (3, 3) 1 0 Linear true)) "conv 32 3x3" "plain"
                Expect.equal (text (conv 8 (3, 1) 2 0 Tanh false)) "conv 8 3x1 stride 2 tanh no-bias" "all"
            }

            testPropertyWithConfig (config 200) "Text parses back to the same layer"
            <| Prop.forAll (cases Activation.all) (fun c ->
                match parse syntax (text c.Layer) with
                | Ok(:? Conv2d as back) -> Expect.equal back c.Layer (text c.Layer)
                | Ok other -> failtestf "parsed to %s" other.Text
                | Error e -> failtest e)

            test "the syntax reads the usual spellings and refuses the rest" {
                let ok s =
                    match parse syntax s with
                    | Ok l -> l.Text
                    | Error e -> failtest e

                Expect.equal (ok "conv 6 5 pad 2 relu") "conv 6 5x5 pad 2 relu" "5 is 5x5"
                Expect.equal (ok "conv 6 5x5 relu pad 2") "conv 6 5x5 pad 2 relu" "any order"
                Expect.equal (ok "conv 6 5x5 stride 1 pad 0") "conv 6 5x5" "defaults"

                for bad in
                    [
                        "conv"
                        "conv 6"
                        "conv 0 5x5"
                        "conv 6 5x0"
                        "conv 6 5x5 stride 0"
                        "conv 6 5x5 pad -1"
                        "conv 6 5x5 pad"
                        "conv 6 5x5 swish"
                    ] do
                    Expect.isError (parse syntax bad) bad
            }

            test "float32: a steady-state forward and backward allocate nothing" {
                for c in [ conv 6 (5, 5) 1 2 Relu true; conv 4 (3, 3) 2 1 Tanh false ] do
                    Expect.equal (steadyAllocation c [| 2; 12; 12 |] 4 Mode.eval) 0L (text c)

                // One example at a time (the path of large layers).
                let c = conv 5 (3, 2) 2 1 Sigmoid true
                let input = [| 3; 9; 8 |]
                let one = Conv2dKernel<float32>(c.Geometry input, 5, Sigmoid, true, 3, 1)
                Expect.equal (steadyAllocationOf one c input 3 Mode.eval) 0L (text c + ", one example at a time")
            }

            testPropertyWithConfig (config 30) "OpenBLAS and the managed provider agree (float64 and float32)"
            <| Prop.forAll (cases Activation.all) (fun c ->
                backendsAgree<float> 1e-12 c.Layer c.Input c.Batch c.Seed
                backendsAgree<float32> 1e-5 c.Layer c.Input c.Batch c.Seed)
        ]
