namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Optim
open Functional.Data
open Functional.Arch

/// The size image folders are resampled to (--resize WIDTHxHEIGHT).
type ImageSize = { Rows: int; Cols: int }

/// Data files for training; null = the shipped MNIST files.
type DataOptions =
    {
        Train: string | null
        TrainLabels: string | null
        Test: string | null
        TestLabels: string | null
        /// --header / --no-header; null = detect.
        Header: Nullable<bool>
        /// --label-column as written; null = first.
        LabelColumn: string | null
        /// --scale for tables (none, unit or standard); null = not given.
        FeatureScale: string | null
        /// --classes FILE.
        Classes: string | null
        AllowOneClass: bool
        /// --layers gave only a hidden size, or no network was given (neither --layers nor --arch): the inputs and
        /// outputs come from the data (a table's features and classes, an image folder's class folders).
        LayersFromData: bool
        /// Resample the images of image folders to this size; None = they must all have one size.
        Resize: ImageSize option
    }

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
            Keep = (if hasValidation then "best" else "last")
            Schedule = p.Schedule
            ScheduleGiven = false
            From = null
        }

/// `functional doctor`: the training configuration to examine (Run, Quiet unused).
type DoctorOptions =
    {
        Train: TrainOptions
        Json: bool
        /// Histograms PNG path; null = none.
        Png: string | null
    }

/// `functional lr-find`: the configuration of Train, its rate searched from From to To in Steps steps.
type LrFindOptions =
    {
        Train: TrainOptions
        From: float
        To: float
        Steps: int
        Png: string
        Json: bool
    }

/// `functional gradcheck`: the network and loss of Train, checked on Examples examples, Params per layer.
type GradcheckOptions =
    {
        Train: TrainOptions
        Examples: int
        Params: int
        Json: bool
        /// A model whose weights are checked; null = the configured network at initialisation.
        Model: string | null
    }

type EvalOptions =
    {
        /// Model file or run directory.
        Model: string
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// None = the model's own.
        Scale: Scale option
        Seed: int
        Threads: int
        /// PNG file for the confusion-matrix heatmap; null = none.
        Png: string | null
    }

type PredictOptions =
    {
        /// Model file or run directory.
        Model: string
        /// Pictures of digits (PNG, JPEG) to prepare as MNIST's were and predict; empty = predict from Data.
        Images: string array
        /// The PNG showing each picture beside the 28x28 image the network saw; null = none.
        Show: string | null
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// None = the model's own.
        Scale: Scale option
        /// None = every image, as CSV.
        Index: int option
        /// The CSV file; null = standard output.
        Out: string | null
        Threads: int
    }

type BenchOptions =
    {
        Train: string | null
        TrainLabels: string | null
        Test: string | null
        TestLabels: string | null
        Json: bool
        Threads: int
        /// OpenBLAS's kernels; null = the default (Haswell).
        Kernels: string | null
        /// Time budget per benchmark case, in seconds.
        Seconds: double
        /// "seed", "lenet5", "cnn", "rnn", "lstm" or "rbf"; null = all.
        Network: string | null
        /// A preset (Presets.names) timed alone at its own batch; null = the bench's cases.
        Preset: string | null
        /// Per-layer times instead of whole steps.
        Profile: bool
    }

type ResumeOptions =
    {
        Run: string
        /// Total epochs to reach; 0 = the run's own.
        Epochs: int
        Threads: int
        Quiet: bool
    }

type ReplayOptions =
    {
        Run: string
        Step: int64
        /// Float64 to report gradient drift; None = no recomputation.
        Precision: Precision option
        Gradcheck: bool
        Params: int
        /// Folder for the safetensors dump; null = none.
        Dump: string | null
        /// 0 = the run's own.
        Threads: int
        /// Replay with this machine's kernels where it cannot use the run's.
        OtherKernels: bool
    }

type DriftOptions =
    {
        Run: string
        /// The run's step to start from; 0 = the initial weights.
        From: int64
        /// Steps to train both ways; 0 = one epoch.
        Steps: int
        Every: int
        /// The PNG; null = <run>/drift.png.
        Out: string | null
        /// Test images compared; 0 = all.
        TestCount: int
        /// 0 = the run's own.
        Threads: int
        OtherKernels: bool
        /// One JSON object instead of the table.
        Json: bool
    }

type PlotOptions =
    {
        /// The run folder.
        Run: string
        /// The PNG to write; null = <run>/curves.png.
        Out: string | null
    }

type ShowOptions =
    {
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// Images shown, 1..400.
        Count: int
        /// Index of the first image shown.
        Start: int
        /// Model file or run directory whose predictions are shown; null = labels only.
        Model: string | null
        /// None = the model's own.
        Scale: Scale option
        /// The PNG to write.
        Out: string
        Threads: int
        /// Draw this model's first convolution filters instead of images; null = images.
        Filters: string | null
        /// Draw image Start's augmented versions (one per epoch) instead; None = images.
        Augmented: Augment.Augment option
        Seed: int
    }

/// `functional sweep`: its own options; every other option is a train option, kept as typed.
type SweepOptions =
    {
        /// A JSON spec file or a sweep folder; null = the command line alone.
        Spec: string | null
        /// null = from the spec file's name, else the swept options' names.
        Name: string | null
        /// The folder holding sweeps.
        Dir: string
        /// "local" | "slurm"
        Executor: string
        /// Points run at once by the local executor; 0 = cores / threads.
        Jobs: int
        /// BLAS threads per point; 0 = 1.
        Threads: int
        /// Extra sbatch options as one string; "" = none.
        SlurmArgs: string
        /// Run only this point of the sweep folder Spec; -1 = all.
        Task: int
        /// The most points a sweep may have.
        MaxPoints: int
        /// The train options, as typed: "--lr" "0.1,0.3" "--seed" "1..3" "--no-bias" ...
        TrainArgs: string[]
    }

/// `functional runs`.
type RunsOptions =
    {
        /// null = runs/ and sweeps/.
        Dir: string | null
    }

/// `functional compare`.
type CompareOptions =
    {
        /// Run folders and sweep folders.
        Runs: string[]
        /// null = SWEEP/compare.png for one sweep, else compare.png.
        Png: string | null
    }

/// `functional report`.
type ReportOptions =
    {
        /// Run folders and sweep folders.
        Runs: string[]
        /// null = RUN/report.html for one run or sweep, else report.html.
        Out: string | null
    }

/// `functional export`.
type ExportOptions = { Model: string; Onnx: string }

/// `functional inspect`.
type InspectOptions =
    {
        Model: string
        Rehash: bool
        Json: bool
    }

/// `functional import`.
type ImportOptions =
    {
        File: string
        Arch: Arch
        Scale: Scale
        /// null = FILE's name with .model.safetensors.
        Out: string | null
    }

/// `functional attack`: the attacks to run against a model, every ε still in the units it was given in.
type AttackOptions =
    {
        /// Model file or run directory.
        Model: string
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        Methods: Attacks.Method[]
        Eps: float[]
        /// ε and α are grey levels (0..255) rather than [0, 1] units.
        Pixels: bool
        Steps: int
        /// NaN = 2.5·ε/steps.
        Alpha: float
        Restarts: int
        /// None = clean for FGSM, random for PGD.
        RandomStart: bool option
        /// -1 = untargeted.
        Target: int
        /// 0 = all.
        Count: int
        Seed: int
        Json: bool
        Png: string | null
        Grid: string | null
        Threads: int
    }

/// A train option: its name on the command line ("--lr") and whether a value follows it.
type TrainOption = { Name: string; TakesValue: bool }

type Command =
    | Train of TrainOptions
    | Eval of EvalOptions
    | Predict of PredictOptions
    | Bench of BenchOptions
    | Resume of ResumeOptions
    | Replay of ReplayOptions
    | Drift of DriftOptions
    | Gradcheck of GradcheckOptions
    | Doctor of DoctorOptions
    | Plot of PlotOptions
    | Show of ShowOptions
    | Sweep of SweepOptions
    | Runs of RunsOptions
    | Compare of CompareOptions
    | Report of ReportOptions
    | Export of ExportOptions
    | Inspect of InspectOptions
    | Import of ImportOptions
    | Attack of AttackOptions
    | LrFind of LrFindOptions

type Parsed =
    | Run of Command
    /// The usage text (--help, -h, or no arguments); exit code 0.
    | Help of text: string
    /// What is wrong, plus a hint to run `functional <command> --help`; exit code 2.
    | Invalid of message: string
    /// `functional --version`; exit code 0.
    | Version
    /// No command at all: the command list, printed to stderr; exit code 2.
    | NoCommand of text: string

module Parser =
    module A = Functional.Cli.Arguments

    let private nl = Environment.NewLine

    /// OpenBLAS's pool as Debian builds it (MAX_THREADS=64): a larger --threads would be cut to 64 in silence while
    /// run.json recorded the number asked for.
    let private maxThreads = 64

    let private commandNames =
        [
            "train"
            "eval"
            "predict"
            "bench"
            "resume"
            "replay"
            "drift"
            "gradcheck"
            "doctor"
            "plot"
            "show"
            "sweep"
            "export"
            "inspect"
            "import"
            "runs"
            "compare"
            "report"
            "attack"
            "lr-find"
        ]

    /// Help fits the terminal it is shown in (80 columns when piped, so files and tests see one layout).
    let private helpWidth () =
        try
            if Console.IsOutputRedirected || Console.WindowWidth <= 0 then
                80
            else
                max 60 (min Console.WindowWidth 120)
        with :? System.IO.IOException ->
            80

    let private parser =
        lazy
            (ArgumentParser.Create<A.FunctionalArgs>(
                programName = "functional",
                usageStringCharacterWidth = helpWidth ()
            ))

    let private hint (command: string option) =
        match command with
        | Some c -> $"Run 'functional %s{c} --help' for usage."
        | None -> "Run 'functional --help' for usage."

    let private invalid command (lines: string list) =
        Invalid(String.Join(nl, lines @ [ hint command ]))

    let private scale =
        function
        // none and standard are tables' transforms (FeatureScale): their targets are unit's 0/1.
        | A.Values.Scale.Unit
        | A.Values.Scale.None
        | A.Values.Scale.Standard -> Unit
        | A.Values.Scale.Book
        | A.Values.Scale.Seed -> Book
        | A.Values.Scale.Offset -> Offset

    let private activation =
        function
        | A.Values.Activation.Sigmoid -> Sigmoid
        | A.Values.Activation.Tanh -> Tanh
        | A.Values.Activation.Relu -> Relu

    let private output =
        function
        | A.Values.Output.Sigmoid -> Sigmoid
        | A.Values.Output.Softmax -> Softmax

    let private loss =
        function
        | A.Values.Loss.Mse -> Mse
        | A.Values.Loss.Ce
        | A.Values.Loss.Cross_Entropy -> CrossEntropy

    let private init =
        function
        | A.Values.Init.Normal_Fanin -> NormalFanIn
        | A.Values.Init.Normal_Fanout -> NormalFanOut
        | A.Values.Init.Xavier -> Xavier
        | A.Values.Init.He -> He

    let private optimizerName =
        function
        | A.Values.Optimizer.Sgd -> "sgd"
        | A.Values.Optimizer.Momentum -> "momentum"
        | A.Values.Optimizer.Adam -> "adam"

    let private precision =
        function
        | A.Values.Precision.Float32 -> Float32
        | A.Values.Precision.Float64 -> Float64

    let private reduction =
        function
        | A.Values.Reduction.Mean -> Mean
        | A.Values.Reduction.Sum -> Sum

    let private preset =
        function
        | A.Values.Preset.Modern -> "modern"
        | A.Values.Preset.Book -> "book"
        | A.Values.Preset.Seed -> "seed"
        | A.Values.Preset.Lenet5 -> "lenet5"
        | A.Values.Preset.Cnn -> "cnn"
        | A.Values.Preset.Robust_Mlp -> "robust-mlp"
        | A.Values.Preset.Robust_Cnn -> "robust-cnn"
        | A.Values.Preset.Rnn -> "rnn"
        | A.Values.Preset.Lstm -> "lstm"
        | A.Values.Preset.Rbf -> "rbf"

    let private toNull (value: string option) : string | null =
        match value with
        | Some s -> s
        | None -> null

    let private parseInt (s: string) =
        match Int32.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
        | true, n -> Some n
        | _ -> None

    let private parseLayers (text: string) =
        let sizes = text.Split ',' |> Array.map parseInt

        if sizes.Length >= 1 && sizes |> Array.forall (fun s -> s.IsSome && s.Value > 0) then
            Ok(sizes |> Array.map Option.get)
        else
            Error
                $"option '--layers' needs comma-separated sizes, all > 0 (e.g. 784,256,10, or one hidden size alone), but was '%s{text}'."

    let private parseBatch (text: string) =
        if String.Equals(text.Trim(), "full", StringComparison.OrdinalIgnoreCase) then
            Ok 0
        else
            match parseInt text with
            | Some n when n >= 1 -> Ok n
            | Some 0 ->
                Error "option '--batch' must be >= 1; for one batch of the whole training set write '--batch full'."
            | _ -> Error $"option '--batch' must be a positive integer or 'full', but was '%s{text}'."

    /// "WIDTHxHEIGHT", each 1..4096.
    let private parseSize (text: string) =
        match text.ToLowerInvariant().Split 'x' |> Array.map parseInt with
        | [| Some w; Some h |] when w >= 1 && h >= 1 && w <= 4096 && h <= 4096 -> Ok { Rows = h; Cols = w }
        | _ -> Error $"option '--resize' must be WIDTHxHEIGHT, each 1..4096 (e.g. 28x28), but was '%s{text}'."

    /// Collects the validation errors of one command.
    type private Checks() =
        let errors = ResizeArray<string>()
        member _.Errors = List.ofSeq errors
        member _.Add(message: string) = errors.Add message

        member this.Require (ok: bool) (option: string) (rule: string) (value: obj) =
            if not ok then
                this.Add $"option '--%s{option}' must be %s{rule}, but was %s{string value}."

        member this.Result(result: Result<'T, string>, fallback: 'T) =
            match result with
            | Ok v -> v
            | Error e ->
                this.Add e
                fallback

    let private finite (x: float) = Double.IsFinite x

    /// The image shape of the shipped data (and of MNIST-style IDX files): what a network whose first layer
    /// works on images takes unless its --arch starts with "input …".
    let imageShape = [| 1; 28; 28 |]

    /// An --arch text as an architecture: the syntax, then the shapes through every layer.
    let parseArch (text: string) : Result<Arch, string> =
        Arch.parseChecked imageShape text
        |> Result.mapError (fun e -> $"option '--arch': %s{e}.")

    /// The architecture: --arch as written, or the preset's dense network changed by --layers, --activation,
    /// --output and --no-bias.
    let private archOf (r: ParseResults<A.TrainArgs>) (p: Presets.Preset) (checks: Checks) =
        let denseGiven =
            r.Contains A.TrainArgs.Layers
            || r.Contains A.TrainArgs.Activation
            || r.Contains A.TrainArgs.Output
            || r.Contains A.TrainArgs.No_Bias

        match r.TryGetResult A.TrainArgs.Arch with
        | Some text ->
            if denseGiven then
                checks.Add
                    "option '--arch' describes the whole network: drop --layers, --activation, --output and --no-bias, or write them into --arch."

            checks.Result(parseArch text, p.Config.Arch)
        | None when not denseGiven -> p.Config.Arch
        | None ->
            let sizes0, hidden0, output0, bias0 =
                match Arch.denseParts p.Config.Arch with
                | Some parts -> parts
                | None -> [| 784; 512; 10 |], Relu, Softmax, true

            let sizes =
                match r.TryGetResult A.TrainArgs.Layers with
                | Some text -> checks.Result(parseLayers text, sizes0)
                | None -> sizes0

            let hidden =
                r.TryGetResult A.TrainArgs.Activation
                |> Option.map activation
                |> Option.defaultValue hidden0

            let out =
                r.TryGetResult A.TrainArgs.Output
                |> Option.map output
                |> Option.defaultValue output0

            let bias = bias0 && not (r.Contains A.TrainArgs.No_Bias)

            // One size is a hidden layer whose ends the host takes from the data; until then, the preset's.
            let sizes =
                if sizes.Length = 1 then
                    [| sizes0[0]; sizes[0]; sizes0[sizes0.Length - 1] |]
                else
                    sizes

            if sizes.Length < 2 then
                p.Config.Arch
            else
                Arch.dense sizes hidden out bias

    /// `basis`: the settings the options change (a preset's, or with --from the parent run's).
    let private trainFrom (r: ParseResults<A.TrainArgs>) (checks: Checks) (basis: Presets.Preset option) =
        let presetName =
            r.GetResult(A.TrainArgs.Preset, defaultValue = A.Values.Preset.Modern) |> preset

        if basis.IsSome && r.Contains A.TrainArgs.Preset then
            checks.Add "options '--from' and '--preset' both choose the settings to start from: drop one."

        let p = basis |> Option.defaultWith (fun () -> Presets.find presetName)
        let presetName = p.Name
        let c0 = p.Config

        let pick (case: Quotations.Expr<'a -> A.TrainArgs>) (f: 'a -> 'b) (fallback: 'b) =
            match r.TryGetResult case with
            | Some v -> f v
            | None -> fallback

        let optName =
            pick <@ A.TrainArgs.Optimizer @> optimizerName (OptimizerSpec.name c0.Optimizer)

        let momentum0 =
            match c0.Optimizer with
            | Momentum(_, mu) -> mu
            | _ -> Config.defaultMomentum

        // An optimizer other than the preset's brings its own default rate.
        let lr =
            r.GetResult(
                A.TrainArgs.Lr,
                defaultValue =
                    (if optName = OptimizerSpec.name c0.Optimizer then
                         c0.Lr
                     else
                         Config.defaultLr optName)
            )

        let momentum = r.GetResult(A.TrainArgs.Momentum, defaultValue = momentum0)

        let batch =
            match r.TryGetResult A.TrainArgs.Batch with
            | Some text -> checks.Result(parseBatch text, c0.Batch)
            | None -> c0.Batch

        let l2 = r.GetResult(A.TrainArgs.L2, defaultValue = c0.L2)
        let epochs = r.GetResult(A.TrainArgs.Epochs, defaultValue = p.Epochs)
        let threads = r.GetResult(A.TrainArgs.Threads, defaultValue = 0)
        let checkpointEvery = r.GetResult(A.TrainArgs.Checkpoint_Every, defaultValue = 0)
        let journalEvery = r.GetResult(A.TrainArgs.Journal_Every, defaultValue = 0)
        checks.Require (checkpointEvery >= 0) "checkpoint-every" ">= 0" checkpointEvery
        checks.Require (journalEvery >= 0) "journal-every" ">= 1 (or 0 for the default)" journalEvery
        let trainCount = r.GetResult(A.TrainArgs.Train_Count, defaultValue = p.TrainCount)
        checks.Require (trainCount >= 0) "train-count" ">= 0 (0 = all)" trainCount

        // --validation is a fraction when it reads as a number, else a file.
        let validation, validationFile =
            match r.TryGetResult A.TrainArgs.Validation with
            | None -> p.Validation, null
            | Some text ->
                match Double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, f ->
                    checks.Require (f >= 0.0 && f < 1.0) "validation" "a fraction in [0, 1) or a file" text
                    f, null
                | _ -> 0.0, text

        let validationLabels = r.TryGetResult A.TrainArgs.Validation_Labels |> toNull

        if not (isNull validationLabels) && isNull validationFile then
            checks.Add "option '--validation-labels' goes with '--validation FILE' (an IDX image file)."

        let hasValidation = validation > 0.0 || not (isNull validationFile)
        let earlyStop = r.GetResult(A.TrainArgs.Early_Stop, defaultValue = 0)
        checks.Require (earlyStop >= 0) "early-stop" ">= 0 (0 = off)" earlyStop

        if earlyStop > 0 && not hasValidation then
            checks.Add
                "option '--early-stop' watches the validation set: give --validation a fraction above 0 or a file."

        let keep =
            match r.TryGetResult A.TrainArgs.Keep with
            | Some A.Values.Keep.Best when not hasValidation ->
                checks.Add
                    "option '--keep best' chooses by the validation set: give --validation a fraction above 0 or a file."

                "last"
            | Some A.Values.Keep.Best -> "best"
            | Some A.Values.Keep.Last -> "last"
            | None -> if hasValidation then "best" else "last"

        let monitor =
            match r.GetResult(A.TrainArgs.Monitor, defaultValue = A.Watched.Monitor.Loss) with
            | A.Watched.Monitor.Loss -> "loss"
            | A.Watched.Monitor.Accuracy -> "accuracy"

        let scheduleRequest =
            let main =
                match r.TryGetResult A.TrainArgs.Schedule with
                | Some text ->
                    checks.Result(
                        Schedule.Request.parse text
                        |> Result.mapError (fun e -> $"option '--schedule': %s{e}."),
                        p.Schedule
                    )
                | None -> p.Schedule

            match r.TryGetResult A.TrainArgs.Warmup with
            | Some w ->
                checks.Require (finite w && w >= 0.0) "warmup" ">= 0 epochs" w
                { main with Warmup = w }
            | None -> main

        let arch = archOf r p checks

        let augment =
            match r.TryGetResult A.TrainArgs.Augment with
            | Some text ->
                checks.Result(
                    Augment.Augment.parse text
                    |> Result.mapError (fun e -> $"option '--augment': %s{e}."),
                    c0.Augment
                )
            // The preset's distortions are for images: a network of another input (a table's) goes without.
            | None when (Augment.Augment.imageSize arch.Input).IsNone -> Augment.Augment.none
            | None -> c0.Augment

        let adversarial =
            let weight =
                r.GetResult(
                    A.TrainArgs.Adversarial_Weight,
                    defaultValue =
                        (c0.Adversarial
                         |> Option.map (fun a -> a.Weight)
                         |> Option.defaultValue Attacks.Adversarial.defaultWeight)
                )

            checks.Require (finite weight && weight >= 0.0 && weight <= 1.0) "adversarial-weight" "in [0, 1]" weight

            match r.TryGetResult A.TrainArgs.Adversarial, c0.Adversarial with
            | Some text, _ ->
                checks.Result(
                    Attacks.Adversarial.parse weight text
                    |> Result.map Some
                    |> Result.mapError (fun e -> $"option '--adversarial': %s{e}."),
                    None
                )
            | None, Some a -> Some { a with Weight = weight }
            | None, None ->
                if r.Contains A.TrainArgs.Adversarial_Weight then
                    checks.Add "option '--adversarial-weight' goes with '--adversarial'."

                None

        checks.Require (finite lr && lr > 0.0) "lr" "> 0" lr
        checks.Require (finite l2 && l2 >= 0.0) "l2" ">= 0" l2
        let clipNorm = r.GetResult(A.TrainArgs.Clip_Norm, defaultValue = c0.ClipNorm)
        checks.Require (finite clipNorm && clipNorm >= 0.0) "clip-norm" ">= 0 (0 = off)" clipNorm
        checks.Require (finite momentum && momentum >= 0.0 && momentum < 1.0) "momentum" "in [0, 1)" momentum
        checks.Require (epochs >= 1) "epochs" ">= 1" epochs
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        let optimizer =
            match Config.optimizer optName lr momentum with
            | Ok o -> o
            | Error e ->
                checks.Add e
                c0.Optimizer

        if r.Contains A.TrainArgs.Header && r.Contains A.TrainArgs.No_Header then
            checks.Add "options '--header' and '--no-header' contradict each other: give one."

        let options =
            {
                Data =
                    {
                        Train = r.TryGetResult A.TrainArgs.Train |> toNull
                        TrainLabels = r.TryGetResult A.TrainArgs.Train_Labels |> toNull
                        Test = r.TryGetResult A.TrainArgs.Test |> toNull
                        TestLabels = r.TryGetResult A.TrainArgs.Test_Labels |> toNull
                        Header =
                            if r.Contains A.TrainArgs.Header then Nullable true
                            elif r.Contains A.TrainArgs.No_Header then Nullable false
                            else Nullable()
                        LabelColumn = r.TryGetResult A.TrainArgs.Label_Column |> toNull
                        FeatureScale =
                            match r.TryGetResult A.TrainArgs.Scale with
                            | Some A.Values.Scale.None -> "none"
                            | Some A.Values.Scale.Unit -> "unit"
                            | Some A.Values.Scale.Standard -> "standard"
                            | _ -> null
                        Classes = r.TryGetResult A.TrainArgs.Classes |> toNull
                        AllowOneClass = r.Contains A.TrainArgs.Allow_One_Class
                        LayersFromData =
                            match r.TryGetResult A.TrainArgs.Layers with
                            | Some text -> text.Split(',').Length = 1
                            | None -> not (r.Contains A.TrainArgs.Arch)
                        Resize =
                            r.TryGetResult A.TrainArgs.Resize
                            |> Option.map (fun text -> checks.Result(parseSize text, { Rows = 28; Cols = 28 }))
                    }
                Config =
                    {
                        Arch = arch
                        Loss = pick <@ A.TrainArgs.Loss @> loss c0.Loss
                        Reduction = pick <@ A.TrainArgs.Reduction @> reduction c0.Reduction
                        Init = pick <@ A.TrainArgs.Init @> init c0.Init
                        Optimizer = optimizer
                        L2 = l2
                        Scale = pick <@ A.TrainArgs.Scale @> scale c0.Scale
                        Seed = r.GetResult(A.TrainArgs.Seed, defaultValue = c0.Seed)
                        Precision = pick <@ A.TrainArgs.Precision @> precision c0.Precision
                        Batch = batch
                        // Resolved to steps by the host once the training set's size is known.
                        Schedule = Schedule.Constant
                        Augment = augment
                        Adversarial = adversarial
                        ClipNorm = clipNorm
                    }
                Epochs = epochs
                Run = r.TryGetResult A.TrainArgs.Run |> toNull
                CheckpointEvery = checkpointEvery
                JournalEvery = journalEvery
                Threads = threads
                Kernels = r.TryGetResult A.TrainArgs.Kernels |> toNull
                Quiet = r.Contains A.TrainArgs.Quiet
                Report = r.Contains A.TrainArgs.Report
                Preset = presetName
                TrainCount = trainCount
                Validation = validation
                ValidationFile = validationFile
                ValidationLabels = validationLabels
                TestEveryEpoch = r.Contains A.TrainArgs.Test_Every_Epoch
                EarlyStop = earlyStop
                Monitor = monitor
                Keep = keep
                Schedule = scheduleRequest
                ScheduleGiven = r.Contains A.TrainArgs.Schedule || r.Contains A.TrainArgs.Warmup
                From = r.TryGetResult A.TrainArgs.From |> toNull
            }

        if checks.Errors.IsEmpty then
            match Config.problem options.Config with
            | Some problem -> checks.Add $"%s{problem}."
            | None -> ()

        options

    let private train r checks = trainFrom r checks None

    /// doctor and gradcheck take train's options: their results are re-read as train's and parsed by it.
    let private trainParser =
        lazy (ArgumentParser.Create<A.TrainArgs>(programName = "functional train"))

    let private asTrain (cases: A.TrainArgs list) (checks: Checks) =
        train (trainParser.Value.ToParseResults cases) checks

    let private doctor (r: ParseResults<A.DoctorArgs>) (checks: Checks) =
        let cases =
            r.GetAllResults()
            |> List.choose (function
                | A.DoctorArgs.Train f -> Some(A.TrainArgs.Train f)
                | A.DoctorArgs.Train_Labels f -> Some(A.TrainArgs.Train_Labels f)
                | A.DoctorArgs.Resize v -> Some(A.TrainArgs.Resize v)
                | A.DoctorArgs.Test f -> Some(A.TrainArgs.Test f)
                | A.DoctorArgs.Test_Labels f -> Some(A.TrainArgs.Test_Labels f)
                | A.DoctorArgs.Train_Count n -> Some(A.TrainArgs.Train_Count n)
                | A.DoctorArgs.Scale v -> Some(A.TrainArgs.Scale v)
                | A.DoctorArgs.Preset v -> Some(A.TrainArgs.Preset v)
                | A.DoctorArgs.Layers v -> Some(A.TrainArgs.Layers v)
                | A.DoctorArgs.Arch v -> Some(A.TrainArgs.Arch v)
                | A.DoctorArgs.Activation v -> Some(A.TrainArgs.Activation v)
                | A.DoctorArgs.Output v -> Some(A.TrainArgs.Output v)
                | A.DoctorArgs.Loss v -> Some(A.TrainArgs.Loss v)
                | A.DoctorArgs.Init v -> Some(A.TrainArgs.Init v)
                | A.DoctorArgs.No_Bias -> Some A.TrainArgs.No_Bias
                | A.DoctorArgs.Optimizer v -> Some(A.TrainArgs.Optimizer v)
                | A.DoctorArgs.Lr v -> Some(A.TrainArgs.Lr v)
                | A.DoctorArgs.L2 v -> Some(A.TrainArgs.L2 v)
                | A.DoctorArgs.Momentum v -> Some(A.TrainArgs.Momentum v)
                | A.DoctorArgs.Epochs v -> Some(A.TrainArgs.Epochs v)
                | A.DoctorArgs.Batch v -> Some(A.TrainArgs.Batch v)
                | A.DoctorArgs.Seed v -> Some(A.TrainArgs.Seed v)
                | A.DoctorArgs.Precision v -> Some(A.TrainArgs.Precision v)
                | A.DoctorArgs.Reduction v -> Some(A.TrainArgs.Reduction v)
                | A.DoctorArgs.Threads v -> Some(A.TrainArgs.Threads v)
                | A.DoctorArgs.Adversarial v -> Some(A.TrainArgs.Adversarial v)
                | A.DoctorArgs.Adversarial_Weight v -> Some(A.TrainArgs.Adversarial_Weight v)
                | A.DoctorArgs.Clip_Norm v -> Some(A.TrainArgs.Clip_Norm v)
                | A.DoctorArgs.Header -> Some A.TrainArgs.Header
                | A.DoctorArgs.No_Header -> Some A.TrainArgs.No_Header
                | A.DoctorArgs.Label_Column v -> Some(A.TrainArgs.Label_Column v)
                | A.DoctorArgs.Classes v -> Some(A.TrainArgs.Classes v)
                | A.DoctorArgs.Allow_One_Class -> Some A.TrainArgs.Allow_One_Class
                | A.DoctorArgs.Augment v -> Some(A.TrainArgs.Augment v)
                | A.DoctorArgs.Json
                | A.DoctorArgs.Png _ -> None)

        {
            DoctorOptions.Train = asTrain cases checks
            Json = r.Contains A.DoctorArgs.Json
            Png = r.TryGetResult A.DoctorArgs.Png |> toNull
        }
        |> Command.Doctor

    let private lrFind (r: ParseResults<A.Lr_FindArgs>) (checks: Checks) =
        let cases =
            r.GetAllResults()
            |> List.choose (function
                | A.Lr_FindArgs.Train f -> Some(A.TrainArgs.Train f)
                | A.Lr_FindArgs.Train_Labels f -> Some(A.TrainArgs.Train_Labels f)
                | A.Lr_FindArgs.Resize v -> Some(A.TrainArgs.Resize v)
                | A.Lr_FindArgs.Train_Count n -> Some(A.TrainArgs.Train_Count n)
                | A.Lr_FindArgs.Scale v -> Some(A.TrainArgs.Scale v)
                | A.Lr_FindArgs.Preset v -> Some(A.TrainArgs.Preset v)
                | A.Lr_FindArgs.Layers v -> Some(A.TrainArgs.Layers v)
                | A.Lr_FindArgs.Arch v -> Some(A.TrainArgs.Arch v)
                | A.Lr_FindArgs.Activation v -> Some(A.TrainArgs.Activation v)
                | A.Lr_FindArgs.Output v -> Some(A.TrainArgs.Output v)
                | A.Lr_FindArgs.Loss v -> Some(A.TrainArgs.Loss v)
                | A.Lr_FindArgs.Init v -> Some(A.TrainArgs.Init v)
                | A.Lr_FindArgs.No_Bias -> Some A.TrainArgs.No_Bias
                | A.Lr_FindArgs.Optimizer v -> Some(A.TrainArgs.Optimizer v)
                | A.Lr_FindArgs.L2 v -> Some(A.TrainArgs.L2 v)
                | A.Lr_FindArgs.Momentum v -> Some(A.TrainArgs.Momentum v)
                | A.Lr_FindArgs.Batch v -> Some(A.TrainArgs.Batch v)
                | A.Lr_FindArgs.Seed v -> Some(A.TrainArgs.Seed v)
                | A.Lr_FindArgs.Precision v -> Some(A.TrainArgs.Precision v)
                | A.Lr_FindArgs.Reduction v -> Some(A.TrainArgs.Reduction v)
                | A.Lr_FindArgs.Threads v -> Some(A.TrainArgs.Threads v)
                | A.Lr_FindArgs.Header -> Some A.TrainArgs.Header
                | A.Lr_FindArgs.No_Header -> Some A.TrainArgs.No_Header
                | A.Lr_FindArgs.Label_Column v -> Some(A.TrainArgs.Label_Column v)
                | A.Lr_FindArgs.From _
                | A.Lr_FindArgs.To _
                | A.Lr_FindArgs.Steps _
                | A.Lr_FindArgs.Png _
                | A.Lr_FindArgs.Json -> None)

        let lo = r.GetResult(A.Lr_FindArgs.From, defaultValue = 1e-7)
        let hi = r.GetResult(A.Lr_FindArgs.To, defaultValue = 10.0)
        let steps = r.GetResult(A.Lr_FindArgs.Steps, defaultValue = 300)
        checks.Require (finite lo && lo > 0.0) "from" "> 0" lo
        checks.Require (finite hi && hi > lo) "to" "above --from" hi
        checks.Require (steps >= 3 && steps <= 100000) "steps" "3..100000" steps

        {
            LrFindOptions.Train = asTrain cases checks
            From = lo
            To = hi
            Steps = steps
            Png = r.GetResult(A.Lr_FindArgs.Png, defaultValue = "lr-find.png")
            Json = r.Contains A.Lr_FindArgs.Json
        }
        |> Command.LrFind

    let private gradcheck (r: ParseResults<A.GradcheckArgs>) (checks: Checks) =
        let cases =
            r.GetAllResults()
            |> List.choose (function
                | A.GradcheckArgs.Train f -> Some(A.TrainArgs.Train f)
                | A.GradcheckArgs.Train_Labels f -> Some(A.TrainArgs.Train_Labels f)
                | A.GradcheckArgs.Resize v -> Some(A.TrainArgs.Resize v)
                | A.GradcheckArgs.Train_Count n -> Some(A.TrainArgs.Train_Count n)
                | A.GradcheckArgs.Scale v -> Some(A.TrainArgs.Scale v)
                | A.GradcheckArgs.Preset v -> Some(A.TrainArgs.Preset v)
                | A.GradcheckArgs.Layers v -> Some(A.TrainArgs.Layers v)
                | A.GradcheckArgs.Arch v -> Some(A.TrainArgs.Arch v)
                | A.GradcheckArgs.Activation v -> Some(A.TrainArgs.Activation v)
                | A.GradcheckArgs.Output v -> Some(A.TrainArgs.Output v)
                | A.GradcheckArgs.Loss v -> Some(A.TrainArgs.Loss v)
                | A.GradcheckArgs.Init v -> Some(A.TrainArgs.Init v)
                | A.GradcheckArgs.No_Bias -> Some A.TrainArgs.No_Bias
                | A.GradcheckArgs.L2 v -> Some(A.TrainArgs.L2 v)
                | A.GradcheckArgs.Seed v -> Some(A.TrainArgs.Seed v)
                | A.GradcheckArgs.Reduction v -> Some(A.TrainArgs.Reduction v)
                | A.GradcheckArgs.Header -> Some A.TrainArgs.Header
                | A.GradcheckArgs.No_Header -> Some A.TrainArgs.No_Header
                | A.GradcheckArgs.Label_Column v -> Some(A.TrainArgs.Label_Column v)
                | A.GradcheckArgs.Examples _
                | A.GradcheckArgs.Params _
                | A.GradcheckArgs.Json
                | A.GradcheckArgs.Model _ -> None)

        let examples = r.GetResult(A.GradcheckArgs.Examples, defaultValue = 10)
        let parameters = r.GetResult(A.GradcheckArgs.Params, defaultValue = 200)
        checks.Require (examples >= 1) "examples" ">= 1" examples
        checks.Require (parameters >= 1) "params" ">= 1" parameters

        {
            GradcheckOptions.Train = asTrain cases checks
            Examples = examples
            Params = parameters
            Json = r.Contains A.GradcheckArgs.Json
            Model = r.TryGetResult A.GradcheckArgs.Model |> toNull
        }
        |> Command.Gradcheck

    let private eval (r: ParseResults<A.EvalArgs>) (checks: Checks) =
        let threads = r.GetResult(A.EvalArgs.Threads, defaultValue = 0)
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        {
            EvalOptions.Model = r.GetResult A.EvalArgs.Model
            Data = r.TryGetResult A.EvalArgs.Data |> toNull
            DataLabels = r.TryGetResult A.EvalArgs.Data_Labels |> toNull
            Scale = r.TryGetResult A.EvalArgs.Scale |> Option.map scale
            Seed = r.GetResult(A.EvalArgs.Seed, defaultValue = 1)
            Threads = threads
            Png = r.TryGetResult A.EvalArgs.Png |> toNull
        }
        |> Command.Eval

    let private attack (r: ParseResults<A.AttackArgs>) (checks: Checks) =
        let methods =
            r
                .GetResult(A.AttackArgs.Method, defaultValue = "fgsm,pgd")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.choose (fun m ->
                match m.Trim().ToLowerInvariant() with
                | "fgsm" -> Some Attacks.Fgsm
                | "pgd" -> Some Attacks.Pgd
                | other ->
                    checks.Add $"option '--method': unknown method '%s{other}' (expected fgsm, pgd or fgsm,pgd)."
                    None)
            |> Array.distinct

        let pixels = r.Contains A.AttackArgs.Pixels
        let top = if pixels then 255.0 else 1.0

        let units =
            if pixels then
                "grey levels (0..255)"
            else
                "[0, 1] units of the pixel range"

        let hint = if pixels then "" else "; add --pixels for grey levels"

        let eps =
            r
                .GetResult(A.AttackArgs.Eps, defaultValue = "0,0.05,0.1,0.2,0.3")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.choose (fun e ->
                match Double.TryParse(e.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x when finite x && x < 0.0 ->
                    checks.Add $"option '--eps': epsilon must be >= 0, but is %s{e.Trim()}."
                    None
                | true, x when finite x && x > top ->
                    checks.Add
                        $"option '--eps': epsilon %s{e.Trim()} is above the input range (at most %g{top} in %s{units}%s{hint})."

                    None
                | true, x when finite x -> Some x
                | _ ->
                    checks.Add $"option '--eps': '%s{e.Trim()}' is not a number."
                    None)

        if eps.Length = 0 && checks.Errors.IsEmpty then
            checks.Add "option '--eps' needs at least one value."

        let steps = r.GetResult(A.AttackArgs.Steps, defaultValue = 40)
        checks.Require (steps >= 1) "steps" ">= 1" steps
        let alpha = r.GetResult(A.AttackArgs.Alpha, defaultValue = nan)

        if r.Contains A.AttackArgs.Alpha then
            checks.Require (finite alpha && alpha > 0.0 && alpha <= top) "alpha" $"> 0 and at most %g{top}" alpha

        let restarts = r.GetResult(A.AttackArgs.Restarts, defaultValue = 1)
        checks.Require (restarts >= 1) "restarts" ">= 1" restarts
        let target = r.GetResult(A.AttackArgs.Target, defaultValue = -1)

        if r.Contains A.AttackArgs.Target then
            checks.Require (target >= 0 && target <= 9) "target" "a class 0..9" target

        let count = r.GetResult(A.AttackArgs.Count, defaultValue = 0)

        if r.Contains A.AttackArgs.Count then
            checks.Require (count >= 1) "count" ">= 1" count

        let threads = r.GetResult(A.AttackArgs.Threads, defaultValue = 0)
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        {
            AttackOptions.Model = r.GetResult A.AttackArgs.Model
            Data = r.TryGetResult A.AttackArgs.Data |> toNull
            DataLabels = r.TryGetResult A.AttackArgs.Data_Labels |> toNull
            Methods = methods
            Eps = eps
            Pixels = pixels
            Steps = steps
            Alpha = alpha
            Restarts = restarts
            RandomStart =
                r.TryGetResult A.AttackArgs.Start
                |> Option.map (fun s -> s = A.AttackStart.Random)
            Target = target
            Count = count
            Seed = r.GetResult(A.AttackArgs.Seed, defaultValue = 1)
            Json = r.Contains A.AttackArgs.Json
            Png = r.TryGetResult A.AttackArgs.Png |> toNull
            Grid = r.TryGetResult A.AttackArgs.Grid |> toNull
            Threads = threads
        }
        |> Command.Attack

    let private predict (r: ParseResults<A.PredictArgs>) (checks: Checks) =
        let index = r.TryGetResult A.PredictArgs.Index
        let threads = r.GetResult(A.PredictArgs.Threads, defaultValue = 0)

        match index with
        | Some i -> checks.Require (i >= 0) "index" ">= 0" i
        | None -> ()

        if index.IsSome && r.Contains A.PredictArgs.Out then
            checks.Add
                "options '--index' and '--out' do not go together: --index shows one image, --out writes every image."

        let images = r.GetResult(A.PredictArgs.Image, defaultValue = []) |> Array.ofList

        if r.Contains A.PredictArgs.Image then
            if images.Length = 0 then
                checks.Add "option '--image' needs at least one picture file (PNG or JPEG)."

            for other, name in
                [
                    r.Contains A.PredictArgs.Data, "--data"
                    r.Contains A.PredictArgs.Data_Labels, "--data-labels"
                    index.IsSome, "--index"
                    r.Contains A.PredictArgs.Out, "--out"
                ] do
                if other then
                    checks.Add
                        $"options '--image' and '%s{name}' do not go together: --image predicts pictures, not a data set."
        elif r.Contains A.PredictArgs.Show then
            checks.Add
                "option '--show' draws the pictures of '--image': give the pictures with --image a.png [b.jpg ...]."

        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        {
            PredictOptions.Model = r.GetResult A.PredictArgs.Model
            Images = images
            Show = r.TryGetResult A.PredictArgs.Show |> toNull
            Data = r.TryGetResult A.PredictArgs.Data |> toNull
            DataLabels = r.TryGetResult A.PredictArgs.Data_Labels |> toNull
            Scale = r.TryGetResult A.PredictArgs.Scale |> Option.map scale
            Index = index
            Out = r.TryGetResult A.PredictArgs.Out |> toNull
            Threads = threads
        }
        |> Command.Predict

    let private export (r: ParseResults<A.ExportArgs>) =
        Command.Export
            {
                Model = r.GetResult A.ExportArgs.Model
                Onnx = r.GetResult A.ExportArgs.Onnx
            }

    let private inspect (r: ParseResults<A.InspectArgs>) =
        Command.Inspect
            {
                Model = r.GetResult A.InspectArgs.Model
                Rehash = r.Contains A.InspectArgs.Rehash
                Json = r.Contains A.InspectArgs.Json
            }

    let private import (r: ParseResults<A.ImportArgs>) (checks: Checks) =
        Command.Import
            {
                File = r.GetResult A.ImportArgs.File
                Arch = checks.Result(parseArch (r.GetResult A.ImportArgs.Arch), Unchecked.defaultof<Arch>)
                Scale =
                    r.TryGetResult A.ImportArgs.Scale
                    |> Option.map scale
                    |> Option.defaultValue Unit
                Out = r.TryGetResult A.ImportArgs.Out |> toNull
            }

    let private bench (r: ParseResults<A.BenchArgs>) (checks: Checks) =
        let threads = r.GetResult(A.BenchArgs.Threads, defaultValue = 0)
        let seconds = r.GetResult(A.BenchArgs.Seconds, defaultValue = 2.0)
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads
        checks.Require (finite seconds && seconds > 0.0) "seconds" "> 0" seconds

        {
            BenchOptions.Train = r.TryGetResult A.BenchArgs.Train |> toNull
            TrainLabels = r.TryGetResult A.BenchArgs.Train_Labels |> toNull
            Test = r.TryGetResult A.BenchArgs.Test |> toNull
            TestLabels = r.TryGetResult A.BenchArgs.Test_Labels |> toNull
            Json = r.Contains A.BenchArgs.Json
            Threads = threads
            Kernels = r.TryGetResult A.BenchArgs.Kernels |> toNull
            Seconds = seconds
            Network =
                r.TryGetResult A.BenchArgs.Network
                |> Option.map (fun n -> (string n).ToLowerInvariant())
                |> toNull
            Preset = r.TryGetResult A.BenchArgs.Preset |> Option.map preset |> toNull
            Profile = r.Contains A.BenchArgs.Profile
        }
        |> Command.Bench

    let private resume (r: ParseResults<A.ResumeArgs>) (checks: Checks) =
        let epochs = r.GetResult(A.ResumeArgs.Epochs, defaultValue = 0)
        let threads = r.GetResult(A.ResumeArgs.Threads, defaultValue = 0)
        checks.Require (epochs >= 0) "epochs" ">= 1" epochs
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        {
            ResumeOptions.Run = r.GetResult A.ResumeArgs.Run_Dir
            Epochs = epochs
            Threads = threads
            Quiet = r.Contains A.ResumeArgs.Quiet
        }
        |> Command.Resume

    let private replay (r: ParseResults<A.ReplayArgs>) (checks: Checks) =
        let step = r.GetResult A.ReplayArgs.Step
        let count = r.GetResult(A.ReplayArgs.Params, defaultValue = 20)
        let threads = r.GetResult(A.ReplayArgs.Threads, defaultValue = 0)
        checks.Require (step >= 1L) "step" ">= 1" step
        checks.Require (count >= 1) "params" ">= 1" count
        checks.Require (threads >= 0) "threads" ">= 0 (0 = the run's own)" threads

        {
            ReplayOptions.Run = r.GetResult A.ReplayArgs.Run_Dir
            Step = step
            Precision = r.TryGetResult A.ReplayArgs.Precision |> Option.map precision
            Gradcheck = r.Contains A.ReplayArgs.Gradcheck
            Params = count
            Dump = r.TryGetResult A.ReplayArgs.Dump |> toNull
            Threads = threads
            OtherKernels = r.Contains A.ReplayArgs.Other_Kernels
        }
        |> Command.Replay

    let private drift (r: ParseResults<A.DriftArgs>) (checks: Checks) =
        let from = r.GetResult(A.DriftArgs.From, defaultValue = 0L)
        let steps = r.GetResult(A.DriftArgs.Steps, defaultValue = 0)
        let every = r.GetResult(A.DriftArgs.Every, defaultValue = 25)
        let testCount = r.GetResult(A.DriftArgs.Test_Count, defaultValue = 0)
        let threads = r.GetResult(A.DriftArgs.Threads, defaultValue = 0)
        checks.Require (from >= 0L) "from" ">= 0" from
        checks.Require (r.Contains A.DriftArgs.Steps |> not || steps >= 1) "steps" ">= 1" steps
        checks.Require (every >= 1) "every" ">= 1" every
        checks.Require (r.Contains A.DriftArgs.Test_Count |> not || testCount >= 1) "test-count" ">= 1" testCount
        checks.Require (threads >= 0) "threads" ">= 0 (0 = the run's own)" threads

        {
            DriftOptions.Run = r.GetResult A.DriftArgs.Run_Dir
            From = from
            Steps = steps
            Every = every
            Out = r.TryGetResult A.DriftArgs.Out |> toNull
            TestCount = testCount
            Threads = threads
            OtherKernels = r.Contains A.DriftArgs.Other_Kernels
            Json = r.Contains A.DriftArgs.Json
        }
        |> Command.Drift

    let private plot (r: ParseResults<A.PlotArgs>) (_: Checks) =
        {
            PlotOptions.Run = r.GetResult A.PlotArgs.Run_Dir
            Out = r.TryGetResult A.PlotArgs.Out |> toNull
        }
        |> Command.Plot

    let private show (r: ParseResults<A.ShowArgs>) (checks: Checks) =
        let count = r.GetResult(A.ShowArgs.Count, defaultValue = 25)
        let start = r.GetResult(A.ShowArgs.Start, defaultValue = 0)
        let threads = r.GetResult(A.ShowArgs.Threads, defaultValue = 0)
        checks.Require (count >= 1 && count <= 400) "count" "in 1..400" count
        checks.Require (start >= 0) "start" ">= 0" start
        checks.Require (threads >= 0 && threads <= maxThreads) "threads" "0..64 (0 = auto)" threads

        {
            ShowOptions.Data = r.TryGetResult A.ShowArgs.Data |> toNull
            DataLabels = r.TryGetResult A.ShowArgs.Data_Labels |> toNull
            Count = count
            Start = start
            Model = r.TryGetResult A.ShowArgs.Model |> toNull
            Scale = r.TryGetResult A.ShowArgs.Scale |> Option.map scale
            Out = r.GetResult(A.ShowArgs.Out, defaultValue = "digits.png")
            Threads = threads
            Filters = r.TryGetResult A.ShowArgs.Filters |> toNull
            Augmented =
                r.TryGetResult A.ShowArgs.Augmented
                |> Option.map (fun text ->
                    checks.Result(
                        Augment.Augment.parse text
                        |> Result.mapError (fun e -> $"option '--augmented': %s{e}."),
                        Augment.Augment.none
                    ))
            Seed = r.GetResult(A.ShowArgs.Seed, defaultValue = 1)
        }
        |> Command.Show

    /// The names of sweep's own options that take a value; every other option belongs to train.
    let private sweepValueOptions =
        set
            [
                "--name"
                "--dir"
                "--executor"
                "--max-points"
                "--jobs"
                "--threads"
                "--slurm-args"
                "--task"
            ]

    /// Splits `sweep`'s arguments into its own (for Argu: the spec, its options, --help) and the train
    /// options it forwards to every point, kept as typed. The spec is the first argument, when it is not an option.
    let splitSweep (args: string list) =
        let rec go own train rest =
            match rest with
            | [] -> List.rev own, List.rev train
            | name :: value :: tail when sweepValueOptions.Contains name -> go (value :: name :: own) train tail
            | ("--help" | "-h") as h :: tail -> go (h :: own) train tail
            | other :: tail -> go own (other :: train) tail

        match args with
        | spec :: tail when not (spec.StartsWith "-") -> go [ spec ] [] tail
        | _ -> go [] [] args

    let private sweep (r: ParseResults<A.SweepArgs>) (trainArgs: string list) (checks: Checks) =
        let jobs = r.GetResult(A.SweepArgs.Jobs, defaultValue = 0)
        let threads = r.GetResult(A.SweepArgs.Threads, defaultValue = 0)
        let task = r.GetResult(A.SweepArgs.Task, defaultValue = -1)
        checks.Require (jobs >= 0) "jobs" ">= 1" jobs
        checks.Require (threads >= 0) "threads" ">= 1" threads
        checks.Require (not (r.Contains A.SweepArgs.Task) || task >= 0) "task" ">= 0" task
        let maxPoints = r.GetResult(A.SweepArgs.Max_Points, defaultValue = 10_000)
        checks.Require (maxPoints >= 1) "max-points" ">= 1" maxPoints

        {
            SweepOptions.Spec = r.TryGetResult A.SweepArgs.Spec |> toNull
            Name = r.TryGetResult A.SweepArgs.Name |> toNull
            Dir = r.GetResult(A.SweepArgs.Dir, defaultValue = "sweeps")
            Executor =
                match r.GetResult(A.SweepArgs.Executor, defaultValue = A.SweepExecutor.Local) with
                | A.SweepExecutor.Local -> "local"
                | A.SweepExecutor.Slurm -> "slurm"
            Jobs = jobs
            Threads = threads
            SlurmArgs = r.GetResult(A.SweepArgs.Slurm_Args, defaultValue = "")
            Task = task
            MaxPoints = maxPoints
            TrainArgs = Array.ofList trainArgs
        }
        |> Command.Sweep

    let private runs (r: ParseResults<A.RunsArgs>) (_: Checks) =
        {
            RunsOptions.Dir = r.TryGetResult A.RunsArgs.Dir |> toNull
        }
        |> Command.Runs

    let private compare (r: ParseResults<A.CompareArgs>) (_: Checks) =
        {
            CompareOptions.Runs = r.GetResult A.CompareArgs.Runs |> Array.ofList
            Png = r.TryGetResult A.CompareArgs.Png |> toNull
        }
        |> Command.Compare

    let private report (r: ParseResults<A.ReportArgs>) (_: Checks) =
        {
            ReportOptions.Runs = r.GetResult A.ReportArgs.Runs |> Array.ofList
            Out = r.TryGetResult A.ReportArgs.Out |> toNull
        }
        |> Command.Report

    /// train's options, from its Argu union: what a sweep may forward.
    let trainOptions =
        Reflection.FSharpType.GetUnionCases typeof<A.TrainArgs>
        |> Array.map (fun c ->
            {
                Name = "--" + c.Name.ToLowerInvariant().Replace('_', '-')
                TakesValue = c.GetFields().Length > 0
            })

    /// Argu's error message without the "ERROR: " prefix and the usage text it appends.
    let private errorLines (message: string) =
        message.Split([| "\r\n"; "\n" |], StringSplitOptions.None)
        |> Seq.takeWhile (fun line ->
            not (
                [ "USAGE:"; "OPTIONS:"; "SUBCOMMANDS:" ]
                |> List.exists (fun h -> line.TrimStart().StartsWith(h, StringComparison.Ordinal))
            ))
        |> Seq.map (fun line ->
            let line = line.Trim()

            if line.StartsWith("ERROR: ", StringComparison.Ordinal) then
                line.Substring "ERROR: ".Length
            else
                line)
        |> Seq.filter (fun line -> line <> "")
        // Argu's error is its first line; what follows (a missing argument's usage entry) is not a sentence.
        |> Seq.truncate 1
        |> List.ofSeq

    /// Each command's long option names ("--lr"), from its Argu union (the main command excluded).
    let private optionNames =
        lazy
            (Reflection.FSharpType.GetUnionCases typeof<A.FunctionalArgs>
             |> Array.choose (fun c ->
                 match c.GetFields() with
                 | [| f |] when f.PropertyType.IsGenericType ->
                     let args = f.PropertyType.GetGenericArguments()[0]

                     let names =
                         Reflection.FSharpType.GetUnionCases args
                         |> Array.filter (fun u -> u.GetCustomAttributes(typeof<MainCommandAttribute>).Length = 0)
                         |> Array.map (fun u -> "--" + u.Name.ToLowerInvariant().Replace('_', '-'))

                     Some(c.Name.ToLowerInvariant(), Array.append names [| "--help" |])
                 | _ -> None)
             |> Map.ofArray)

    /// `--lr=0.01` as `--lr 0.01`, for the options of `command` (a value such as sbatch's '--time=10:00' is kept).
    let splitEquals (command: string) (args: string[]) =
        let known = optionNames.Value |> Map.tryFind command |> Option.defaultValue [||]

        args
        |> Array.collect (fun a ->
            match a.IndexOf '=' with
            | i when i > 2 && a.StartsWith "--" && Array.contains (a.Substring(0, i)) known ->
                [| a.Substring(0, i); a.Substring(i + 1) |]
            | _ -> [| a |])

    /// Edit distance, for "did you mean".
    let private distance (a: string) (b: string) =
        let d =
            Array2D.init (a.Length + 1) (b.Length + 1) (fun i j ->
                if i = 0 then j
                elif j = 0 then i
                else 0)

        for i in 1 .. a.Length do
            for j in 1 .. b.Length do
                let cost = if a[i - 1] = b[j - 1] then 0 else 1
                d[i, j] <- min (min (d[i - 1, j] + 1) (d[i, j - 1] + 1)) (d[i - 1, j - 1] + cost)

        d[a.Length, b.Length]

    /// The known option of `command` closest to `given`, when it is close enough to be a slip.
    let closestOption (command: string) (given: string) =
        optionNames.Value
        |> Map.tryFind command
        |> Option.bind (fun names ->
            names
            |> Array.map (fun n -> n, distance given n)
            |> Array.sortBy snd
            |> Array.tryHead
            |> Option.filter (fun (_, d) -> d <= max 2 (given.Length / 3))
            |> Option.map fst)

    /// Argu's "unrecognized argument" line, with the closest known option.
    let private withSuggestion (command: string option) (line: string) =
        let m =
            Text.RegularExpressions.Regex.Match(line, "^unrecognized argument: '(--?[^']*)'")

        match command, m.Success with
        | Some c, true ->
            let given = m.Groups[1].Value

            match closestOption c given with
            | Some known -> $"unknown option '%s{given}'; did you mean '%s{known}'?"
            | None -> $"unknown option '%s{given}'."
        | _ -> line

    /// Parses the command line of `functional`, train's options starting from `basis` when given (--from).
    /// Never throws for bad input and never prints.
    let parseWith (basis: Presets.Preset option) (argv: string[]) : Parsed =
        let command =
            argv |> Array.tryHead |> Option.filter (fun a -> List.contains a commandNames)

        let argv =
            match command with
            | Some c -> Array.append [| c |] (splitEquals c argv[1..])
            | None -> argv

        match argv with
        | [||] -> NoCommand(parser.Value.PrintUsage().TrimEnd())
        | [| "--version" |] -> Version
        | _ when command.IsNone && not (argv[0].StartsWith '-') ->
            let known = String.Join(", ", commandNames)
            invalid None [ $"unknown command '%s{argv[0]}'; expected one of: %s{known}." ]
        | _ ->
            try
                // sweep forwards train options Argu does not know: only its own reach the parser.
                let argv, sweepTrain =
                    if command = Some "sweep" then
                        let own, train = splitSweep (List.ofArray argv.[1..])
                        Array.ofList ("sweep" :: own), train
                    else
                        argv, []

                let results = parser.Value.ParseCommandLine(argv, raiseOnUsage = true)
                let checks = Checks()

                let parsed =
                    match results.TryGetSubCommand() with
                    | Some(A.FunctionalArgs.Train r) -> Some(Command.Train(trainFrom r checks basis))
                    | Some(A.FunctionalArgs.Eval r) -> Some(eval r checks)
                    | Some(A.FunctionalArgs.Predict r) -> Some(predict r checks)
                    | Some(A.FunctionalArgs.Bench r) -> Some(bench r checks)
                    | Some(A.FunctionalArgs.Resume r) -> Some(resume r checks)
                    | Some(A.FunctionalArgs.Replay r) -> Some(replay r checks)
                    | Some(A.FunctionalArgs.Drift r) -> Some(drift r checks)
                    | Some(A.FunctionalArgs.Gradcheck r) -> Some(gradcheck r checks)
                    | Some(A.FunctionalArgs.Doctor r) -> Some(doctor r checks)
                    | Some(A.FunctionalArgs.Plot r) -> Some(plot r checks)
                    | Some(A.FunctionalArgs.Show r) -> Some(show r checks)
                    | Some(A.FunctionalArgs.Sweep r) -> Some(sweep r sweepTrain checks)
                    | Some(A.FunctionalArgs.Runs r) -> Some(runs r checks)
                    | Some(A.FunctionalArgs.Compare r) -> Some(compare r checks)
                    | Some(A.FunctionalArgs.Report r) -> Some(report r checks)
                    | Some(A.FunctionalArgs.Export r) -> Some(export r)
                    | Some(A.FunctionalArgs.Inspect r) -> Some(inspect r)
                    | Some(A.FunctionalArgs.Import r) -> Some(import r checks)
                    | Some(A.FunctionalArgs.Attack r) -> Some(attack r checks)
                    | Some(A.FunctionalArgs.Lr_Find r) -> Some(lrFind r checks)
                    | Some A.FunctionalArgs.Version
                    | None -> None

                match parsed, checks.Errors with
                | Some cmd, [] -> Run cmd
                | Some _, errors -> invalid command errors
                | None, _ -> invalid None [ "no command given." ]
            with :? ArguParseException as e ->
                match e.ErrorCode with
                | ErrorCode.HelpText -> Help(e.Message.TrimEnd())
                | _ ->
                    match errorLines e.Message with
                    | [] -> invalid command [ "invalid arguments." ]
                    | lines -> invalid command (List.map (withSuggestion command) lines)

    let parse (argv: string[]) : Parsed = parseWith None argv

/// Entry point for C#: `CommandLine.Parse(args)`.
[<AbstractClass; Sealed>]
type CommandLine =
    static member Parse(argv: string[]) : Parsed = Parser.parse argv

    /// Parses again a `train --from` command line, the options changing the parent run's settings: its
    /// configuration, epochs, training-set size and validation fraction (the preset's name is kept for display).
    static member ParseFrom
        (argv: string[], presetName: string, config: Config, epochs: int, trainCount: int, validation: float)
        : Parsed =
        Parser.parseWith
            (Some
                {
                    Name = presetName
                    Config = config
                    Epochs = epochs
                    TrainCount = trainCount
                    Validation = validation
                    Schedule = Schedule.Request.constant
                })
            argv

    /// train's options (what `sweep` may forward), from its Argu union.
    static member TrainOptions() : TrainOption[] = Parser.trainOptions
