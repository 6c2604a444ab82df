/// Robustness that is only apparent: signs in an attack's numbers that its gradients, not the network, stopped it
/// (gradient masking, or the catastrophic overfitting of single-step adversarial training). Carlini et al. 2019
/// ("On Evaluating Adversarial Robustness") list them: accuracy that rises with ε, single-step attacks beating
/// iterative ones, iterations that do not help, a gradient-free attack beating gradient ones, and gradients that
/// vanish.
module Functional.Masking

open System
open System.Globalization
open Functional.Attacks

let private pct (x: float) =
    (100.0 * x).ToString("F1", CultureInfo.InvariantCulture)


/// One line per sign found in `outcomes` (any methods and ε, ε in the units `epsText` prints them). `attack` is the
/// command that attacks the same model ("functional attack runs/x"), to which the stronger evaluation is appended.
let warnings (attack: string) (epsText: float -> string) (zeroGradients: float) (outcomes: Outcome[]) : string list =
    let untargeted = outcomes |> Array.filter (fun o -> o.Attack.Target < 0)

    let stronger (eps: float) =
        sprintf "%s --method pgd --eps %s --steps 100 --restarts 10" attack (epsText eps)

    let rising =
        untargeted
        |> Array.groupBy (fun o -> o.Attack.Method, o.Attack.Steps, o.Attack.Restarts)
        |> Array.choose (fun (_, os) ->
            let sorted = os |> Array.sortBy (fun o -> o.Attack.Eps)

            [
                for k in 1 .. sorted.Length - 1 do
                    for j in 0 .. k - 1 do
                        if sorted[k].Accuracy > sorted[j].Accuracy + 0.02 then
                            yield sorted[j], sorted[k]
            ]
            |> List.tryHead)
        |> Array.map (fun (a, b) ->
            sprintf
                "%s accuracy rises with epsilon: %s%% at %s but %s%% at %s. A larger ball contains the smaller one, so a working attack can only do better there: the attack's gradients are misleading it (gradient masking, or catastrophic overfitting after single-step adversarial training), and the robustness is apparent, not real. Evaluate with many PGD steps and restarts: %s"
                (Method.name a.Attack.Method)
                (pct a.Accuracy)
                (epsText a.Attack.Eps)
                (pct b.Accuracy)
                (epsText b.Attack.Eps)
                (stronger b.Attack.Eps))

    let beaten =
        [|
            for f in untargeted do
                if f.Attack.Method = Fgsm then
                    for p in untargeted do
                        if
                            p.Attack.Method = Pgd
                            && abs (p.Attack.Eps - f.Attack.Eps) < 1e-12
                            // Beyond the ε a model was trained at, FGSM honestly trails PGD by 20–30 points.
                            && (f.Accuracy > p.Accuracy + 0.3
                                || f.Accuracy > p.Accuracy + 0.2 && p.Accuracy < f.Accuracy / 4.0)
                        then
                            yield f, p
        |]
        |> Array.truncate 1
        |> Array.map (fun (f, p) ->
            sprintf
                "FGSM leaves %s%% at epsilon %s but PGD only %s%%: a single gradient step at the clean input points the wrong way, the signature of catastrophic overfitting (FGSM training without a random start) or masked gradients. The FGSM figure is not a robustness figure; train with --adversarial fgsm:EPS:random or pgd:EPS:STEPS, and evaluate with: %s"
                (pct f.Accuracy)
                (epsText f.Attack.Eps)
                (pct p.Accuracy)
                (stronger f.Attack.Eps))

    let stuck =
        untargeted
        |> Array.filter (fun o ->
            o.Attack.Method = Pgd
            && o.Attack.Steps >= 2
            && o.Attack.Eps > 0.0
            && o.Accuracy > 0.1
            && o.AccuracyFirstStep - o.Accuracy < 0.005)
        |> Array.truncate 1
        |> Array.map (fun o ->
            sprintf
                "PGD's %d steps at epsilon %s gained nothing over its first (%s%% after one, %s%% after all) while %s%% still stand: the iterations are not moving the inputs, so the gradients are zero or uninformative there (masking), not the network robust. Try a random start with larger steps and restarts: %s --alpha %s"
                o.Attack.Steps
                (epsText o.Attack.Eps)
                (pct o.AccuracyFirstStep)
                (pct o.Accuracy)
                (pct o.Accuracy)
                (stronger o.Attack.Eps)
                (epsText (o.Attack.Eps / 4.0)))

    let unconverged =
        untargeted
        |> Array.filter (fun o -> o.Attack.Restarts > 1 && o.AccuracyFirstRestart - o.Accuracy > 0.01)
        |> Array.truncate 1
        |> Array.map (fun o ->
            sprintf
                "restarts still lower PGD's accuracy at epsilon %s (%s%% after the first, %s%% after %d): the attack has not converged, and more restarts would likely lower it further: %s"
                (epsText o.Attack.Eps)
                (pct o.AccuracyFirstRestart)
                (pct o.Accuracy)
                o.Attack.Restarts
                (stronger o.Attack.Eps))

    let ensemble (eps: float) =
        sprintf "%s --method autoattack --eps %s" attack (epsText eps)

    let sameEps (a: Outcome) (b: Outcome) =
        abs (a.Attack.Eps - b.Attack.Eps) < 1e-12

    // A score-based attack sees only outputs: when it does better than following the gradient, the gradient lies.
    let squareBeats =
        [|
            for sq in untargeted do
                if sq.Attack.Method = Square then
                    let followers =
                        untargeted
                        |> Array.filter (fun o ->
                            Method.usesGradient o.Attack.Method
                            && o.Attack.Method <> AutoAttack
                            && sameEps o sq)

                    if followers.Length > 0 then
                        let best = followers |> Array.minBy (fun o -> o.Accuracy)

                        if sq.Accuracy < best.Accuracy - 0.02 then
                            yield
                                sprintf
                                    "Square, which reads only the outputs, leaves %s%% at epsilon %s but %s, following the gradient, %s%%: an attack without gradients beating those with them means the gradients are masked (saturated, quantised or flat), and the gradient attacks' figure is not a robustness figure. Trust the lower one, and evaluate with: %s"
                                    (pct sq.Accuracy)
                                    (epsText sq.Attack.Eps)
                                    (Method.name best.Attack.Method)
                                    (pct best.Accuracy)
                                    (ensemble sq.Attack.Eps)

            for o in untargeted do
                for stage in o.Stages do
                    let broke = stage.Broken

                    if stage.Method = Square && broke >= 2 && float broke > 0.01 * float o.Count then
                        yield
                            sprintf
                                "in AutoAttack at epsilon %s, Square broke %d examples (of %d) that APGD-CE and APGD-T had left standing: an attack without gradients beating those with them means the gradients are masked (saturated, quantised or flat). The ensemble's figure (%s%%) counts them; a PGD or APGD figure alone would not."
                                (epsText o.Attack.Eps)
                                broke
                                o.Count
                                (pct o.Accuracy)
        |]
        |> Array.truncate 1

    let vanished =
        if zeroGradients > 0.1 then
            [|
                sprintf
                    "%s%% of the examples have an input gradient of exactly zero (the softmax saturated to 1 in this precision): sign(0) = 0, so FGSM cannot move them and they count as robust without being so. PGD's random start moves them off the flat spot; evaluate with: %s"
                    (pct zeroGradients)
                    (stronger (outcomes |> Array.map (fun o -> o.Attack.Eps) |> Array.fold max 0.0))
            |]
        else
            [||]

    List.ofArray (Array.concat [ rising; beaten; stuck; unconverged; squareBeats; vanished ])
