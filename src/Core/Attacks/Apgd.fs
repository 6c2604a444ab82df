/// Auto-PGD (Croce & Hein 2020), L∞: from x₀ + ε·t/‖t‖∞ (t uniform in [−1, 1]ⁿ), steps of size η = 2ε with momentum
/// z = Π(x_k + η·sign ∇f(x_k)), x_{k+1} = Π(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})), α = 0.75 (1 on the first
/// step). At the checkpoints p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06) of the iterations, η
/// halves and the iterate returns to the best point when f rose in at most ρ = 0.75 of the steps since the last
/// checkpoint, or when η was not halved there and the best loss has not risen since. Every example has its own η.
/// The loss is cross-entropy (APGD-CE) or the targeted DLR loss (APGD-T, against each of the clean input's top
/// other classes in turn). An example counts as broken once any iterate is misclassified.
module Functional.Apgd

open System
open System.Numerics
open Functional.Activations
open Functional.Attacks
open Functional.Margins

type Loss =
    | CrossEntropy
    /// The targeted DLR loss, against a class per example.
    | DlrTargeted

/// The first checkpoint interval, by how much each next one shrinks, and its least (0.22, 0.03 and 0.06 of the
/// iterations, at least 1).
let intervals steps =
    max (int (0.22 * float steps)) 1, max (int (0.03 * float steps)) 1, max (int (0.06 * float steps)) 1

let private rho = 0.75
let private momentum = 0.75

/// One restart over the n columns of `s`: clean inputs x0 ([features × n]), labels, targets (DLR), one generator per
/// column, results for column j into `found` at position pos[j]. `first`: the attack's first restart.
let internal once<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (s: Scratch<'T>)
    (loss: Loss)
    (eps: float)
    (steps: int)
    (r: Range)
    (x0T: 'T[])
    (labels: int[])
    (targets: int[])
    (gens: Init.Rng[])
    (found: Found)
    (pos: int[])
    (first: bool)
    =
    let n = labels.Length
    let f = x0T.Length / n
    let classes = s.Classes
    let act = s.OutputActivation

    let xs, out, dz, dx =
        Tensor.data s.X, Tensor.data s.Output, Tensor.data s.OutputDelta, Tensor.data s.Dx

    let x0 = Array.init (f * n) (fun i -> Double.CreateTruncating x0T[i])
    let lower = Array.init (f * n) (fun i -> max (x0[i] - eps) r.Lo)
    let upper = Array.init (f * n) (fun i -> min (x0[i] + eps) r.Hi)
    let x = Array.zeroCreate (f * n)
    let g = Array.zeroCreate (f * n)
    let z = Array.zeroCreate classes
    let dlr = Array.zeroCreate classes
    let losses = Array.zeroCreate n
    let confs = Array.zeroCreate n

    // f, its gradient and the predictions at x; misclassified columns are kept as found.
    let evaluate (firstStep: bool) =
        for i in 0 .. x.Length - 1 do
            xs[i] <- 'T.CreateTruncating x[i]

        s.Forward()

        for j in 0 .. n - 1 do
            let o = j * classes

            match loss with
            | CrossEntropy ->
                losses[j] <- crossEntropy act out classes j labels[j]

                for i in 0 .. classes - 1 do
                    dz[o + i] <- out[o + i] - (if i = labels[j] then 'T.One else 'T.Zero)
            | DlrTargeted ->
                logitsInto act out classes j z
                losses[j] <- dlrTargeted z labels[j] targets[j] dlr

                for i in 0 .. classes - 1 do
                    dz[o + i] <- 'T.CreateTruncating dlr[i]

        // The DLR gradient is with respect to the scores; outputs that are not logits pass it through f'.
        match loss, act with
        | DlrTargeted, (Tanh | Relu) -> Activation.backInto act classes out dz dz
        | _ -> ()

        s.Backward()

        for i in 0 .. g.Length - 1 do
            g[i] <- Double.CreateTruncating dx[i]

        let pred = predictions s.Output n

        for j in 0 .. n - 1 do
            confs[j] <- Double.CreateTruncating out[j * classes + pred[j]]

            if pred[j] <> labels[j] then
                let k = pos[j]

                if firstStep then
                    found.FooledFirst[k] <- true

                if not found.Fooled[k] then
                    found.Fooled[k] <- true
                    Found.keep found k xs out f classes j pred[j]

    for j in 0 .. n - 1 do
        let gen = gens[j]
        let t = Array.init f (fun _ -> 2.0 * gen.NextDouble() - 1.0)
        let m = t |> Array.fold (fun a v -> max a (abs v)) 0.0
        let scale = if m > 0.0 then eps / m else 0.0

        for i in 0 .. f - 1 do
            let q = j * f + i
            x[q] <- Math.Clamp(x0[q] + scale * t[i], lower[q], upper[q])

    evaluate false
    let best = Array.copy x
    let gBest = Array.copy g
    let lossBest = Array.copy losses
    let confBest = Array.copy confs
    let eta = Array.create n (2.0 * eps)
    let mutable old = Array.copy x

    let history =
        Array.init n (fun j -> Array.append [| losses[j] |] (Array.zeroCreate steps))

    let first0, shrink, least = intervals steps
    let mutable interval = first0
    let mutable since = 0
    let lossBestLast = Array.copy lossBest
    let reducedLast = Array.zeroCreate n

    for it in 0 .. steps - 1 do
        let a = if it = 0 then 1.0 else momentum
        let next = Array.zeroCreate (f * n)

        for j in 0 .. n - 1 do
            for q in j * f .. j * f + f - 1 do
                let step = eta[j] * float (sign g[q])
                let zq = Math.Clamp(x[q] + step, lower[q], upper[q])
                next[q] <- Math.Clamp(x[q] + a * (zq - x[q]) + (1.0 - a) * (x[q] - old[q]), lower[q], upper[q])

        old <- Array.copy x
        Array.blit next 0 x 0 x.Length
        evaluate (first && it = 0)

        for j in 0 .. n - 1 do
            history[j][it + 1] <- losses[j]

            if losses[j] > lossBest[j] then
                lossBest[j] <- losses[j]
                confBest[j] <- confs[j]
                Array.blit x (j * f) best (j * f) f
                Array.blit g (j * f) gBest (j * f) f

        since <- since + 1

        if since = interval then
            for j in 0 .. n - 1 do
                let h = history[j]
                let mutable rose = 0

                for c in 0 .. interval - 1 do
                    if h[it + 1 - c] > h[it - c] then
                        rose <- rose + 1

                let oscillating = float rose <= float interval * rho
                let stalled = not reducedLast[j] && lossBestLast[j] >= lossBest[j]
                let halve = oscillating || stalled
                reducedLast[j] <- halve
                lossBestLast[j] <- lossBest[j]

                if halve then
                    eta[j] <- eta[j] / 2.0
                    Array.blit best (j * f) x (j * f) f
                    Array.blit gBest (j * f) g (j * f) f

            interval <- max (interval - shrink) least
            since <- 0

    // Examples still standing keep their best point; it was evaluated, and was not misclassified.
    for j in 0 .. n - 1 do
        let k = pos[j]

        if not found.Fooled[k] then
            let dst = found.X[k]

            for i in 0 .. f - 1 do
                dst[i] <- Double.CreateTruncating('T.CreateTruncating best[j * f + i])

            found.Pred[k] <- labels[j]
            found.Conf[k] <- confBest[j]

        if first then
            found.FooledFirstRestart[k] <- found.Fooled[k]

/// Salts of the attacks' random streams (Square's is in Square.fs).
let ceSalt = 0x617067642d6365UL
let internal tSalt = 0x617067642d74UL

/// APGD over images `indices` (all correctly classified when clean), in chunks of `chunk`: each restart, and for
/// APGD-T each target, runs on the examples no earlier one broke. `loss` CrossEntropy or DlrTargeted.
let internal run<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (pool: Pool<'T>)
    (r: Range)
    (loss: Loss)
    (attack: Attack)
    (indices: int[])
    (labelOf: int -> int)
    (chunk: int)
    : Found =
    let found = Found.create indices.Length pool.Features
    let classes = pool.Classes

    // APGD-T's targets: each example's clean classes by score, its label left out.
    let ranks =
        match loss with
        | CrossEntropy -> [||]
        | DlrTargeted ->
            let ranks = Array.zeroCreate indices.Length
            let z = Array.zeroCreate classes

            for offset, n in Data.batches indices.Length chunk do
                let s = pool.Scratch n
                let x0 = pool.Clean indices offset n
                Array.blit x0 0 (Tensor.data s.X) 0 x0.Length
                s.Forward()

                for j in 0 .. n - 1 do
                    logitsInto s.OutputActivation (Tensor.data s.Output) classes j z
                    let y = labelOf indices[offset + j]
                    ranks[offset + j] <- ranked z |> Array.filter (fun c -> c <> y)

            ranks

    let rounds =
        match loss with
        | CrossEntropy -> [ for restart in 0 .. attack.Restarts - 1 -> -1, restart ]
        | DlrTargeted ->
            [
                for t in 0 .. min attack.Targets (classes - 1) - 1 do
                    for restart in 0 .. attack.Restarts - 1 -> t, restart
            ]

    let salt = if loss = CrossEntropy then ceSalt else tSalt

    rounds
    |> List.iteri (fun round (t, restart) ->
        let standing =
            Array.init indices.Length id |> Array.filter (fun k -> not found.Fooled[k])

        let images = standing |> Array.map (fun k -> indices[k])

        for offset, n in Data.batches standing.Length chunk do
            let s = pool.Scratch n
            let x0 = pool.Clean images offset n
            let pos = Array.sub standing offset n
            let labels = pos |> Array.map (fun k -> labelOf indices[k])
            let targets = pos |> Array.map (fun k -> if t < 0 then -1 else ranks[k][t])

            let gens =
                pos
                |> Array.map (fun k -> generator salt attack.Seed indices[k] (max t 0 * attack.Restarts + restart))

            once s loss attack.Eps attack.Steps r x0 labels targets gens found pos (round = 0))

    found
