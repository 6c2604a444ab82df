/// Flatten: [C, H, W] → [C·H·W] in PyTorch's (channel, row, column) order, which is already the order of a
/// column's values, so forward and backward are copies.
module Functional.Layers.Flatten

open System
open System.Numerics
open Functional
open Functional.Activations
open Functional.Layers.Layer

type internal FlattenKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>() =
    inherit Kernel<'T>()

    override _.Forward(_, x, y, _) =
        let n = x.RowCount * x.ColumnCount
        Array.blit (Tensor.data x) 0 (Tensor.data y) 0 n

    override _.Backward(_, _, _, dz, _, dx) =
        match dx with
        | ValueSome dx -> Array.blit (Tensor.data dz) 0 (Tensor.data dx) 0 (dz.RowCount * dz.ColumnCount)
        | ValueNone -> ()

/// flatten
type Flatten =
    | Flatten

    interface ILayer with
        member _.Text = "flatten"
        member _.Activation = Linear
        member _.OutShape input = Ok [| Shape.size input |]
        member _.Params _ = [||]
        member _.Flops _ = 0.0

        member _.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (_input: Shape, _batch: int)
            =
            FlattenKernel<'T>() :> Kernel<'T>

    // [N, C, H, W] -> [N, C·H·W] in (channel, row, column) order, as ours.
    interface Onnx.IOnnx with
        member _.Nodes(_, x, y, _) =
            [ Onnx.node "Flatten" [ x ] [ y ] [ "axis", Onnx.Int 1L ] ]

let syntax =
    {
        Keyword = "flatten"
        Usage = "flatten"
        Parse =
            function
            | [] -> Ok(Flatten :> ILayer)
            | w :: _ -> Error(sprintf "flatten takes no settings, but was given '%s'" w)
    }
