module Functional.Tests.Core.AttacksTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Step
open Functional.Attacks
open Functional.Tests.Core.Helpers

/// Small networks of every layer kind, on 1x6x6 inputs (36 features).
let private archs =
    [
        "dense", "input 36, dense 12 relu, dense 10 softmax"
        "conv, maxpool, flatten", "input 1x6x6, conv 3 3x3 relu, maxpool 2, flatten, dense 10 softmax"
        "dropout", "input 36, dense 12 tanh, dropout 0.5, dense 10 softmax"
    ]

let private parse text =
    match Arch.parse [| 36 |] text with
    | Ok a -> a
    | Error e -> failwith e

/// Random images of 36 grey levels with random labels.
let private images seed count =
    let rng = Rng.For(seed, 99)

    {
        Pixels = Array.init (count * 36) (fun _ -> byte (rng.NextInt 256))
        Labels = Array.init count (fun _ -> byte (rng.NextInt 10))
        Count = count
        Features = 36
        Values = [||]
    }

let private columnOf (imgs: Images) scale n =
    let t = Scale.table<float> scale
    Array.init imgs.Features (fun i -> t[int imgs.Pixels[n * imgs.Features + i]])

/// −ln p_label of one input, from the pure forward pass: the loss FGSM climbs, computed with none of its code.
let private lossAt (net: Network<float>) (x: float[]) (label: int) =
    let out =
        Tensor.data (forward net (Tensor.ofColumnMajor x.Length 1 (Array.copy x))).Output

    -Math.Log out[label]

/// ∂L/∂x by central differences in float64.
let private numericGradient net (x: float[]) label =
    let h = 1e-6

    Array.init x.Length (fun i ->
        let up, down = Array.copy x, Array.copy x
        up[i] <- up[i] + h
        down[i] <- down[i] - h
        (lossAt net up label - lossAt net down label) / (2.0 * h))

[<Tests>]
let tests =
    testList
        "Attacks"
        [
            testCase "the input gradient of every layer kind matches central differences (float64)"
            <| fun () ->
                for name, text in archs do
                    let net = Network.init<float> Xavier 3 (parse text)
                    let imgs = images 1 4
                    let x = Tensor.zeros<float> 36 4
                    let y = Tensor.zeros<float> 10 4
                    gatherInto Unit imgs (Array.init 4 id) 0 x y
                    let hyper = hyper CrossEntropy Sum 0.0 (Optim.OptimizerSpec.adam 1e-3)
                    let _, dx = Step.inputGradient hyper { X = x; Y = y } net

                    for n in 0..3 do
                        let numeric = numericGradient net (columnOf imgs Unit n) (int imgs.Labels[n])
                        let analytic = Array.init 36 (fun i -> dx[i, n])
                        expectClose $"%s{name}, example %d{n}" 1e-5 [| numeric |] [| analytic |]

            testCase "FGSM's adversarial examples are those of an independent FGSM on numeric gradients"
            <| fun () ->
                for name, text in archs do
                    for scale in [ Unit; Book ] do
                        let net = Network.init<float> Xavier 5 (parse text)
                        let imgs = images 2 6
                        let r = Attacks.range scale
                        let eps = 0.1 * r.Width
                        let outcome = Attacks.run net scale imgs 6 4 6 (Attacks.fgsm eps false 1)
                        let mutable judged = 0

                        for n in 0..5 do
                            let x = columnOf imgs scale n
                            let g = numericGradient net x (int imgs.Labels[n])

                            for i in 0..35 do
                                // A central difference cannot tell the sign of a gradient below its own error.
                                if abs g[i] > 1e-6 then
                                    judged <- judged + 1
                                    let expected = Math.Clamp(x[i] + eps * float (sign g[i]), r.Lo, r.Hi)

                                    Expect.floatClose
                                        Accuracy.high
                                        outcome.Examples[n].[i]
                                        expected
                                        $"%s{name}, scale %A{scale}, example %d{n}, input %d{i}"

                        Expect.isGreaterThan judged 150 $"%s{name}: most inputs have a measurable gradient"

            testCase "PGD never leaves the eps-ball or the valid input range, for every scaling"
            <| fun () ->
                for scale in [ Unit; Book; Offset ] do
                    for eps in [ 0.02; 0.1; 0.3; 1.0 ] do
                        let net = Network.init<float32> He 7 (parse (snd archs[1]))
                        let imgs = images 3 20
                        let r = Attacks.range scale
                        let e = eps * r.Width
                        let outcome = Attacks.run net scale imgs 20 8 20 (Attacks.pgd e 10 2 4)

                        for n in 0..19 do
                            let x = columnOf imgs scale n

                            for i in 0..35 do
                                let v = outcome.Examples[n].[i]
                                let where = $"scale %A{scale}, eps %g{eps}, example %d{n}, input %d{i}"
                                // float32 rounds x ± ε: allow its last bit.
                                Expect.isLessThanOrEqual (abs (v - x[i])) (e + 1e-6) $"%s{where}: inside the ball"
                                Expect.isGreaterThanOrEqual v (float (float32 r.Lo)) $"%s{where}: at or above the range"
                                Expect.isLessThanOrEqual v (float (float32 r.Hi)) $"%s{where}: at or below the range"

            testCase "PGD is deterministic for a seed, and its random start depends on the seed"
            <| fun () ->
                let net = Network.init<float32> He 7 (parse (snd archs[0]))
                let imgs = images 4 30

                let run seed =
                    Attacks.run net Unit imgs 30 7 30 (Attacks.pgd 0.1 5 2 seed)

                let a, b, c = run 1, run 1, run 2
                Expect.equal a.Predictions b.Predictions "same predictions"

                for n in 0..29 do
                    Expect.equal (bits a.Examples[n]) (bits b.Examples[n]) $"example %d{n}: same bits"

                Expect.isTrue
                    (Seq.exists2 (fun (u: float[]) (v: float[]) -> u <> v) a.Examples c.Examples)
                    "another seed starts elsewhere"

            testCase "PGD is at least as strong as FGSM, and a targeted attack hits its target"
            <| fun () ->
                let train = synthetic 11 600
                let config = trainConfig Float32
                let trainer = Api.Training.CreateTrainer(config, train)
                let order = Api.Data.Permutation(1, 0, train.Count)

                for o, n in Data.batches train.Count 32 do
                    trainer.Step(order, o, n) |> ignore

                let model = trainer.Model
                let test = synthetic 12 300

                let clean =
                    (Api.Attacks.Run(model, test, 300, 100, 0, Attacks.fgsm 0.0 false 1)).Accuracy

                let f = Api.Attacks.Run(model, test, 300, 100, 0, Attacks.fgsm 0.15 false 1)
                let p = Api.Attacks.Run(model, test, 300, 100, 0, Attacks.pgd 0.15 20 1 1)
                Expect.isGreaterThan clean 0.9 "the network learnt the synthetic classes"
                Expect.isLessThan f.Accuracy clean "FGSM lowers accuracy"
                Expect.isLessThanOrEqual p.Accuracy f.Accuracy "PGD-20 does no worse than FGSM"

                let targeted =
                    Api.Attacks.Run(
                        model,
                        test,
                        300,
                        100,
                        0,
                        { Attacks.pgd 0.5 20 1 1 with
                            Target = 3
                        }
                    )

                Expect.isGreaterThan targeted.TargetHits 0.9 "a large targeted attack calls most inputs 3"

            testCase "bad attacks are refused in one line"
            <| fun () ->
                let r = Attacks.range Unit

                let message a =
                    match Attacks.problem a r with
                    | Some m -> m
                    | None -> failtestf "expected a problem with %A" a

                Expect.stringContains (message (Attacks.fgsm -0.1 false 1)) ">= 0" "negative epsilon"

                Expect.stringContains
                    (message (Attacks.fgsm 1.5 false 1))
                    "larger than the whole input range"
                    "too large"

                Expect.stringContains (message (Attacks.pgd 0.1 0 1 1)) "steps must be >= 1" "zero steps"
                Expect.stringContains (message (Attacks.pgd 0.1 5 0 1)) "restarts must be >= 1" "zero restarts"
                Expect.isNone (Attacks.problem (Attacks.pgd 0.1 5 1 1) r) "a good attack"

            testCase "--adversarial reads fgsm:EPS, fgsm:EPS:random and pgd:EPS:STEPS, and refuses the rest"
            <| fun () ->
                for text in [ "fgsm:0.1"; "fgsm:0.1:random"; "pgd:0.3:40" ] do
                    match Adversarial.parse 0.5 text with
                    | Ok a -> Expect.equal (Adversarial.text a) text "round trip"
                    | Error e -> failtest e

                for bad in [ "fgsm:-0.1"; "fgsm:1.5"; "pgd:0.3:0"; "pgd:0.3"; "cw:0.1"; "fgsm:x" ] do
                    Expect.isError (Adversarial.parse 0.5 bad) bad

                Expect.isError (Adversarial.parse 1.5 "fgsm:0.1") "weight above 1"

            testCase "--adversarial reads trades:EPS:STEPS[:BETA] (beta 6 by default), and refuses a bad beta"
            <| fun () ->
                match Adversarial.parse 0.5 "trades:0.3:10" with
                | Ok a ->
                    Expect.equal (Adversarial.text a) "trades:0.3:10:6" "the default beta is written"
                    Expect.equal a.Trades 6.0 "beta"
                    Expect.equal a.Method Pgd "its inner maximisation is PGD"
                    Expect.equal a.Weight 1.0 "TRADES weighs by beta, not by the weight"
                | Error e -> failtest e

                match Adversarial.parse 0.5 "trades:0.1:5:2.5" with
                | Ok a -> Expect.equal (Adversarial.text a) "trades:0.1:5:2.5" "round trip"
                | Error e -> failtest e

                for bad in
                    [
                        "trades:0.3:10:0"
                        "trades:0.3:10:-1"
                        "trades:0.3:10:x"
                        "trades:0.3"
                        "trades:0.3:0"
                    ] do
                    Expect.isError (Adversarial.parse 0.5 bad) bad

            testCase
                "TRADES' loss is CE(clean) + β·KL(clean ‖ adversarial), and its gradient (through both) the numeric one"
            <| fun () ->
                let s = dense [| 4; 5; 3 |] Tanh Softmax true
                let rng = Rng.For(17, 0)
                let net = randomNet<float> rng s
                let b, classes, beta = 3, 3, 2.5
                let batch = randomBatch<float> rng Soft s (2 * b)
                let yd = Tensor.data batch.Y
                // [2y | 0], as AdversarialTraining builds a TRADES batch for a mean over its 2B columns.
                for i in 0 .. classes * b - 1 do
                    yd[i] <- 2.0 * yd[i]

                Array.fill yd (classes * b) (classes * b) 0.0

                let h =
                    { hyper CrossEntropy Mean 0.0 (Optim.Sgd 0.1) with
                        Trades = beta
                    }

                let p = Tensor.data (Network.forward net batch.X).Output
                let mutable expected = 0.0

                for j in 0 .. b - 1 do
                    for i in 0 .. classes - 1 do
                        let pc, pa = p[j * classes + i], p[(j + b) * classes + i]
                        expected <- expected - 0.5 * yd[j * classes + i] * log pc + beta * pc * log (pc / pa)

                let loss, _ = Step.gradients h batch net
                Expect.floatClose Accuracy.veryHigh loss (expected / float b) "the step's loss"

                for r in GradCheck.check h batch net 1000 1 do
                    Expect.isLessThan r.MaxRelError 1e-6 $"layer %d{r.Layer}: analytic against central differences"

                let without, _ = Step.gradients { h with Trades = 0.0 } batch net
                Expect.isGreaterThan (abs (loss - without)) 1e-3 "the KL term is in the loss"

            testCase "adversarial training replays bit for bit, resumes to the same bits, and changes the weights"
            <| fun () ->
                let train = synthetic 13 200
                let plain = trainConfig Float32

                let config =
                    { plain with
                        Adversarial = Adversarial.parse 0.5 "pgd:0.1:3" |> Result.toOption
                    }

                let order = Api.Data.Permutation(1, 0, train.Count)
                let schedule = Data.batches train.Count 32

                let runFrom (trainer: Trainer) first =
                    for o, n in schedule[first..] do
                        trainer.Step(order, o, n) |> ignore

                    trainer.WeightsHash()

                let a = runFrom (Api.Training.CreateTrainer(config, train)) 0
                let b = runFrom (Api.Training.CreateTrainer(config, train)) 0
                Expect.equal b a "two runs, same bits"

                let half = Api.Training.CreateTrainer(config, train)

                for o, n in schedule[..2] do
                    half.Step(order, o, n) |> ignore

                let resumed =
                    Api.Training.RestoreTrainer(config, train, half.State(), half.StepCount)

                Expect.equal (runFrom resumed 3) a "resumed after 3 steps, same bits"

                Expect.notEqual
                    (runFrom (Api.Training.CreateTrainer(plain, train)) 0)
                    a
                    "the adversary changes training"

            testCase "TRADES training replays bit for bit, and trains otherwise than PGD training"
            <| fun () ->
                let train = synthetic 13 200

                let withAdversary text =
                    { trainConfig Float32 with
                        Adversarial = Adversarial.parse 0.5 text |> Result.toOption
                    }

                let order = Api.Data.Permutation(1, 0, train.Count)

                let hashOf config =
                    let trainer = Api.Training.CreateTrainer(config, train)

                    for o, n in Data.batches train.Count 32 do
                        trainer.Step(order, o, n) |> ignore

                    trainer.WeightsHash()

                let trades = withAdversary "trades:0.1:3:6"
                Expect.equal (hashOf trades) (hashOf trades) "two runs, same bits"
                Expect.notEqual (hashOf trades) (hashOf (withAdversary "pgd:0.1:3")) "TRADES is not PGD training"
                Expect.isGreaterThan trades.Hyper.Trades 0.0 "the step sees beta"

            testCase "adversarial settings survive run.json's fields, and leave other runs' fields as they were"
            <| fun () ->
                let plain = trainConfig Float32

                let config =
                    { plain with
                        Adversarial = Adversarial.parse 0.75 "fgsm:0.1:random" |> Result.toOption
                    }

                let fields = Config.fields config |> dict
                Expect.equal fields["adversarial"] "fgsm:0.1:random" "adversarial"
                Expect.equal fields["adversarial_weight"] "0.75" "weight"

                match Config.ofFields (fun k -> if fields.ContainsKey k then Some fields[k] else None) with
                | Ok c -> Expect.equal c config "read back"
                | Error e -> failtest e

                Expect.isFalse
                    (Config.fields plain |> Array.exists (fun (k, _) -> k.StartsWith "adversarial"))
                    "no adversarial field without adversarial training"

                Expect.isSome (Config.problem { config with Loss = Mse }) "MSE is refused"
        ]
