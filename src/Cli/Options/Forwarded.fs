namespace Functional.Cli

open System
open Argu
open Microsoft.FSharp.Reflection

/// A train option: its name on the command line ("--lr") and whether a value follows it.
type TrainOption = { Name: string; TakesValue: bool }

/// Commands that take a part of train's options (doctor, lr-find, gradcheck, sweep) take them through train's own
/// union and parser, so an option, its help and its default are stated once, in Options/TrainArgs.fs.
module internal Forwarded =
    let private nameOf (case: UnionCaseInfo) =
        "--" + case.Name.ToLowerInvariant().Replace('_', '-')

    let private isMain (case: UnionCaseInfo) =
        case.GetCustomAttributes(typeof<MainCommandAttribute>).Length > 0

    /// A union's options as written ("--lr"), with whether each takes a value; its main command left out.
    let optionsOf (union: Type) =
        FSharpType.GetUnionCases union
        |> Array.filter (isMain >> not)
        |> Array.map (fun c ->
            {
                Name = nameOf c
                TakesValue = c.GetFields().Length > 0
            })

    let trainOptions = optionsOf typeof<TrainArgs>

    /// Train's option groups that other commands take, composed into each command's allow-list.
    let dataOptions =
        [
            "--train"
            "--train-labels"
            "--resize"
            "--train-count"
            "--scale"
            "--header"
            "--no-header"
            "--label-column"
        ]

    /// The network and the loss at one point: what a gradient check needs.
    let networkOptions =
        [
            "--preset"
            "--layers"
            "--arch"
            "--activation"
            "--output"
            "--loss"
            "--init"
            "--no-bias"
            "--l2"
            "--seed"
            "--reduction"
        ]

    /// How steps are taken, but not how fast (--lr) or how long (--epochs).
    let optimiserOptions =
        [ "--optimizer"; "--momentum"; "--batch"; "--precision"; "--threads" ]

    /// Splits a command's arguments into its own (for Argu: its main argument, its options and --help) and the
    /// train options it forwards, kept as typed. The main argument is the first, when it is not an option.
    let split (own: TrainOption[]) (hasMain: bool) (args: string list) =
        let takesValue =
            own
            |> Array.filter (fun o -> o.TakesValue)
            |> Array.map (fun o -> o.Name)
            |> set

        let flags =
            own
            |> Array.filter (fun o -> not o.TakesValue)
            |> Array.map (fun o -> o.Name)
            |> set

        let rec go ownArgs train rest =
            match rest with
            | [] -> List.rev ownArgs, List.rev train
            | name :: value :: tail when takesValue.Contains name -> go (value :: name :: ownArgs) train tail
            | flag :: tail when flags.Contains flag -> go (flag :: ownArgs) train tail
            | ("--help" | "-h") as h :: tail -> go (h :: ownArgs) train tail
            | other :: tail -> go ownArgs (other :: train) tail

        match args with
        | main :: tail when hasMain && not (main.StartsWith "-") -> go [ main ] [] tail
        | _ -> go [] [] args

    let private trainParser =
        lazy (ArgumentParser.Create<TrainArgs>(programName = "functional train"))

    /// Train's options of `command`'s arguments, refusing those not in `allowed`.
    let parse (command: string) (allowed: string list) (trainArgs: string list) (checks: Checks) =
        // A misspelt name in an allow-list would drop an option in silence: a bug, reported as one.
        for a in allowed do
            if not (Array.exists (fun o -> o.Name = a) trainOptions) then
                invalidOp $"%s{command}'s allow-list names '%s{a}', which is not a train option"

        for a in trainArgs do
            if
                a.StartsWith "--"
                && Array.exists (fun o -> o.Name = a) trainOptions
                && not (List.contains a allowed)
            then
                checks.Add $"option '%s{a}' is train's, and %s{command} does not take it."

        let r =
            trainParser.Value.ParseCommandLine(Array.ofList trainArgs, raiseOnUsage = true)

        Train.parse None r checks

    /// The option entries of an Argu usage text, each with its continuation lines, keyed by the option's name.
    let private entries (usage: string) =
        let lines = usage.Replace("\r\n", "\n").Split '\n'

        let start =
            lines
            |> Array.tryFindIndex (fun l -> l.TrimEnd() = "OPTIONS:")
            |> Option.defaultValue lines.Length

        let result = ResizeArray<string * ResizeArray<string>>()

        for line in lines[start + 1 ..] do
            if line.StartsWith "    --" then
                let name = line.TrimStart().Split(' ')[0]
                result.Add(name, ResizeArray [ line ])
            elif line.StartsWith "     " && result.Count > 0 then
                (snd result[result.Count - 1]).Add line

        result

    /// `command`'s help: its own options, then the train options it takes, in train's words.
    let help (width: int) (ownUsage: string) (allowed: string list) =
        let train =
            ArgumentParser
                .Create<TrainArgs>(programName = "functional train", usageStringCharacterWidth = width)
                .PrintUsage()

        let taken =
            entries train
            |> Seq.filter (fun (name, _) -> List.contains name allowed)
            |> Seq.collect snd

        let lines = ownUsage.TrimEnd().Replace("\r\n", "\n").Split '\n'
        let blank = lines |> Array.findIndex String.IsNullOrWhiteSpace
        let nl = Environment.NewLine
        let more = "[<train's options>]"

        String.Join(
            nl,
            [
                yield! lines[.. blank - 2]
                let last = lines[blank - 1] + " " + more

                if last.Length <= width then
                    yield last
                else
                    yield lines[blank - 1]
                    yield String(' ', lines[0].IndexOf('[')) + more

                yield! lines[blank..]
                yield ""
                yield "TRAIN'S OPTIONS (as for train):"
                yield ""
                yield! taken
            ]
        )
