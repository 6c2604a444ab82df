/// The facade's training: configurations (defaults, checks, run.json fields), schedules and trainers.
namespace Functional.Api

open System
open System.Collections.Generic
open Functional

[<AbstractClass; Sealed>]
type Training =
    /// The defaults, written once (Config.defaults).
    static member DefaultConfig = Config.defaults

    /// Why this configuration cannot train, or null when it can.
    static member Problem(config: Config) : string | null =
        Config.problem config |> Checked.ofOption

    /// The configuration as (key, text) pairs (run.json's "config").
    static member ConfigFields(config: Config) : KeyValuePair<string, string>[] =
        Config.fields config |> Array.map KeyValuePair

    /// Reads ConfigFields' pairs back (get returns null for a missing key).
    static member ConfigOfFields(get: Func<string, string | null>) : Checked<Config> =
        Config.ofFields (fun k ->
            match get.Invoke k with
            | null -> None
            | v -> Some v)
        |> Checked.ofResult

    static member Describe(config: Config) = Config.describe config

    /// Describe, naming `scale` as the scaling applied (a table's feature transform).
    static member Describe(config: Config, scale: string) = Config.describeScaled scale config

    /// `config` with a model's architecture, scaling and precision.
    static member ConfigOfModel(config: Config, spec: ModelSpec) =
        { config with
            Arch = spec.Arch
            Scale = spec.Scale
            Precision = spec.Precision
        }

    /// Whether the configuration trains on attacked copies too (--adversarial).
    static member IsAdversarial(config: Config) = config.Adversarial.IsSome

    /// The configuration's --adversarial attack; ask IsAdversarial first.
    static member Adversarial(config: Config) : Attacks.Adversarial =
        match config.Adversarial with
        | Some a -> a
        | None -> invalidArg "config" "the configuration trains without adversarial examples"

    static member WithoutAugment(config: Config) = config.WithAugment Augment.Augment.none

    /// Whether the configuration distorts its training images.
    static member Augments(config: Config) =
        not (Augment.Augment.isNone config.Augment)

    /// The schedule asked for when none is: a constant rate.
    static member ConstantSchedule = Schedule.Request.constant

    /// A schedule request in the --schedule syntax ("cosine warmup 1").
    static member ScheduleText(request: Schedule.Request) = Schedule.Request.describe request

    /// The learning-rate schedule of a request in epochs, for a run of `epochs` epochs of `stepsPerEpoch` updates.
    static member ResolveSchedule(request: Schedule.Request, stepsPerEpoch: int, epochs: int) =
        Schedule.Request.resolve request stepsPerEpoch epochs

    /// The updates this configuration's schedule was laid out for; -1 when it has no end (constant, step decay).
    static member ScheduleLength(config: Config) =
        Schedule.length config.Schedule |> Option.defaultValue -1L

    /// The learning rate of the update that follows `t` updates under this configuration's schedule.
    static member LrAt(config: Config, t: int64) = Step.Hyper.lrAt config.Hyper t

    /// The numbers of the update that follows `t` updates: "lr" (the schedule's rate there), "base_lr", and the
    /// optimiser's own ("momentum"; "beta1", "beta2", "eps"), then "l2" and "clip_norm" (0 = off).
    static member StepNumbers(config: Config, t: int64) : KeyValuePair<string, float>[] =
        let hyper = config.Hyper

        let own =
            match hyper.Optimizer with
            | Optim.Sgd _ -> []
            | Optim.Momentum(_, mu) -> [ "momentum", mu ]
            | Optim.Adam(_, b1, b2, eps) -> [ "beta1", b1; "beta2", b2; "eps", eps ]

        [
            "lr", Step.Hyper.lrAt hyper t
            "base_lr", Optim.OptimizerSpec.lr hyper.Optimizer
        ]
        @ own
        @ [ "l2", hyper.L2; "clip_norm", hyper.ClipNorm ]
        |> List.map KeyValuePair
        |> Array.ofList

    /// The learning-rate range test (LrFinder): `steps` steps from rate `lo` to `hi`.
    static member LrFind(config: Config, train: Functional.Data.Images, lo: float, hi: float, steps: int) =
        LrFinder.run config train lo hi steps

    static member CreateTrainer(config: Config, train: Functional.Data.Images) : Trainer =
        Training.RestoreTrainer(config, train, null, 0L)

    /// A trainer that continues from a checkpoint's state (State()'s tensors) after `step` steps; a state of weights
    /// alone (no optimizer.* tensors) starts the optimiser's moments at zero.
    static member RestoreTrainer
        (config: Config, train: Functional.Data.Images, state: NamedArray[], step: int64)
        : Trainer =
        if train.Features <> config.Inputs then
            invalidArg
                "train"
                (sprintf "images have %d values but the network's input is %d" train.Features config.Inputs)

        match config.Precision with
        | Float64 -> TrainerOf<float>(config, train, state, step) :> Trainer
        | Float32 -> TrainerOf<float32>(config, train, state, step) :> Trainer
