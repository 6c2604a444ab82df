/// Weight initialisation from an explicit seed. W_l ~ N(0, n_in^-½) (normal-fanin, the book's prose rule),
/// N(0, n_out^-½) (normal-fanout, the book's code: numpy.random.normal(0, pow(hnodes, -0.5)) for W_ih),
/// U(±√(6/(n_in+n_out))) (xavier, Glorot uniform) or N(0, √(2/n_in)) (he, Kaiming normal); biases 0.
module Functional.Init

open System

type Init =
    | NormalFanIn
    | NormalFanOut
    | Xavier
    | He

module Init =
    let name =
        function
        | NormalFanIn -> "normal-fanin"
        | NormalFanOut -> "normal-fanout"
        | Xavier -> "xavier"
        | He -> "he"

    let tryParse (s: string) =
        [ NormalFanIn; NormalFanOut; Xavier; He ]
        |> List.tryFind (fun i -> name i = s.Trim().ToLowerInvariant())

/// SplitMix64 (Steele, Lea, Flood 2014): our own generator, so a seed means the same numbers on every
/// machine and .NET version. It is created inside the function that uses it and never shared.
type Rng(seed: uint64) =
    let mutable state = seed

    member _.NextUInt64() =
        state <- state + 0x9E3779B97F4A7C15UL
        let mutable z = state
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// Uniform in [0, 1) with 53 random bits.
    member this.NextDouble() =
        float (this.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)

    /// Uniform integer in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for our n).
    member this.NextInt(n: int) =
        int ((this.NextUInt64() >>> 32) * uint64 n >>> 32)

    /// Standard normal by Box–Muller (one of the pair is used, which keeps the stream simple).
    member this.NextNormal() =
        let u1 = 1.0 - this.NextDouble()
        let u2 = this.NextDouble()
        Math.Sqrt(-2.0 * Math.Log u1) * Math.Cos(2.0 * Math.PI * u2)

    /// A generator for stream `stream` of `seed`: distinct streams (layers, epochs) never overlap in practice.
    static member For(seed: int, stream: int) =
        let mix =
            Rng(
                uint64 (int64 seed) * 0x9E3779B97F4A7C15UL
                ^^^ uint64 stream * 0xD1B54A32D192ED03UL
            )

        Rng(mix.NextUInt64())

/// The initial weight for one entry of an [nOut × nIn] layer, drawn from rng.
let sample (scheme: Init) (nIn: int) (nOut: int) (rng: Rng) =
    match scheme with
    | NormalFanIn -> rng.NextNormal() / Math.Sqrt(float nIn)
    | NormalFanOut -> rng.NextNormal() / Math.Sqrt(float nOut)
    | He -> rng.NextNormal() * Math.Sqrt(2.0 / float nIn)
    | Xavier ->
        let a = Math.Sqrt(6.0 / float (nIn + nOut))
        (2.0 * rng.NextDouble() - 1.0) * a

/// An n × n orthogonal matrix, row-major: the rows of a standard normal matrix made orthonormal by modified
/// Gram–Schmidt (the Q of its QR decomposition, up to signs), drawn from rng (Saxe, McClelland, Ganguli 2014).
let orthogonal (n: int) (rng: Rng) : float[] =
    let a = Array.init (n * n) (fun _ -> rng.NextNormal())

    for i in 0 .. n - 1 do
        let row = Span<float>(a, i * n, n)

        for k in 0 .. i - 1 do
            let done' = ReadOnlySpan<float>(a, k * n, n)
            let d = System.Numerics.Tensors.TensorPrimitives.Dot(Span.op_Implicit row, done')
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(done', -d, Span.op_Implicit row, row)

        let norm = System.Numerics.Tensors.TensorPrimitives.Norm(Span.op_Implicit row)
        System.Numerics.Tensors.TensorPrimitives.Divide(Span.op_Implicit row, norm, row)

    a
