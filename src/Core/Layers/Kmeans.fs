/// k-means: centres c_1..c_K minimising the inertia Σ_n min_k ‖x_n − c_k‖². Seeded by k-means++ (Arthur and
/// Vassilvitskii 2007: each next centre is a point drawn with probability ∝ its squared distance to the nearest
/// centre so far), then Lloyd's iterations (assign each point to its nearest centre, move each centre to the mean
/// of its points). ‖x − c‖² = ‖x‖² − 2 c·x + ‖c‖², with every c·x of an iteration in one sgemm. A pure function
/// of the generator and the data: the same points and seed give the same centres on every machine with one BLAS.
module Functional.Kmeans

open System
open System.Numerics.Tensors
open Functional.Init

/// Points as the layers hold them: Count columns of Features values, column-major.
type Points =
    {
        X: float32[]
        Count: int
        Features: int
    }

let private column (p: Points) n =
    ReadOnlySpan<float32>(p.X, n * p.Features, p.Features)

let private squares (p: Points) =
    Array.init p.Count (fun n -> TensorPrimitives.SumOfSquares(column p n))

/// k-means++: k points of p (row-major [k, Features], float64), drawn by rng. When fewer than k points are
/// distinct (every squared distance is 0), the rest are drawn uniformly and repeat points.
let seed (rng: Rng) (k: int) (p: Points) : float[] =
    let f = p.Features
    let centres = Array.zeroCreate<float>(k * f)
    let nearest = Array.create p.Count Double.PositiveInfinity
    let xx = squares p
    let dots = Array.zeroCreate<float32> p.Count
    let c32 = Array.zeroCreate<float32> f

    let mutable pick = rng.NextInt p.Count

    for j in 0 .. k - 1 do
        let src = column p pick
        src.CopyTo(Span<float32>(c32))

        for i in 0 .. f - 1 do
            centres[j * f + i] <- float c32[i]

        if j < k - 1 then
            // c·x_n for every point at once: dots = Xᵀ c.
            Tensor.gemv 1.0f (p.X, f, p.Count) true c32 0.0f dots
            let cc = TensorPrimitives.SumOfSquares(ReadOnlySpan<float32>(c32))
            let mutable total = 0.0

            for n in 0 .. p.Count - 1 do
                let d = max 0.0 (float (xx[n] - 2.0f * dots[n] + cc))
                nearest[n] <- min nearest[n] d
                total <- total + nearest[n]

            pick <-
                if total > 0.0 then
                    let target = rng.NextDouble() * total
                    let mutable acc, n = 0.0, 0

                    while n < p.Count - 1 && acc + nearest[n] <= target do
                        acc <- acc + nearest[n]
                        n <- n + 1

                    // Never a point already chosen (weight 0), even at the edge of the float sum.
                    if nearest[n] > 0.0 then
                        n
                    else
                        Array.FindLastIndex(nearest, n, fun d -> d > 0.0)
                        |> fun i ->
                            if i >= 0 then
                                i
                            else
                                Array.FindIndex(nearest, fun d -> d > 0.0)
                else
                    rng.NextInt p.Count

    centres

/// The nearest centre of every point and the inertia Σ_n ‖x_n − c_nearest‖² (k centres row-major [k, Features]).
let assign (centres: float[]) (k: int) (p: Points) : int[] * float =
    let f = p.Features
    let c32 = Array.map float32 centres

    let cc =
        Array.init k (fun j -> TensorPrimitives.SumOfSquares(ReadOnlySpan<float32>(c32, j * f, f)))

    let xx = squares p
    let labels = Array.zeroCreate p.Count
    let mutable inertia = 0.0
    // Points in chunks, so the [k × chunk] products stay small for a large set.
    let chunk = min p.Count (max 1 (4_000_000 / max 1 k))
    let dots = Array.zeroCreate<float32>(k * chunk)

    for start in 0..chunk .. p.Count - 1 do
        let m = min chunk (p.Count - start)
        // Row-major [k, F] is column-major [F × k]: dots [k × m] = Cᵀᵀ X.
        Tensor.gemmAt 1.0f (c32, 0, f, k) true (p.X, start * f, f, m) false 0.0f (dots, 0, k, m)

        for n in 0 .. m - 1 do
            let mutable best, bestD = 0, Single.PositiveInfinity

            for j in 0 .. k - 1 do
                let d = cc[j] - 2.0f * dots[n * k + j]

                if d < bestD then
                    best <- j
                    bestD <- d

            labels[start + n] <- best
            inertia <- inertia + max 0.0 (float (bestD + xx[start + n]))

    labels, inertia

/// Each centre moved to the mean of the points labelled with it; a centre without points stays where it was.
let private move (centres: float[]) (labels: int[]) (k: int) (p: Points) : float[] =
    let f = p.Features
    let sums = Array.zeroCreate<float>(k * f)
    let counts = Array.zeroCreate<int> k

    for n in 0 .. p.Count - 1 do
        let j = labels[n]
        counts[j] <- counts[j] + 1

        for i in 0 .. f - 1 do
            sums[j * f + i] <- sums[j * f + i] + float p.X[n * f + i]

    Array.init (k * f) (fun e ->
        let j = e / f

        if counts[j] = 0 then
            centres[e]
        else
            sums[e] / float counts[j])

/// One Lloyd iteration: assign every point, then move every centre to the mean of its points.
let lloyd (centres: float[]) (k: int) (p: Points) : float[] =
    move centres (fst (assign centres k p)) k p

/// k-means++ then up to `iterations` Lloyd iterations, stopping early once no point changes centre.
let fit (rng: Rng) (k: int) (iterations: int) (p: Points) : float[] =
    let mutable centres = seed rng k p
    let mutable labels = fst (assign centres k p)
    let mutable i = 0

    while i < iterations do
        centres <- move centres labels k p
        let next = fst (assign centres k p)
        i <- if next = labels then iterations else i + 1
        labels <- next

    centres

/// For each centre, the distance to its nearest other centre (0 for a repeated centre; +∞ when k = 1).
let nearestOther (centres: float[]) (k: int) (f: int) : float[] =
    let c = Array.map float32 centres

    let cc =
        Array.init k (fun j -> float (TensorPrimitives.SumOfSquares(ReadOnlySpan<float32>(c, j * f, f))))

    let dots = Array.zeroCreate<float32>(k * k)
    Tensor.gemm 1.0f (c, f, k) true (c, f, k) false 0.0f (dots, k, k)

    Array.init k (fun j ->
        let mutable best = Double.PositiveInfinity

        for i in 0 .. k - 1 do
            if i <> j then
                best <- min best (max 0.0 (cc[i] + cc[j] - 2.0 * float dots[i * k + j]))

        sqrt best)
