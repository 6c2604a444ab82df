/// What a newcomer trips over (issue 33): tables that fit a terminal, pictures that do not mislead, files named by
/// their real kind.
module Functional.Tests.PapercutTests

open System
open System.IO
open System.Text.Json.Nodes
open Argu
open Expecto
open Microsoft.FSharp.Reflection
open Functional.Cli
open Functional.Host
open Functional.Host.Sweeps
open Functional.Tests.EndToEndTests

/// A run.json of the settings given, finished with a test accuracy after `epochs` epochs (no validation set).
let private record (label: string) (settings: (string * string) list) (accuracy: float) =
    let config = JsonObject()

    for key, value in settings do
        config[key] <- JsonValue.Create value

    let epochs = JsonArray()
    epochs.Add(JsonObject(dict [ "epoch", JsonValue.Create 1 :> JsonNode; "seconds", JsonValue.Create 2.5 ]))

    let results =
        JsonObject(
            dict
                [
                    "test_accuracy", JsonValue.Create accuracy :> JsonNode
                    "epochs", epochs :> JsonNode
                ]
        )

    RunRecord(
        Path.Combine(Path.GetTempPath(), label),
        label,
        JsonObject(dict [ "config", config :> JsonNode; "results", results :> JsonNode ])
    )

let private printed (c: Comparison) =
    use w = new StringWriter()
    c.Print w
    w.ToString().Replace("\r\n", "\n").TrimEnd('\n').Split '\n'

let private lenet =
    "input 1x28x28, conv 6 5x5 pad 2 relu, maxpool 2, conv 16 5x5 relu, maxpool 2, flatten, dense 120 relu, dropout 0.3, dense 84 relu, dropout 0.3, dense 10 softmax"

/// Each option's description, as its Argu case says it (the field values do not change a description).
let private descriptions (args: Type) =
    [
        for c in FSharpType.GetUnionCases args do
            let fields =
                c.GetFields()
                |> Array.map (fun f ->
                    if f.PropertyType.IsValueType then
                        Activator.CreateInstance f.PropertyType
                    else
                        null)

            (FSharpValue.MakeUnion(c, fields) :?> IArgParserTemplate).Usage
    ]

/// `functional --help` and every command's, with the descriptions each should hold whole.
let private helps =
    lazy
        [
            "", descriptions typeof<FunctionalArgs>
            for c in FSharpType.GetUnionCases typeof<FunctionalArgs> do
                match c.GetFields() with
                | [| f |] when f.PropertyType.IsGenericType ->
                    c.Name.ToLowerInvariant().Replace('_', '-'), descriptions (f.PropertyType.GetGenericArguments()[0])
                | _ -> ()
        ]

[<Tests>]
let tests =
    testList
        "Papercuts"
        [
            test "compare: runs of long settings fit 80 columns and still show every value that differs" {
                let runs =
                    [
                        record
                            "default"
                            [ "arch", "dense 512 relu, dense 10 softmax"; "batch", "32"; "lr", "0.001" ]
                            0.9745
                        record "lenet" [ "arch", lenet; "batch", "32"; "lr", "0.001" ] 0.978
                        record
                            "lstm"
                            [
                                "arch", "lstm 128 orthogonal, dense 10 softmax"
                                "batch", "64"
                                "lr", "0.002"
                            ]
                            0.967
                    ]

                let lines = printed (Comparison(runs))

                for line in lines do
                    Expect.isLessThanOrEqual line.Length 80 $"'%s{line}' fits 80 columns"

                let text = String.Join("\n", lines)

                for part in
                    [
                        "97.45 %"
                        "97.80 %"
                        "96.70 %"
                        "settings that differ"
                        "lstm 128 orthogonal"
                        "0.002"
                    ] do
                    Expect.stringContains text part "shown"

                // The shared setting is not a setting that differs.
                Expect.isFalse (text.Contains "32  \n") "nothing shared is listed"
                // Every word of the long architecture is there, wrapped rather than cut.
                let flat = String.Join(" ", lines |> Array.map (fun l -> l.Trim()))

                for word in lenet.Split ' ' do
                    Expect.stringContains flat word "the architecture, whole"
            }
            test "every command's help fits 80 columns and breaks no word" {
                for command, texts in helps.Force() do
                    let o = run repo ((if command = "" then [] else [ command ]) @ [ "--help" ])

                    Expect.equal o.Code 0 $"%s{command} --help: %s{o.Err}"
                    let lines = o.Out.Replace("\r\n", "\n").Split '\n'

                    for line in lines do
                        Expect.isLessThanOrEqual line.Length 80 $"%s{command} --help: '%s{line}' fits 80 columns"

                    let words =
                        Collections.Generic.HashSet(
                            o.Out.Split([| ' '; '\n'; '\r' |], StringSplitOptions.RemoveEmptyEntries)
                        )

                    // A word cut at a line's end is in the help as two pieces, neither of them the word.
                    for text in texts do
                        for word in text.Split([| ' '; '\n' |], StringSplitOptions.RemoveEmptyEntries) do
                            Expect.isTrue (words.Contains word) $"%s{command} --help holds '%s{word}' whole"
            }
            test "compare: a table that fits stays one table" {
                let runs = [ record "a" [ "lr", "0.1" ] 0.9; record "b" [ "lr", "0.3" ] 0.8 ]

                let lines = printed (Comparison(runs))
                Expect.stringStarts lines[0] "run  lr" "the one-table header"
                Expect.isFalse (String.Join("\n", lines).Contains "settings that differ") "no second part"
            }
            test "compare.png: a run without a validation set draws its final test accuracy at its last epoch" {
                let r = record "book" [ "lr", "0.1" ] 0.2015
                Expect.sequenceEqual (r.TestCurve()) [ (1, 0.2015) ] "one point, not 'no data'"
            }
            test "curves.png: a last batch of one image is left out of the unit fractions, and said so" {
                let dir = tempDir ()

                File.WriteAllLines(
                    Path.Combine(dir, "journal.jsonl"),
                    [
                        for step, examples, dead in [ 1, 32, 0.05; 2, 32, 0.06; 3, 1, 0.6; 4, 32, 0.05 ] ->
                            $"{{\"step\": %d{step}, \"loss\": 1, \"grad_norms\": [1, 1], \"dead\": [%g{dead}, null], \"examples\": %d{examples}}}"
                    ]
                )

                let u = CurvesPlot.Units(RunHistory.Load dir)
                let dead = u.Series |> Seq.exactlyOne
                Expect.sequenceEqual dead.Steps [| 1.0; 2.0; 4.0 |] "step 3 (one image) left out"
                Expect.isTrue (dead.Fractions |> Array.forall (fun f -> f < 0.1)) "no jump"
                Expect.stringContains (String.concat " " u.Notes) "left out: 1 step(s)" "the note says so"
                let limits = (CurvesPlot.Saturation(RunHistory.Load dir)).Axes.GetLimits()
                Expect.isLessThan limits.Top 1.1 "a fraction's axis ends near 1"
            }
            test "train --train a picture names it as a picture" {
                let dir = tempDir ()
                let png = Path.Combine(dir, "notimage.png")

                File.WriteAllBytes(
                    png,
                    [|
                        0x89uy
                        byte 'P'
                        byte 'N'
                        byte 'G'
                        13uy
                        10uy
                        26uy
                        10uy
                        0uy
                        0uy
                        0uy
                        13uy
                    |]
                )

                let o = run dir [ "train"; "--train"; png; "--epochs"; "1" ]
                expectOneLineError o 3 [ "notimage.png"; "a PNG picture"; "predict --image" ]
            }
        ]
