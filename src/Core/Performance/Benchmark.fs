/// The roofline of a training step: its matrix products alone, on fixed buffers, through the same BLAS
/// calls. Each weight [out, in…] of a layer computes, per batch of B, the forward product [M × K]·[K × N] with
/// N = out, K = Π in…, then ∂L/∂W ([K × M]·[M × N]) and, after the first such product, ∂L/∂x ([M × N]·[N × K]).
module Functional.Benchmark

open System
open System.Numerics
open Functional.Layers.Layer
open Functional.Arch
open Functional.Init

/// (M, N, K) of each layer's forward products at batch `batch`: one per weight [N, K…], with M = B·(the
/// layer's FLOPs / 2 Σ N·K over its weights) — B for dense layers, B·H'·W' for convolutions, B·T for a
/// recurrent layer's input and recurrent weights (its per-step products counted as one).
let products (arch: Arch) (batch: int) : (int * int * int)[] =
    match Arch.shapes arch with
    | Error e -> invalidArg "arch" e
    | Ok shapes ->
        [|
            for l in 0 .. arch.Layers.Length - 1 do
                let weights =
                    arch.Layers[l].Params shapes[l]
                    // Every matrix a layer multiplies by (an rbf layer's centres are not decayed, but are one).
                    |> Array.filter (fun p -> p.Shape.Length >= 2)
                    |> Array.map (fun p -> p.Shape[0], Array.fold (*) 1 p.Shape[1..])

                if weights.Length > 0 then
                    let macs = weights |> Array.sumBy (fun (n, k) -> float n * float k)
                    let perExample = int (Math.Round(arch.Layers[l].Flops shapes[l] / (2.0 * macs)))

                    for n, k in weights do
                        yield batch * max 1 perExample, n, k
        |]

/// An action running only the matrix products of one training step: time it for the roofline.
let action<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (arch: Arch)
    (batch: int)
    : Action =
    let shapes = products arch batch
    let rng = Rng.For(0, 0)

    let random n =
        Array.init n (fun _ -> 'T.CreateTruncating(rng.NextDouble() - 0.5))

    let bufs =
        shapes
        |> Array.map (fun (m, n, k) -> random (m * k), random (k * n), random (m * n), random (k * n), random (m * k))

    Action(fun () ->
        for i in 0 .. shapes.Length - 1 do
            let m, n, k = shapes[i]
            let x, w, y, _, _ = bufs[i]

            if m = 1 then
                Tensor.gemv 'T.One (w, k, n) true x 'T.Zero y
            else
                Tensor.gemm 'T.One (x, m, k) false (w, k, n) false 'T.Zero (y, m, n)

        for i in shapes.Length - 1 .. -1 .. 0 do
            let m, n, k = shapes[i]
            let x, w, y, dw, dx = bufs[i]

            if m = 1 then
                Tensor.ger 'T.One x y (dw, k, n)
            else
                Tensor.gemm 'T.One (x, m, k) true (y, m, n) false 'T.Zero (dw, k, n)

            if i > 0 then
                if m = 1 then
                    Tensor.gemv 'T.One (w, k, n) false y 'T.Zero dx
                else
                    Tensor.gemm 'T.One (y, m, n) false (w, k, n) true 'T.Zero (dx, m, k))
