namespace Functional.Cli

open Argu
open Functional
open Functional.Cli.Parsing

type TrainOptions =
    {
        Data: DataOptions
        /// The run's maths, typed: architecture, loss, init, optimiser, scale, seed, precision, batch.
        Config: Config
        Epochs: int
        /// Run directory; null = runs/<timestamp>.
        Run: string | null
        /// Extra checkpoint every N steps; 0 = only at epoch ends and at the end.
        CheckpointEvery: int
        /// A journal line every N steps; 0 = by batch size (1,000 below batch 32, else 100).
        JournalEvery: int
        /// 0 = auto.
        Threads: int
        /// OpenBLAS's kernels: a family ("Haswell"), "auto"; null = the default (Haswell).
        Kernels: string | null
        Quiet: bool
        /// Rewrite RUN/report.html after each epoch (train --report).
        Report: bool
        /// The preset the other fields started from (Presets.names).
        Preset: string
        /// Use only the first TrainCount training images; 0 = all.
        TrainCount: int
        /// The fraction of the training set held out for validation (0 = none); ignored with ValidationFile.
        Validation: float
        /// A separate validation set; null = a split of the training set.
        ValidationFile: string | null
        ValidationLabels: string | null
        /// Print the test accuracy every epoch (not only at the end).
        TestEveryEpoch: bool
        /// Stop after this many epochs without a better validation figure; 0 = never.
        EarlyStop: int
        /// "loss" or "accuracy": the validation figure early stopping and keep-best watch.
        Monitor: string
        /// "stop", "skip" or "skip:K": what a step that would make the weights non-finite does (checked by the host).
        OnNonFinite: string
        /// "best" or "last": the epoch model.safetensors holds.
        Keep: string
        /// The learning-rate schedule in epochs, resolved to steps once the training set's size is known.
        Schedule: Schedule.Request
        /// --schedule or --warmup was given (a run started --from keeps its parent's schedule otherwise).
        ScheduleGiven: bool
        /// RUN or RUN@STEP to start from (--from); null = from the seed.
        From: string | null
    }

    /// The options that train `config` for `epochs` epochs from `preset`, everything else as train's defaults for
    /// that preset (for commands that print a ready-to-run command).
    static member Of(data: DataOptions, config: Config, epochs: int, preset: string, trainCount: int) =
        let p = Presets.find preset
        let hasValidation = p.Validation > 0.0

        {
            Data = data
            Config = config
            Epochs = epochs
            Run = null
            CheckpointEvery = 0
            JournalEvery = 0
            Threads = 0
            Kernels = null
            Quiet = false
            Report = false
            Preset = preset
            TrainCount = trainCount
            Validation = p.Validation
            ValidationFile = null
            ValidationLabels = null
            TestEveryEpoch = false
            EarlyStop = 0
            Monitor = "loss"
            OnNonFinite = "stop"
            Keep = (if hasValidation then "best" else "last")
            Schedule = p.Schedule
            ScheduleGiven = false
            From = null
        }

/// `functional train`: its options are TrainArgs (Options/TrainArgs.fs), parsed group by group.
module internal Train =
    /// `basis`: the settings the options change (a preset's, or with --from the parent run's).
    let parse (basis: Presets.Preset option) (r: ParseResults<TrainArgs>) (checks: Checks) =

        if basis.IsSome && r.Contains TrainArgs.Preset then
            checks.Add "options '--from' and '--preset' both choose the settings to start from: drop one."

        let p =
            match basis, r.TryGetResult TrainArgs.Preset with
            | Some b, _ -> b
            | None, Some name -> checks.Result(Presets.tryFind "--preset" name, Presets.modern)
            | None, None -> Presets.modern

        let trainCount = DataGroup.trainCount r p checks
        let validation, validationFile, validationLabels = DataGroup.validation r p checks
        let hasValidation = validation > 0.0 || not (isNull validationFile)
        let arch = NetworkGroup.parse r p checks
        let training = TrainingGroup.parse r p arch hasValidation checks
        let output = OutputGroup.parse r checks

        let options =
            {
                Data = DataGroup.parse r checks
                Config = training.Config
                Epochs = training.Epochs
                Run = output.Run
                CheckpointEvery = output.CheckpointEvery
                JournalEvery = output.JournalEvery
                Threads = output.Threads
                Kernels = output.Kernels
                Quiet = output.Quiet
                Report = r.Contains TrainArgs.Report
                Preset = p.Name
                TrainCount = trainCount
                Validation = validation
                ValidationFile = validationFile
                ValidationLabels = validationLabels
                TestEveryEpoch = output.TestEveryEpoch
                EarlyStop = training.EarlyStop
                Monitor = training.Monitor
                OnNonFinite = r.GetResult(TrainArgs.On_Nonfinite, defaultValue = "stop")
                Keep = training.Keep
                Schedule = training.Schedule
                ScheduleGiven = training.ScheduleGiven
                From = r.TryGetResult TrainArgs.From |> toNull
            }

        if checks.Errors.IsEmpty then
            match Config.problem options.Config with
            | Some problem -> checks.Add $"%s{problem}."
            | None -> ()

        options
