/// `functional predict`: every image as CSV with honest column names, and one image with --index.
module Functional.Tests.PredictTests

open System
open System.Globalization
open System.IO
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

/// A fresh folder for the test's own files, and the shared tiny run of `preset` (read only).
let private trainedRun preset = tempDir (), Fixtures.tinyRun preset

[<Tests>]
let tests =
    testList
        "Predict"
        [
            testCase "every test image as CSV: eval's predictions, softmax rows named p_ and summing to 1"
            <| fun () ->
                let dir, runDir = trainedRun "modern"
                let csv = Path.Combine(dir, "predictions.csv")
                let o = run dir [ "predict"; "--model"; runDir; "--out"; csv ]
                Expect.equal o.Code 0 o.Err
                let lines = File.ReadAllLines csv

                Expect.equal
                    lines[0]
                    "index,label,predicted,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9"
                    "the header names softmax probabilities"

                Expect.equal lines.Length 2001 "a header and one row per test image"
                let model = ModelFile.Load runDir
                let data = Inputs.Load(null, null, Inputs.TestImages)
                let e = model.Evaluate(Inputs.ToCore data)
                let outputs = model.OutputsAll(Inputs.ToCore data)

                for i in 0..1999 do
                    let cells = lines[i + 1].Split ','
                    Expect.equal cells[0] (string i) "index"
                    Expect.equal cells[1] (string data.Labels[i]) "label"
                    Expect.equal cells[2] (string e.Predictions[i]) "eval's prediction"

                    let values =
                        cells[3..] |> Array.map (fun c -> Double.Parse(c, CultureInfo.InvariantCulture))

                    Expect.floatClose Accuracy.medium (Array.sum values) 1.0 "probabilities sum to 1"

                    for c in 0..9 do
                        Expect.equal (float32 values[c]) (float32 outputs[i * 10 + c]) "the model's output, exactly"

            testCase "sigmoid outputs are named sigmoid_, and --help says they do not sum to 1"
            <| fun () ->
                let dir, runDir = trainedRun "book"
                let o = run dir [ "predict"; "--model"; runDir ]
                Expect.equal o.Code 0 o.Err
                let lines = o.Out.Trim().Split '\n'

                Expect.equal
                    lines[0]
                    "index,label,predicted,sigmoid_0,sigmoid_1,sigmoid_2,sigmoid_3,sigmoid_4,sigmoid_5,sigmoid_6,sigmoid_7,sigmoid_8,sigmoid_9"
                    "CSV on standard output without --out"

                Expect.equal lines.Length 2001 "every test image"
                let help = run dir [ "predict"; "--help" ]
                // Argu wraps --help's lines: compare with the spaces collapsed.
                let helpText = Text.RegularExpressions.Regex.Replace(help.Out, @"\s+", " ")
                Expect.stringContains helpText "do not sum to 1" "the note in --help"

                let one = run dir [ "predict"; "--model"; runDir; "--index"; "3" ]
                Expect.equal one.Code 0 one.Err
                Expect.stringContains one.Out "image 3 of" "--index keeps working"
                Expect.stringContains one.Out "do not sum to 1" "and says what the values are"
                Expect.isFalse (one.Out.Contains "probabilities") "sigmoid outputs are not called probabilities"

            testCase "--index with --out, and an index outside the data: one line each, exit 2"
            <| fun () ->
                let dir, runDir = trainedRun "modern"

                let both =
                    run dir [ "predict"; "--model"; runDir; "--index"; "1"; "--out"; "p.csv" ]

                expectOneLineError both 2 [ "--index"; "--out" ]
                let outside = run dir [ "predict"; "--model"; runDir; "--index"; "2000" ]
                expectOneLineError outside 2 [ "2000"; "0..1999" ]
        ]
