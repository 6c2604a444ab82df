module Functional.Tests.Core.MaskingTests

open System
open Expecto
open Functional
open Functional.Attacks

let private outcome (attack: Attack) accuracy first =
    {
        Attack = attack
        Count = 100
        Accuracy = accuracy
        AccuracyFirstStep = first
        AccuracyFirstRestart = accuracy
        TargetHits = nan
        Confidence = 0.9
        Predictions = [||]
        Examples = [||]
        Forwards = 0L
        Backwards = 0L
        Stages = [||]
    }

let private fgsm eps accuracy =
    outcome (Attacks.fgsm eps false 1) accuracy accuracy

let private pgd eps accuracy first =
    outcome (Attacks.pgd eps 40 1 1) accuracy first

let private warn zero outcomes =
    Masking.warnings "functional attack m" (sprintf "%g") zero (Array.ofList outcomes)

[<Tests>]
let tests =
    testList
        "Masking"
        [
            testCase "an ordinary network's curve raises nothing"
            <| fun () ->
                let w =
                    warn
                        0.0
                        [
                            fgsm 0.0 0.96
                            fgsm 0.1 0.27
                            fgsm 0.3 0.01
                            pgd 0.1 0.22 0.9
                            pgd 0.3 0.0 0.8
                        ]

                Expect.isEmpty w "no warning"

            testCase "accuracy rising with epsilon is named, with a stronger evaluation"
            <| fun () ->
                match warn 0.0 [ fgsm 0.05 0.684; fgsm 0.2 0.806 ] with
                | [ w ] ->
                    Expect.stringContains w "rises with epsilon" "names it"
                    Expect.stringContains w "--method pgd --eps 0.2 --steps 100 --restarts 10" "says what to run"
                | w -> failtestf "expected one warning, got %A" w

            testCase "FGSM far above PGD at the same epsilon is named as catastrophic overfitting"
            <| fun () ->
                let w = warn 0.0 [ fgsm 0.3 0.9; pgd 0.3 0.0 0.95 ]
                Expect.exists w (fun l -> l.Contains "catastrophic overfitting") "named"

            testCase "PGD that gains nothing from its steps, and vanishing gradients, are named"
            <| fun () ->
                let w = warn 0.5 [ pgd 0.3 0.8 0.8 ]
                Expect.exists w (fun l -> l.Contains "gained nothing") "stuck PGD"
                Expect.exists w (fun l -> l.Contains "exactly zero") "zero gradients"
        ]
