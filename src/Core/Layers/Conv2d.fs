/// A 2-D convolution, PyTorch's Conv2d: z[co, oy, ox] = b[co] + Σ_{ci,ky,kx} W[co, ci, ky, kx]·x[ci, S·oy − P + ky,
/// S·ox − P + kx] (x is zero outside), y = f(z). Unfolding the patches (im2col) makes it one product, Z = cols·W,
/// with cols [(B·H'W') × K], K = Cin·kh·kw, and the row-major [Cout, Cin, kh, kw] weight read column-major as
/// [K × Cout]. Backward: dW = colsᵀ·dZ, db = Σ_rows dZ, dcols = dZ·Wᵀ, folded back into dx (col2im, accumulating).
module Functional.Layers.Conv2d

open System
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Layers.Layer

/// Where a convolution's windows fall on its input: input C×H×W, kernel kh×kw, stride, padding, output H'×W'.
[<Struct>]
type Geometry =
    {
        C: int
        H: int
        W: int
        Kh: int
        Kw: int
        Stride: int
        Pad: int
        Ho: int
        Wo: int
    }

    /// K = Cin·kh·kw: the length of one unfolded patch.
    member g.K = g.C * g.Kh * g.Kw
    member g.P = g.Ho * g.Wo

module Geometry =
    let private ceilDiv a b =
        if a <= 0 then -((-a) / b) else (a + b - 1) / b

    let private floorDiv a b =
        if a >= 0 then a / b else -((-a + b - 1) / b)

    /// The output columns ox whose input column S·ox − P + kx falls inside the image: [first kx, last kx].
    let columnRanges (g: Geometry) =
        let first = Array.init g.Kw (fun kx -> max 0 (ceilDiv (g.Pad - kx) g.Stride))

        let last =
            Array.init g.Kw (fun kx -> min (g.Wo - 1) (floorDiv (g.W - 1 + g.Pad - kx) g.Stride))

        first, last

    // Rows of at least this many outputs are copied with vectorised spans; shorter ones (LeNet's 10) element by
    // element, which measured 2–4× faster for them than a span call per row.
    let private longRun = 16

    /// Examples b0 … b0+nb−1 of x [C·H·W × B] unfolded into cols: patch entry k = (ci·kh + ky)·kw + kx of output
    /// position p of example b goes to cols[k·n + (b−b0)·P + p], n = nb·P (a column-major [n × K] matrix).
    let im2col<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: Geometry)
        (first: int[], last: int[])
        (x: 'T[])
        (b0: int)
        (nb: int)
        (cols: 'T[])
        =
        let p, n, hw, inSize = g.P, nb * g.P, g.H * g.W, g.C * g.H * g.W
        // Locals, not the struct's fields, in the inner loops.
        let stride, pad, h, w, ho, wo = g.Stride, g.Pad, g.H, g.W, g.Ho, g.Wo

        for ci in 0 .. g.C - 1 do
            for ky in 0 .. g.Kh - 1 do
                for kx in 0 .. g.Kw - 1 do
                    let k = (ci * g.Kh + ky) * g.Kw + kx
                    let ox0, ox1 = first[kx], last[kx]

                    for b in 0 .. nb - 1 do
                        let src = (b0 + b) * inSize + ci * hw
                        let dst = k * n + b * p

                        for oy in 0 .. ho - 1 do
                            let iy = oy * stride - pad + ky
                            let row = dst + oy * wo

                            if iy < 0 || iy >= h || ox1 < ox0 then
                                Span<'T>(cols, row, wo).Clear()
                            else
                                let s = src + iy * w - pad + kx

                                if stride = 1 && wo >= longRun then
                                    Span<'T>(cols, row, ox0).Clear()
                                    Span<'T>(cols, row + ox1 + 1, wo - 1 - ox1).Clear()

                                    ReadOnlySpan<'T>(x, s + ox0, ox1 - ox0 + 1)
                                        .CopyTo(Span<'T>(cols, row + ox0, ox1 - ox0 + 1))
                                else
                                    for ox in 0 .. ox0 - 1 do
                                        cols[row + ox] <- 'T.Zero

                                    for ox in ox0..ox1 do
                                        cols[row + ox] <- x[s + ox * stride]

                                    for ox in ox1 + 1 .. wo - 1 do
                                        cols[row + ox] <- 'T.Zero

    /// The adjoint of im2col: dx[…] += dcols[…] over the same correspondence (dx is not cleared here).
    let col2im<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: Geometry)
        (first: int[], last: int[])
        (dcols: 'T[])
        (b0: int)
        (nb: int)
        (dx: 'T[])
        =
        let p, n, hw, inSize = g.P, nb * g.P, g.H * g.W, g.C * g.H * g.W
        // Locals, not the struct's fields, in the inner loops.
        let stride, pad, h, w, ho, wo = g.Stride, g.Pad, g.H, g.W, g.Ho, g.Wo

        for ci in 0 .. g.C - 1 do
            for ky in 0 .. g.Kh - 1 do
                for kx in 0 .. g.Kw - 1 do
                    let k = (ci * g.Kh + ky) * g.Kw + kx
                    let ox0, ox1 = first[kx], last[kx]

                    if ox0 <= ox1 then
                        for b in 0 .. nb - 1 do
                            let dst = (b0 + b) * inSize + ci * hw
                            let src = k * n + b * p

                            for oy in 0 .. ho - 1 do
                                let iy = oy * stride - pad + ky

                                if iy >= 0 && iy < h then
                                    let row = src + oy * wo + ox0
                                    let d = dst + iy * w - pad + kx

                                    if stride = 1 && wo >= longRun then
                                        let len = ox1 - ox0 + 1
                                        let out = Span<'T>(dx, d + ox0, len)

                                        TensorPrimitives.Add<'T>(
                                            Span.op_Implicit out,
                                            ReadOnlySpan<'T>(dcols, row, len),
                                            out
                                        )
                                    else
                                        for ox in ox0..ox1 do
                                            let i = d + ox * stride
                                            dx[i] <- dx[i] + dcols[row + ox - ox0]

/// How many groups a batch of nb examples is cut into: a function of nb alone, so that the Gang's thread count
/// never changes which examples share a product or the order in which the groups' gradients are summed.
let groupsOf (nb: int) = max 1 (min nb 4)

/// The kernel cuts the batch into groupsOf groups of consecutive examples, which the Gang shares out; each group
/// has its own scratch and its own partial ∂L/∂W, summed in group order. Within a group it unfolds and multiplies
/// `chunk` examples at a time: chunk ≥ the group is one product per group, chunk = 1 one per example. A chunk's
/// patches are chunk·P·K values, reused by backward when one chunk is the whole group.
/// Public so that tests and benchmarks can choose the chunk; Bind takes it from chunkFor.
type Conv2dKernel<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (g: Geometry, cout: int, act: Activation, bias: bool, batch: int, chunk: int) =
    inherit Kernel<'T>()
    let p, k = g.P, g.K
    let outSize = cout * p
    let inSize = g.C * g.H * g.W
    let ranges = Geometry.columnRanges g
    let groups = groupsOf batch
    let perGroup = (batch + groups - 1) / groups
    let chunk = max 1 (min chunk perGroup)
    // Per group: cols [(chunk·P) × K] and z [(chunk·P) × Cout] (forward's product, then backward's dZ), and the
    // group's share of ∂L/∂W and ∂L/∂b.
    let cols: 'T[][] = Array.init groups (fun _ -> Array.zeroCreate (chunk * p * k))
    let zc: 'T[][] = Array.init groups (fun _ -> Array.zeroCreate (chunk * p * cout))
    let dws: 'T[][] = Array.init groups (fun _ -> Array.zeroCreate (k * cout))
    let dbs: 'T[][] = Array.init groups (fun _ -> Array.zeroCreate cout)
    // Backward reuses a group's cols for dcols: true while they hold the patches of forward's whole group.
    let colsHold = Array.create groups false

    let check (x: Matrix<'T>) =
        if x.ColumnCount > batch then
            invalidArg "x" (sprintf "conv kernel bound to batch %d was given %d columns" batch x.ColumnCount)

    // y[:, b0+j] ← f(z_j + bias) for each example j of the chunk, z [n × Cout]: channel c of example j is the
    // run of P at c·n + j·P, and goes to y[c·P …] of its column.
    let writeColumns (ps: 'T[][]) (z: 'T[]) (n: int) (yd: 'T[]) (b0: int) (nb: int) =
        for j in 0 .. nb - 1 do
            let b = b0 + j

            for c in 0 .. cout - 1 do
                let src = ReadOnlySpan<'T>(z, c * n + j * p, p)
                let dst = Span<'T>(yd, b * outSize + c * p, p)

                if bias then
                    TensorPrimitives.Add<'T>(src, ps[1][c], dst)
                else
                    src.CopyTo dst

            Activation.applyColumn act (Span<'T>(yd, b * outSize, outSize))

    // The call the Gang's pieces serve, set before each Run (fields, so that a step allocates nothing).
    let mutable forward = true
    let mutable ps: 'T[][] = null
    let mutable xd: 'T[] = null
    let mutable yd: 'T[] = null
    let mutable dzd: 'T[] = null
    let mutable dxd: 'T[] = null
    let mutable wantGrads = false
    let mutable nbNow = 0

    let forwardGroup (gi: int) (first: int) (count: int) =
        let cols, zc = cols[gi], zc[gi]

        for b0 in first..chunk .. first + count - 1 do
            let m = min chunk (first + count - b0)
            let n = m * p
            Geometry.im2col g ranges xd b0 m cols
            Tensor.gemm 'T.One (cols, n, k) false (ps[0], k, cout) false 'T.Zero (zc, n, cout)
            writeColumns ps zc n yd b0 m

        colsHold[gi] <- count <= chunk

    let backwardGroup (gi: int) (first: int) (count: int) =
        let cols, zc, dw, db = cols[gi], zc[gi], dws[gi], dbs[gi]

        if wantGrads && bias then
            Array.Clear db

        for b0 in first..chunk .. first + count - 1 do
            let m = min chunk (first + count - b0)
            let n = m * p

            // dZ [n × Cout]: channel c of example b0+j is the run dz[(b0+j)·outSize + c·P …].
            for j in 0 .. m - 1 do
                for c in 0 .. cout - 1 do
                    ReadOnlySpan<'T>(dzd, (b0 + j) * outSize + c * p, p).CopyTo(Span<'T>(zc, c * n + j * p, p))

            if wantGrads then
                if not colsHold[gi] then
                    Geometry.im2col g ranges xd b0 m cols

                let beta = if b0 = first then 'T.Zero else 'T.One
                Tensor.gemm 'T.One (cols, n, k) true (zc, n, cout) false beta (dw, k, cout)

                if bias then
                    for c in 0 .. cout - 1 do
                        db[c] <- db[c] + TensorPrimitives.Sum<'T>(ReadOnlySpan<'T>(zc, c * n, n))

            if not (isNull dxd) then
                Tensor.gemm 'T.One (zc, n, cout) false (ps[0], k, cout) true 'T.Zero (cols, n, k)
                colsHold[gi] <- false
                Geometry.col2im g ranges cols b0 m dxd

    let work =
        { new Pieces() with
            member _.Do gi =
                let per = (nbNow + groupsOf nbNow - 1) / groupsOf nbNow
                let first = gi * per
                let count = min per (nbNow - first)

                if count > 0 then
                    if forward then
                        forwardGroup gi first count
                    else
                        backwardGroup gi first count
                elif not forward then
                    // A group without examples (possible only in a short last batch) adds nothing.
                    Array.Clear dws[gi]
                    Array.Clear dbs[gi]
        }

    let release () =
        ps <- null
        xd <- null
        yd <- null
        dzd <- null
        dxd <- null

    override _.Forward(parameters, x, y, _) =
        check x
        ps <- parameters
        xd <- Tensor.data x
        yd <- Tensor.data y
        nbNow <- x.ColumnCount
        forward <- true
        Gang.Run(groupsOf nbNow, work)
        release ()

    override _.Backward(parameters, x, _, dz, grads, dx) =
        check x
        let nb = x.ColumnCount

        match dx with
        | ValueSome dx -> Span<'T>(Tensor.data dx, 0, nb * inSize).Clear()
        | ValueNone -> ()

        ps <- parameters
        xd <- Tensor.data x
        dzd <- Tensor.data dz

        dxd <-
            (match dx with
             | ValueSome dx -> Tensor.data dx
             | ValueNone -> null)

        wantGrads <- grads.IsSome
        nbNow <- nb
        forward <- false
        let used = groupsOf nb
        Gang.Run(used, work)
        release ()

        match grads with
        | ValueSome gr ->
            // The groups' shares in group order: the same sum whichever thread computed each.
            Array.blit dws[0] 0 gr[0] 0 gr[0].Length

            for gi in 1 .. used - 1 do
                TensorPrimitives.Add<'T>(ReadOnlySpan<'T>(gr[0]), ReadOnlySpan<'T>(dws[gi]), Span<'T>(gr[0]))

            if bias then
                Array.blit dbs[0] 0 gr[1] 0 gr[1].Length

                for gi in 1 .. used - 1 do
                    TensorPrimitives.Add<'T>(ReadOnlySpan<'T>(gr[1]), ReadOnlySpan<'T>(dbs[gi]), Span<'T>(gr[1]))
        | ValueNone -> ()

/// Examples per product within a group: the whole group while the batch's patches fit in 16 MiB (then backward reuses
/// forward's patches), else one at a time, so each example's patches stay in cache between unfolding and
/// multiplying. Measured on LeNet-5 and the cnn preset's layers at batch 32 and 64 (2 vCPU, 1 OpenBLAS thread):
/// the whole batch was up to 2–3× faster than smaller chunks for LeNet's small layers, one example at a time
/// 10–25% faster for conv 64 3x3 on 32x26x26 (21 MB of patches at batch 32), chunks of 2–16 never the fastest.
let chunkFor (g: Geometry) (batch: int) (bytesPerValue: int) =
    if int64 batch * int64 g.P * int64 g.K * int64 bytesPerValue <= (16L <<< 20) then
        batch
    else
        1

/// conv CHANNELS KxK [stride S] [pad P] [ACTIVATION] [no-bias]
type Conv2d =
    {
        Channels: int
        /// (kh, kw)
        Kernel: int * int
        Stride: int
        Padding: int
        Activation: Activation
        Bias: bool
    }

    member c.Geometry(input: Shape) =
        let kh, kw = c.Kernel

        {
            C = input[0]
            H = input[1]
            W = input[2]
            Kh = kh
            Kw = kw
            Stride = c.Stride
            Pad = c.Padding
            Ho = (input[1] + 2 * c.Padding - kh) / c.Stride + 1
            Wo = (input[2] + 2 * c.Padding - kw) / c.Stride + 1
        }

    interface ILayer with
        member c.Text =
            let kh, kw = c.Kernel

            sprintf
                "conv %d %dx%d%s%s%s%s"
                c.Channels
                kh
                kw
                (if c.Stride <> 1 then sprintf " stride %d" c.Stride else "")
                (if c.Padding <> 0 then sprintf " pad %d" c.Padding else "")
                (Words.activationSuffix c.Activation)
                (if c.Bias then "" else " no-bias")

        member c.Activation = c.Activation

        member c.OutShape input =
            let kh, kw = c.Kernel

            if input.Length <> 3 then
                Error(
                    sprintf
                        "conv needs a CxHxW input but gets %s: give images their channels (1x28x28, not 784) and put conv before flatten"
                        (Shape.text input)
                )
            elif input[1] + 2 * c.Padding < kh || input[2] + 2 * c.Padding < kw then
                Error(
                    sprintf
                        "%s needs an input of at least %dx%d but gets %s"
                        ((c :> ILayer).Text)
                        (max 1 (kh - 2 * c.Padding))
                        (max 1 (kw - 2 * c.Padding))
                        (Shape.text input)
                )
            else
                let g = c.Geometry input
                Ok [| c.Channels; g.Ho; g.Wo |]

        member c.Params input =
            let kh, kw = c.Kernel
            let cin = if input.Length = 3 then input[0] else 1

            [|
                {
                    Name = "weight"
                    Shape = [| c.Channels; cin; kh; kw |]
                    FanIn = cin * kh * kw
                    FanOut = c.Channels * kh * kw
                    Fill = Scheme
                    Decays = true
                    Frozen = false
                }
                if c.Bias then
                    {
                        Name = "bias"
                        Shape = [| c.Channels |]
                        FanIn = cin * kh * kw
                        FanOut = c.Channels * kh * kw
                        Fill = Zeros
                        Decays = false
                        Frozen = false
                    }
            |]

        member c.Flops input =
            let g = c.Geometry input
            2.0 * float g.K * float c.Channels * float g.P

        member c.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            match (c :> ILayer).OutShape input with
            | Error e -> invalidArg "input" e
            | Ok _ ->
                let g = c.Geometry input
                Conv2dKernel<'T>(g, c.Channels, c.Activation, c.Bias, batch, chunkFor g batch sizeof<'T>) :> Kernel<'T>

    // ONNX's Conv has PyTorch's weight layout [out, in, kh, kw] and zero padding on each side.
    interface Onnx.IOnnx with
        member c.Nodes(_, x, y, names) =
            let kh, kw = c.Kernel
            let p, s = int64 c.Padding, int64 c.Stride

            let inputs =
                [ x; names.Param "weight" ] @ (if c.Bias then [ names.Param "bias" ] else [])

            let attributes =
                [
                    "kernel_shape", Onnx.Ints [ int64 kh; int64 kw ]
                    "strides", Onnx.Ints [ s; s ]
                    "pads", Onnx.Ints [ p; p; p; p ]
                ]

            Onnx.thenActivate c.Activation (fun z -> Onnx.node "Conv" inputs [ z ] attributes) y names

let syntax =
    {
        Keyword = "conv"
        Usage = "conv CHANNELS KxK [stride S] [pad P] [ACTIVATION] [no-bias]"
        Parse =
            fun words ->
                match words with
                | channels :: size :: rest ->
                    match Words.positive channels, Words.kernel size with
                    | None, _ -> Error(sprintf "conv: '%s' is not a number of channels >= 1" channels)
                    | _, None -> Error(sprintf "conv: '%s' is not a kernel size (5x5 or 5)" size)
                    | Some n, Some kernel ->
                        let rec go (layer: Conv2d) rest =
                            match rest with
                            | [] -> Ok(layer :> ILayer)
                            | "stride" :: s :: tail ->
                                match Words.positive s with
                                | Some v -> go { layer with Stride = v } tail
                                | None -> Error(sprintf "conv: stride '%s' is not a number >= 1" s)
                            | "pad" :: s :: tail ->
                                match Words.nonNegative s with
                                | Some v -> go { layer with Padding = v } tail
                                | None -> Error(sprintf "conv: pad '%s' is not a number >= 0" s)
                            | "no-bias" :: tail -> go { layer with Bias = false } tail
                            | [ ("stride" | "pad") as w ] -> Error(sprintf "conv: '%s' needs a number after it" w)
                            | w :: tail ->
                                match Words.activation w with
                                | Some a -> go { layer with Activation = a } tail
                                | None ->
                                    Error(
                                        sprintf
                                            "conv: unknown word '%s' (expected stride S, pad P, an activation or no-bias)"
                                            w
                                    )

                        go
                            {
                                Channels = n
                                Kernel = kernel
                                Stride = 1
                                Padding = 0
                                Activation = Linear
                                Bias = true
                            }
                            rest
                | _ -> Error "conv: how many channels and what kernel? (conv 6 5x5 pad 2 relu)"
    }
