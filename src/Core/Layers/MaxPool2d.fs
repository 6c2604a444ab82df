/// Max pooling, PyTorch's MaxPool2d(k) (stride k, no padding, floor): y[c, oy, ox] = max over the kh×kw window at
/// (kh·oy, kw·ox) of x[c, …]. Backward routes each dz to the window's first maximum in row-major order, which
/// forward remembers (as PyTorch does; a NaN counts as the maximum).
module Functional.Layers.MaxPool2d

open System
open System.Numerics
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
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

    /// The window's maximum from index i (its first entry): entries are tried in row-major order, a later one
    /// replaces the best only when greater, and the first NaN wins and stays.
    let better (v: 'T) (m: 'T) =
        'T.op_GreaterThan (v, m) || ('T.IsNaN v && not ('T.IsNaN m))

    // float32 2x2 windows four at a time (SSE): the same choice as `better` entry by entry (first NaN, else first
    // maximum in row-major order, taken row by row), without the unpredictable branches that cost ~7 ns a window
    // after ReLU. Returns how many outputs of the row it wrote; the scalar loop does the rest.
    let vectorRow2x2 (xd: float32[]) (yd: float32[]) (row: int) (out: int) (xb: int) =
        let step = Vector128.Create(8)
        let mutable iEven = Vector128.Create(row - xb) + Vector128.Create(0, 2, 4, 6)
        let mutable ox = 0

        let better (v: Vector128<float32>) (m: Vector128<float32>) =
            Vector128.GreaterThan(v, m)
            ||| Vector128.AndNot(Vector128.Equals(m, m), Vector128.Equals(v, v))

        let load i =
            Vector128.Create<float32>(ReadOnlySpan<float32>(xd, i, 4))

        while ox + 4 <= wo do
            let i0 = row + 2 * ox
            let lo, hi = load i0, load (i0 + 4)
            let lo2, hi2 = load (i0 + w), load (i0 + w + 4)
            let e, o = Sse.Shuffle(lo, hi, 0x88uy), Sse.Shuffle(lo, hi, 0xDDuy)
            let e2, o2 = Sse.Shuffle(lo2, hi2, 0x88uy), Sse.Shuffle(lo2, hi2, 0xDDuy)
            let mt, mb = better o e, better o2 e2

            let vt, vb =
                Vector128.ConditionalSelect(mt, o, e), Vector128.ConditionalSelect(mb, o2, e2)

            let it = iEven + (mt.AsInt32() &&& Vector128<int>.One)
            let ib = iEven + Vector128.Create(w) + (mb.AsInt32() &&& Vector128<int>.One)
            let m = better vb vt
            Vector128.ConditionalSelect(m, vb, vt).CopyTo(Span(yd, out + ox, 4))
            Vector128.ConditionalSelect(m.AsInt32(), ib, it).CopyTo(Span(argmax, out + ox, 4))
            iEven <- iEven + step
            ox <- ox + 4

        ox

    let fast = kh = 2 && kw = 2 && typeof<'T> = typeof<float32> && Sse.IsSupported

    let forwardExamples (xd: 'T[]) (yd: 'T[]) (b0: int) (b1: int) =
        let hw, howo = h * w, ho * wo

        let xf, yf =
            (if fast then unbox<float32[]>(box xd) else null), (if fast then unbox<float32[]>(box yd) else null)

        for b in b0 .. b1 - 1 do
            let xb, yb = b * inSize, b * outSize

            for ch in 0 .. c - 1 do
                let xc, yc = xb + ch * hw, yb + ch * howo

                for oy in 0 .. ho - 1 do
                    let row = xc + oy * kh * w
                    let out = yc + oy * wo

                    if kh = 2 && kw = 2 then
                        let start = if fast then vectorRow2x2 xf yf row out xb else 0

                        // The common window, unrolled: LeNet's and the cnn preset's pooling.
                        for ox in start .. wo - 1 do
                            let i0 = row + 2 * ox
                            let i2 = i0 + w
                            let mutable m = xd[i0]
                            let mutable best = i0
                            let v1 = xd[i0 + 1]

                            if better v1 m then
                                m <- v1
                                best <- i0 + 1

                            let v2 = xd[i2]

                            if better v2 m then
                                m <- v2
                                best <- i2

                            let v3 = xd[i2 + 1]

                            if better v3 m then
                                m <- v3
                                best <- i2 + 1

                            yd[out + ox] <- m
                            argmax[out + ox] <- best - xb
                    else
                        for ox in 0 .. wo - 1 do
                            let corner = row + ox * kw
                            let mutable best = corner
                            let mutable m = xd[corner]

                            for ky in 0 .. kh - 1 do
                                let r = corner + ky * w

                                for kx in 0 .. kw - 1 do
                                    let v = xd[r + kx]

                                    if better v m then
                                        m <- v
                                        best <- r + kx

                            yd[out + ox] <- m
                            argmax[out + ox] <- best - xb

    let backwardExamples (dzd: 'T[]) (dxd: 'T[]) (b0: int) (b1: int) =
        Span<'T>(dxd, b0 * inSize, (b1 - b0) * inSize).Clear()

        for b in b0 .. b1 - 1 do
            for o in 0 .. outSize - 1 do
                let i = b * inSize + argmax[b * outSize + o]
                dxd[i] <- dxd[i] + dzd[b * outSize + o]

    // Examples are independent and pooling is exact: the Gang shares them out in fixed groups.
    let mutable src: 'T[] = null
    let mutable dst: 'T[] = null
    let mutable forward = true
    let mutable nbNow = 0

    let work =
        { new Pieces() with
            member _.Do i =
                let struct (b0, b1) = Gang.Range(nbNow, Conv2d.groupsOf nbNow, i)

                if forward then
                    forwardExamples src dst b0 b1
                else
                    backwardExamples src dst b0 b1
        }

    let run (fwd: bool) (a: 'T[]) (b: 'T[]) (nb: int) =
        src <- a
        dst <- b
        forward <- fwd
        nbNow <- nb
        Gang.Run(Conv2d.groupsOf nb, work)
        src <- null
        dst <- null

    override _.Forward(_, x, y, _) =
        check x
        run true (Tensor.data x) (Tensor.data y) x.ColumnCount

    override _.Backward(_, x, _, dz, _, dx) =
        check x

        match dx with
        | ValueSome dx -> run false (Tensor.data dz) (Tensor.data dx) x.ColumnCount
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

    // Window = stride, no padding, floor: what ONNX's MaxPool does by default.
    interface Onnx.IOnnx with
        member m.Nodes(_, x, y, _) =
            let kh, kw = m.Size

            [
                Onnx.node
                    "MaxPool"
                    [ x ]
                    [ y ]
                    [
                        "kernel_shape", Onnx.Ints [ int64 kh; int64 kw ]
                        "strides", Onnx.Ints [ int64 kh; int64 kw ]
                    ]
            ]

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
