/// A fully connected layer: y = f(W x + b), W [out, in] (PyTorch's Linear.weight). Backward, for a batch:
/// dW = dz xᵀ, db = Σ_columns dz, dx = Wᵀ dz. The row-major [out, in] weight is, read column-major, the
/// [in × out] matrix Wᵀ, so the products below name Wᵀ and transpose it back in BLAS (no copy).
module Functional.Layers.Dense

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Layers.Layer

type internal DenseKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (units: int, inputs: int, act: Activation, bias: bool) =
    inherit Kernel<'T>()
    let scratch: 'T[] = Array.zeroCreate inputs

    override _.Forward(ps, x, y, _) =
        let w = ps[0]

        if x.ColumnCount = 1 then
            Tensor.gemv 'T.One (w, inputs, units) true (Tensor.data x) 'T.Zero (Tensor.data y)
        else
            Tensor.gemm
                'T.One
                (w, inputs, units)
                true
                (Tensor.data x, inputs, x.ColumnCount)
                false
                'T.Zero
                (Tensor.data y, units, y.ColumnCount)

        biasActivate act (if bias then ValueSome ps[1] else ValueNone) y

    override _.Backward(ps, x, _, dz, grads, dx) =
        let b = dz.ColumnCount
        let dzd, xd = Tensor.data dz, Tensor.data x

        match grads with
        | ValueSome g ->
            // dWᵀ [in × out] = x dzᵀ.
            if b = 1 then
                Tensor.outer xd dzd (g[0], inputs, units)
            else
                Tensor.gemm 'T.One (xd, inputs, b) false (dzd, units, b) true 'T.Zero (g[0], inputs, units)

            if bias then
                let db = Span<'T>(g[1])
                db.Clear()

                for j in 0 .. b - 1 do
                    TensorPrimitives.Add<'T>(Span.op_Implicit db, ReadOnlySpan<'T>(dzd, j * units, units), db)
        | ValueNone -> ()

        match dx with
        | ValueSome dx ->
            if b = 1 then
                Tensor.gemv 'T.One (ps[0], inputs, units) false dzd 'T.Zero (Tensor.data dx)
            else
                Tensor.gemm
                    'T.One
                    (ps[0], inputs, units)
                    false
                    (dzd, units, b)
                    false
                    'T.Zero
                    (Tensor.data dx, inputs, b)
        | ValueNone -> ()

    override _.HasFusedSgd = true

    // W ← keep·W − η·dz xᵀ in one rank-k product into W (β = keep): no gradient is written and read back.
    override _.FusedSgd(ps, x, dz, negEta, keep) =
        let b = dz.ColumnCount
        let dzd, xd = Tensor.data dz, Tensor.data x

        if b = 1 then
            if 'T.op_Equality (keep, 'T.One) then
                Tensor.ger negEta xd dzd (ps[0], inputs, units)
            else
                // A rank-one update has no β: decay and update in one pass of our own.
                Tensor.decayAddOuter keep negEta xd dzd (ps[0], inputs, units) scratch
        else
            Tensor.gemm negEta (xd, inputs, b) false (dzd, units, b) true keep (ps[0], inputs, units)

        if bias then
            let bd = ps[1]

            for j in 0 .. b - 1 do
                TensorPrimitives.MultiplyAdd<'T>(
                    ReadOnlySpan<'T>(dzd, j * units, units),
                    negEta,
                    ReadOnlySpan<'T>(bd),
                    Span<'T>(bd)
                )

/// dense UNITS [ACTIVATION] [no-bias]
type Dense =
    {
        Units: int
        Activation: Activation
        Bias: bool
    }

    interface ILayer with
        member d.Text =
            sprintf "dense %d%s%s" d.Units (Words.activationSuffix d.Activation) (if d.Bias then "" else " no-bias")

        member d.Activation = d.Activation

        member d.OutShape input =
            if input.Length <> 1 then
                Error(sprintf "dense needs a flat input but gets %s: put 'flatten' before it" (Shape.text input))
            else
                Ok [| d.Units |]

        member d.Params input =
            let n = Shape.size input

            [|
                {
                    Name = "weight"
                    Shape = [| d.Units; n |]
                    FanIn = n
                    FanOut = d.Units
                    Fill = Scheme
                    Decays = true
                    Frozen = false
                }
                if d.Bias then
                    {
                        Name = "bias"
                        Shape = [| d.Units |]
                        FanIn = n
                        FanOut = d.Units
                        Fill = Zeros
                        Decays = false
                        Frozen = false
                    }
            |]

        member d.Flops input =
            2.0 * float (Shape.size input) * float d.Units

        member d.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, _batch: int)
            =
            DenseKernel<'T>(d.Units, Shape.size input, d.Activation, d.Bias) :> Kernel<'T>

    // Gemm with transB takes PyTorch's [out, in] weight as it is: y = x Wᵀ + b.
    interface Onnx.IOnnx with
        member d.Nodes(_, x, y, names) =
            let inputs =
                [ x; names.Param "weight" ] @ (if d.Bias then [ names.Param "bias" ] else [])

            Onnx.thenActivate d.Activation (fun z -> Onnx.node "Gemm" inputs [ z ] [ "transB", Onnx.Int 1L ]) y names

let syntax =
    {
        Keyword = "dense"
        Usage = "dense UNITS [ACTIVATION] [no-bias]"
        Parse =
            fun words ->
                match words with
                | units :: rest ->
                    match Words.positive units with
                    | None -> Error(sprintf "dense: '%s' is not a number of units >= 1" units)
                    | Some n ->
                        let rec go (layer: Dense) rest =
                            match rest with
                            | [] -> Ok(layer :> ILayer)
                            | "no-bias" :: tail -> go { layer with Bias = false } tail
                            | w :: tail ->
                                match Words.activation w with
                                | Some a -> go { layer with Activation = a } tail
                                | None ->
                                    Error(sprintf "dense: unknown word '%s' (expected an activation or no-bias)" w)

                        go
                            {
                                Units = n
                                Activation = Linear
                                Bias = true
                            }
                            rest
                | [] -> Error "dense: how many units? (dense 128 relu)"
    }
