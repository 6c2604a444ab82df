/// Matrix products whose every entry is one chain of fused multiply-adds in k order:
/// c_ij = alpha·(((a_i0·b_0j) + a_i1·b_1j) + … + a_i,K−1·b_K−1,j) + beta·c_ij, each step rounded once.
/// An entry's bits therefore depend only on its own row of op(a) and column of op(b): not on how many columns
/// are multiplied at once, where a column sits among them, how many threads run, the vector width or the CPU.
/// OpenBLAS gives none of that (its kernels split and order the sums by shape, position and thread), so a model's
/// outputs go through here whenever they must not depend on the batch they were computed in.
module Functional.FixedOrder

open System
open System.Numerics
open System.Runtime.Intrinsics

/// op(x)[r, c] of a column-major block stored rows × cols at offset off, transposed when t.
let inline private at (x: 'T[]) off rows t r c =
    if t then x[off + c + r * rows] else x[off + r + c * rows]

// Columns per micro-kernel: 2 vectors of rows × 6 columns keep 12 accumulators, 2 row vectors and a broadcast in
// the 16 vector registers of AVX2.
[<Literal>]
let private Nr = 6

/// A thread's packing buffer, one per element type (a generic class's static is per instantiation).
type private Scratch<'T> =
    [<ThreadStatic; DefaultValue>]
    static val mutable private buffer: 'T[]

    /// At least n values, grown and never shrunk: 0 bytes per steady-state call.
    static member Get(n: int) : 'T[] =
        if isNull Scratch<'T>.buffer || Scratch<'T>.buffer.Length < n then
            Scratch<'T>.buffer <- Array.zeroCreate n

        Scratch<'T>.buffer

let inline private fma (a: Vector256<'T>) (b: Vector256<'T>) (c: Vector256<'T>) : Vector256<'T> =
    if Type.op_Equality (typeof<'T>, typeof<float32>) then
        Vector256.As<float32, 'T>(
            Vector256.FusedMultiplyAdd(
                Vector256.As<'T, float32> a,
                Vector256.As<'T, float32> b,
                Vector256.As<'T, float32> c
            )
        )
    else
        Vector256.As<float, 'T>(
            Vector256.FusedMultiplyAdd(Vector256.As<'T, float> a, Vector256.As<'T, float> b, Vector256.As<'T, float> c)
        )

/// c ← alpha·op(a)·op(b) + beta·c with c m × n at offset cOff (column-major, leading dimension m); a is stored
/// aRows × aCols at aOff, b bRows × bCols at bOff. The caller has checked the shapes.
let gemm<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (alpha: 'T)
    (a: 'T[], aOff: int, aRows: int, aCols: int)
    (ta: bool)
    (b: 'T[], bOff: int, bRows: int)
    (tb: bool)
    (beta: 'T)
    (c: 'T[], cOff: int, m: int, n: int)
    =
    let k = if ta then aRows else aCols
    let v = Vector256<'T>.Count
    let mr = 2 * v
    let panels = (n + Nr - 1) / Nr
    // One buffer: op(b) packed as panels of Nr columns, k-major inside a panel ([k][Nr]), zero-padded; then one
    // row panel of op(a), [k][mr], zero-padded; then the mr × Nr results of one micro-kernel.
    let bSize = panels * k * Nr
    let work = Scratch<'T>.Get(bSize + k * mr + mr * Nr)
    let aBase, tBase = bSize, bSize + k * mr

    for p in 0 .. panels - 1 do
        for kk in 0 .. k - 1 do
            for jj in 0 .. Nr - 1 do
                let j = p * Nr + jj
                work[(p * k + kk) * Nr + jj] <- if j < n then at b bOff bRows tb kk j else 'T.Zero

    let betaZero = 'T.IsZero beta
    let plain = 'T.op_Equality (alpha, 'T.One) && betaZero

    for i0 in 0..mr .. m - 1 do
        let rows = min mr (m - i0)

        for kk in 0 .. k - 1 do
            for r in 0 .. mr - 1 do
                work[aBase + kk * mr + r] <- if r < rows then at a aOff aRows ta (i0 + r) kk else 'T.Zero

        for p in 0 .. panels - 1 do
            let mutable c00 = Vector256<'T>.Zero
            let mutable c10 = Vector256<'T>.Zero
            let mutable c01 = Vector256<'T>.Zero
            let mutable c11 = Vector256<'T>.Zero
            let mutable c02 = Vector256<'T>.Zero
            let mutable c12 = Vector256<'T>.Zero
            let mutable c03 = Vector256<'T>.Zero
            let mutable c13 = Vector256<'T>.Zero
            let mutable c04 = Vector256<'T>.Zero
            let mutable c14 = Vector256<'T>.Zero
            let mutable c05 = Vector256<'T>.Zero
            let mutable c15 = Vector256<'T>.Zero
            let mutable ai = aBase
            let mutable bi = p * k * Nr

            for _ in 0 .. k - 1 do
                let a0 = Vector256.LoadUnsafe(&work[ai])
                let a1 = Vector256.LoadUnsafe(&work[ai + v])
                let b0 = Vector256.Create(work[bi])
                c00 <- fma a0 b0 c00
                c10 <- fma a1 b0 c10
                let b1 = Vector256.Create(work[bi + 1])
                c01 <- fma a0 b1 c01
                c11 <- fma a1 b1 c11
                let b2 = Vector256.Create(work[bi + 2])
                c02 <- fma a0 b2 c02
                c12 <- fma a1 b2 c12
                let b3 = Vector256.Create(work[bi + 3])
                c03 <- fma a0 b3 c03
                c13 <- fma a1 b3 c13
                let b4 = Vector256.Create(work[bi + 4])
                c04 <- fma a0 b4 c04
                c14 <- fma a1 b4 c14
                let b5 = Vector256.Create(work[bi + 5])
                c05 <- fma a0 b5 c05
                c15 <- fma a1 b5 c15
                ai <- ai + mr
                bi <- bi + Nr

            let t = tBase
            c00.StoreUnsafe(&work[t])
            c10.StoreUnsafe(&work[t + v])
            c01.StoreUnsafe(&work[t + mr])
            c11.StoreUnsafe(&work[t + mr + v])
            c02.StoreUnsafe(&work[t + 2 * mr])
            c12.StoreUnsafe(&work[t + 2 * mr + v])
            c03.StoreUnsafe(&work[t + 3 * mr])
            c13.StoreUnsafe(&work[t + 3 * mr + v])
            c04.StoreUnsafe(&work[t + 4 * mr])
            c14.StoreUnsafe(&work[t + 4 * mr + v])
            c05.StoreUnsafe(&work[t + 5 * mr])
            c15.StoreUnsafe(&work[t + 5 * mr + v])

            for jj in 0 .. (min Nr (n - p * Nr)) - 1 do
                let col = cOff + (p * Nr + jj) * m + i0

                if plain then
                    Span<'T>(work, t + jj * mr, rows).CopyTo(Span<'T>(c, col, rows))
                else
                    for r in 0 .. rows - 1 do
                        let s = alpha * work[t + jj * mr + r]
                        c[col + r] <- if betaZero then s else s + beta * c[col + r]
