/// Everything that defines a training run's maths, typed: the one place its defaults are written.
/// `fields` and `ofFields` are its text form (run.json's "config" object), so a run written today is read back
/// into the same value.
namespace Functional

open System
open System.Globalization
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Optim
open Functional.Data
open Functional.Layers.Layer
open Functional.Arch
open Functional.Step
open Functional.Schedule
open Functional.Augment

type Precision =
    | Float32
    | Float64

module Precision =
    let name =
        function
        | Float32 -> "float32"
        | Float64 -> "float64"

    let tryParse (s: string) =
        match s.Trim().ToLowerInvariant() with
        | "float32" -> Some Float32
        | "float64" -> Some Float64
        | _ -> None

type Config =
    {
        Arch: Arch
        Loss: Loss
        Reduction: Reduction
        Init: Init
        Optimizer: OptimizerSpec
        /// L2 decay λ on weights (not biases).
        L2: float
        Scale: Scale
        Seed: int
        Precision: Precision
        /// Examples per step; 0 = the whole training set.
        Batch: int
        /// The learning rate of each step, resolved to steps (see Schedule.Request for the epoch form).
        Schedule: Schedule
        /// Distortions of each training example, a function of (seed, epoch, example).
        Augment: Augment
        /// Adversarial training (Attacks.Adversarial), or None.
        Adversarial: Attacks.Adversarial option
        /// Global gradient-norm clipping threshold (Step.Hyper.ClipNorm); 0 = off.
        ClipNorm: float
    }

    member c.Lr = OptimizerSpec.lr c.Optimizer
    member c.PrecisionName = Precision.name c.Precision
    member c.ScaleName = Scale.name c.Scale
    member c.LossName = Loss.name c.Loss
    member c.InitName = Init.name c.Init
    member c.ReductionName = Reduction.name c.Reduction
    member c.OptimizerName = OptimizerSpec.name c.Optimizer
    member c.ArchText = Arch.text c.Arch
    member c.LayersText = Arch.layersText c.Arch
    member c.Inputs = Arch.inputs c.Arch
    member c.Classes = Arch.classes c.Arch
    member c.OutputActivation = Arch.output c.Arch
    /// True when some layer uses ReLU (He initialisation suits it).
    member c.HasRelu = c.Arch.Layers |> Array.exists (fun l -> l.Activation = Relu)

    member c.Hyper: Hyper =
        {
            Loss = c.Loss
            Reduction = c.Reduction
            L2 = c.L2
            Optimizer = c.Optimizer
            Seed = c.Seed
            Schedule = c.Schedule
            ClipNorm = c.ClipNorm
            Trades =
                match c.Adversarial with
                | Some a -> a.Trades
                | None -> 0.0
        }

    member c.WithArch arch = { c with Arch = arch }
    member c.WithSeed seed = { c with Seed = seed }
    member c.WithBatch batch = { c with Batch = batch }
    member c.WithPrecision precision = { c with Precision = precision }
    member c.WithScale scale = { c with Scale = scale }
    member c.WithInit init = { c with Init = init }
    member c.WithReduction reduction = { c with Reduction = reduction }
    member c.WithL2 l2 = { c with L2 = l2 }
    member c.WithSchedule schedule = { c with Schedule = schedule }
    member c.WithAugment augment = { c with Augment = augment }
    member c.WithClipNorm clip = { c with ClipNorm = clip }
    member c.ScheduleText = Schedule.text c.Schedule
    member c.AugmentText = Augment.text c.Augment

    /// The same optimiser with another learning rate.
    member c.WithLr(lr: float) =
        { c with
            Optimizer =
                match c.Optimizer with
                | Sgd _ -> Sgd lr
                | Momentum(_, mu) -> Momentum(lr, mu)
                | Adam(_, b1, b2, eps) -> Adam(lr, b1, b2, eps)
        }

type internal ResultBuilder() =
    member _.Bind(r: Result<'a, string>, f: 'a -> Result<'b, string>) = Result.bind f r
    member _.Return(x: 'a) : Result<'a, string> = Ok x
    member _.ReturnFrom(r: Result<'a, string>) = r

module Config =
    let internal result = ResultBuilder()

    /// The defaults: 784-512-10 ReLU/softmax, cross-entropy, He init, Adam 1e-3, L2 1e-4, batch 32, float32.
    let defaults =
        {
            Arch = Arch.dense [| 784; 512; 10 |] Relu Softmax true
            Loss = CrossEntropy
            Reduction = Mean
            Init = He
            Optimizer = OptimizerSpec.adam 1e-3
            L2 = 1e-4
            Scale = Unit
            Seed = 1
            Precision = Float32
            Batch = 32
            Schedule = Constant
            Augment = Augment.none
            Adversarial = None
            ClipNorm = 0.0
        }

    /// The learning rate an optimiser starts from unless told otherwise.
    let defaultLr =
        function
        | "adam" -> 1e-3
        | _ -> 0.1

    let defaultMomentum = 0.9

    /// Adversarial training scales the targets to weigh clean against adversarial (AdversarialTraining.fs), which
    /// is exact only for softmax with cross-entropy.
    let private adversarialProblem (c: Config) =
        match c.Adversarial with
        | Some a when not (a.Weight >= 0.0 && a.Weight <= 1.0) ->
            Some(sprintf "the adversarial weight must be in [0, 1], but is %g" a.Weight)
        | Some _ when Arch.output c.Arch <> Softmax || c.Loss <> CrossEntropy ->
            Some "adversarial training needs a softmax output with cross-entropy (--output softmax --loss ce)"
        | _ -> None

    /// Why this configuration cannot train, or None.
    let problem (c: Config) =
        match Arch.problem c.Arch with
        | Some p -> Some p
        | None ->
            let lr = c.Lr

            if not (Double.IsFinite lr) || lr <= 0.0 then
                Some(sprintf "the learning rate must be > 0, but is %g" lr)
            elif not (Double.IsFinite c.L2) || c.L2 < 0.0 then
                Some(sprintf "l2 must be >= 0, but is %g" c.L2)
            elif not (Double.IsFinite c.ClipNorm) || c.ClipNorm < 0.0 then
                Some(sprintf "the clipping norm must be >= 0 (0 = off), but is %g" c.ClipNorm)
            elif c.Batch < 0 then
                Some(sprintf "the batch size must be >= 0 (0 = full batch), but is %d" c.Batch)
            else
                match c.Optimizer with
                | Momentum(_, mu) when not (mu >= 0.0 && mu < 1.0) ->
                    Some(sprintf "momentum must be in [0, 1), but is %g" mu)
                | _ ->
                    match Schedule.problem c.Schedule, Augment.problem c.Augment with
                    | Some p, _
                    | None, Some p -> Some p
                    | None, None when not (Augment.isNone c.Augment) && (Augment.imageSize c.Arch.Input).IsNone ->
                        Some(
                            sprintf
                                "augmentation distorts one-channel images (1xHxW, or a square number of pixels), but this network's input is %s (a sequence or several channels): pass --augment none"
                                (Shape.text c.Arch.Input)
                        )
                    | None, None -> adversarialProblem c

    let private g (x: float) =
        x.ToString("R", CultureInfo.InvariantCulture)

    /// The configuration as (key, text) pairs, in a fixed order: run.json's "config" object, and what a
    /// checkpoint's config hash is computed from.
    let fields (c: Config) : (string * string)[] =
        let mu =
            match c.Optimizer with
            | Momentum(_, mu) -> mu
            | _ -> defaultMomentum

        // "adversarial" is written only when set, so the fields (and checkpoint hashes) of other runs stay as they were.
        let adversarial =
            match c.Adversarial with
            | Some a ->
                [|
                    "adversarial", Attacks.Adversarial.text a
                    "adversarial_weight", g a.Weight
                |]
            | None -> [||]

        Array.append
            [|
                "arch", Arch.text c.Arch
                "loss", Loss.name c.Loss
                "init", Init.name c.Init
                "optimizer", OptimizerSpec.name c.Optimizer
                "lr", g c.Lr
                "l2", g c.L2
                "momentum", g mu
                "reduction", Reduction.name c.Reduction
                "scale", Scale.name c.Scale
                "seed", string c.Seed
                "precision", Precision.name c.Precision
                "batch", string c.Batch
                "schedule", Schedule.text c.Schedule
                "augment", Augment.text c.Augment
                // Written only when on, so configs without clipping keep their hash.
                if c.ClipNorm > 0.0 then
                    "clip_norm", g c.ClipNorm
            |]
            adversarial

    /// The optimiser of this name with this rate (and momentum coefficient, for momentum).
    let optimizer (name: string) (lr: float) (mu: float) =
        match name.Trim().ToLowerInvariant() with
        | "sgd" -> Ok(Sgd lr)
        | "momentum" -> Ok(Momentum(lr, mu))
        | "adam" -> Ok(OptimizerSpec.adam lr)
        | s -> Error(sprintf "unknown optimizer '%s' (expected sgd, momentum or adam)" s)

    /// One field, read by `f`; a missing or unreadable value is an error naming the field.
    let field (get: string -> string option) key (f: string -> 'a option) (expected: string) =
        match get key with
        | None -> Error(sprintf "missing field '%s'" key)
        | Some v ->
            match f v with
            | Some x -> Ok x
            | None -> Error(sprintf "field '%s' is '%s', expected %s" key v expected)

    /// The architecture of a run.json config or a model file's spec: "arch" in the --arch syntax, or, in files
    /// written before architectures existed, the dense network of "sizes", "hidden", "output" and "bias".
    let archOfFields (get: string -> string option) : Result<Arch, string> =
        match get "arch" with
        | Some text -> Arch.parse [| 784 |] text
        | None ->
            let sizes (s: string) =
                match
                    s.Split(',', StringSplitOptions.RemoveEmptyEntries)
                    |> Array.map (fun p -> Int32.TryParse(p.Trim()))
                with
                | ps when ps.Length >= 2 && ps |> Array.forall fst -> Some(ps |> Array.map snd)
                | _ -> None

            result {
                let! sizes = field get "sizes" sizes "sizes like 784,512,10"
                let! hidden = field get "hidden" Activation.tryParse "an activation"
                let! output = field get "output" Activation.tryParse "an activation"

                let! bias =
                    field get "bias" (fun b -> Some(b = "true" || b = "True")) "true or false"

                return Arch.dense sizes hidden output bias
            }

    /// Reads `fields`' pairs back; a missing or unknown value is an error naming its key. Files written before
    /// architectures existed ("sizes", "hidden", "output", "bias") are read as the dense network they describe.
    let ofFields (get: string -> string option) : Result<Config, string> =
        let need key = field get key Some "a value"
        let parse key f expected = field get key f expected

        let number key =
            parse
                key
                (fun v ->
                    match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                    | true, x -> Some x
                    | _ -> None)
                "a number"

        let integer key =
            parse
                key
                (fun v ->
                    match Int32.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) with
                    | true, x -> Some x
                    | _ -> None)
                "an integer"

        let arch = archOfFields get

        result {
            let! arch = arch
            let! loss = parse "loss" Loss.tryParse "mse or ce"
            let! init = parse "init" Init.tryParse "normal-fanin, normal-fanout, xavier or he"
            let! lr = number "lr"
            let! l2 = number "l2"
            let! mu = number "momentum"
            let! optName = need "optimizer"
            let! opt = optimizer optName lr mu
            let! reduction = parse "reduction" Reduction.tryParse "mean or sum"
            let! scale = parse "scale" Scale.tryParse "unit, book or offset"
            let! seed = integer "seed"
            let! precision = parse "precision" Precision.tryParse "float32 or float64"
            let! batch = integer "batch"

            // Files written before schedules and augmentation existed trained without them.
            let! schedule =
                match get "schedule" with
                | None -> Ok Constant
                | Some _ -> parse "schedule" Schedule.tryParse "a schedule such as constant or cosine:7500:0"

            let! augment =
                match get "augment" with
                | None -> Ok Augment.none
                | Some v -> Augment.parse v |> Result.mapError (fun e -> sprintf "field 'augment': %s" e)

            let! adversarial =
                match get "adversarial" with
                | None -> Ok None
                | Some v ->
                    let weight =
                        match get "adversarial_weight" with
                        | Some w ->
                            match Double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture) with
                            | true, x -> x
                            | _ -> nan
                        | None -> Attacks.Adversarial.defaultWeight

                    Attacks.Adversarial.parse weight v
                    |> Result.map Some
                    |> Result.mapError (fun e -> sprintf "field 'adversarial': %s" e)

            let! clip =
                match get "clip_norm" with
                | None -> Ok 0.0
                | Some _ -> number "clip_norm"

            let c =
                {
                    Arch = arch
                    Loss = loss
                    Reduction = reduction
                    Init = init
                    Optimizer = opt
                    L2 = l2
                    Scale = scale
                    Seed = seed
                    Precision = precision
                    Batch = batch
                    Schedule = schedule
                    Augment = augment
                    Adversarial = adversarial
                    ClipNorm = clip
                }

            return!
                match problem c with
                | Some p -> Error p
                | None -> Ok c
        }

    /// One line for logs: "input 784, dense 512 relu, dense 10 softmax; ce, init he, adam lr 0.001 l2 0.0001, …".
    /// describe, with `scale` named as the scaling applied: a table's feature transform (none, unit, standard),
    /// which the host applies before the core sees the rows, where c.Scale is only the targets' 0/1.
    let describeScaled (scale: string) (c: Config) =
        String.Format(
            CultureInfo.InvariantCulture,
            "{0}; {1}, init {2}, {3} lr {4}{5}{8}{10}, scale {6}, reduction {7}{9}",
            Arch.layersText c.Arch,
            Loss.name c.Loss,
            Init.name c.Init,
            OptimizerSpec.name c.Optimizer,
            c.Lr,
            (if c.L2 > 0.0 then
                 " l2 " + c.L2.ToString(CultureInfo.InvariantCulture)
             else
                 ""),
            scale,
            Reduction.name c.Reduction,
            (match c.Schedule with
             | Constant -> ""
             | s -> " schedule " + Schedule.text s),
            (if Augment.isNone c.Augment then
                 ""
             else
                 ", augment " + Augment.text c.Augment),
            (if c.ClipNorm > 0.0 then
                 " clip-norm " + g c.ClipNorm
             else
                 "")
        )
        + (match c.Adversarial with
           | Some a when a.Trades > 0.0 -> ", adversarial " + Attacks.Adversarial.text a
           | Some a ->
               String.Format(
                   CultureInfo.InvariantCulture,
                   ", adversarial {0} weight {1}",
                   Attacks.Adversarial.text a,
                   a.Weight
               )
           | None -> "")

    let describe (c: Config) = describeScaled (Scale.name c.Scale) c
