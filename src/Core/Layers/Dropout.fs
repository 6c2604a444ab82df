/// Inverted dropout: in training y = x ∘ m / (1 − P) with m_i ~ Bernoulli(1 − P), and dx = dz ∘ m / (1 − P);
/// in evaluation y = x. The mask is a pure function of (seed, step, layer, column, row): entry (i, j) of an
/// [n × B] activation is kept when draw j·n + i of the SplitMix64 stream Rng.For(seed, stream step layer) is ≥ P.
module Functional.Layers.Dropout

open System
open System.Globalization
open System.Numerics
open System.Numerics.Tensors
open Functional
open Functional.Activations
open Functional.Layers.Layer

// SplitMix64's output function: its n-th draw is mix(state₀ + n·γ), so any draw can be computed directly.
let internal gamma = 0x9E3779B97F4A7C15UL

let inline internal mix (z0: uint64) =
    let z = (z0 ^^^ (z0 >>> 30)) * 0xBF58476D1CE4E5B9UL
    let z = (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
    z ^^^ (z >>> 31)

/// The Rng stream of a step's masks in a layer: distinct (step, layer) pairs give unrelated streams.
let stream (step: int64) (layer: int) : int =
    int (
        mix (uint64 step * gamma + uint64 layer * 0xD1B54A32D192ED03UL + 0x64726F706F7574UL)
        >>> 32
    )

/// The starting state of Rng.For(seed, stream), computed without allocating (a test checks it against Rng.For).
let internal streamState (seed: int) (stream: int) =
    mix ((uint64 (int64 seed) * gamma ^^^ uint64 stream * 0xD1B54A32D192ED03UL) + gamma)

/// Draw n (0-based) of the generator whose state is `state`, as Rng.NextUInt64 would return it.
let inline internal draw (state: uint64) (n: int) = mix (state + uint64 (n + 1) * gamma)

/// Keep entry (i, j) of an [rows × B] activation: Rng.NextDouble() ≥ P, in integers (draw >>> 11 ≥ ⌈P·2⁵³⌉).
let keeps (p: float) (seed: int) (step: int64) (layer: int) (rows: int) (i: int) (j: int) =
    let threshold = uint64 (Math.Ceiling(p * 9007199254740992.0))
    draw (streamState seed (stream step layer)) (j * rows + i) >>> 11 >= threshold

type internal DropoutKernel<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (p: float, size: int, batch: int) =
    inherit Kernel<'T>()
    let threshold = uint64 (Math.Ceiling(p * 9007199254740992.0))
    let scale = 'T.One / ('T.One - 'T.CreateTruncating p)
    // The last training forward's mask, already scaled: 1/(1−P) or 0.
    let mask: 'T[] = Array.zeroCreate (size * batch)
    let mutable training = false
    // Each mask entry is its own draw, so the Gang can share the entries out in fixed runs: same mask.
    let mutable state = 0UL
    let mutable count = 0
    let mutable pieces = 1

    let work =
        { new Pieces() with
            member _.Do piece =
                let struct (lo, hi) = Gang.Range(count, pieces, piece)

                for i in lo .. hi - 1 do
                    mask[i] <- if draw state i >>> 11 >= threshold then scale else 'T.Zero
        }

    override _.Forward(_, x, y, mode) =
        let n = x.RowCount * x.ColumnCount

        if x.ColumnCount > batch then
            invalidArg "x" (sprintf "dropout kernel bound to batch %d was given %d columns" batch x.ColumnCount)

        training <- mode.Training

        if mode.Training then
            state <- streamState mode.Seed (stream mode.Step mode.Layer)
            count <- n
            // Small masks are drawn in one piece: the hand-over would cost more than the draws.
            pieces <- if n >= 16384 then 4 else 1
            Gang.Run(pieces, work)

            TensorPrimitives.Multiply<'T>(
                ReadOnlySpan<'T>(Tensor.data x, 0, n),
                ReadOnlySpan<'T>(mask, 0, n),
                Span<'T>(Tensor.data y, 0, n)
            )
        else
            Array.blit (Tensor.data x) 0 (Tensor.data y) 0 n

    override _.Backward(_, _, _, dz, _, dx) =
        match dx with
        | ValueSome dx ->
            let n = dz.RowCount * dz.ColumnCount

            if training then
                TensorPrimitives.Multiply<'T>(
                    ReadOnlySpan<'T>(Tensor.data dz, 0, n),
                    ReadOnlySpan<'T>(mask, 0, n),
                    Span<'T>(Tensor.data dx, 0, n)
                )
            else
                Array.blit (Tensor.data dz) 0 (Tensor.data dx) 0 n
        | ValueNone -> ()

/// dropout P
type Dropout =
    {
        /// The probability of zeroing an entry, 0 ≤ P < 1.
        P: float
    }

    interface ILayer with
        member d.Text = sprintf "dropout %s" (d.P.ToString("R", CultureInfo.InvariantCulture))

        member _.Activation = Linear
        member _.OutShape input = Ok input
        member _.Params _ = [||]
        member _.Flops _ = 0.0

        member d.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            if not (d.P >= 0.0 && d.P < 1.0) then
                invalidArg "P" (sprintf "dropout %g: P must be in [0, 1)" d.P)

            DropoutKernel<'T>(d.P, Shape.size input, batch) :> Kernel<'T>

    // At inference dropout is the identity: an exported model is an inference model.
    interface Onnx.IOnnx with
        member _.Nodes(_, x, y, _) = [ Onnx.node "Identity" [ x ] [ y ] [] ]

let syntax =
    {
        Keyword = "dropout"
        Usage = "dropout P (0 <= P < 1)"
        Parse =
            function
            | [ w ] ->
                match Double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, p when p >= 0.0 && p < 1.0 -> Ok({ P = p } :> ILayer)
                | _ -> Error(sprintf "dropout: '%s' is not a probability in [0, 1) (dropout 0.5)" w)
            | [] -> Error "dropout: with what probability? (dropout 0.5)"
            | _ :: w :: _ -> Error(sprintf "dropout takes one setting, its probability, but was also given '%s'" w)
    }
