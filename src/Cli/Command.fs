namespace Functional.Cli

open System
open Argu
open Microsoft.FSharp.Reflection
open Functional

/// The commands, each with the Argu union of its own options (src/Cli/Commands/*.fs): adding a command adds its
/// case here, in Command and in Parser.parseWith's dispatch.
[<RequireQualifiedAccess; HelpFlags("--help", "-h")>]
type FunctionalArgs =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Predict of ParseResults<PredictArgs>
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None)>] Gradcheck of ParseResults<GradcheckArgs>
    | [<CliPrefix(CliPrefix.None)>] Doctor of ParseResults<DoctorArgs>
    | [<CliPrefix(CliPrefix.None)>] Resume of ParseResults<ResumeArgs>
    | [<CliPrefix(CliPrefix.None)>] Replay of ParseResults<ReplayArgs>
    | [<CliPrefix(CliPrefix.None)>] Drift of ParseResults<DriftArgs>
    | [<CliPrefix(CliPrefix.None)>] Bisect of ParseResults<BisectArgs>
    | [<CliPrefix(CliPrefix.None)>] Verify of ParseResults<VerifyArgs>
    | [<CliPrefix(CliPrefix.None)>] Plot of ParseResults<PlotArgs>
    | [<CliPrefix(CliPrefix.None)>] Show of ParseResults<ShowArgs>
    | [<CliPrefix(CliPrefix.None)>] Sweep of ParseResults<SweepArgs>
    | [<CliPrefix(CliPrefix.None)>] Runs of ParseResults<RunsArgs>
    | [<CliPrefix(CliPrefix.None)>] Compare of ParseResults<CompareArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArgs>
    | [<CliPrefix(CliPrefix.None)>] Inspect of ParseResults<InspectArgs>
    | [<CliPrefix(CliPrefix.None)>] Import of ParseResults<ImportArgs>
    | [<CliPrefix(CliPrefix.None)>] Attack of ParseResults<AttackArgs>
    | [<CliPrefix(CliPrefix.None)>] Lr_Find of ParseResults<Lr_FindArgs>
    | Version

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Version -> "print functional's version and exit."
            | Train _ -> "train a network on MNIST and report test accuracy."
            | Eval _ -> "evaluate a saved model on a data set."
            | Predict _ -> "predict the class of every image (CSV), or of one (--index), with a saved model."
            | Bench _ -> "benchmark the training kernels."
            | Gradcheck _ -> "compare analytic with numeric gradients, layer by layer, and name what differs."
            | Doctor _ -> "check a training configuration for the usual bugs and say how to fix them."
            | Lr_Find _ ->
                "the learning-rate range test: train while the rate grows exponentially, plot loss against rate, suggest one."
            | Resume _ -> "continue an interrupted run from its newest valid checkpoint."
            | Replay _ -> "re-execute a run's steps bit for bit and inspect one of them."
            | Bisect _ ->
                "find the first step of a run where a condition holds (nan, spike, collapse, ...) by its journal, checkpoints and replay."
            | Verify _ ->
                "replay every checkpoint interval of a run: does it reproduce bit for bit on this machine, and if not, where and why."
            | Drift _ ->
                "train a run's steps in float32 and float64 side by side: how far the trajectories drift, per layer, and whether rounding explains it."
            | Plot _ -> "draw a run's training curves into a PNG."
            | Show _ -> "draw a grid of images with their labels (and a model's predictions) into a PNG."
            | Sweep _ -> "train the cross product of option lists, locally or as a Slurm array job."
            | Runs _ -> "list runs: architecture, optimiser, epochs, test accuracy, time, status."
            | Attack _ -> "attack a saved model with FGSM and PGD: accuracy against ε, pictures, masking warnings."
            | Report _ ->
                "write one self-contained HTML page of a run (curves, confusion matrix, filters) or of several runs and sweeps."
            | Compare _ -> "compare runs and sweeps: the options that differ, results (mean ± std over seeds), a PNG."
            | Export _ -> "write a model as ONNX, for ONNX Runtime and other programs."
            | Inspect _ ->
                "print what a safetensors file holds: metadata, every tensor's shape, dtype, min/max/mean/std and non-finite count (--json); for a model its architecture and hash (--rehash accepts edited tensors)."
            | Import _ -> "turn a PyTorch nn.Sequential's safetensors state_dict into a model file."

/// A parsed command: its options, typed.
type Command =
    | Train of TrainOptions
    | Eval of EvalOptions
    | Predict of PredictOptions
    | Bench of BenchOptions
    | Resume of ResumeOptions
    | Replay of ReplayOptions
    | Drift of DriftOptions
    | Bisect of BisectOptions
    | Verify of VerifyOptions
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
    let private nl = Environment.NewLine

    let private parser =
        lazy
            (ArgumentParser.Create<FunctionalArgs>(
                programName = "functional",
                usageStringCharacterWidth = ArguText.helpWidth ()
            ))

    /// Each command's name ("lr-find") and the union of its own options, in FunctionalArgs' order.
    let private commandUnions =
        FSharpType.GetUnionCases typeof<FunctionalArgs>
        |> Array.choose (fun c ->
            match c.GetFields() with
            | [| f |] when f.PropertyType.IsGenericType ->
                Some(c.Name.ToLowerInvariant().Replace('_', '-'), f.PropertyType.GetGenericArguments()[0])
            | _ -> None)

    let private commandNames = commandUnions |> Array.map fst |> List.ofArray

    /// The commands that take a part of train's options through train's parser, and that part.
    let private forwarding =
        Map
            [
                "doctor", Doctor.trainOptions
                "lr-find", LrFind.trainOptions
                "gradcheck", Gradcheck.trainOptions
            ]

    let private hint (command: string option) =
        match command with
        | Some c -> $"Run 'functional %s{c} --help' for usage."
        | None -> "Run 'functional --help' for usage."

    let private invalid command (lines: string list) =
        Invalid(String.Join(nl, lines @ [ hint command ]))

    /// train's options, from its Argu union: what a sweep may forward.
    let trainOptions = Forwarded.trainOptions

    /// Each command's long option names ("--lr"): its own, the train options it takes, and --help.
    let private optionNames =
        lazy
            (commandUnions
             |> Array.map (fun (name, union) ->
                 let own = Forwarded.optionsOf union |> Array.map (fun o -> o.Name)
                 let taken = forwarding |> Map.tryFind name |> Option.defaultValue [] |> Array.ofList
                 name, Array.concat [ own; taken; [| "--help" |] ])
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

    /// The known option of `command` closest to `given`, when it is close enough to be a slip.
    let closestOption (command: string) (given: string) =
        optionNames.Value
        |> Map.tryFind command
        |> Option.bind (fun names ->
            names
            |> Array.map (fun n -> n, ArguText.distance given n)
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
                // Train's options that sweep, doctor, lr-find and gradcheck take are split off: only their own
                // reach Argu's parser of the command.
                let argv, trainArgs =
                    match command with
                    | Some c when c = "sweep" || forwarding.ContainsKey c ->
                        let union = commandUnions |> Array.find (fun (n, _) -> n = c) |> snd

                        let own, train =
                            Forwarded.split (Forwarded.optionsOf union) (c = "sweep") (List.ofArray argv[1..])

                        Array.ofList (c :: own), train
                    | _ -> argv, []

                let results = parser.Value.ParseCommandLine(argv, raiseOnUsage = true)
                let checks = Checks()

                let parsed =
                    match results.TryGetSubCommand() with
                    | Some(FunctionalArgs.Train r) -> Some(Command.Train(Train.parse basis r checks))
                    | Some(FunctionalArgs.Eval r) -> Some(Command.Eval(Eval.parse r checks))
                    | Some(FunctionalArgs.Predict r) -> Some(Command.Predict(Predict.parse r checks))
                    | Some(FunctionalArgs.Bench r) -> Some(Command.Bench(Bench.parse r checks))
                    | Some(FunctionalArgs.Resume r) -> Some(Command.Resume(Resume.parse r checks))
                    | Some(FunctionalArgs.Replay r) -> Some(Command.Replay(Replay.parse r checks))
                    | Some(FunctionalArgs.Drift r) -> Some(Command.Drift(Drift.parse r checks))
                    | Some(FunctionalArgs.Bisect r) -> Some(Command.Bisect(Bisect.parse r checks))
                    | Some(FunctionalArgs.Verify r) -> Some(Command.Verify(Verify.parse r))
                    | Some(FunctionalArgs.Gradcheck r) -> Some(Command.Gradcheck(Gradcheck.parse r trainArgs checks))
                    | Some(FunctionalArgs.Doctor r) -> Some(Command.Doctor(Doctor.parse r trainArgs checks))
                    | Some(FunctionalArgs.Plot r) -> Some(Command.Plot(Plot.parse r checks))
                    | Some(FunctionalArgs.Show r) -> Some(Command.Show(Show.parse r checks))
                    | Some(FunctionalArgs.Sweep r) -> Some(Command.Sweep(Sweep.parse r trainArgs checks))
                    | Some(FunctionalArgs.Runs r) -> Some(Command.Runs(Runs.parse r checks))
                    | Some(FunctionalArgs.Compare r) -> Some(Command.Compare(Compare.parse r checks))
                    | Some(FunctionalArgs.Report r) -> Some(Command.Report(Report.parse r checks))
                    | Some(FunctionalArgs.Export r) -> Some(Command.Export(Export.parse r))
                    | Some(FunctionalArgs.Inspect r) -> Some(Command.Inspect(Inspect.parse r))
                    | Some(FunctionalArgs.Import r) -> Some(Command.Import(Import.parse r checks))
                    | Some(FunctionalArgs.Attack r) -> Some(Command.Attack(Attack.parse r checks))
                    | Some(FunctionalArgs.Lr_Find r) -> Some(Command.LrFind(LrFind.parse r trainArgs checks))
                    | Some FunctionalArgs.Version
                    | None -> None

                match parsed, checks.Errors with
                | Some cmd, [] -> Run cmd
                | Some _, errors -> invalid command errors
                | None, _ -> invalid None [ "no command given." ]
            with :? ArguParseException as e ->
                match e.ErrorCode with
                | ErrorCode.HelpText ->
                    match command |> Option.bind (fun c -> Map.tryFind c forwarding) with
                    | Some taken -> Help(Forwarded.help (ArguText.helpWidth ()) e.Message taken)
                    | None -> Help(e.Message.TrimEnd())
                | _ ->
                    match ArguText.errorLines e.Message with
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
                    Summary = ""
                    Config = config
                    Epochs = epochs
                    TrainCount = trainCount
                    Validation = validation
                    Schedule = Schedule.Request.constant
                })
            argv

    /// train's options (what `sweep` may forward), from its Argu union.
    static member TrainOptions() : TrainOption[] = Parser.trainOptions
