/// L∞ attacks on a network's input. FGSM: x' = Π(x + ε·sign(∇ₓL(x, y))). PGD: from a random start x₀ + U(−ε, ε),
/// k steps x ← Π(x + α·sign(∇ₓL)), Π the projection onto the ε-ball around x ∩ the valid input range; a targeted
/// attack descends L(x, target) instead. L is cross-entropy against one-hot targets, summed over the batch.
/// Every random start is a pure function of (seed, a, b): (restart, example) when evaluating, (step, column) when
/// training, so an attack is deterministic for a seed.
module Functional.Attacks

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Data

type Method =
    | Fgsm
    | Pgd
    /// Auto-PGD on cross-entropy (Croce & Hein 2020): step 2ε halved at checkpoints, momentum 0.75.
    | ApgdCe
    /// Auto-PGD on the targeted DLR loss, once per target among the top classes.
    | ApgdT
    /// The score-based Square attack (Andriushchenko et al. 2020): random squares, forward passes only.
    | Square
    /// APGD-CE, then APGD-T, then Square, each on the examples still standing.
    | AutoAttack

module Method =
    let name =
        function
        | Fgsm -> "fgsm"
        | Pgd -> "pgd"
        | ApgdCe -> "apgd-ce"
        | ApgdT -> "apgd-t"
        | Square -> "square"
        | AutoAttack -> "autoattack"

    /// Every method, in the order of `name`.
    let all = [ Fgsm; Pgd; ApgdCe; ApgdT; Square; AutoAttack ]

    let tryParse (s: string) =
        all |> List.tryFind (fun m -> name m = s.Trim().ToLowerInvariant())

    /// Methods that follow the input gradient (Square and the ensemble's last stage do not).
    let usesGradient =
        function
        | Square -> false
        | _ -> true

/// One attack. Eps and Alpha are in the network's input units (after its scaling: see `range`).
type Attack =
    {
        Method: Method
        Eps: float
        /// The step of each iteration (FGSM without a random start: ε).
        Alpha: float
        /// Iterations (FGSM 1); Square: its query budget per example.
        Steps: int
        Restarts: int
        /// APGD-T: how many of the clean input's top other classes it targets in turn (0 for the others).
        Targets: int
        /// Square (alone or in the ensemble): its query budget per example (0 for the others).
        Queries: int
        RandomStart: bool
        /// Targeted at this class; -1 = untargeted.
        Target: int
        Seed: int
    }

/// The valid input range of a scaling: what bytes 0 and 255 become.
type Range =
    {
        Lo: float
        Hi: float
    }

    /// Input units per [0, 1] unit of pixel range (1 for unit scaling, 0.99 for the book's).
    member r.Width = r.Hi - r.Lo

let range (scale: Scale) =
    let t = Scale.table<float> scale
    { Lo = t[0]; Hi = t[255] }

/// FGSM at ε (input units): one step of ε from the clean input; with a random start, Wong et al.'s
/// "fast is better than free" step α = 1.25ε from x + U(−ε, ε).
let fgsm eps randomStart seed =
    {
        Method = Fgsm
        Eps = eps
        Alpha = (if randomStart then 1.25 * eps else eps)
        Steps = 1
        Restarts = 1
        Targets = 0
        Queries = 0
        RandomStart = randomStart
        Target = -1
        Seed = seed
    }

/// PGD at ε with `steps` steps of α = 2.5ε/steps (Madry et al.), from a random start.
let pgd eps steps restarts seed =
    {
        Method = Pgd
        Eps = eps
        Alpha = 2.5 * eps / float (max steps 1)
        Steps = steps
        Restarts = restarts
        Targets = 0
        Queries = 0
        RandomStart = true
        Target = -1
        Seed = seed
    }

/// APGD on cross-entropy with `steps` iterations (100 in the AutoAttack protocol), its start at random.
let apgdCe eps steps restarts seed =
    { pgd eps steps restarts seed with
        Method = ApgdCe
        Alpha = 2.0 * eps
    }

/// APGD on the targeted DLR loss against each of the `targets` highest other classes (9 on ten classes).
let apgdT eps steps restarts targets seed =
    { apgdCe eps steps restarts seed with
        Method = ApgdT
        Targets = targets
    }

/// Square with `queries` forward passes per example at most (5,000 in the AutoAttack protocol).
let square eps queries restarts seed =
    { pgd eps queries restarts seed with
        Method = Square
        Alpha = 2.0 * eps
        Queries = queries
    }

/// The standard AutoAttack ensemble: APGD-CE and APGD-T (`steps` iterations, `targets` targets), then Square
/// (`queries` queries), each with `restarts` restarts.
let autoAttack eps steps queries restarts targets seed =
    { apgdT eps steps restarts targets seed with
        Method = AutoAttack
        Queries = queries
    }

/// Adversarial training: every step trains on its batch attacked by the network as it stands before the step,
/// the loss (1 − Weight)·L(clean) + Weight·L(adversarial), or TRADES' L(clean) + β·KL(clean ‖ adversarial).
/// Eps is in [0, 1] units of the pixel range.
type Adversarial =
    {
        Method: Method
        Eps: float
        /// PGD's steps (1 for FGSM).
        Steps: int
        /// FGSM from x + U(−ε, ε) with α = 1.25ε (Wong et al.); PGD always starts at random.
        RandomStart: bool
        /// The adversarial share of the loss; 1 for TRADES, which weighs its terms by β instead.
        Weight: float
        /// TRADES' β (Zhang et al. 2019), > 0: PGD maximises KL(p(x) ‖ p(x')) instead of the loss of the label,
        /// and the loss is cross-entropy on the clean examples plus β·KL. 0: not TRADES.
        Trades: float
    }

module Adversarial =
    let defaultWeight = 0.5

    /// TRADES' β when `trades:EPS:STEPS` gives none: 6, the paper's 1/λ = 6 setting.
    let defaultBeta = 6.0

    let private g (x: float) =
        x.ToString("R", Globalization.CultureInfo.InvariantCulture)

    /// "fgsm:0.1", "fgsm:0.1:random", "pgd:0.3:40" (the weight is written apart).
    let text (a: Adversarial) =
        match a.Method with
        | Fgsm -> sprintf "fgsm:%s%s" (g a.Eps) (if a.RandomStart then ":random" else "")
        | Pgd when a.Trades > 0.0 -> sprintf "trades:%s:%d:%s" (g a.Eps) a.Steps (g a.Trades)
        | Pgd -> sprintf "pgd:%s:%d" (g a.Eps) a.Steps
        | m -> Method.name m

    let private number (s: string) =
        match Double.TryParse(s, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, x when Double.IsFinite x -> Some x
        | _ -> None

    /// Reads `text`'s form, with the weight given apart.
    let parse (weight: float) (s: string) : Result<Adversarial, string> =
        let expected =
            "expected fgsm:EPS, fgsm:EPS:random, pgd:EPS:STEPS or trades:EPS:STEPS[:BETA] (EPS in [0, 1] units of the pixel range)"

        let checkedEps e =
            match number e with
            | Some x when x > 0.0 && x <= 1.0 -> Ok x
            | Some x -> Error(sprintf "epsilon must be in (0, 1] (units of the pixel range), but is %g" x)
            | None -> Error(sprintf "'%s' is not a number; %s" e expected)

        let pgdOf e (k: string) beta =
            match Int32.TryParse k with
            | true, k when k >= 1 -> checkedEps e |> Result.map (fun x -> Pgd, x, k, true, beta)
            | _ -> Error(sprintf "PGD's steps must be an integer >= 1, but is '%s'" k)

        let a =
            match s.Trim().ToLowerInvariant().Split(':') with
            | [| "fgsm"; e |] -> checkedEps e |> Result.map (fun x -> Fgsm, x, 1, false, 0.0)
            | [| "fgsm"; e; "random" |] -> checkedEps e |> Result.map (fun x -> Fgsm, x, 1, true, 0.0)
            | [| "pgd"; e; k |] -> pgdOf e k 0.0
            | [| "trades"; e; k |] -> pgdOf e k defaultBeta
            | [| "trades"; e; k; b |] ->
                match number b with
                | Some beta when beta > 0.0 && beta <= 1e6 -> pgdOf e k beta
                | _ -> Error(sprintf "TRADES' beta must be a number in (0, 1e6], but is '%s'" b)
            | _ -> Error(sprintf "'%s': %s" s expected)

        if not (weight >= 0.0 && weight <= 1.0) then
            Error(sprintf "the adversarial weight must be in [0, 1], but is %g" weight)
        else
            a
            |> Result.map (fun (m, e, k, r, beta) ->
                {
                    Method = m
                    Eps = e
                    Steps = k
                    RandomStart = r
                    Weight = (if beta > 0.0 then 1.0 else weight)
                    Trades = beta
                })

    /// The attack a training step runs, in the input units of `range`.
    let attack (a: Adversarial) (r: Range) seed =
        let eps = a.Eps * (r.Hi - r.Lo)

        match a.Method with
        | Fgsm -> fgsm eps a.RandomStart seed
        | Pgd -> pgd eps a.Steps 1 seed
        | m -> invalidArg "a" (sprintf "%s is not a training attack" (Method.name m))

/// Why an attack cannot run (in the units it was given), or None.
let problem (a: Attack) (r: Range) =
    if not (Double.IsFinite a.Eps) || a.Eps < 0.0 then
        Some(sprintf "epsilon must be >= 0, but is %g" a.Eps)
    elif a.Eps > r.Width + 1e-12 then
        Some(sprintf "epsilon %g is larger than the whole input range (%g..%g)" a.Eps r.Lo r.Hi)
    elif (a.Method = Square || a.Method = AutoAttack) && a.Queries < 1 then
        Some(sprintf "Square's queries must be >= 1, but are %d" a.Queries)
    elif a.Steps < 1 then
        Some(sprintf "steps must be >= 1, but is %d" a.Steps)
    elif a.Restarts < 1 then
        Some(sprintf "restarts must be >= 1, but is %d" a.Restarts)
    elif (a.Method = ApgdT || a.Method = AutoAttack) && a.Targets < 1 then
        Some(sprintf "APGD-T's target classes must be >= 1, but are %d" a.Targets)
    elif not (Double.IsFinite a.Alpha) || a.Alpha <= 0.0 && a.Eps > 0.0 then
        Some(sprintf "alpha must be > 0, but is %g" a.Alpha)
    else
        None

/// The generator of random start (a, b) under `seed`; `salt` keeps evaluation and training streams apart.
let internal rng (salt: uint64) (seed: int) (a: int64) (b: int) =
    let g =
        Rng(
            uint64 (int64 seed) * 0x9E3779B97F4A7C15UL
            ^^^ uint64 a * 0xD1B54A32D192ED03UL
            ^^^ uint64 b * 0xAEF17502108EF2D9UL
            ^^^ salt
        )

    Rng(g.NextUInt64())

let internal evalSalt = 0x61747461636b00UL
let internal trainSalt = 0x747261696e00UL

/// Forward and input-gradient buffers for one batch size, reused by every iteration (the fast path).
type internal Scratch<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>, batch: int) =
    let bound = Bound.create<'T> net.Arch batch
    let features = Arch.inputs net.Arch
    let classes = Arch.classes net.Arch
    let output = Arch.output net.Arch

    let trace =
        {
            Input = Tensor.zeros<'T> features batch
            Activations = Bound.buffers bound
        }

    let deltas = Bound.buffers bound
    let wanted = Array.create deltas.Length false
    let dx = Tensor.zeros<'T> features batch

    member _.X = trace.Input
    member _.Output = trace.Output
    member _.Dx = dx
    member _.Classes = classes
    /// The output layer's activation (how its outputs relate to logits).
    member _.OutputActivation = output
    /// dL/dz of the output layer's pre-activation, which `Backward` propagates to Dx.
    member _.OutputDelta = deltas[deltas.Length - 1]

    /// Forward and backward passes run, one example each: the cost an attack reports is counted here, where it
    /// is spent.
    member val Forwards = 0L with get, set
    member val Backwards = 0L with get, set

    member this.Forward() =
        this.Forwards <- this.Forwards + int64 batch
        forwardWith bound net trace Mode.eval

    /// ∂L/∂X into Dx from OutputDelta, through the trace of the last Forward.
    member this.Backward() =
        this.Backwards <- this.Backwards + int64 batch
        backwardWith bound net trace deltas ValueNone wanted (ValueSome dx)

    /// Forward on X, then ∂L/∂X into Dx (L summed over the columns, targets y).
    member this.Gradient(y: Matrix<'T>) =
        this.Forward()
        let a = Tensor.data trace.Output
        Losses.outputGradInto CrossEntropy output Sum classes a (Tensor.data y) (Tensor.data deltas[deltas.Length - 1])
        this.Backward()

let internal column<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (m: Matrix<'T>)
    j
    =
    Span<'T>(Tensor.data m, j * m.RowCount, m.RowCount)

/// y ← one-hot 0/1 of `classes` (gatherInto's targets follow the scale: 0.01/0.99 for the book's).
let internal oneHot<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (classes: int[])
    (y: Matrix<'T>)
    =
    let yd = Tensor.data y
    Array.fill yd 0 yd.Length 'T.Zero

    for j in 0 .. classes.Length - 1 do
        yd[j * y.RowCount + classes[j]] <- 'T.One

let internal predictions<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (out: Matrix<'T>)
    count
    =
    let d = Tensor.data out
    let rows = out.RowCount
    Array.init count (fun j -> Numerics.Tensors.TensorPrimitives.IndexOfMax(ReadOnlySpan<'T>(d, j * rows, rows)))

/// What one batch's attack found: the adversarial inputs (in the scratch's X) and, per column, whether some
/// iterate was adversarial, and whether the first restart's first step already was.
type internal BatchOutcome =
    {
        Fooled: bool[]
        FooledFirst: bool[]
        /// Fooled by the end of the first restart.
        FooledFirstRestart: bool[]
    }

/// Attacks the first `count` columns of `x0` (labels in y, one-hot; `target` one-hot of the target class for
/// targeted attacks). Leaves the adversarial inputs in s.X: for each column, the first iterate that fooled the
/// network, else the last iterate of the last restart. `start j r` gives column j's generator for restart r.
let internal attackBatch<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (s: Scratch<'T>)
    (attack: Attack)
    (r: Range)
    (x0: Matrix<'T>)
    (labels: int[])
    (y: Matrix<'T>)
    (count: int)
    (start: int -> int -> Rng)
    (keepFirstFooled: bool)
    : BatchOutcome =
    let f = x0.RowCount
    let eps, alpha = attack.Eps, attack.Alpha
    let epsT: 'T = 'T.CreateTruncating eps
    let lo, hi = 'T.CreateTruncating r.Lo, 'T.CreateTruncating r.Hi
    let step: 'T = 'T.CreateTruncating(if attack.Target >= 0 then -alpha else alpha)
    let x = s.X
    let xd, x0d, gd = Tensor.data x, Tensor.data x0, Tensor.data s.Dx
    // The ball ∩ the range, per entry.
    let lower = Array.init (f * count) (fun i -> 'T.Max(x0d[i] - epsT, lo))
    let upper = Array.init (f * count) (fun i -> 'T.Min(x0d[i] + epsT, hi))
    let best: 'T[] = Array.zeroCreate (f * count)
    let fooled = Array.zeroCreate count
    let fooledFirst = Array.zeroCreate count
    let mutable fooledFirstRestart = [||]

    let isFooled (p: int[]) j =
        if attack.Target >= 0 then
            p[j] = attack.Target
        else
            p[j] <> labels[j]

    let record (p: int[]) (first: bool) =
        for j in 0 .. count - 1 do
            if isFooled p j then
                if first then
                    fooledFirst[j] <- true

                if not fooled[j] then
                    fooled[j] <- true
                    Array.blit xd (j * f) best (j * f) f

    // At ε = 0 the ball is the clean input: every step and restart would stay there, so one forward pass measures
    // what they would.
    let restarts = if eps = 0.0 then 1 else attack.Restarts
    let steps = if eps = 0.0 then 0 else attack.Steps

    for restart in 0 .. restarts - 1 do
        Array.blit x0d 0 xd 0 (f * count)

        if attack.RandomStart && eps > 0.0 then
            for j in 0 .. count - 1 do
                let g = start j restart

                for i in j * f .. j * f + f - 1 do
                    let u = (2.0 * g.NextDouble() - 1.0) * eps
                    xd[i] <- 'T.Clamp(x0d[i] + 'T.CreateTruncating u, lower[i], upper[i])

        for t in 1..steps do
            s.Gradient y

            // The forward just run saw the previous iterate: record it when it fooled the network.
            if t > 1 then
                record (predictions s.Output count) (restart = 0 && t = 2)

            for i in 0 .. f * count - 1 do
                let g = gd[i]

                if not ('T.IsZero g) then
                    let moved = if 'T.IsPositive g then xd[i] + step else xd[i] - step
                    xd[i] <- 'T.Clamp(moved, lower[i], upper[i])

        s.Forward()
        record (predictions s.Output count) (restart = 0 && steps <= 1)

        if restart = 0 then
            fooledFirstRestart <- Array.copy fooled

    for j in 0 .. count - 1 do
        if keepFirstFooled && fooled[j] then
            Array.blit best (j * f) xd (j * f) f

    {
        Fooled = fooled
        FooledFirst = fooledFirst
        FooledFirstRestart = fooledFirstRestart
    }

/// One stage of an ensemble: the examples it was the first to break, and the passes it ran.
type Stage =
    {
        Method: Method
        Broken: int
        Forwards: int64
        Backwards: int64
    }

/// The accuracy of a network under one attack at one ε.
type Outcome =
    {
        Attack: Attack
        Count: int
        Accuracy: float
        /// Untargeted: the accuracy after the first restart's first step (PGD that gains nothing from more steps
        /// points to masking); NaN for targeted attacks.
        AccuracyFirstStep: float
        /// Untargeted: the accuracy after the first restart (NaN for targeted attacks).
        AccuracyFirstRestart: float
        /// Targeted attacks: the fraction of examples not of the target class now called the target.
        TargetHits: float
        /// Mean probability of the predicted class on the adversarial inputs.
        Confidence: float
        Predictions: int[]
        /// The first `keep` adversarial inputs (input units, [features] each).
        Examples: float[][]
        /// The attack's cost: forward and backward passes, one example each, summed over the examples.
        Forwards: int64
        Backwards: int64
        /// The ensemble's stages, in order (empty for a single attack).
        Stages: Stage[]
    }

/// Runs `attack` over the first `count` images (scaled by `scale`) in chunks of `chunk`, keeping the first
/// `keep` adversarial inputs.
let run<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (scale: Scale)
    (images: Images)
    (count: int)
    (chunk: int)
    (keep: int)
    (attack: Attack)
    : Outcome =
    let r = range scale
    let classes = Arch.classes net.Arch
    let order = Array.init images.Count id
    let predictionsAll = Array.zeroCreate count
    let examples = ResizeArray<float[]>()
    let mutable correctFirstRestart = 0
    let mutable correct, correctFirst, hits, others, confidence = 0, 0, 0, 0, 0.0

    let scratch =
        Collections.Generic.Dictionary<int, Scratch<'T> * Matrix<'T> * Matrix<'T>>()

    for offset, n in Data.batches count chunk do
        let s, x0, y =
            match scratch.TryGetValue n with
            | true, v -> v
            | _ ->
                let v =
                    Scratch<'T>(net, n), Tensor.zeros<'T> images.Features n, Tensor.zeros<'T> classes n

                scratch[n] <- v
                v

        gatherInto scale images order offset x0 y
        let labels = Array.init n (fun j -> int images.Labels[offset + j])

        oneHot
            (if attack.Target >= 0 then
                 Array.create n attack.Target
             else
                 labels)
            y

        let o =
            attackBatch
                s
                attack
                r
                x0
                labels
                y
                n
                (fun j restart -> rng evalSalt attack.Seed (int64 restart) (offset + j))
                true

        let p = predictions s.Output n
        let out = Tensor.data s.Output

        for j in 0 .. n - 1 do
            predictionsAll[offset + j] <- p[j]

            if p[j] = labels[j] then
                correct <- correct + 1

            if not o.FooledFirst[j] then
                correctFirst <- correctFirst + 1

            if not o.FooledFirstRestart[j] then
                correctFirstRestart <- correctFirstRestart + 1

            if attack.Target >= 0 && labels[j] <> attack.Target then
                others <- others + 1

                if p[j] = attack.Target then
                    hits <- hits + 1

            confidence <- confidence + Double.CreateTruncating out[j * classes + p[j]]

            if examples.Count < keep then
                examples.Add(Array.init images.Features (fun i -> Double.CreateTruncating((column s.X j)[i])))

    let frac a = float a / float (max count 1)

    {
        Attack = attack
        Count = count
        Accuracy = frac correct
        AccuracyFirstStep = (if attack.Target >= 0 then nan else frac correctFirst)
        AccuracyFirstRestart = (if attack.Target >= 0 then nan else frac correctFirstRestart)
        TargetHits = (if others = 0 then nan else float hits / float others)
        Confidence = confidence / float (max count 1)
        Predictions = predictionsAll
        Examples = examples.ToArray()
        Forwards = scratch.Values |> Seq.sumBy (fun (s, _, _) -> s.Forwards)
        Backwards = scratch.Values |> Seq.sumBy (fun (s, _, _) -> s.Backwards)
        Stages = [||]
    }

/// The fraction of the first `count` images whose input gradient is exactly zero (L∞ norm 0): FGSM and PGD cannot
/// move them from where they start (a saturated softmax rounds p − y to 0).
let zeroGradients<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (scale: Scale)
    (images: Images)
    (count: int)
    (chunk: int)
    : float =
    let classes = Arch.classes net.Arch
    let order = Array.init images.Count id
    let mutable zero = 0

    for offset, n in Data.batches count chunk do
        let s = Scratch<'T>(net, n)
        let y = Tensor.zeros<'T> classes n
        gatherInto scale images order offset s.X y
        oneHot (Array.init n (fun j -> int images.Labels[offset + j])) y
        s.Gradient y

        for j in 0 .. n - 1 do
            let g = column s.Dx j

            if g.IndexOfAnyExcept('T.Zero) < 0 then
                zero <- zero + 1

    float zero / float (max count 1)
