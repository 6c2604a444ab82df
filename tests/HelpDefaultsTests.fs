/// Every default a command's --help states is the default its parser uses: the help is read back, entry by entry,
/// and compared with what an empty command line parses to.
module Functional.Tests.HelpDefaultsTests

open System
open System.Globalization
open System.Text.RegularExpressions
open Expecto
open Functional
open Functional.Optim
open Functional.Arch
open Functional.Cli

let private parse (line: string) =
    Parser.parse (line.Split(' ', StringSplitOptions.RemoveEmptyEntries))

let private run line =
    match parse line with
    | Run c -> c
    | other -> failtestf "expected '%s' to parse, got %A" line other

let private trainOf line =
    match run line with
    | Command.Train t -> t
    | Command.Doctor d -> d.Train
    | Command.LrFind l -> l.Train
    | Command.Gradcheck g -> g.Train
    | other -> failtestf "expected train's options from '%s', got %A" line other

/// The help entry of `option` (its first line and continuation lines as one line), as `command --help` prints it.
let entry (command: string) (option: string) =
    let text =
        match parse $"%s{command} --help" with
        | Help text -> text
        | other -> failtestf "expected help from '%s --help', got %A" command other

    let lines = text.Replace("\r\n", "\n").Split '\n'

    let start =
        lines
        |> Array.tryFindIndex (fun l ->
            l.StartsWith("    " + option + " ", StringComparison.Ordinal)
            || l = "    " + option)

    match start with
    | None -> failtestf "'%s --help' has no entry for %s:\n%s" command option text
    | Some i ->
        let rest =
            lines[i + 1 ..]
            |> Array.takeWhile (fun l -> l.StartsWith "     " && not (l.StartsWith "    --"))

        String.Join(" ", Array.append [| lines[i] |] rest |> Array.map (fun l -> l.Trim()))

/// The first "(default X)", "(default X; …)", "(default X: why)" or "…; default X (…)" of an entry.
let private stated (command: string) (option: string) =
    let text = entry command option
    let m = Regex.Match(text, @"(?:\(|; )default:? (.+?)(?:[);]|: | \(|\.$|$)")

    if not m.Success then
        failtestf "'%s --help' states no default for %s: %s" command option text

    m.Groups[1].Value.Trim()

/// Numbers compare as numbers ("1e-07" is "1e-7", "10,000" is 10000); everything else as text.
let private same (a: string) (b: string) =
    let number (s: string) =
        match Double.TryParse(s.Replace(",", ""), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> Some x
        | _ -> None

    match number a, number b with
    | Some x, Some y -> x = y
    | _ -> a = b

let private g (x: float) =
    x.ToString("R", CultureInfo.InvariantCulture)

/// (command, option, the default its parser uses, as text).
let private cases: (string * string * (unit -> string)) list =
    let t line = trainOf line
    let c line = (trainOf line).Config

    let trainCases command =
        [
            command, "--epochs", (fun () -> string (t command).Epochs)
            command, "--batch", (fun () -> string (c command).Batch)
            command,
            "--layers",
            (fun () ->
                match Arch.denseParts (c command).Arch with
                | Some(sizes, _, _, _) -> sizes |> Array.map string |> String.concat ","
                | None -> "not dense")
            command, "--activation", (fun () -> (c command).Arch.Layers[0].Text.Split(' ')[2])
            command, "--loss", (fun () -> (c command).LossName)
            command, "--init", (fun () -> (c command).InitName)
            command, "--seed", (fun () -> string (c command).Seed)
            command, "--l2", (fun () -> g (c command).L2)
            command, "--reduction", (fun () -> (c command).ReductionName)
            command, "--train-count", (fun () -> string (t command).TrainCount)
        ]

    [
        yield! trainCases "train"
        yield! trainCases "doctor"
        yield!
            trainCases "gradcheck"
            |> List.filter (fun (_, o, _) -> o <> "--epochs" && o <> "--batch")
        "train", "--optimizer", (fun () -> OptimizerSpec.name (c "train").Optimizer)
        "train", "--precision", (fun () -> (c "train").PrecisionName)
        "train",
        "--lr",
        (fun () ->
            let adam, sgd = g (c "train").Lr, g (c "train --optimizer sgd").Lr
            $"%s{adam} for adam, %s{sgd} for sgd and momentum")
        "train",
        "--momentum",
        (fun () ->
            match (c "train --optimizer momentum").Optimizer with
            | Momentum(_, mu) -> g mu
            | other -> $"%A{other}")
        "train", "--output", (fun () -> (c "train").Arch.Layers[1].Text.Split(' ')[2])
        "train", "--validation", (fun () -> g (t "train").Validation)
        "train", "--threads", (fun () -> string (t "train").Threads)
        "train", "--early-stop", (fun () -> string (t "train").EarlyStop)
        "train", "--checkpoint-every", (fun () -> string (t "train").CheckpointEvery)
        "train", "--clip-norm", (fun () -> g (c "train").ClipNorm)
        "train", "--augment", (fun () -> Augment.Augment.text (c "train").Augment)
        "train", "--warmup", (fun () -> g (t "train").Schedule.Warmup)
        "lr-find",
        "--from",
        (fun () ->
            match run "lr-find" with
            | Command.LrFind l -> g l.From
            | _ -> "")
        "lr-find",
        "--to",
        (fun () ->
            match run "lr-find" with
            | Command.LrFind l -> g l.To
            | _ -> "")
        "lr-find",
        "--steps",
        (fun () ->
            match run "lr-find" with
            | Command.LrFind l -> string l.Steps
            | _ -> "")
        "lr-find",
        "--png",
        (fun () ->
            match run "lr-find" with
            | Command.LrFind l -> l.Png
            | _ -> "")
        "gradcheck",
        "--examples",
        (fun () ->
            match run "gradcheck" with
            | Command.Gradcheck x -> string x.Examples
            | _ -> "")
        "gradcheck",
        "--params",
        (fun () ->
            match run "gradcheck" with
            | Command.Gradcheck x -> string x.Params
            | _ -> "")
        "eval",
        "--seed",
        (fun () ->
            match run "eval --model m" with
            | Command.Eval e -> string e.Seed
            | _ -> "")
        "show",
        "--count",
        (fun () ->
            match run "show" with
            | Command.Show s -> string s.Count
            | _ -> "")
        "show",
        "--start",
        (fun () ->
            match run "show" with
            | Command.Show s -> string s.Start
            | _ -> "")
        "show",
        "--out",
        (fun () ->
            match run "show" with
            | Command.Show s -> s.Out
            | _ -> "")
        "attack",
        "--eps",
        (fun () ->
            match run "attack m" with
            | Command.Attack a -> a.Eps |> Array.map g |> String.concat ","
            | _ -> "")
        "attack",
        "--restarts",
        (fun () ->
            match run "attack m" with
            | Command.Attack a -> string a.Restarts
            | _ -> "")
        "replay",
        "--params",
        (fun () ->
            match run "replay r --step 1" with
            | Command.Replay r -> string r.Params
            | _ -> "")
        "drift",
        "--every",
        (fun () ->
            match run "drift r" with
            | Command.Drift d -> string d.Every
            | _ -> "")
        "bench",
        "--seconds",
        (fun () ->
            match run "bench" with
            | Command.Bench b -> g b.Seconds
            | _ -> "")
        "sweep",
        "--dir",
        (fun () ->
            match run "sweep --lr 0.1" with
            | Command.Sweep s -> s.Dir
            | _ -> "")
        "sweep",
        "--max-points",
        (fun () ->
            match run "sweep --lr 0.1" with
            | Command.Sweep s -> string s.MaxPoints
            | _ -> "")
    ]

[<Tests>]
let tests =
    testList
        "help states the parser's defaults"
        [
            for command, option, parsed in cases do
                test $"%s{command} %s{option}" {
                    let help = stated command option
                    let actual = parsed ()

                    Expect.isTrue
                        (same help actual)
                        $"'%s{command} --help' says %s{option} defaults to '%s{help}', the parser uses '%s{actual}'"
                }
            test "doctor, lr-find and gradcheck state train's own words for the train options they take" {
                for command in [ "doctor"; "lr-find"; "gradcheck" ] do
                    Expect.equal (entry command "--preset") (entry "train" "--preset") $"%s{command}'s --preset"
                    Expect.equal (entry command "--scale") (entry "train" "--scale") $"%s{command}'s --scale"
            }
            test "--preset's help lists every preset there is, and only those are accepted" {
                let text = entry "train" "--preset"

                let listed =
                    Regex.Matches(text, @"(?:: |; )([a-z0-9-]+) = ")
                    |> Seq.map (fun m -> m.Groups[1].Value)
                    |> List.ofSeq

                Expect.sequenceEqual listed Presets.names "train --help's preset list"

                for name in Presets.names do
                    Expect.equal (Presets.find name).Name name $"preset %s{name}"

                    match parse $"train --preset %s{name}" with
                    | Run(Command.Train t) -> Expect.equal t.Preset name "parsed"
                    | other -> failtestf "--preset %s: %A" name other

                match parse "train --preset ancient" with
                | Invalid message -> Expect.stringContains message "one of: modern, book" "names the presets"
                | other -> failtestf "--preset ancient: %A" other
            }
            test "--arch's help lists every layer kind's own usage" {
                let text = entry "train" "--arch"

                for kind in Arch.kinds do
                    Expect.stringContains text kind.Usage $"the usage of %s{kind.Keyword}"
            }
            test "a train option a command does not take is refused, naming it" {
                for line, option in
                    [
                        "doctor --run x", "--run"
                        "gradcheck --optimizer adam", "--optimizer"
                        "lr-find --lr 0.1", "--lr"
                        "gradcheck --epochs 3", "--epochs"
                    ] do
                    match parse line with
                    | Invalid message -> Expect.stringContains message option line
                    | other -> failtestf "expected '%s' to be refused, got %A" line other
            }
        ]
