/// Activations a = f(z), applied column by column (one column = one example), and their backward pass
/// dL/dz = f'(z) ∘ dL/da, written in terms of the output a (σ' = a(1−a), tanh' = 1−a², relu' = [a>0]);
/// softmax couples a column: dz_i = a_i (da_i − Σ_k da_k a_k).
module Functional.Activations

open System
open System.Numerics
open System.Numerics.Tensors

type Activation =
    /// No activation: a = z (pooling, flattening, dropout, and layers written without one).
    | Linear
    | Sigmoid
    | Tanh
    | Relu
    | Softmax

module Activation =
    let name =
        function
        | Linear -> "linear"
        | Sigmoid -> "sigmoid"
        | Tanh -> "tanh"
        | Relu -> "relu"
        | Softmax -> "softmax"

    let all = [ Linear; Sigmoid; Tanh; Relu; Softmax ]

    let tryParse (s: string) =
        all |> List.tryFind (fun a -> name a = s.Trim().ToLowerInvariant())

    /// Numerically stable softmax of one column: exp(z − max z) / Σ exp(z − max z).
    let softmaxColumn<'T when 'T :> IFloatingPointIeee754<'T>> (z: ReadOnlySpan<'T>) (a: Span<'T>) =
        let m = TensorPrimitives.Max z
        TensorPrimitives.Subtract(z, m, a)
        TensorPrimitives.Exp(Span.op_Implicit a, a)
        let s = TensorPrimitives.Sum(Span.op_Implicit a)
        TensorPrimitives.Divide(Span.op_Implicit a, s, a)

    /// col ← f(col) for one column (one example), in place.
    let applyColumn<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (col: Span<'T>) =
        let z = Span.op_Implicit col

        match act with
        | Linear -> ()
        | Sigmoid -> TensorPrimitives.Sigmoid<'T>(z, col)
        | Tanh -> TensorPrimitives.Tanh<'T>(z, col)
        | Relu -> TensorPrimitives.Max<'T>(z, 'T.Zero, col)
        | Softmax -> softmaxColumn z col

    /// a ← f(a) for an [n × cols] column-major block, column by column.
    let applyInPlace<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (rows: int) (a: 'T[]) =
        for j in 0 .. a.Length / rows - 1 do
            applyColumn act (Span<'T>(a, j * rows, rows))

    /// a ← f(z) for an [n × cols] column-major block (a and z may be the same array).
    let applyInto<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (rows: int) (z: 'T[]) (a: 'T[]) =
        if not (Object.ReferenceEquals(z, a)) then
            Array.blit z 0 a 0 z.Length

        applyInPlace act rows a

    /// dz ← f'(z) ∘ da, from the activation's output a (dz and da may be the same array).
    let backInto<'T when 'T :> IFloatingPointIeee754<'T>>
        (act: Activation)
        (rows: int)
        (a: 'T[])
        (da: 'T[])
        (dz: 'T[])
        =
        // Vector lanes first, then the same operations in the same order on the tail.
        let lanes = Vector<'T>.Count
        let last = a.Length - a.Length % lanes
        let one = Vector<'T>.One

        match act with
        | Linear ->
            if not (Object.ReferenceEquals(da, dz)) then
                Array.blit da 0 dz 0 a.Length
        | Sigmoid ->
            for i in 0..lanes .. last - 1 do
                let ai = Vector<'T>(a, i)
                Vector.Multiply(Vector<'T>(da, i), Vector.Multiply(ai, Vector.Subtract(one, ai))).CopyTo(dz, i)

            for i in last .. a.Length - 1 do
                let slope: 'T = a[i] * ('T.One - a[i])
                dz[i] <- da[i] * slope
        | Tanh ->
            for i in 0..lanes .. last - 1 do
                let ai = Vector<'T>(a, i)
                Vector.Multiply(Vector<'T>(da, i), Vector.Subtract(one, Vector.Multiply(ai, ai))).CopyTo(dz, i)

            for i in last .. a.Length - 1 do
                let square: 'T = a[i] * a[i]
                dz[i] <- da[i] * ('T.One - square)
        | Relu ->
            for i in 0..lanes .. last - 1 do
                let positive = Vector.GreaterThan(Vector<'T>(a, i), Vector<'T>.Zero)
                Vector.ConditionalSelect(positive, Vector<'T>(da, i), Vector<'T>.Zero).CopyTo(dz, i)

            for i in last .. a.Length - 1 do
                dz[i] <- if 'T.op_GreaterThan (a[i], 'T.Zero) then da[i] else 'T.Zero
        | Softmax ->
            let cols = a.Length / rows

            for j in 0 .. cols - 1 do
                let o = j * rows

                let s =
                    TensorPrimitives.Dot<'T>(ReadOnlySpan<'T>(da, o, rows), ReadOnlySpan<'T>(a, o, rows))

                for i in o .. o + rows - 1 do
                    dz[i] <- a[i] * (da[i] - s)

    /// σ'(z) = a(1−a) below this counts a sigmoid unit as saturated (tanh: 1−a² below it).
    let saturationThreshold = 0.01
