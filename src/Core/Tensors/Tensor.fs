/// Matrix helpers over MathNet, and the one place that calls BLAS.
/// Storage is MathNet's: dense, column-major. An [n × B] activation matrix therefore keeps each
/// example's n values contiguous (column j = example j), the same bytes as PyTorch's row-major [B, n].
/// Every kernel writes into a destination it is handed ("…Into"); the pure functions of the core
/// allocate fresh destinations and call the same kernels, so both paths give the same bits.
module Functional.Tensor

open System
open System.Numerics
open System.Runtime.InteropServices
open System.Runtime.CompilerServices
open MathNet.Numerics.LinearAlgebra
open MathNet.Numerics.LinearAlgebra.Storage
open MathNet.Numerics.Providers.LinearAlgebra

/// The raw column-major array behind a dense matrix (no copy).
let data (m: Matrix<'T>) : 'T[] =
    (m.Storage :?> DenseColumnMajorMatrixStorage<'T>).Data

/// The raw array behind a dense vector (no copy).
let vdata (v: Vector<'T>) : 'T[] =
    (v.Storage :?> DenseVectorStorage<'T>).Data

let zeros<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable>
    (rows: int)
    (cols: int)
    : Matrix<'T> =
    Matrix<'T>.Build.Dense(rows, cols)

let vzeros<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable>
    (n: int)
    : Vector<'T> =
    Vector<'T>.Build.Dense n

/// Wraps a column-major array as a rows × cols matrix (no copy).
let ofColumnMajor rows cols (values: 'T[]) : Matrix<'T> =
    Matrix<'T>.Build.Dense(rows, cols, values)

let copy (m: Matrix<'T>) : Matrix<'T> =
    ofColumnMajor m.RowCount m.ColumnCount (Array.copy (data m))

let vcopy (v: Vector<'T>) : Vector<'T> =
    Vector<'T>.Build.Dense(Array.copy (vdata v))

module private Native =
    [<Literal>]
    let Lib = "libopenblas.so.0"

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_sgemm(
        int order,
        int ta,
        int tb,
        int m,
        int n,
        int k,
        float32 alpha,
        float32[] a,
        int lda,
        float32[] b,
        int ldb,
        float32 beta,
        float32[] c,
        int ldc
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_dgemm(
        int order,
        int ta,
        int tb,
        int m,
        int n,
        int k,
        float alpha,
        float[] a,
        int lda,
        float[] b,
        int ldb,
        float beta,
        float[] c,
        int ldc
    )

    // The same products on blocks inside larger arrays (a recurrent layer's time steps): the marshaller pins
    // the array for the call and passes the address of its first element.
    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "cblas_sgemm")>]
    extern void cblas_sgemm_at(
        int order,
        int ta,
        int tb,
        int m,
        int n,
        int k,
        float32 alpha,
        float32& a,
        int lda,
        float32& b,
        int ldb,
        float32 beta,
        float32& c,
        int ldc
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "cblas_dgemm")>]
    extern void cblas_dgemm_at(
        int order,
        int ta,
        int tb,
        int m,
        int n,
        int k,
        float alpha,
        float& a,
        int lda,
        float& b,
        int ldb,
        float beta,
        float& c,
        int ldc
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_sgemv(
        int order,
        int ta,
        int m,
        int n,
        float32 alpha,
        float32[] a,
        int lda,
        float32[] x,
        int incx,
        float32 beta,
        float32[] y,
        int incy
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_dgemv(
        int order,
        int ta,
        int m,
        int n,
        float alpha,
        float[] a,
        int lda,
        float[] x,
        int incx,
        float beta,
        float[] y,
        int incy
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_sger(
        int order,
        int m,
        int n,
        float32 alpha,
        float32[] x,
        int incx,
        float32[] y,
        int incy,
        float32[] a,
        int lda
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void cblas_dger(
        int order,
        int m,
        int n,
        float alpha,
        float[] x,
        int incx,
        float[] y,
        int incy,
        float[] a,
        int lda
    )

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void openblas_set_num_threads(int n)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int openblas_get_num_threads()

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern nativeint openblas_get_config()

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern nativeint openblas_get_corename()

    let colMajor = 102
    let noTrans = 111
    let trans = 112

/// Which code multiplies matrices: native OpenBLAS when libopenblas.so.0 loads, else MathNet's managed provider.
type Backend =
    | OpenBlas
    | Managed

/// The process-wide backend choice is configuration, like MathNet's own LinearAlgebraControl:
/// it never changes a step's meaning, only which (deterministic) kernel computes it.
/// A thread may override it for a scope (tests compare the two backends side by side).
type Blas private () =
    static let available =
        lazy
            (let mutable h = 0n

             if NativeLibrary.TryLoad(Native.Lib, &h) then
                 try
                     // One OpenBLAS thread from the start, in every process (scripts too): its own threads
                     // change bits; the Gang shares work instead (SetThreads).
                     Native.openblas_set_num_threads 1
                     true
                 with _ ->
                     false
             else
                 false)

    // Chosen by the host (which reads FUNCTIONAL_BLAS): the core reads no environment.
    static let mutable chosen: Backend option = None

    // This thread's scoped choices live in Gang.Context, which pieces of shared work inherit from the thread that
    // started them: bits 0-1 the backend (0 = the process's, 1 OpenBLAS, 2 managed), bit 2 fixed order.
    static member private scoped
        with get () = Gang.Context &&& 3
        and set (v: int) = Gang.Context <- (Gang.Context &&& ~~~3) ||| v

    static member private fixedOrder
        with get () = Gang.Context &&& 4 <> 0
        and set (v: bool) = Gang.Context <- (Gang.Context &&& ~~~4) ||| (if v then 4 else 0)

    /// True when libopenblas.so.0 loaded (Debian package libopenblas0-pthread).
    static member NativeAvailable = available.Value

    /// The backend in force on this thread.
    static member Current =
        match Blas.scoped with
        | 1 -> OpenBlas
        | 2 -> Managed
        | _ ->
            match chosen with
            | Some b -> b
            | None -> if available.Value then OpenBlas else Managed

    /// Chooses the process-wide backend; OpenBlas fails if the library did not load.
    static member Use(backend: Backend) =
        if backend = OpenBlas && not available.Value then
            invalidOp "OpenBLAS (libopenblas.so.0) is not installed: apt-get install libopenblas0-pthread"

        chosen <- Some backend

    /// Runs f with this thread's backend set to `backend`.
    static member With (backend: Backend) (f: unit -> 'a) : 'a =
        let saved = Blas.scoped
        Blas.scoped <- (if backend = OpenBlas then 1 else 2)

        try
            f ()
        finally
            Blas.scoped <- saved

    /// True while this thread's products go through FixedOrder (see FixedOrder.fs).
    static member InFixedOrder = Blas.fixedOrder

    /// Runs f with this thread's products in fixed order: every entry one chain of fused multiply-adds, so its
    /// bits do not depend on the shape of the product it is part of, the thread count or the CPU's kernels.
    static member WithFixedOrder(f: unit -> 'a) : 'a =
        let saved = Blas.fixedOrder
        Blas.fixedOrder <- true

        try
            f ()
        finally
            Blas.fixedOrder <- saved

    /// Threads used by matrix products (the Gang, or MathNet's parallelism).
    static member Threads =
        if Blas.Current = OpenBlas then
            Gang.Size
        else
            MathNet.Numerics.Control.MaxDegreeOfParallelism

    /// OpenBLAS itself always runs one thread: products are shared by the Gang in pieces cut from their shapes
    /// alone, so the thread count never changes a bit (OpenBLAS's own split follows its thread count).
    static member SetThreads(n: int) =
        if available.Value then
            Native.openblas_set_num_threads 1

        Gang.Resize n
        MathNet.Numerics.Control.MaxDegreeOfParallelism <- n

    /// The kernel family OpenBLAS chose at load (its core type, e.g. "Haswell"); "" for the managed provider.
    static member CoreName =
        match Blas.Current with
        | OpenBlas -> Marshal.PtrToStringAnsi(Native.openblas_get_corename ()) |> string
        | Managed -> ""

    /// The backend by name and version: "OpenBLAS 0.3.21" or "managed".
    static member Backend =
        match Blas.Current with
        | OpenBlas ->
            let cfg = Marshal.PtrToStringAnsi(Native.openblas_get_config ()) |> string
            cfg.Split(' ') |> Array.truncate 2 |> String.concat " "
        | Managed -> "managed"

    /// One line for logs and run.json, e.g. "OpenBLAS 0.3.21 (Haswell, 1 thread)".
    static member Describe() =
        match Blas.Current with
        | OpenBlas ->
            let cfg = Marshal.PtrToStringAnsi(Native.openblas_get_config ())
            let core = Marshal.PtrToStringAnsi(Native.openblas_get_corename ())
            sprintf "%s (%s, %d thread(s))" cfg core Gang.Size
        | Managed ->
            sprintf
                "MathNet managed provider (%d thread(s))%s"
                MathNet.Numerics.Control.MaxDegreeOfParallelism
                (if available.Value then
                     ""
                 else
                     "; OpenBLAS not found, install libopenblas0-pthread for ~20x faster training")

let inline private asF32 (a: 'T[]) = box a :?> float32[]
let inline private asF64 (a: 'T[]) = box a :?> float[]

let private managed<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable>
    ()
    =
    LinearAlgebraControl.Provider :> obj :?> ILinearAlgebraProvider<'T>

let private tr b =
    if b then Transpose.Transpose else Transpose.DontTranspose

/// Refuses shapes that do not agree before a native call: a wrong one must never reach OpenBLAS.
let private checkGemm
    (a: 'T[], aOff: int, aRows: int, aCols: int)
    (ta: bool)
    (b: 'T[], bOff: int, bRows: int, bCols: int)
    (tb: bool)
    (c: 'T[], cOff: int, m: int, n: int)
    =
    let k = if ta then aRows else aCols
    let am = if ta then aCols else aRows
    let bk, bn = (if tb then bCols else bRows), (if tb then bRows else bCols)

    if
        am <> m
        || bk <> k
        || bn <> n
        || aOff < 0
        || bOff < 0
        || cOff < 0
        || a.Length - aOff < aRows * aCols
        || b.Length - bOff < bRows * bCols
        || c.Length - cOff < m * n
    then
        invalidArg
            "gemm"
            (sprintf
                "shapes do not agree: op(a) %dx%d, op(b) %dx%d, c %dx%d (arrays %d, %d, %d at %d, %d, %d)"
                am
                k
                bk
                bn
                m
                n
                a.Length
                b.Length
                c.Length
                aOff
                bOff
                cOff)

    k

/// One OpenBLAS call on blocks at offsets, with explicit leading dimensions.
let private nativeGemm<'T when 'T :> IFloatingPointIeee754<'T>>
    (ta: bool)
    (tb: bool)
    (m: int)
    (n: int)
    (k: int)
    (alpha: 'T)
    (a: 'T[], aOff: int, lda: int)
    (b: 'T[], bOff: int, ldb: int)
    (beta: 'T)
    (c: 'T[], cOff: int, ldc: int)
    =
    let opA = if ta then Native.trans else Native.noTrans
    let opB = if tb then Native.trans else Native.noTrans

    if typeof<'T> = typeof<float32> then
        Native.cblas_sgemm_at (
            Native.colMajor,
            opA,
            opB,
            m,
            n,
            k,
            Single.CreateTruncating alpha,
            &(asF32 a).[aOff],
            lda,
            &(asF32 b).[bOff],
            ldb,
            Single.CreateTruncating beta,
            &(asF32 c).[cOff],
            ldc
        )
    else
        Native.cblas_dgemm_at (
            Native.colMajor,
            opA,
            opB,
            m,
            n,
            k,
            Double.CreateTruncating alpha,
            &(asF64 a).[aOff],
            lda,
            &(asF64 b).[bOff],
            ldb,
            Double.CreateTruncating beta,
            &(asF64 c).[cOff],
            ldc
        )

/// How a product is cut for the Gang, from its shape alone: 1 piece below 2 MFLOP (the hand-over would cost
/// more than it saves), 2 below 8, else 4; along the longer side of c (each piece then re-reads the smaller
/// operand), in runs of 16 rows or 4 columns. Returns (pieces, along rows, run). Inside a piece of other work
/// (Gang.Inside) a product is never cut again.
let piecesOf (m: int) (n: int) (k: int) =
    let flops = 2.0 * float m * float n * float k

    let want =
        if flops < 2e6 then 1
        elif flops < 8e6 then 2
        else 4

    let alongM = m >= n
    let len, unit = if alongM then m, 16 else n, 4
    let pieces = min want (max 1 (len / unit))

    if pieces <= 1 then
        struct (1, alongM, len)
    else
        let run = (len + pieces - 1) / pieces
        let run = (run + unit - 1) / unit * unit
        struct ((len + run - 1) / run, alongM, run)

/// A product's pieces: c's rows (or columns) [i·run, (i+1)·run) each, one OpenBLAS call per piece. One instance
/// per calling thread, refilled per product, so sharing a product allocates nothing.
[<Sealed; AllowNullLiteral>]
type private GemmPieces<'T when 'T :> IFloatingPointIeee754<'T>>() =
    inherit Pieces()

    [<ThreadStatic; DefaultValue>]
    static val mutable private mine: GemmPieces<'T>

    [<DefaultValue>]
    val mutable Ta: bool

    [<DefaultValue>]
    val mutable Tb: bool

    [<DefaultValue>]
    val mutable AlongM: bool

    [<DefaultValue>]
    val mutable M: int

    [<DefaultValue>]
    val mutable N: int

    [<DefaultValue>]
    val mutable K: int

    [<DefaultValue>]
    val mutable Run: int

    [<DefaultValue>]
    val mutable Alpha: 'T

    [<DefaultValue>]
    val mutable Beta: 'T

    [<DefaultValue>]
    val mutable A: 'T[]

    [<DefaultValue>]
    val mutable AOff: int

    [<DefaultValue>]
    val mutable Lda: int

    [<DefaultValue>]
    val mutable B: 'T[]

    [<DefaultValue>]
    val mutable BOff: int

    [<DefaultValue>]
    val mutable Ldb: int

    [<DefaultValue>]
    val mutable C: 'T[]

    [<DefaultValue>]
    val mutable COff: int

    static member Mine =
        if isNull GemmPieces<'T>.mine then
            GemmPieces<'T>.mine <- GemmPieces<'T>()

        GemmPieces<'T>.mine

    override w.Do i =
        let lo = i * w.Run

        if w.AlongM then
            let rows = min w.Run (w.M - lo)
            // Rows lo… of op(a): rows of a, or columns when a is stored transposed.
            let aOff = w.AOff + (if w.Ta then lo * w.Lda else lo)

            nativeGemm
                w.Ta
                w.Tb
                rows
                w.N
                w.K
                w.Alpha
                (w.A, aOff, w.Lda)
                (w.B, w.BOff, w.Ldb)
                w.Beta
                (w.C, w.COff + lo, w.M)
        else
            let cols = min w.Run (w.N - lo)
            // Columns lo… of op(b): columns of b, or rows when b is stored transposed.
            let bOff = w.BOff + (if w.Tb then lo else lo * w.Ldb)

            nativeGemm
                w.Ta
                w.Tb
                w.M
                cols
                w.K
                w.Alpha
                (w.A, w.AOff, w.Lda)
                (w.B, bOff, w.Ldb)
                w.Beta
                (w.C, w.COff + lo * w.M, w.M)

/// c ← alpha·op(a)·op(b) + beta·c through OpenBLAS, shared by the Gang in the pieces piecesOf cuts.
let private openBlasGemm<'T when 'T :> IFloatingPointIeee754<'T>>
    (alpha: 'T)
    (a: 'T[], aOff: int, aRows: int)
    (ta: bool)
    (b: 'T[], bOff: int, bRows: int)
    (tb: bool)
    (beta: 'T)
    (c: 'T[], cOff: int, m: int, n: int)
    (k: int)
    =
    let struct (pieces, alongM, run) =
        if Gang.Inside then struct (1, true, m) else piecesOf m n k

    if pieces = 1 then
        nativeGemm ta tb m n k alpha (a, aOff, max 1 aRows) (b, bOff, max 1 bRows) beta (c, cOff, max 1 m)
    else
        let w = GemmPieces<'T>.Mine
        w.Ta <- ta
        w.Tb <- tb
        w.AlongM <- alongM
        w.M <- m
        w.N <- n
        w.K <- k
        w.Run <- run
        w.Alpha <- alpha
        w.Beta <- beta
        w.A <- a
        w.AOff <- aOff
        w.Lda <- max 1 aRows
        w.B <- b
        w.BOff <- bOff
        w.Ldb <- max 1 bRows
        w.C <- c
        w.COff <- cOff
        Gang.Run(pieces, w)
        w.A <- null
        w.B <- null
        w.C <- null

/// MathNet's managed product, the path without OpenBLAS. Its provider takes whole arrays of exactly the stated
/// shape, while a layer's buffers are sized for its largest chunk (a last, smaller chunk of a convolution uses
/// their front): such blocks are copied out and c's back (the slow path anyway).
let private managedGemm
    (alpha: 'T)
    (a: 'T[], aOff: int, aRows: int, aCols: int)
    (ta: bool)
    (b: 'T[], bOff: int, bRows: int, bCols: int)
    (tb: bool)
    (beta: 'T)
    (c: 'T[], cOff: int, m: int, n: int)
    =
    let whole (x: 'T[]) off len = off = 0 && x.Length = len

    if
        whole a aOff (aRows * aCols)
        && whole b bOff (bRows * bCols)
        && whole c cOff (m * n)
    then
        (managed<'T>()).MatrixMultiplyWithUpdate(tr ta, tr tb, alpha, a, aRows, aCols, b, bRows, bCols, beta, c)
    else
        let ab = Array.sub a aOff (aRows * aCols)
        let bb = Array.sub b bOff (bRows * bCols)
        let cb = Array.sub c cOff (m * n)
        (managed<'T>()).MatrixMultiplyWithUpdate(tr ta, tr tb, alpha, ab, aRows, aCols, bb, bRows, bCols, beta, cb)
        Array.blit cb 0 c cOff (m * n)

/// c ← alpha·op(a)·op(b) + beta·c over raw column-major arrays: a is stored aRows × aCols, b bRows × bCols,
/// c is m × n. Every shape is checked before a native call.
let gemm
    (alpha: 'T)
    (a: 'T[], aRows: int, aCols: int)
    (ta: bool)
    (b: 'T[], bRows: int, bCols: int)
    (tb: bool)
    (beta: 'T)
    (c: 'T[], m: int, n: int)
    =
    let k = checkGemm (a, 0, aRows, aCols) ta (b, 0, bRows, bCols) tb (c, 0, m, n)

    match Blas.Current with
    | _ when Blas.InFixedOrder -> FixedOrder.gemm alpha (a, 0, aRows, aCols) ta (b, 0, bRows) tb beta (c, 0, m, n)
    | OpenBlas when typeof<'T> = typeof<float32> || typeof<'T> = typeof<float> ->
        if m > 0 && n > 0 && k > 0 then
            openBlasGemm alpha (a, 0, aRows) ta (b, 0, bRows) tb beta (c, 0, m, n) k
        elif m > 0 && n > 0 then
            // An empty sum: c ← beta·c, as BLAS defines it.
            System.Numerics.Tensors.TensorPrimitives.Multiply<'T>(
                ReadOnlySpan<'T>(c, 0, m * n),
                beta,
                Span<'T>(c, 0, m * n)
            )
    | _ -> managedGemm alpha (a, 0, aRows, aCols) ta (b, 0, bRows, bCols) tb beta (c, 0, m, n)

/// gemm on contiguous blocks that start at offsets into longer arrays (a recurrent layer's time steps, which
/// live side by side in one buffer): the block of a starts at a[aOff], and so on.
let gemmAt
    (alpha: 'T)
    (a: 'T[], aOff: int, aRows: int, aCols: int)
    (ta: bool)
    (b: 'T[], bOff: int, bRows: int, bCols: int)
    (tb: bool)
    (beta: 'T)
    (c: 'T[], cOff: int, m: int, n: int)
    =
    let k =
        checkGemm (a, aOff, aRows, aCols) ta (b, bOff, bRows, bCols) tb (c, cOff, m, n)

    if m > 0 && n > 0 && k > 0 then
        match Blas.Current with
        | _ when Blas.InFixedOrder ->
            FixedOrder.gemm alpha (a, aOff, aRows, aCols) ta (b, bOff, bRows) tb beta (c, cOff, m, n)
        | OpenBlas when typeof<'T> = typeof<float32> || typeof<'T> = typeof<float> ->
            openBlasGemm alpha (a, aOff, aRows) ta (b, bOff, bRows) tb beta (c, cOff, m, n) k
        | _ -> managedGemm alpha (a, aOff, aRows, aCols) ta (b, bOff, bRows, bCols) tb beta (c, cOff, m, n)

/// c ← alpha·op(a)·op(b) + beta·c for MathNet matrices (shapes from the matrices).
let gemmInto (alpha: 'T) (a: Matrix<'T>) (ta: bool) (b: Matrix<'T>) (tb: bool) (beta: 'T) (c: Matrix<'T>) =
    gemm
        alpha
        (data a, a.RowCount, a.ColumnCount)
        ta
        (data b, b.RowCount, b.ColumnCount)
        tb
        beta
        (data c, c.RowCount, c.ColumnCount)

/// y ← alpha·op(a)·x + beta·y for one column x, a stored rows × cols (the per-example path: much cheaper
/// than gemm at batch 1).
let gemv (alpha: 'T) (a: 'T[], rows: int, cols: int) (ta: bool) (x: 'T[]) (beta: 'T) (y: 'T[]) =
    let nx, ny = (if ta then rows else cols), (if ta then cols else rows)

    if a.Length < rows * cols || x.Length < nx || y.Length < ny then
        invalidArg
            "gemv"
            (sprintf "shapes do not agree: a %dx%d%s, x %d, y %d" rows cols (if ta then "ᵀ" else "") x.Length y.Length)

    match Blas.Current with
    // A one-column product in fixed order is the same chain as that column inside any wider product.
    | _ when Blas.InFixedOrder -> FixedOrder.gemm alpha (a, 0, rows, cols) ta (x, 0, nx) false beta (y, 0, ny, 1)
    | OpenBlas when typeof<'T> = typeof<float32> ->
        Native.cblas_sgemv (
            Native.colMajor,
            (if ta then Native.trans else Native.noTrans),
            rows,
            cols,
            Single.CreateTruncating alpha,
            asF32 a,
            max 1 rows,
            asF32 x,
            1,
            Single.CreateTruncating beta,
            asF32 y,
            1
        )
    | OpenBlas when typeof<'T> = typeof<float> ->
        Native.cblas_dgemv (
            Native.colMajor,
            (if ta then Native.trans else Native.noTrans),
            rows,
            cols,
            Double.CreateTruncating alpha,
            asF64 a,
            max 1 rows,
            asF64 x,
            1,
            Double.CreateTruncating beta,
            asF64 y,
            1
        )
    | _ -> managedGemm alpha (a, 0, rows, cols) ta (x, 0, nx, 1) false beta (y, 0, ny, 1)

/// y ← alpha·op(a)·x + beta·y for MathNet's matrix a.
let gemvInto (alpha: 'T) (a: Matrix<'T>) (ta: bool) (x: 'T[]) (beta: 'T) (y: 'T[]) =
    gemv alpha (data a, a.RowCount, a.ColumnCount) ta x beta y

/// a ← x·yᵀ (one example's weight gradient; a is x.Length × y.Length): one vectorised pass per column, no
/// clearing, no accumulation. Each entry is the single product x_i·y_j, so every backend gives the same bits.
let outer (x: 'T[]) (y: 'T[]) (a: 'T[], rows: int, cols: int) =
    if x.Length < rows || y.Length < cols || a.Length < rows * cols then
        invalidArg "outer" (sprintf "shapes do not agree: x %d, y %d, a %dx%d" x.Length y.Length rows cols)

    for j in 0 .. cols - 1 do
        System.Numerics.Tensors.TensorPrimitives.Multiply<'T>(
            ReadOnlySpan<'T>(x, 0, rows),
            y[j],
            Span<'T>(a, j * rows, rows)
        )

/// a ← keep·a + alpha·x·yᵀ in one pass over a, column by column (tmp: scratch of x's length).
/// SGD with L2 decay at batch 1: a separate decay pass would cost as much as the update itself.
let decayAddOuter<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (keep: 'T)
    (alpha: 'T)
    (x: 'T[])
    (y: 'T[])
    (a: 'T[], rows: int, cols: int)
    (tmp: 'T[])
    =
    if
        x.Length < rows
        || y.Length < cols
        || a.Length < rows * cols
        || tmp.Length < rows
    then
        invalidArg "decayAddOuter" (sprintf "shapes do not agree: x %d, y %d, a %dx%d" x.Length y.Length rows cols)

    let t = Span<'T>(tmp, 0, rows)

    for j in 0 .. cols - 1 do
        let s: 'T = alpha * y[j]
        let col = Span<'T>(a, j * rows, rows)
        System.Numerics.Tensors.TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(x, 0, rows), s, t)
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<'T>(Span.op_Implicit col, keep, Span.op_Implicit t, col)

/// a ← alpha·x·yᵀ + a (rank-one update: the weight gradient of one example; a is rows × cols).
let ger (alpha: 'T) (x: 'T[]) (y: 'T[]) (a: 'T[], rows: int, cols: int) =
    if x.Length < rows || y.Length < cols || a.Length < rows * cols then
        invalidArg "ger" (sprintf "shapes do not agree: x %d, y %d, a %dx%d" x.Length y.Length rows cols)

    match Blas.Current with
    | OpenBlas when typeof<'T> = typeof<float32> ->
        Native.cblas_sger (
            Native.colMajor,
            rows,
            cols,
            Single.CreateTruncating alpha,
            asF32 x,
            1,
            asF32 y,
            1,
            asF32 a,
            max 1 rows
        )
    | OpenBlas when typeof<'T> = typeof<float> ->
        Native.cblas_dger (
            Native.colMajor,
            rows,
            cols,
            Double.CreateTruncating alpha,
            asF64 x,
            1,
            asF64 y,
            1,
            asF64 a,
            max 1 rows
        )
    | _ ->
        // Column by column: a[:, j] += (alpha·y_j)·x, the order in which OpenBLAS's kernel rounds too.
        for j in 0 .. cols - 1 do
            let s: 'T = alpha * y[j]
            let col = Span<'T>(a, j * rows, rows)

            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<'T>(
                ReadOnlySpan<'T>(x, 0, rows),
                s,
                Span.op_Implicit col,
                col
            )

// Transitional matrix forms (removed once every caller passes arrays).
let outerInto (x: 'T[]) (y: 'T[]) (a: Matrix<'T>) =
    outer x y (data a, a.RowCount, a.ColumnCount)

let gerInto (alpha: 'T) (x: 'T[]) (y: 'T[]) (a: Matrix<'T>) =
    ger alpha x y (data a, a.RowCount, a.ColumnCount)

let decayAddOuterInto<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (keep: 'T)
    (alpha: 'T)
    (x: 'T[])
    (y: 'T[])
    (a: Matrix<'T>)
    (tmp: 'T[])
    =
    decayAddOuter keep alpha x y (data a, a.RowCount, a.ColumnCount) tmp
