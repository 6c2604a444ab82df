/// functional gradcheck --directional K: whole networks (LeNet-5, the LSTM) checked along K random directions, from
/// the command line; the maths and its failures are in tests/Core/Diagnostics/GradCheckTests.fs.
module Functional.Tests.GradcheckCommandTests

open System.Text.Json
open System.Text.RegularExpressions
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

[<Tests>]
let tests =
    testList
        "GradCheck"
        [
            testCase "--directional 3 passes a whole LeNet-5 and an LSTM, every parameter at once"
            <| fun () ->
                for preset in [ "lenet5"; "lstm" ] do
                    let o = run repo [ "gradcheck"; "--directional"; "3"; "--preset"; preset ]
                    Expect.equal o.Code 0 (sprintf "%s: %s%s" preset o.Out o.Err)
                    Expect.stringContains o.Out "gradcheck: PASS (3 of 3 directions judged" preset
                    // One line per direction, each with its relative error under the tolerance stated.
                    let rows = Regex.Matches(o.Out, @"(?m)^\s+\d+\s+\S+\s+\S+\s+(\S+)\s+PASS$")
                    Expect.equal rows.Count 3 (sprintf "%s: three directions\n%s" preset o.Out)
                    Expect.stringContains o.Out "fails when |g·u − diff| ≥ 1.0e-06" "the tolerance"
                    // LeNet-5's zero biases sit on ReLU kinks over MNIST's blank border: they are moved, and it says so.
                    if preset = "lenet5" then
                        Expect.stringContains o.Out "exactly 0 (zero biases) moved" o.Out

            testCase "--directional --json: one object, a direction each, the parameters counted"
            <| fun () ->
                let o =
                    run repo [ "gradcheck"; "--directional"; "2"; "--preset"; "lenet5"; "--json" ]

                Expect.equal o.Code 0 o.Err
                use doc = JsonDocument.Parse o.Out
                let r = doc.RootElement
                Expect.isTrue (r.GetProperty("pass").GetBoolean()) o.Out
                Expect.equal (r.GetProperty("directions").GetArrayLength()) 2 "two directions"
                Expect.isGreaterThan (r.GetProperty("parameters").GetInt32()) 60000 "all of LeNet-5's parameters"

                for d in r.GetProperty("directions").EnumerateArray() do
                    Expect.isLessThan
                        (d.GetProperty("rel_error").GetDouble())
                        (r.GetProperty("tolerance").GetDouble())
                        "within"

            testCase "--directional 0 is refused in one line"
            <| fun () ->
                let o = run repo [ "gradcheck"; "--directional"; "0" ]
                expectOneLineError o ReturnCode.Usage [ "--directional" ]
        ]
