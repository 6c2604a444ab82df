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
                     Native.openblas_get_num_threads () |> ignore
                     true
                 with _ ->
                     false
             else
                 false)

    static let mutable chosen: Backend option = None

    [<ThreadStatic; DefaultValue>]
    static val mutable private scoped: int

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
            | None ->
                let env = Environment.GetEnvironmentVariable "FUNCTIONAL_BLAS"

                if (env = "managed" || not available.Value) then
                    Managed
                else
                    OpenBlas

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

    /// Threads used by matrix products (OpenBLAS's pool, or MathNet's parallelism).
    static member Threads =
        if Blas.Current = OpenBlas then
            Native.openblas_get_num_threads ()
        else
            MathNet.Numerics.Control.MaxDegreeOfParallelism

    static member SetThreads(n: int) =
        if available.Value then
            Native.openblas_set_num_threads n

        MathNet.Numerics.Control.MaxDegreeOfParallelism <- n

    /// One line for logs and run.json, e.g. "OpenBLAS 0.3.21 (Haswell, 1 thread)".
    static member Describe() =
        match Blas.Current with
        | OpenBlas ->
            let cfg = Marshal.PtrToStringAnsi(Native.openblas_get_config ())
            let core = Marshal.PtrToStringAnsi(Native.openblas_get_corename ())
            sprintf "%s (%s, %d thread(s))" cfg core (Native.openblas_get_num_threads ())
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

/// c ← alpha·op(a)·op(b) + beta·c, where op transposes when asked. Shapes come from the matrices.
let gemmInto (alpha: 'T) (a: Matrix<'T>) (ta: bool) (b: Matrix<'T>) (tb: bool) (beta: 'T) (c: Matrix<'T>) =
    let m = c.RowCount
    let n = c.ColumnCount
    let k = if ta then a.RowCount else a.ColumnCount
    let ad, bd, cd = data a, data b, data c

    match Blas.Current with
    | OpenBlas when typeof<'T> = typeof<float32> ->
        Native.cblas_sgemm (
            Native.colMajor,
            (if ta then Native.trans else Native.noTrans),
            (if tb then Native.trans else Native.noTrans),
            m,
            n,
            k,
            Single.CreateTruncating alpha,
            asF32 ad,
            a.RowCount,
            asF32 bd,
            b.RowCount,
            Single.CreateTruncating beta,
            asF32 cd,
            m
        )
    | OpenBlas when typeof<'T> = typeof<float> ->
        Native.cblas_dgemm (
            Native.colMajor,
            (if ta then Native.trans else Native.noTrans),
            (if tb then Native.trans else Native.noTrans),
            m,
            n,
            k,
            Double.CreateTruncating alpha,
            asF64 ad,
            a.RowCount,
            asF64 bd,
            b.RowCount,
            Double.CreateTruncating beta,
            asF64 cd,
            m
        )
    | _ ->
        (managed<'T>())
            .MatrixMultiplyWithUpdate(
                tr ta,
                tr tb,
                alpha,
                ad,
                a.RowCount,
                a.ColumnCount,
                bd,
                b.RowCount,
                b.ColumnCount,
                beta,
                cd
            )

/// y ← alpha·op(a)·x + beta·y for one column x (the per-example path: much cheaper than gemm at batch 1).
let gemvInto (alpha: 'T) (a: Matrix<'T>) (ta: bool) (x: 'T[]) (beta: 'T) (y: 'T[]) =
    match Blas.Current with
    | OpenBlas when typeof<'T> = typeof<float32> ->
        Native.cblas_sgemv (
            Native.colMajor,
            (if ta then Native.trans else Native.noTrans),
            a.RowCount,
            a.ColumnCount,
            Single.CreateTruncating alpha,
            asF32 (data a),
            a.RowCount,
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
            a.RowCount,
            a.ColumnCount,
            Double.CreateTruncating alpha,
            asF64 (data a),
            a.RowCount,
            asF64 x,
            1,
            Double.CreateTruncating beta,
            asF64 y,
            1
        )
    | _ ->
        (managed<'T>())
            .MatrixMultiplyWithUpdate(
                tr ta,
                Transpose.DontTranspose,
                alpha,
                data a,
                a.RowCount,
                a.ColumnCount,
                x,
                x.Length,
                1,
                beta,
                y
            )

/// a ← x·yᵀ (one example's weight gradient): one vectorised pass per column, no clearing, no accumulation.
/// Each entry is the single product x_i·y_j, so every backend gives the same bits.
let outerInto (x: 'T[]) (y: 'T[]) (a: Matrix<'T>) =
    let ad = data a
    let rows = a.RowCount

    for j in 0 .. a.ColumnCount - 1 do
        System.Numerics.Tensors.TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(x), y[j], Span<'T>(ad, j * rows, rows))

/// a ← keep·a + alpha·x·yᵀ in one pass over a, column by column (tmp: scratch of x's length).
/// SGD with L2 decay at batch 1: a separate decay pass would cost as much as the update itself.
let decayAddOuterInto<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (keep: 'T)
    (alpha: 'T)
    (x: 'T[])
    (y: 'T[])
    (a: Matrix<'T>)
    (tmp: 'T[])
    =
    let ad = data a
    let rows = a.RowCount
    let t = Span<'T>(tmp, 0, rows)

    for j in 0 .. a.ColumnCount - 1 do
        let s: 'T = alpha * y[j]
        let col = Span<'T>(ad, j * rows, rows)
        System.Numerics.Tensors.TensorPrimitives.Multiply<'T>(ReadOnlySpan<'T>(x), s, t)
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<'T>(Span.op_Implicit col, keep, Span.op_Implicit t, col)

/// a ← alpha·x·yᵀ + a (rank-one update: the weight gradient of one example).
let gerInto (alpha: 'T) (x: 'T[]) (y: 'T[]) (a: Matrix<'T>) =
    match Blas.Current with
    | OpenBlas when typeof<'T> = typeof<float32> ->
        Native.cblas_sger (
            Native.colMajor,
            a.RowCount,
            a.ColumnCount,
            Single.CreateTruncating alpha,
            asF32 x,
            1,
            asF32 y,
            1,
            asF32 (data a),
            a.RowCount
        )
    | OpenBlas when typeof<'T> = typeof<float> ->
        Native.cblas_dger (
            Native.colMajor,
            a.RowCount,
            a.ColumnCount,
            Double.CreateTruncating alpha,
            asF64 x,
            1,
            asF64 y,
            1,
            asF64 (data a),
            a.RowCount
        )
    | _ ->
        // Column by column: a[:, j] += (alpha·y_j)·x, the order in which OpenBLAS's kernel rounds too.
        let ad = data a
        let rows = a.RowCount

        for j in 0 .. a.ColumnCount - 1 do
            let s: 'T = alpha * y[j]
            let col = Span<'T>(ad, j * rows, rows)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(x), s, Span.op_Implicit col, col)
