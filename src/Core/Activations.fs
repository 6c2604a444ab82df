/// Activations a = f(z), applied column by column (one column = one example), and their backward pass
/// dL/dz = f'(z) ∘ dL/da, written in terms of the output a (σ' = a(1−a), tanh' = 1−a², relu' = [a>0]);
/// softmax couples a column: dz_i = a_i (da_i − Σ_k da_k a_k).
module Functional.Activations

open System
open System.Numerics
open System.Numerics.Tensors

type Activation =
    | Sigmoid
    | Tanh
    | Relu
    | Softmax

module Activation =
    let name =
        function
        | Sigmoid -> "sigmoid"
        | Tanh -> "tanh"
        | Relu -> "relu"
        | Softmax -> "softmax"

    let all = [ Sigmoid; Tanh; Relu; Softmax ]

    let tryParse (s: string) =
        all |> List.tryFind (fun a -> name a = s.Trim().ToLowerInvariant())

    /// Numerically stable softmax of one column: exp(z − max z) / Σ exp(z − max z).
    let softmaxColumn<'T when 'T :> IFloatingPointIeee754<'T>> (z: ReadOnlySpan<'T>) (a: Span<'T>) =
        let m = TensorPrimitives.Max z
        TensorPrimitives.Subtract(z, m, a)
        TensorPrimitives.Exp(Span.op_Implicit a, a)
        let s = TensorPrimitives.Sum(Span.op_Implicit a)
        TensorPrimitives.Divide(Span.op_Implicit a, s, a)

    /// a ← f(z) for an [n × cols] column-major block (a and z may be the same array).
    let applyInto<'T when 'T :> IFloatingPointIeee754<'T>> (act: Activation) (rows: int) (z: 'T[]) (a: 'T[]) =
        match act with
        | Sigmoid -> TensorPrimitives.Sigmoid(ReadOnlySpan z, Span a)
        | Tanh -> TensorPrimitives.Tanh(ReadOnlySpan z, Span a)
        | Relu -> TensorPrimitives.Max<'T>(ReadOnlySpan<'T>(z), 'T.Zero, Span<'T>(a))
        | Softmax ->
            let cols = z.Length / rows

            for j in 0 .. cols - 1 do
                softmaxColumn (ReadOnlySpan(z, j * rows, rows)) (Span(a, j * rows, rows))

    /// dz ← f'(z) ∘ da, from the activation's output a (dz and da may be the same array).
    let backInto<'T when 'T :> IFloatingPointIeee754<'T>>
        (act: Activation)
        (rows: int)
        (a: 'T[])
        (da: 'T[])
        (dz: 'T[])
        =
        match act with
        | Sigmoid ->
            for i in 0 .. a.Length - 1 do
                let slope: 'T = a[i] * ('T.One - a[i])
                dz[i] <- da[i] * slope
        | Tanh ->
            for i in 0 .. a.Length - 1 do
                let square: 'T = a[i] * a[i]
                dz[i] <- da[i] * ('T.One - square)
        | Relu ->
            for i in 0 .. a.Length - 1 do
                dz[i] <-
                    if 'T.IsPositive a[i] && not ('T.IsZero a[i]) then
                        da[i]
                    else
                        'T.Zero
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
