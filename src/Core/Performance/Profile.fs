/// Where a training step's time goes: each layer's forward and backward kernel timed on its own, beside the
/// GFLOP/s its matrix products alone reach on the same shapes (the layer's roofline), so the next bottleneck is
/// visible without a profiler. The step is the real one (the same kernels, bound to the run's batch), run on
/// uniform random inputs in 0..1 with random labels: kernel times do not depend on the pixels' values.
module Functional.Profile

open System
open System.Diagnostics
open System.Numerics
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network

/// One layer's share of a step. Times are seconds per step; FLOPs per step (2 per multiply-add).
type LayerTime =
    {
        Layer: int
        Text: string
        ForwardSeconds: float
        BackwardSeconds: float
        ForwardFlops: float
        /// ∂L/∂θ and, below the first layer with parameters, ∂L/∂x: what Arch.trainingFlops counts.
        BackwardFlops: float
        /// GFLOP/s of the layer's forward and backward matrix products alone (Benchmark.products), 0 for a
        /// layer without them.
        RooflineGflops: float
    }

let private time (seconds: float) (f: unit -> unit) =
    f ()
    let clock = Stopwatch.StartNew()
    let mutable runs = 0

    while clock.Elapsed.TotalSeconds < seconds || runs < 3 do
        f ()
        runs <- runs + 1

    clock.Elapsed.TotalSeconds / float runs

/// Per-layer times of training steps of `arch` at `batch` under `hyper`'s loss, `seconds` of steps in all.
let layers<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Step.Hyper)
    (scheme: Init.Init)
    (arch: Arch)
    (batch: int)
    (seconds: float)
    : LayerTime[] =
    let net = Network.init<'T> scheme hyper.Seed arch
    let bound = Bound.create<'T> arch batch
    let shapes = bound.Shapes
    let layers = bound.Kernels.Length
    let rng = Init.Rng.For(hyper.Seed, 1 <<< 20)
    let inputs = Shape.size shapes[0]
    let classes = Shape.size shapes[layers]

    let x =
        Tensor.ofColumnMajor inputs batch (Array.init (inputs * batch) (fun _ -> 'T.CreateTruncating(rng.NextDouble())))

    let y = Tensor.zeros<'T> classes batch

    for j in 0 .. batch - 1 do
        y[rng.NextInt classes, j] <- 'T.One

    let acts = Bound.buffers bound
    let deltas = Bound.buffers bound
    let grads = Params.zeros<'T> arch
    let output = Arch.output arch
    let fwd = Array.zeroCreate layers
    let bwd = Array.zeroCreate layers
    let clock = Stopwatch()

    let stepOnce (t: int64) (record: bool) =
        let mutable input = x

        for l in 0 .. layers - 1 do
            let mode =
                {
                    Training = true
                    Seed = hyper.Seed
                    Step = t
                    Layer = l
                }

            clock.Restart()
            bound.Kernels[l].Forward(net.Params[l], input, acts[l], mode)

            if record then
                fwd[l] <- fwd[l] + clock.Elapsed.TotalSeconds

            input <- acts[l]

        let a = Tensor.data acts[layers - 1]

        Losses.outputGradInto
            hyper.Loss
            output
            hyper.Reduction
            classes
            a
            (Tensor.data y)
            (Tensor.data deltas[layers - 1])

        for l in layers - 1 .. -1 .. 0 do
            let below = if l = 0 then x else acts[l - 1]
            let dx = if l > 0 then ValueSome deltas[l - 1] else ValueNone
            clock.Restart()
            bound.Kernels[l].Backward(net.Params[l], below, acts[l], deltas[l], ValueSome grads[l], dx)

            if l > 0 then
                let down = Tensor.data deltas[l - 1]

                Activations.Activation.backInto
                    arch.Layers[l - 1].Activation
                    deltas[l - 1].RowCount
                    (Tensor.data below)
                    down
                    down

            if record then
                bwd[l] <- bwd[l] + clock.Elapsed.TotalSeconds

    // Warm up (JIT, caches), then time whole steps until the budget is spent.
    for t in 0L .. 2L do
        stepOnce t false

    let budget = Stopwatch.StartNew()
    let mutable steps = 0

    while budget.Elapsed.TotalSeconds < seconds * 0.7 || steps < 3 do
        stepOnce (int64 steps + 3L) true
        steps <- steps + 1

    let ps = Arch.parameters arch

    let firstWithParams =
        ps |> Array.tryFindIndex (fun p -> p.Length > 0) |> Option.defaultValue layers
    // The roofline's products for layer l alone: Benchmark.products of a one-layer arch would lose the shapes
    // below, so take the whole arch's list and the entries that belong to l.
    let products = Benchmark.products arch batch

    let owners =
        [|
            for l in 0 .. layers - 1 do
                let weights = ps[l] |> Array.filter (fun p -> p.Shape.Length >= 2)

                for _ in weights do
                    yield l
        |]

    Array.init layers (fun l ->
        let f = arch.Layers[l].Flops shapes[l] * float batch

        let back =
            if ps[l].Length = 0 then 0.0
            elif l > firstWithParams then 2.0 * f
            else f

        let mine =
            Array.zip owners products |> Array.filter (fun (o, _) -> o = l) |> Array.map snd

        let roofline =
            if mine.Length = 0 then
                0.0
            else
                let bufs =
                    mine
                    |> Array.map (fun (m, n, k) ->
                        let r n =
                            Array.init n (fun _ -> 'T.CreateTruncating(rng.NextDouble() - 0.5))

                        r (m * k), r (k * n), r (m * n), r (k * n), r (m * k))

                let run () =
                    for i in 0 .. mine.Length - 1 do
                        let m, n, k = mine[i]
                        let xs, w, ys, dw, dxs = bufs[i]
                        Tensor.gemm 'T.One (xs, m, k) false (w, k, n) false 'T.Zero (ys, m, n)
                        Tensor.gemm 'T.One (xs, m, k) true (ys, m, n) false 'T.Zero (dw, k, n)

                        if l > firstWithParams then
                            Tensor.gemm 'T.One (ys, m, n) false (w, k, n) true 'T.Zero (dxs, m, k)

                let s = time (seconds * 0.3 / float layers) run
                (f + back) / s / 1e9

        {
            Layer = l
            Text = arch.Layers[l].Text
            ForwardSeconds = fwd[l] / float steps
            BackwardSeconds = bwd[l] / float steps
            ForwardFlops = f
            BackwardFlops = back
            RooflineGflops = roofline
        })
