/// What APGD, Square and their ensemble share: logits read back from a network's outputs, the per-example losses
/// they climb (cross-entropy, the targeted DLR loss, the margin), and the record of what an attack found for each
/// example it ran on.
module Functional.Margins

open System
open System.Numerics
open System.Collections.Generic
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Attacks

/// An output rounded to 0 reads as ln of this rather than −∞, so a saturated softmax still ranks its classes.
let private tiny = 1e-300

/// Column j's logits, up to a constant per column, into z: ln a for softmax (ln a_i − ln a_k = z_i − z_k), the
/// inverse sigmoid for sigmoid outputs, the outputs themselves otherwise (they are then the scores).
let logitsInto<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (a: 'T[]) (rows: int) (j: int) (z: float[]) =
    for i in 0 .. rows - 1 do
        let v = Double.CreateTruncating a[j * rows + i]

        z[i] <-
            match act with
            | Softmax -> Math.Log(max v tiny)
            | Sigmoid -> Math.Log(max v tiny) - Math.Log(max (1.0 - v) tiny)
            | _ -> v

/// z_y − max_{i≠y} z_i: at most 0 once another class scores as high as the label.
let margin (z: float[]) (y: int) =
    let mutable best = Double.NegativeInfinity

    for i in 0 .. z.Length - 1 do
        if i <> y && z[i] > best then
            best <- z[i]

    z[y] - best

/// The classes by score, highest first, ties to the lower class.
let ranked (z: float[]) =
    Array.init z.Length id
    |> Array.sortWith (fun a b ->
        match compare z[b] z[a] with
        | 0 -> compare a b
        | c -> c)

/// The targeted DLR loss −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12), π ranking z downwards, and its gradient
/// with respect to z into g. Only differences of z enter it, so logits known up to a constant suffice, and g sums
/// to 0, so it is also the gradient with respect to the logits before a softmax.
let dlrTargeted (z: float[]) (y: int) (t: int) (g: float[]) =
    let p = ranked z
    let at k = p[min k (z.Length - 1)]
    let n = z[y] - z[t]
    let d = z[at 0] - 0.5 * (z[at 2] + z[at 3]) + 1e-12
    Array.fill g 0 g.Length 0.0
    g[y] <- g[y] - 1.0 / d
    g[t] <- g[t] + 1.0 / d
    let c = n / (d * d)
    g[at 0] <- g[at 0] + c
    g[at 2] <- g[at 2] - 0.5 * c
    g[at 3] <- g[at 3] - 0.5 * c
    -n / d

/// Cross-entropy of column j against its label (−ln a_y for softmax, the binary form per output otherwise), the
/// loss APGD-CE climbs.
let crossEntropy<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (a: 'T[]) (rows: int) (j: int) (y: int) =
    let p i = Double.CreateTruncating a[j * rows + i]

    match act with
    | Softmax -> -Math.Log(max (p y) 1e-12)
    | _ ->
        let mutable s = 0.0

        for i in 0 .. rows - 1 do
            s <-
                s
                - (if i = y then
                       Math.Log(max (p i) 1e-12)
                   else
                       Math.Log(max (1.0 - p i) 1e-12))

        s

/// What an attack found for each example it ran on (positions, not image indices): the point it keeps (the first
/// that fooled the network, else the last it judged best), and the prediction and its probability there.
type internal Found =
    {
        X: float[][]
        Pred: int[]
        Conf: float[]
        Fooled: bool[]
        /// Fooled by the first iteration of the first restart.
        FooledFirst: bool[]
        /// Fooled by the end of the first restart.
        FooledFirstRestart: bool[]
    }

module internal Found =
    let create count features =
        {
            X = Array.init count (fun _ -> Array.zeroCreate features)
            Pred = Array.create count -1
            Conf = Array.zeroCreate count
            Fooled = Array.zeroCreate count
            FooledFirst = Array.zeroCreate count
            FooledFirstRestart = Array.zeroCreate count
        }

    /// Keeps column j of `x` (the inputs s.Output was computed from) for position k.
    let keep<'T when 'T :> IFloatingPointIeee754<'T>> (found: Found) k (x: 'T[]) (out: 'T[]) features classes j pred =
        let dst = found.X[k]

        for i in 0 .. features - 1 do
            dst[i] <- Double.CreateTruncating x[j * features + i]

        found.Pred[k] <- pred
        found.Conf[k] <- Double.CreateTruncating out[j * classes + pred]

/// Scratch and clean-input buffers per batch size, for attacks whose batches shrink as examples fall.
type internal Pool<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>, scale: Scale, images: Images) =
    let scratches = Dictionary<int, Scratch<'T>>()
    let cleans = Dictionary<int, Matrix<'T> * Matrix<'T>>()
    let classes = Arch.classes net.Arch

    member _.Classes = classes
    member _.Features = images.Features
    /// Passes run by every scratch so far, one example each.
    member _.Forwards = scratches.Values |> Seq.sumBy (fun s -> s.Forwards)
    member _.Backwards = scratches.Values |> Seq.sumBy (fun s -> s.Backwards)

    member _.Scratch n =
        match scratches.TryGetValue n with
        | true, s -> s
        | _ ->
            let s = Scratch<'T>(net, n)
            scratches[n] <- s
            s

    /// The clean inputs of images indices[offset..offset+n−1], [features × n] column-major (a shared buffer).
    member _.Clean (indices: int[]) offset n =
        let x0, y =
            match cleans.TryGetValue n with
            | true, v -> v
            | _ ->
                let v = Tensor.zeros<'T> images.Features n, Tensor.zeros<'T> classes n
                cleans[n] <- v
                v

        gatherInto scale images indices offset x0 y
        Tensor.data x0

/// The generator of (seed, image, restart) for one attack: `salt` keeps each attack's stream apart, so a result
/// depends on neither the batch an image falls in nor the examples beside it.
let generator (salt: uint64) seed (image: int) (restart: int) =
    Attacks.rng (evalSalt ^^^ salt) seed (int64 restart) image
