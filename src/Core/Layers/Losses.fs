/// Losses over a batch of B columns, and dL/dz for the output layer's pre-activation z.
/// MSE uses the ½ convention, L = ½ Σ_k (a_k − y_k)² per example, so dL/da = a − y (no factor 2).
/// Cross-entropy: softmax outputs L = −Σ_k y_k ln a_k, so dL/dz = a·Σ_k y_k − y (= a − y for one-hot y);
/// sigmoid outputs use the binary form per output, L = −Σ_k [y_k ln a_k + (1−y_k) ln(1−a_k)], dL/dz = a − y.
/// Reduction Mean divides the batch total by B; Sum does not (B times larger steps for the same lr).
module Functional.Losses

open System
open System.Numerics
open Functional.Activations

type Loss =
    | Mse
    | CrossEntropy

type Reduction =
    | Mean
    | Sum

module Loss =
    let name =
        function
        | Mse -> "mse"
        | CrossEntropy -> "ce"

    let tryParse (s: string) =
        match s.Trim().ToLowerInvariant() with
        | "mse" -> Some Mse
        | "ce"
        | "cross-entropy" -> Some CrossEntropy
        | _ -> None

module Reduction =
    let name =
        function
        | Mean -> "mean"
        | Sum -> "sum"

    let tryParse (s: string) =
        match s.Trim().ToLowerInvariant() with
        | "mean" -> Some Mean
        | "sum" -> Some Sum
        | _ -> None

    /// The factor each example's loss is multiplied by.
    let scale reduction (batch: int) =
        match reduction with
        | Mean -> 1.0 / float batch
        | Sum -> 1.0

/// Smallest probability fed to ln, so a confident wrong answer costs ~27.6 instead of infinity.
let private floor = 1e-12

let private ln (p: float) = Math.Log(max p floor)

/// The examples (columns of a, y: [classes × B]) whose cross-entropy is held at the floor: a probability the loss
/// takes the logarithm of is below 1e-12. There the loss stops changing with the weights while dL/dz = a − y does
/// not, so a numeric gradient disagrees with the analytic one for a reason that is not a bug in either.
let flooredExamples (loss: Loss) (output: Activation) (rows: int) (a: float[]) (y: float[]) =
    match loss with
    | Mse -> 0
    | CrossEntropy ->
        let mutable count = 0

        for j in 0 .. a.Length / rows - 1 do
            let mutable hit = false

            for i in j * rows .. j * rows + rows - 1 do
                let low = y[i] > 0.0 && a[i] < floor
                let high = output <> Softmax && y[i] < 1.0 && 1.0 - a[i] < floor

                if low || high then
                    hit <- true

            if hit then
                count <- count + 1

        count

/// The loss of a batch (a, y: [classes × B] column-major), accumulated in float64.
let value<'T when 'T :> IFloatingPointIeee754<'T>>
    (loss: Loss)
    (output: Activation)
    (reduction: Reduction)
    (rows: int)
    (a: 'T[])
    (y: 'T[])
    : float =
    let mutable total = 0.0

    for i in 0 .. a.Length - 1 do
        let ai = Double.CreateTruncating a[i]
        let yi = Double.CreateTruncating y[i]

        total <-
            total
            + match loss, output with
              | Mse, _ -> 0.5 * (ai - yi) * (ai - yi)
              | CrossEntropy, Softmax -> -yi * ln ai
              | CrossEntropy, _ -> -(yi * ln ai + (1.0 - yi) * ln (1.0 - ai))

    total * Reduction.scale reduction (a.Length / rows)

/// dz ← dL/dz for the output layer, given its activations a and the targets y.
let outputGradInto<'T when 'T :> IFloatingPointIeee754<'T>>
    (loss: Loss)
    (output: Activation)
    (reduction: Reduction)
    (rows: int)
    (a: 'T[])
    (y: 'T[])
    (dz: 'T[])
    =
    let cols = a.Length / rows
    let s: 'T = 'T.CreateTruncating(Reduction.scale reduction cols)

    match loss, output with
    | CrossEntropy, Softmax ->
        for j in 0 .. cols - 1 do
            let o = j * rows
            let mutable ySum: 'T = 'T.Zero

            for i in o .. o + rows - 1 do
                ySum <- ySum + y[i]

            for i in o .. o + rows - 1 do
                let p: 'T = a[i] * ySum
                let r: 'T = p - y[i]
                dz[i] <- s * r
    | CrossEntropy, _ ->
        for i in 0 .. a.Length - 1 do
            let r: 'T = a[i] - y[i]
            dz[i] <- s * r
    | Mse, _ ->
        for i in 0 .. a.Length - 1 do
            let r: 'T = a[i] - y[i]
            dz[i] <- s * r

        Activation.backInto output rows a dz dz

/// TRADES' robust term over a batch [clean | adversarial] of 2B softmax columns, column j paired with j + B:
/// β·KL(p ‖ q) reduced over the B pairs (p the clean outputs, q the adversarial ones), in float64.
let pairedKl<'T when 'T :> IFloatingPointIeee754<'T>> (beta: float) (reduction: Reduction) (rows: int) (a: 'T[]) =
    let half = a.Length / rows / 2
    let mutable total = 0.0

    for j in 0 .. half - 1 do
        for i in j * rows .. j * rows + rows - 1 do
            let p = Double.CreateTruncating a[i]
            total <- total + p * (ln p - ln (Double.CreateTruncating a[i + half * rows]))

    beta * Reduction.scale reduction half * total

/// TRADES (Zhang et al. 2019): `pairedKl`'s term, returned, and its gradient added to dz: β·p⊙(d − KL) for the
/// clean column, d = ln p − ln q, and β·(q − p) for the adversarial one. Both columns get gradient, as in the
/// paper: the clean outputs are not held constant.
let pairedKlInto<'T when 'T :> IFloatingPointIeee754<'T>>
    (beta: float)
    (reduction: Reduction)
    (rows: int)
    (a: 'T[])
    (dz: 'T[])
    : float =
    let half = a.Length / rows / 2
    let s = beta * Reduction.scale reduction half
    let mutable total = 0.0

    for j in 0 .. half - 1 do
        let c, q = j * rows, (j + half) * rows
        let mutable kl = 0.0

        for i in 0 .. rows - 1 do
            let p = Double.CreateTruncating a[c + i]
            kl <- kl + p * (ln p - ln (Double.CreateTruncating a[q + i]))

        for i in 0 .. rows - 1 do
            let p, r = Double.CreateTruncating a[c + i], Double.CreateTruncating a[q + i]
            dz[c + i] <- dz[c + i] + 'T.CreateTruncating(s * p * (ln p - ln r - kl))
            dz[q + i] <- dz[q + i] + 'T.CreateTruncating(s * (r - p))

        total <- total + kl

    s * total
