/// An Elman recurrent layer, PyTorch's nn.RNN: h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), h_0 = 0, f = tanh
/// or relu. Backward through time, with dz_t = f'(·) ∘ (∂L/∂h_t + W_hhᵀ dz_{t+1}):
/// dW_ih = Σ_t dz_t x_tᵀ, dW_hh = Σ_t dz_t h_{t−1}ᵀ, db = Σ_t dz_t, dx_t = W_ihᵀ dz_t.
/// Every step's input product is one gemm over all T·B columns, and so are the three gradient products; only the
/// recurrence takes one gemm per step.
module Functional.Layers.Rnn

open System
open System.Numerics
open System.Numerics.Tensors
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Sequence

type internal RnnKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (v: View, units: int, act: Activation, every: bool, batch: int) =
    inherit Kernel<'T>()
    let steps, features = v.Steps, v.Features
    // Time-major: xs [F × T·B]; hs [H × (T+1)·B], block t = h_t (block 0 = h_0 = 0); dzs [H × T·B], block t = dz_{t+1}.
    let xs: 'T[] = Array.zeroCreate (features * steps * batch)
    let dxs: 'T[] = Array.zeroCreate (features * steps * batch)
    let hs: 'T[] = Array.zeroCreate (units * (steps + 1) * batch)
    let dzs: 'T[] = Array.zeroCreate (units * steps * batch)
    let dh: 'T[] = Array.zeroCreate (units * batch)
    let stepGradients: float[] = Array.zeroCreate steps
    let mutable forwardColumns = 0

    let columns (x: MathNet.Numerics.LinearAlgebra.Matrix<'T>) =
        if x.ColumnCount > batch then
            invalidArg "x" (sprintf "rnn kernel bound to batch %d was given %d columns" batch x.ColumnCount)

        x.ColumnCount

    override _.Forward(ps, x, y, _) =
        let b = columns x
        let wih, whh, bih, bhh = ps[0], ps[1], ps[2], ps[3]
        let block = units * b
        forwardColumns <- b
        gather v (Tensor.data x) b xs
        // W_ih x_t for every t at once, into blocks 1..T of hs; the recurrence then adds to each in turn.
        Tensor.gemmAt
            'T.One
            (wih, 0, features, units)
            true
            (xs, 0, features, steps * b)
            false
            'T.Zero
            (hs, block, units, steps * b)

        Array.Clear(hs, 0, block)

        for t in 1..steps do
            if t > 1 then
                Tensor.gemmAt
                    'T.One
                    (whh, 0, units, units)
                    true
                    (hs, (t - 1) * block, units, b)
                    false
                    'T.One
                    (hs, t * block, units, b)

            for j in 0 .. b - 1 do
                let col = Span<'T>(hs, t * block + j * units, units)
                TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(bih), col)
                TensorPrimitives.Add<'T>(Span.op_Implicit col, ReadOnlySpan<'T>(bhh), col)
                Activation.applyColumn act col

        emit every steps units hs b (Tensor.data y)

    override _.Backward(ps, _, _, dz, grads, dx) =
        let b = columns dz
        let wih, whh = ps[0], ps[1]
        let block = units * b
        let dy = Tensor.data dz
        Array.Clear(dh, 0, block)

        for t in steps .. -1 .. 1 do
            addStateGradient every steps units t dy b dh
            stepGradients[t - 1] <- norm dh block
            let o, d = t * block, (t - 1) * block

            // dz_t = f'(h_t) ∘ dh, from the state itself: 1 − h² for tanh, [h > 0] for relu.
            match act with
            | Relu ->
                for i in 0 .. block - 1 do
                    dzs[d + i] <-
                        if 'T.op_GreaterThan (hs[o + i], 'T.Zero) then
                            dh[i]
                        else
                            'T.Zero
            | _ ->
                for i in 0 .. block - 1 do
                    let h = hs[o + i]
                    dzs[d + i] <- dh[i] * ('T.One - h * h)

            if t > 1 then
                Tensor.gemmAt 'T.One (whh, 0, units, units) false (dzs, d, units, b) false 'T.Zero (dh, 0, units, b)

        let n = steps * b

        match grads with
        | ValueSome g ->
            // Row-major [H, F] is column-major [F × H]: dW_ihᵀ = xs dzsᵀ, dW_hhᵀ = hs_{0..T−1} dzsᵀ.
            Tensor.gemmAt 'T.One (xs, 0, features, n) false (dzs, 0, units, n) true 'T.Zero (g[0], 0, features, units)
            Tensor.gemmAt 'T.One (hs, 0, units, n) false (dzs, 0, units, n) true 'T.Zero (g[1], 0, units, units)
            sumColumns dzs units n g[2]
            Array.blit g[2] 0 g[3] 0 units
        | ValueNone -> ()

        match dx with
        | ValueSome dx ->
            // dxs = W_ihᵀ dzs, time-major, then back to example order.
            Tensor.gemmAt 'T.One (wih, 0, features, units) false (dzs, 0, units, n) false 'T.Zero (dxs, 0, features, n)
            scatter v dxs b (Tensor.data dx)
        | ValueNone -> ()

    interface IRecurrent with
        member _.StepGradients = stepGradients

        member _.Saturated() =
            match act with
            | Tanh ->
                let b = forwardColumns

                saturatedUnits hs units (units * b) units (steps * b) (fun h -> 1.0 - h * h)
                / float units
            | _ -> nan

/// rnn UNITS [tanh|relu] [orthogonal|identity] [sequence]
type Rnn =
    {
        Units: int
        /// tanh (PyTorch's default) or relu.
        Nonlinearity: Activation
        Init: RecurrentInit
        /// Hand on every state [T; H] rather than the last one.
        Every: bool
    }

    interface ILayer with
        member r.Text =
            sprintf
                "rnn %d%s%s%s"
                r.Units
                (if r.Nonlinearity = Relu then " relu" else "")
                (RecurrentInit.word r.Init)
                (if r.Every then " sequence" else "")

        member _.Activation = Linear

        member r.OutShape input =
            view "rnn" input
            |> Result.map (fun v -> if r.Every then [| v.Steps; r.Units |] else [| r.Units |])

        member r.Params input =
            let f =
                match view "rnn" input with
                | Ok v -> v.Features
                | Error e -> invalidArg "input" e

            let h = r.Units
            let a = 1.0 / sqrt (float h)

            let bias name =
                {
                    Name = name
                    Shape = [| h |]
                    FanIn = h
                    FanOut = h
                    Fill = (if r.Init = IdentityInit then Zeros else Fill.Uniform a)
                    Decays = false
                    Frozen = false
                }

            [|
                {
                    Name = "weight_ih_l0"
                    Shape = [| h; f |]
                    FanIn = f
                    FanOut = h
                    Fill = Fill.Uniform a
                    Decays = true
                    Frozen = false
                }
                {
                    Name = "weight_hh_l0"
                    Shape = [| h; h |]
                    FanIn = h
                    FanOut = h
                    Fill = RecurrentInit.recurrentFill a r.Init
                    Decays = true
                    Frozen = false
                }
                bias "bias_ih_l0"
                bias "bias_hh_l0"
            |]

        member r.Flops input =
            match view "rnn" input with
            | Ok v -> 2.0 * float v.Steps * float r.Units * float (v.Features + r.Units)
            | Error _ -> 0.0

        member r.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            match view "rnn" input with
            | Ok v -> RnnKernel<'T>(v, r.Units, r.Nonlinearity, r.Every, batch) :> Kernel<'T>
            | Error e -> invalidArg "input" e

    // ONNX's RNN has nn.RNN's equations; W, R and B = [b_ih, b_hh] gain a leading direction axis.
    interface Onnx.IOnnx with
        member r.Nodes(input, x, y, names) =
            let xt, lay = OnnxSequence.timeMajor input x names
            let w, rr, b = names.Temp "W", names.Temp "R", names.Temp "B"
            let bias = names.Temp "bias"
            let states, last = names.Temp "Y", names.Temp "Y_h"

            let activation =
                match r.Nonlinearity with
                | Relu -> "Relu"
                | _ -> "Tanh"

            lay
            @ OnnxSequence.oneDirection (names.Param "weight_ih_l0") w names
            @ OnnxSequence.oneDirection (names.Param "weight_hh_l0") rr names
            @ [
                Onnx.node
                    "Concat"
                    [ names.Param "bias_ih_l0"; names.Param "bias_hh_l0" ]
                    [ bias ]
                    [ "axis", Onnx.Int 0L ]
            ]
            @ OnnxSequence.oneDirection bias b names
            @ [
                Onnx.node
                    "RNN"
                    [ xt; w; rr; b ]
                    [ states; last ]
                    [
                        "hidden_size", Onnx.Int(int64 r.Units)
                        "activations", Onnx.Strings [ activation ]
                    ]
            ]
            @ OnnxSequence.handOn r.Every states last y names

let syntax =
    {
        Keyword = "rnn"
        Usage = "rnn UNITS [tanh|relu] [orthogonal|identity] [sequence]"
        Parse =
            fun words ->
                match words with
                | units :: rest ->
                    match Words.positive units with
                    | None -> Error(sprintf "rnn: '%s' is not a number of units >= 1" units)
                    | Some n ->
                        parseWords
                            "rnn"
                            "tanh, relu, orthogonal, identity or sequence"
                            (fun w (l: Rnn) ->
                                match w with
                                | "tanh" -> Some { l with Nonlinearity = Tanh }
                                | "relu" -> Some { l with Nonlinearity = Relu }
                                | _ -> None)
                            (fun i l -> { l with Init = i })
                            (fun l -> { l with Every = true })
                            {
                                Units = n
                                Nonlinearity = Tanh
                                Init = DefaultInit
                                Every = false
                            }
                            rest
                        |> Result.map (fun l -> l :> ILayer)
                | [] -> Error "rnn: how many hidden units? (rnn 128)"
    }
