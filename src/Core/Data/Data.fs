/// Images stay bytes; a batch is gathered and scaled into [784 × B] columns only when it is used.
/// Scale Unit: x = p/255 with one-hot targets 0/1. Scale Book (Rashid's book): x = p/255·0.99 + 0.01,
/// targets 0.01/0.99. Scale Offset (the original question's slip of the book's formula): x = p/255·0.99 + 0.1,
/// so inputs run 0.1..1.09, targets 0.01/0.99. Batch order is a pure function of (seed, epoch): a Fisher–Yates shuffle.
module Functional.Data

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Init

type Scale =
    | Unit
    | Book
    | Offset

module Scale =
    let name =
        function
        | Unit -> "unit"
        | Book -> "book"
        | Offset -> "offset"

    let tryParse (s: string) =
        match s.Trim().ToLowerInvariant() with
        | "unit" -> Some Unit
        // "seed" was book's name until model format 2 (the seed preset itself uses offset).
        | "seed"
        | "book" -> Some Book
        | "offset" -> Some Offset
        | _ -> None

    /// What the scaling computes from a pixel x in 0..255, as a formula others can evaluate.
    let formula =
        function
        | Unit -> "x/255"
        | Book -> "x/255*0.99+0.01"
        | Offset -> "x/255*0.99+0.1"

    /// The input value of each byte 0..255 under this scaling.
    let table<'T when 'T :> IFloatingPointIeee754<'T>> (scale: Scale) : 'T[] =
        Array.init 256 (fun p ->
            let unit: 'T = 'T.CreateTruncating p / 'T.CreateTruncating 255

            match scale with
            | Unit -> unit
            | Book ->
                let squeezed: 'T = unit * 'T.CreateTruncating 0.99
                squeezed + 'T.CreateTruncating 0.01
            | Offset ->
                let squeezed: 'T = unit * 'T.CreateTruncating 0.99
                squeezed + 'T.CreateTruncating 0.1)

    /// The input value of a blank (0) pixel: what augmentation reads outside the image.
    let blank<'T when 'T :> IFloatingPointIeee754<'T>> (scale: Scale) : 'T =
        match scale with
        | Unit -> 'T.Zero
        | Book -> 'T.CreateTruncating 0.01
        | Offset -> 'T.CreateTruncating 0.1

    /// (off, on) target values of the one-hot encoding.
    let targets<'T when 'T :> IFloatingPointIeee754<'T>> (scale: Scale) : 'T * 'T =
        match scale with
        | Unit -> 'T.Zero, 'T.One
        | Book
        | Offset -> 'T.CreateTruncating 0.01, 'T.CreateTruncating 0.99

/// A labelled set: Count examples of Features values each, back to back. Images keep their bytes in Pixels
/// (scaled per batch by Scale); tabular data keep ready-made inputs in Values (already transformed, taken as
/// they are) and leave Pixels empty.
type Images =
    {
        Pixels: byte[]
        Labels: byte[]
        Count: int
        Features: int
        /// Empty for byte images.
        Values: float32[]
    }

module Images =
    let ofBytes (pixels: byte[]) (labels: byte[]) (count: int) (features: int) =
        {
            Pixels = pixels
            Labels = labels
            Count = count
            Features = features
            Values = [||]
        }

    let ofValues (values: float32[]) (labels: byte[]) (count: int) (features: int) =
        {
            Pixels = [||]
            Labels = labels
            Count = count
            Features = features
            Values = values
        }

/// Writes examples indices[offset .. offset+count−1] into the columns of x ([features × count]) and
/// their one-hot targets into y ([classes × count]), scaled by `scale`: the values of Scale.table,
/// computed a column at a time with vector instructions (byte → 'T, ÷255, then ·0.99 + 0.01 for Book, + 0.1 for Offset).
let gatherInto<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (scale: Scale)
    (images: Images)
    (indices: int[])
    (offset: int)
    (x: Matrix<'T>)
    (y: Matrix<'T>)
    =
    let xd, yd = Tensor.data x, Tensor.data y
    let f, classes = images.Features, y.RowCount
    // No tuples or union equality here: this runs every step and must not allocate.
    let book =
        match scale with
        | Unit -> false
        | Book
        | Offset -> true

    let liftBy =
        match scale with
        | Offset -> 0.1
        | _ -> 0.01

    let off: 'T = if book then 'T.CreateTruncating 0.01 else 'T.Zero
    let on: 'T = if book then 'T.CreateTruncating 0.99 else 'T.One
    let max: 'T = 'T.CreateTruncating 255
    let squeeze, lift = 'T.CreateTruncating 0.99, 'T.CreateTruncating liftBy

    for j in 0 .. x.ColumnCount - 1 do
        let n = indices[offset + j]
        let dst = Span<'T>(xd, j * f, f)

        if images.Values.Length > 0 then
            TensorPrimitives.ConvertChecked<float32, 'T>(ReadOnlySpan<float32>(images.Values, n * f, f), dst)
        else
            TensorPrimitives.ConvertTruncating<byte, 'T>(ReadOnlySpan<byte>(images.Pixels, n * f, f), dst)
            TensorPrimitives.Divide<'T>(Span.op_Implicit dst, max, dst)

        if book && images.Values.Length = 0 then
            TensorPrimitives.Multiply<'T>(Span.op_Implicit dst, squeeze, dst)
            TensorPrimitives.Add<'T>(Span.op_Implicit dst, lift, dst)

        Span<'T>(yd, j * classes, classes).Fill off
        yd[j * classes + int images.Labels[n]] <- on

/// The order in which epoch `epoch` (0-based) visits the n examples.
let permutation (seed: int) (epoch: int) (n: int) : int[] =
    let rng = Rng.For(seed, 1_000_000 + epoch)
    let p = Array.init n id

    for i in n - 1 .. -1 .. 1 do
        let j = rng.NextInt(i + 1)
        let t = p[i]
        p[i] <- p[j]
        p[j] <- t

    p

/// The (offset, count) of each batch of an epoch over n examples; batch 0 means the full set.
let batches (n: int) (batch: int) : (int * int)[] =
    if n <= 0 then
        [||]
    else
        let b = if batch <= 0 then n else min batch n
        [| for o in 0..b .. n - 1 -> o, min b (n - o) |]

/// Where step `step` (1-based, counted from the start of the run) takes its examples: epoch e visits the
/// examples in the order `permutation seed e n`, in batches of `batch` (0 = all n), the last one shorter.
[<Struct>]
type StepBatch =
    {
        Step: int64
        /// 0-based.
        Epoch: int
        /// Position of the batch's first example in the epoch's order.
        Offset: int
        Count: int
    }

/// Updates in one epoch over n examples in batches of `batch` (0 = full batch).
let stepsPerEpoch (n: int) (batch: int) =
    let b = if batch <= 0 || batch >= n then n else batch
    (n + b - 1) / b

/// The batch of step N: the one definition train, resume, replay, doctor, bench and scripts share.
let batchOfStep (n: int) (batch: int) (step: int64) : StepBatch =
    if step < 1L || n < 1 then
        invalidArg "step" (sprintf "steps count from 1 over a non-empty set (step %d, %d examples)" step n)

    let b = if batch <= 0 || batch >= n then n else batch
    let per = int64 ((n + b - 1) / b)
    let k = int ((step - 1L) % per)
    let offset = k * b

    {
        Step = step
        Epoch = int ((step - 1L) / per)
        Offset = offset
        Count = min b (n - offset)
    }

/// The step that takes the batch at `offset` of epoch `epoch` (the inverse of batchOfStep).
let stepAt (n: int) (batch: int) (epoch: int) (offset: int) : int64 =
    let b = if batch <= 0 || batch >= n then n else batch
    int64 epoch * int64 ((n + b - 1) / b) + int64 (offset / b) + 1L

/// A stratified hold-out: for each class, round(fraction × its count) of its examples (at least one when the
/// class has two or more and the fraction is above 0), chosen by a shuffle that is a pure function of the seed
/// and the labels. Returns (training indices, held-out indices), each in increasing order, disjoint, together
/// every index once.
let stratifiedSplit (seed: int) (fraction: float) (labels: byte[]) : int[] * int[] =
    if not (fraction >= 0.0 && fraction < 1.0) then
        invalidArg "fraction" (sprintf "the held-out fraction must be in [0, 1), not %g" fraction)

    let held = Array.zeroCreate labels.Length

    if fraction > 0.0 then
        for c in 0..255 do
            let members =
                [|
                    for i in 0 .. labels.Length - 1 do
                        if int labels[i] = c then
                            yield i
                |]

            if members.Length > 0 then
                let take =
                    let k =
                        int (Math.Round(fraction * float members.Length, MidpointRounding.AwayFromZero))

                    if members.Length >= 2 then
                        min (max k 1) (members.Length - 1)
                    else
                        k

                // Each class draws from its own stream, so one class's count never shifts another's choice.
                let rng = Rng.For(seed, 2_000_000 + c)

                for i in members.Length - 1 .. -1 .. 1 do
                    let j = rng.NextInt(i + 1)
                    let t = members[i]
                    members[i] <- members[j]
                    members[j] <- t

                for i in 0 .. take - 1 do
                    held[members[i]] <- true

    [|
        for i in 0 .. labels.Length - 1 do
            if not held[i] then
                yield i
    |],
    [|
        for i in 0 .. labels.Length - 1 do
            if held[i] then
                yield i
    |]
