namespace Functional.Cli

open Argu
open Functional
open Functional.Optim
open Functional.Arch
open Functional.Cli.Parsing

/// What train's training options give: the run's maths and how long and on what it stops.
type internal TrainingPart =
    {
        Config: Config
        Epochs: int
        EarlyStop: int
        Monitor: string
        Keep: string
        Schedule: Schedule.Request
        ScheduleGiven: bool
    }

/// The training options of train: optimiser, rate, batch, regularisation, schedule, distortions, attacks, stopping.
module internal TrainingGroup =
    let private parseBatch (text: string) =
        if System.String.Equals(text.Trim(), "full", System.StringComparison.OrdinalIgnoreCase) then
            Ok 0
        else
            match parseInt text with
            | Some n when n >= 1 -> Ok n
            | Some 0 ->
                Error "option '--batch' must be >= 1; for one batch of the whole training set write '--batch full'."
            | _ -> Error $"option '--batch' must be a positive integer or 'full', but was '%s{text}'."

    let private schedule (r: ParseResults<TrainArgs>) (p: Presets.Preset) (checks: Checks) =
        let main =
            match r.TryGetResult TrainArgs.Schedule with
            | Some text ->
                checks.Result(
                    Schedule.Request.parse text
                    |> Result.mapError (fun e -> $"option '--schedule': %s{e}."),
                    p.Schedule
                )
            | None -> p.Schedule

        match r.TryGetResult TrainArgs.Warmup with
        | Some w ->
            checks.Require (finite w && w >= 0.0) "warmup" ">= 0 epochs" w
            { main with Warmup = w }
        | None -> main

    let private augment (r: ParseResults<TrainArgs>) (c0: Config) (arch: Arch) (checks: Checks) =
        match r.TryGetResult TrainArgs.Augment with
        | Some text ->
            checks.Result(
                Augment.Augment.parse text
                |> Result.mapError (fun e -> $"option '--augment': %s{e}."),
                c0.Augment
            )
        // The preset's distortions are for images: a network of another input (a table's) goes without.
        | None when (Augment.Augment.imageSize arch.Input).IsNone -> Augment.Augment.none
        | None -> c0.Augment

    let private adversarial (r: ParseResults<TrainArgs>) (c0: Config) (checks: Checks) =
        let weight =
            r.GetResult(
                TrainArgs.Adversarial_Weight,
                defaultValue =
                    (c0.Adversarial
                     |> Option.map (fun a -> a.Weight)
                     |> Option.defaultValue Attacks.Adversarial.defaultWeight)
            )

        checks.Require (finite weight && weight >= 0.0 && weight <= 1.0) "adversarial-weight" "in [0, 1]" weight

        let tradesWeighed (a: Attacks.Adversarial) =
            if a.Trades > 0.0 && r.Contains TrainArgs.Adversarial_Weight then
                checks.Add
                    "option '--adversarial-weight' does not apply to TRADES, which weighs its terms by its beta: --adversarial trades:EPS:STEPS:BETA."

        match r.TryGetResult TrainArgs.Adversarial, c0.Adversarial with
        | Some text, _ ->
            let a =
                checks.Result(
                    Attacks.Adversarial.parse weight text
                    |> Result.map Some
                    |> Result.mapError (fun e -> $"option '--adversarial': %s{e}."),
                    None
                )

            a |> Option.iter tradesWeighed
            a
        | None, Some a when a.Trades > 0.0 ->
            tradesWeighed a
            Some a
        | None, Some a -> Some { a with Weight = weight }
        | None, None ->
            if r.Contains TrainArgs.Adversarial_Weight then
                checks.Add "option '--adversarial-weight' goes with '--adversarial'."

            None

    /// Early stopping and the epoch kept watch the validation set: without one, they are refused.
    let private stopping (r: ParseResults<TrainArgs>) (hasValidation: bool) (checks: Checks) =
        let earlyStop = r.GetResult(TrainArgs.Early_Stop, defaultValue = 0)
        checks.Require (earlyStop >= 0) "early-stop" ">= 0 (0 = off)" earlyStop

        if earlyStop > 0 && not hasValidation then
            checks.Add
                "option '--early-stop' watches the validation set: give --validation a fraction above 0 or a file."

        let keep =
            match r.TryGetResult TrainArgs.Keep with
            | Some Values.Keep.Best when not hasValidation ->
                checks.Add
                    "option '--keep best' chooses by the validation set: give --validation a fraction above 0 or a file."

                "last"
            | Some k -> ValueOf.keep k
            | None -> if hasValidation then "best" else "last"

        let monitor =
            r.GetResult(TrainArgs.Monitor, defaultValue = Watched.Monitor.Loss)
            |> ValueOf.monitor

        earlyStop, monitor, keep

    let parse (r: ParseResults<TrainArgs>) (p: Presets.Preset) (arch: Arch) (hasValidation: bool) (checks: Checks) =
        let c0 = p.Config

        let pick (case: Quotations.Expr<'a -> TrainArgs>) (f: 'a -> 'b) (fallback: 'b) =
            match r.TryGetResult case with
            | Some v -> f v
            | None -> fallback

        let optName =
            pick <@ TrainArgs.Optimizer @> ValueOf.optimizerName (OptimizerSpec.name c0.Optimizer)

        let momentum0 =
            match c0.Optimizer with
            | Momentum(_, mu) -> mu
            | _ -> Config.defaultMomentum

        // An optimizer other than the preset's brings its own default rate.
        let lr =
            r.GetResult(
                TrainArgs.Lr,
                defaultValue =
                    (if optName = OptimizerSpec.name c0.Optimizer then
                         c0.Lr
                     else
                         Config.defaultLr optName)
            )

        let momentum = r.GetResult(TrainArgs.Momentum, defaultValue = momentum0)

        let batch =
            match r.TryGetResult TrainArgs.Batch with
            | Some text -> checks.Result(parseBatch text, c0.Batch)
            | None -> c0.Batch

        let l2 = r.GetResult(TrainArgs.L2, defaultValue = c0.L2)
        let epochs = r.GetResult(TrainArgs.Epochs, defaultValue = p.Epochs)
        let earlyStop, monitor, keep = stopping r hasValidation checks
        let scheduleRequest = schedule r p checks
        let augment = augment r c0 arch checks
        let adversarial = adversarial r c0 checks

        if monitor = "robust" && adversarial.IsNone then
            checks.Add
                "option '--monitor robust' attacks the validation set at the run's adversarial epsilon: give --adversarial."

        if monitor = "robust" && not hasValidation then
            checks.Add
                "option '--monitor robust' watches the validation set: give --validation a fraction above 0 or a file."

        checks.Require (finite lr && lr > 0.0) "lr" "> 0" lr
        checks.Require (finite l2 && l2 >= 0.0) "l2" ">= 0" l2
        let clipNorm = r.GetResult(TrainArgs.Clip_Norm, defaultValue = c0.ClipNorm)
        checks.Require (finite clipNorm && clipNorm >= 0.0) "clip-norm" ">= 0 (0 = off)" clipNorm
        checks.Require (finite momentum && momentum >= 0.0 && momentum < 1.0) "momentum" "in [0, 1)" momentum
        checks.Require (epochs >= 1) "epochs" ">= 1" epochs
        checks.Require (epochs <= MaxEpochs) "epochs" "at most 1,000,000" epochs

        let optimizer =
            match Config.optimizer optName lr momentum with
            | Ok o -> o
            | Error e ->
                checks.Add e
                c0.Optimizer

        {
            Config =
                {
                    Arch = arch
                    Loss = pick <@ TrainArgs.Loss @> ValueOf.loss c0.Loss
                    Reduction = pick <@ TrainArgs.Reduction @> ValueOf.reduction c0.Reduction
                    Init = pick <@ TrainArgs.Init @> ValueOf.init c0.Init
                    Optimizer = optimizer
                    L2 = l2
                    Scale = pick <@ TrainArgs.Scale @> ValueOf.scale c0.Scale
                    Seed = r.GetResult(TrainArgs.Seed, defaultValue = c0.Seed)
                    Precision = pick <@ TrainArgs.Precision @> ValueOf.precision c0.Precision
                    Batch = batch
                    // Resolved to steps by the host once the training set's size is known.
                    Schedule = Schedule.Constant
                    Augment = augment
                    Adversarial = adversarial
                    ClipNorm = clipNorm
                }
            Epochs = epochs
            EarlyStop = earlyStop
            Monitor = monitor
            Keep = keep
            Schedule = scheduleRequest
            ScheduleGiven = r.Contains TrainArgs.Schedule || r.Contains TrainArgs.Warmup
        }
