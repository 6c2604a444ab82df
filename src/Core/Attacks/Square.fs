/// The Square attack (Andriushchenko et al. 2020), L∞, score-based: it reads only the network's outputs, so masked
/// or obfuscated gradients cannot stop it. It starts at vertical stripes x₀ ± ε (one sign per channel and column),
/// then, query after query, sets a random square of side √(p(i)·features/channels) to a random corner ±ε of the
/// ball per channel and keeps the change only when it lowers the margin z_y − max_{i≠y} z_i. p(i) halves at the
/// fractions 0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8 of the budget, from 0.8 (AutoAttack's setting).
module Functional.Square

open System
open System.Numerics
open Functional.Attacks
open Functional.Margins

/// The fraction of the features the square covers after i of `queries` queries.
let fraction (i: int) (queries: int) =
    let t = int (float i / float queries * 10000.0)

    let halvings =
        [| 10; 50; 200; 500; 1000; 2000; 4000; 6000; 8000 |]
        |> Array.filter (fun b -> t > b)
        |> Array.length

    0.8 / float (1 <<< halvings)

/// Channels, height and width of an input: the arch's when it has three dimensions, else a square picture when the
/// features are a square number, else one row.
let picture (input: int[]) =
    match input with
    | [| c; h; w |] -> c, h, w
    | _ ->
        let f = Array.fold (*) 1 input
        let side = int (Math.Round(sqrt (float f)))
        if side * side = f then 1, side, side else 1, 1, f

let internal salt = 0x737175617265UL

/// One restart over images `images` (clean inputs x0, [features × n]), results for column j into `found` at pos[j].
let internal once<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (pool: Pool<'T>)
    (shape: int * int * int)
    (eps: float)
    (queries: int)
    (r: Range)
    (x0T: 'T[])
    (labels: int[])
    (gens: Init.Rng[])
    (found: Found)
    (pos: int[])
    (first: bool)
    =
    let n = labels.Length
    let f = x0T.Length / n
    let c, h, w = shape
    let classes = pool.Classes
    let x0 = Array.init (f * n) (fun i -> Double.CreateTruncating x0T[i])
    let lower = Array.init (f * n) (fun i -> max (x0[i] - eps) r.Lo)
    let upper = Array.init (f * n) (fun i -> min (x0[i] + eps) r.Hi)
    let best = Array.zeroCreate (f * n)
    let marginBest = Array.zeroCreate n
    let confBest = Array.zeroCreate n
    let z = Array.zeroCreate classes
    let candidate = Array.zeroCreate f

    for j in 0 .. n - 1 do
        for ch in 0 .. c - 1 do
            for col in 0 .. w - 1 do
                let s = if gens[j].NextDouble() < 0.5 then -eps else eps

                for row in 0 .. h - 1 do
                    let q = j * f + ch * h * w + row * w + col
                    best[q] <- Math.Clamp(x0[q] + s, lower[q], upper[q])

    // Forward the columns cols (their inputs in `load`), padding the batch to a power of two so that few scratch
    // sizes exist; then each column's margin, prediction and probability of it, misclassified ones kept as found.
    let query (cols: int[]) (input: int -> float[] * int) =
        let size = Numerics.BitOperations.RoundUpToPowerOf2(uint32 cols.Length) |> int
        let s = pool.Scratch size
        let xs, out = Tensor.data s.X, Tensor.data s.Output

        for b in 0 .. size - 1 do
            let src, at = input cols[min b (cols.Length - 1)]

            for e in 0 .. f - 1 do
                xs[b * f + e] <- 'T.CreateTruncating src[at + e]

        s.Forward()
        let pred = predictions s.Output size

        cols
        |> Array.mapi (fun b j ->
            logitsInto s.OutputActivation out classes b z
            let m = margin z labels[j]
            let k = pos[j]

            if pred[b] <> labels[j] && not found.Fooled[k] then
                found.Fooled[k] <- true
                Found.keep found k xs out f classes b pred[b]

            m, Double.CreateTruncating out[b * classes + pred[b]])

    let all = Array.init n id

    query all (fun j -> best, j * f)
    |> Array.iteri (fun j (m, p) ->
        marginBest[j] <- m
        confBest[j] <- p)

    let candidates = Array.init n (fun _ -> Array.zeroCreate f)
    let mutable i = 1

    while i < queries && all |> Array.exists (fun j -> not found.Fooled[pos[j]]) do
        let active = all |> Array.filter (fun j -> not found.Fooled[pos[j]])
        let p = fraction (i - 1) queries
        let side = int (Math.Round(sqrt (p * float f / float c)))
        let sh, sw = Math.Clamp(side, 1, max (h - 1) 1), Math.Clamp(side, 1, max (w - 1) 1)

        for j in active do
            let gen = gens[j]
            let top, left = gen.NextInt(h - sh + 1), gen.NextInt(w - sw + 1)
            Array.blit best (j * f) candidate 0 f
            let mutable tries = 0
            let mutable changed = false

            // A square whose new corner equals what is there already would waste a query: draw its signs again.
            while not changed && tries < 16 do
                for ch in 0 .. c - 1 do
                    let s = if gen.NextDouble() < 0.5 then -2.0 * eps else 2.0 * eps

                    for row in top .. top + sh - 1 do
                        for col in left .. left + sw - 1 do
                            let e = ch * h * w + row * w + col
                            let q = j * f + e
                            candidate[e] <- Math.Clamp(best[q] + s, lower[q], upper[q])

                            if candidate[e] <> best[q] then
                                changed <- true

                tries <- tries + 1

            Array.blit candidate 0 candidates[j] 0 f

        query active (fun j -> candidates[j], 0)
        |> Array.iteri (fun b (m, conf) ->
            let j = active[b]

            if m < marginBest[j] then
                marginBest[j] <- m
                confBest[j] <- conf
                Array.blit candidates[j] 0 best (j * f) f)

        i <- i + 1

    for j in 0 .. n - 1 do
        let k = pos[j]

        if not found.Fooled[k] then
            let dst = found.X[k]

            for q in 0 .. f - 1 do
                dst[q] <- Double.CreateTruncating('T.CreateTruncating best[j * f + q])

            found.Pred[k] <- labels[j]
            found.Conf[k] <- confBest[j]

        if first then
            found.FooledFirstRestart[k] <- found.Fooled[k]

/// Square over images `indices` (all correctly classified when clean), in chunks of `chunk`: each restart runs on
/// the examples no earlier one broke. Its budget is attack.Queries forward passes per example and restart.
let internal run<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (pool: Pool<'T>)
    (shape: int * int * int)
    (r: Range)
    (attack: Attack)
    (indices: int[])
    (labelOf: int -> int)
    (chunk: int)
    : Found =
    let found = Found.create indices.Length pool.Features

    for restart in 0 .. attack.Restarts - 1 do
        let standing =
            Array.init indices.Length id |> Array.filter (fun k -> not found.Fooled[k])

        let images = standing |> Array.map (fun k -> indices[k])

        for offset, n in Data.batches standing.Length chunk do
            let x0 = Array.copy (pool.Clean images offset n)
            let pos = Array.sub standing offset n
            let labels = pos |> Array.map (fun k -> labelOf indices[k])
            let gens = pos |> Array.map (fun k -> generator salt attack.Seed indices[k] restart)
            once pool shape attack.Eps attack.Queries r x0 labels gens found pos (restart = 0)

    found
