/// `functional doctor`, `gradcheck` and the presets, through the real binary on the shipped data.
module Functional.Tests.DoctorTests

open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions
open Expecto
open Functional.Tests.EndToEndTests

/// The line of check `name` in doctor's output.
let private lineOf (out: string) (name: string) =
    out.Split('\n')
    |> Array.tryFind (fun l -> l.Length > 6 && l.Substring(6).StartsWith(name + " "))
    |> Option.defaultWith (fun () -> failtestf "no '%s' line in:\n%s" name out)

let private expectStatus (out: string) (name: string) (status: string) =
    let line = lineOf out name
    Expect.stringStarts line status $"%s{name}: %s{line}"
    line

/// The arguments of a printed `functional train …` command, from `train` on (no quoting needed here).
let private argsOf (command: string) =
    command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
    |> Array.skip 1
    |> List.ofArray

[<Tests>]
let tests =
    testList
        "Doctor"
        [
            testCase "doctor --preset seed fails, names the causes, and its fix clears 70%"
            <| fun () ->
                let d = run repo [ "doctor"; "--preset"; "seed" ]
                Expect.equal d.Code 1 (sprintf "exit code 1 when a check fails; stderr: %s" d.Err)
                let data = expectStatus d.Out "data" "WARN"
                Expect.stringContains data "outside [0, 1]" "input range"
                Expect.stringContains data "--scale book" "input range fix"
                let after = expectStatus d.Out "health after run" "FAIL"
                Expect.stringContains after "saturated" "saturated units"
                let collapse = expectStatus d.Out "output collapse" "FAIL"
                Expect.stringContains collapse "1 distinct predicted classes" "one class for every input"
                Expect.stringContains collapse "collapsed" "named"
                let schedule = expectStatus d.Out "schedule" "WARN"
                Expect.stringContains schedule "1 update(s) per epoch" "one update per iteration"
                Expect.stringContains schedule "100 × 0.4 = 40" "the summed step"
                expectStatus d.Out "baseline" "FAIL" |> ignore
                expectStatus d.Out "overfit" "FAIL" |> ignore
                expectStatus d.Out "gradient check" "PASS" |> ignore
                Expect.stringContains d.Out "doctor: FAIL" "summary"

                // Every fix says which option applies it, not only what to change.
                for m in Regex.Matches(d.Out, @" Fix: (.*)$", RegexOptions.Multiline) do
                    Expect.stringContains m.Groups[1].Value "--" $"the fix '%s{m.Groups[1].Value}' names an option"

                let fix =
                    Regex.Match(d.Out, @"^fix +(functional train .*)$", RegexOptions.Multiline)

                Expect.isTrue fix.Success "a ready train command"
                let command = fix.Groups[1].Value.Trim()

                for flag in [ "--preset seed"; "--reduction mean"; "--batch 1"; "--scale book" ] do
                    Expect.stringContains command flag "the fix names it"

                let dir = tempDir ()
                let t = run repo (argsOf command @ [ "--run"; Path.Combine(dir, "run") ])
                Expect.equal t.Code 0 (sprintf "the fix trains; stderr: %s" t.Err)
                Expect.stringContains t.Out "train 100 images" "on the same 100 training images"
                Expect.isGreaterThanOrEqual (accuracyOf t.Out) 70.0 "the fixed network clears 70% on 2,000 test digits"
                Directory.Delete(dir, true)

            testCase "doctor on the defaults passes"
            <| fun () ->
                let d = run repo [ "doctor" ]
                Expect.equal d.Code 0 (sprintf "exit code; stdout: %s\nstderr: %s" d.Out d.Err)
                Expect.isFalse (Regex.IsMatch(d.Out, "^FAIL", RegexOptions.Multiline)) "no FAIL"

                for name in
                    [
                        "data"
                        "loss at init"
                        "gradient check"
                        "overfit"
                        "baseline"
                        "health at init"
                        "health after run"
                        "output collapse"
                        "schedule"
                        "lr sweep"
                    ] do
                    lineOf d.Out name |> ignore

                Expect.stringContains (lineOf d.Out "loss at init") "ln 10 = 2.303" "the expectation is stated"
                Expect.isFalse (d.Out.Contains "fix    functional train") "nothing to fix"

            testCase "doctor --json is one object with every check"
            <| fun () ->
                let d = run repo [ "doctor"; "--preset"; "seed"; "--json" ]
                Expect.equal d.Code 1 "still fails"
                use doc = JsonDocument.Parse(d.Out)
                let root = doc.RootElement
                Expect.equal (root.GetProperty("status").GetString()) "FAIL" "status"
                let checks = root.GetProperty("checks").EnumerateArray() |> Seq.toArray
                Expect.equal checks.Length 10 "ten checks"

                let collapse =
                    checks
                    |> Array.find (fun c -> c.GetProperty("check").GetString() = "output collapse")

                Expect.equal (collapse.GetProperty("data").GetProperty("distinct").GetInt32()) 1 "one class"
                Expect.stringStarts (root.GetProperty("recommended").GetString()) "functional train" "the fix"

            testCase "gradcheck passes on the defaults and on the seed network, and states its rule"
            <| fun () ->
                for args in [ []; [ "--preset"; "seed"; "--examples"; "5" ] ] do
                    let g = run repo ([ "gradcheck"; "--params"; "40" ] @ args)
                    Expect.equal g.Code 0 (sprintf "exit code; stdout: %s\nstderr: %s" g.Out g.Err)
                    Expect.stringContains g.Out "ε = ∛(machine ε)·max(1, |θ|)" "the ε rule"

                    Expect.isMatch
                        g.Out
                        @"gradcheck: PASS \([1-9][0-9]* of [0-9]+ entries measured, relative error < 1\.0e-04"
                        "verdict, entries measured and threshold"

                    Expect.equal
                        (Regex.Matches(g.Out, @"^layer \d \(layers\.\d\) .* PASS ", RegexOptions.Multiline).Count)
                        2
                        "two layers"

                let j = run repo [ "gradcheck"; "--params"; "20"; "--json" ]
                use doc = JsonDocument.Parse(j.Out)
                Expect.isTrue (doc.RootElement.GetProperty("pass").GetBoolean()) "json pass"

            testCase "train --preset seed reproduces the collapse"
            <| fun () ->
                let dir = tempDir ()
                let t = run repo [ "train"; "--preset"; "seed"; "--run"; Path.Combine(dir, "run") ]
                Expect.equal t.Code 0 (sprintf "stderr: %s" t.Err)
                Expect.stringContains t.Out "train 100 images" "the first 100 training images"
                Expect.stringContains t.Out "(1 distinct)" "one predicted class for every test image"
                Expect.isLessThan (accuracyOf t.Out) 15.0 "chance level"
                Directory.Delete(dir, true)
        ]
