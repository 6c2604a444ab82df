/// Max pooling, PyTorch's MaxPool2d(k) (stride k, no padding, floor): y[c, oy, ox] = max over the kh×kw window at
/// (kh·oy, kw·ox) of x[c, …]. Backward routes each dz to the window's first maximum in row-major order, which
/// forward remembers (as PyTorch does; a NaN counts as the maximum).
module Functional.Layers.MaxPool2d

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Layers.Layer

type internal MaxPool2dKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (c: int, h: int, w: int, kh: int, kw: int, batch: int) =
    inherit Kernel<'T>()
    let ho, wo = h / kh, w / kw
    let inSize, outSize = c * h * w, c * ho * wo
    // For each output entry of each example: the index, within the example's column, of its window's maximum.
    let argmax: int[] = Array.zeroCreate (outSize * batch)

    let check (x: Matrix<'T>) =
        if x.ColumnCount > batch then
            invalidArg "x" (sprintf "maxpool kernel bound to batch %d was given %d columns" batch x.ColumnCount)

    override _.Forward(_, x, y, _) =
        check x
        let xd, yd = Tensor.data x, Tensor.data y

        for b in 0 .. x.ColumnCount - 1 do
            for ch in 0 .. c - 1 do
                for oy in 0 .. ho - 1 do
                    for ox in 0 .. wo - 1 do
                        let corner = ch * h * w + oy * kh * w + ox * kw
                        let mutable best = corner
                        let mutable m = xd[b * inSize + corner]

                        for ky in 0 .. kh - 1 do
                            for kx in 0 .. kw - 1 do
                                let i = corner + ky * w + kx
                                let v = xd[b * inSize + i]

                                if 'T.op_GreaterThan (v, m) || ('T.IsNaN v && not ('T.IsNaN m)) then
                                    m <- v
                                    best <- i

                        let o = ch * ho * wo + oy * wo + ox
                        yd[b * outSize + o] <- m
                        argmax[b * outSize + o] <- best

    override _.Backward(_, x, _, dz, _, dx) =
        check x

        match dx with
        | ValueSome dx ->
            let dxd, dzd = Tensor.data dx, Tensor.data dz
            Span<'T>(dxd, 0, x.ColumnCount * inSize).Clear()

            for b in 0 .. x.ColumnCount - 1 do
                for o in 0 .. outSize - 1 do
                    let i = b * inSize + argmax[b * outSize + o]
                    dxd[i] <- dxd[i] + dzd[b * outSize + o]
        | ValueNone -> ()

/// maxpool K (or maxpool KxK)
type MaxPool2d =
    {
        /// (kh, kw): the window, which is also the stride.
        Size: int * int
    }

    interface ILayer with
        member m.Text =
            match m.Size with
            | kh, kw when kh = kw -> sprintf "maxpool %d" kh
            | kh, kw -> sprintf "maxpool %dx%d" kh kw

        member _.Activation = Linear

        member m.OutShape input =
            let kh, kw = m.Size

            if input.Length <> 3 then
                Error(
                    sprintf
                        "maxpool needs a CxHxW input but gets %s: give images their channels (1x28x28, not 784) and put maxpool before flatten"
                        (Shape.text input)
                )
            elif input[1] < kh || input[2] < kw then
                Error(
                    sprintf
                        "%s needs an input of at least %dx%d but gets %s"
                        ((m :> ILayer).Text)
                        kh
                        kw
                        (Shape.text input)
                )
            else
                Ok [| input[0]; input[1] / kh; input[2] / kw |]

        member _.Params _ = [||]
        member _.Flops _ = 0.0

        member m.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            match (m :> ILayer).OutShape input with
            | Error e -> invalidArg "input" e
            | Ok _ ->
                let kh, kw = m.Size
                MaxPool2dKernel<'T>(input[0], input[1], input[2], kh, kw, batch) :> Kernel<'T>

let syntax =
    {
        Keyword = "maxpool"
        Usage = "maxpool K (or KxK)"
        Parse =
            function
            | [ size ] ->
                match Words.kernel size with
                | Some s -> Ok({ Size = s } :> ILayer)
                | None -> Error(sprintf "maxpool: '%s' is not a window size (2 or 2x2)" size)
            | [] -> Error "maxpool: what window? (maxpool 2)"
            | _ :: w :: _ -> Error(sprintf "maxpool takes one setting, its window, but was also given '%s'" w)
    }
