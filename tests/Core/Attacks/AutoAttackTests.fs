/// APGD, Square and the AutoAttack ensemble: an independent float64 APGD-CE, the ensemble never weaker than PGD,
/// the ε-ball and the input range kept, the same bits for a seed at 1 and 2 threads, Square without gradients, and a
/// model whose gradients are masked, which PGD calls robust and Square does not.
module Functional.Tests.Core.AutoAttackTests

open System
open Expecto
open Functional
open Functional.Activations
open Functional.Init
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Attacks
open Functional.Tests.Core.Helpers

let private parse text =
    match Arch.parse [| 36 |] text with
    | Ok a -> a
    | Error e -> failwith e

/// Random 36-pixel images labelled by `label` (so that every example is attacked, label by the network itself).
let private images seed count (label: float[] -> int) =
    let rng = Rng.For(seed, 77)
    let pixels = Array.init (count * 36) (fun _ -> byte (rng.NextInt 256))

    {
        Pixels = pixels
        Labels = Array.init count (fun n -> byte (label (Array.init 36 (fun i -> float pixels[n * 36 + i] / 255.0))))
        Count = count
        Features = 36
        Values = [||]
    }

/// Loss, input gradient and prediction of a 36-12-10 tanh/softmax network, from its weights alone (row-major
/// [out, in]), in float64: none of the project's kernels.
let private byHand (net: Network<float>) (x: float[]) (y: int) =
    let w1, b1, w2, b2 =
        net.Params[0][0], net.Params[0][1], net.Params[1][0], net.Params[1][1]

    let h =
        Array.init 12 (fun o -> tanh (b1[o] + Array.sum (Array.init 36 (fun i -> w1[o * 36 + i] * x[i]))))

    let z =
        Array.init 10 (fun c -> b2[c] + Array.sum (Array.init 12 (fun o -> w2[c * 12 + o] * h[o])))

    let top = Array.max z
    let e = z |> Array.map (fun v -> exp (v - top))
    let p = e |> Array.map (fun v -> v / Array.sum e)
    let dz = Array.init 10 (fun c -> p[c] - (if c = y then 1.0 else 0.0))

    let dh =
        Array.init 12 (fun o ->
            (1.0 - h[o] * h[o])
            * Array.sum (Array.init 10 (fun c -> w2[c * 12 + o] * dz[c])))

    let dx =
        Array.init 36 (fun i -> Array.sum (Array.init 12 (fun o -> w1[o * 36 + i] * dh[o])))

    -log p[y], dx, Array.IndexOf(p, Array.max p)

/// APGD-CE as the paper writes it, for one example: checkpoints w_j = round(p_j·N) from p₀ = 0, p₁ = 0.22,
/// p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06); at each, halve η and return to the best point when the loss
/// rose in at most 0.75 of the steps since the last one (the reference code's ≤), or when η was not halved there and
/// the best loss has not risen since. Returns the first misclassified iterate, else the best.
let private paperApgd
    (lossAndGrad: float[] -> int -> float * float[] * int)
    (x0: float[])
    (y: int)
    eps
    (t: float[])
    steps
    =
    let clip i v =
        Math.Min(Math.Min(1.0, x0[i] + eps), Math.Max(Math.Max(0.0, x0[i] - eps), v))

    let checkpoints =
        let ps = ResizeArray [ 0.0; 0.22 ]

        while ps[ps.Count - 1] < 1.0 do
            let a, b = ps[ps.Count - 2], ps[ps.Count - 1]
            ps.Add(b + max (b - a - 0.03) 0.06)

        ps
        |> Seq.map (fun p -> int (Math.Round(p * float steps)))
        |> Seq.filter (fun w -> w > 0)
        |> set

    let m = t |> Array.map abs |> Array.max
    let mutable x = Array.init x0.Length (fun i -> clip i (x0[i] + eps * t[i] / m))
    let l, g0, p = lossAndGrad x y
    let mutable g = g0
    let mutable fooled = if p <> y then Some x else None
    let mutable bestX, bestL, bestG = x, l, g
    let mutable eta = 2.0 * eps
    let mutable prev = x
    let losses = ResizeArray [ l ]
    let mutable lastCheck, bestAtCheck, halvedAtCheck = 0, l, false

    for k in 1..steps do
        let a = if k = 1 then 1.0 else 0.75

        let next =
            Array.init x.Length (fun i ->
                let z = clip i (x[i] + eta * float (sign g[i]))
                clip i (x[i] + a * (z - x[i]) + (1.0 - a) * (x[i] - prev[i])))

        prev <- x
        x <- next
        let l, gk, p = lossAndGrad x y
        g <- gk
        losses.Add l

        if p <> y && fooled.IsNone then
            fooled <- Some x

        if l > bestL then
            bestX <- x
            bestL <- l
            bestG <- g

        if checkpoints.Contains k then
            let rises =
                [ lastCheck + 1 .. k ]
                |> List.filter (fun i -> losses[i] > losses[i - 1])
                |> List.length

            let halve =
                float rises <= 0.75 * float (k - lastCheck)
                || not halvedAtCheck && bestL <= bestAtCheck

            halvedAtCheck <- halve
            bestAtCheck <- bestL
            lastCheck <- k

            if halve then
                eta <- eta / 2.0
                x <- bestX
                g <- bestG

    match fooled with
    | Some x -> x, true
    | None -> bestX, false

/// A network trained a little on the synthetic classes (784 features).
let private trained =
    lazy
        (let train = synthetic 11 600
         let trainer = Api.Training.CreateTrainer(trainConfig Float32, train)
         let order = Api.Data.Permutation(1, 0, train.Count)

         for o, n in Data.batches train.Count 32 do
             trainer.Step(order, o, n) |> ignore

         trainer.Model)

/// A float32 network whose first layer binarises each pixel at 0.5 (a sigmoid of slope 10⁴: its derivative is exactly
/// 0 in float32), then scores each class by agreement with its 36-bit prototype. Its input gradient is 0 everywhere,
/// yet any pixel can be flipped within ε = 0.45: robust to PGD, not robust at all.
let private binariser () =
    let rng = Rng.For(5, 1)
    let prototypes = Array.init 10 (fun _ -> Array.init 36 (fun _ -> rng.NextInt 2))
    let k = 1e4f
    let w1 = Array.init (36 * 36) (fun q -> if q / 36 = q % 36 then k else 0.0f)
    let b1 = Array.create 36 (-0.5f * k)

    let w2 =
        Array.init (10 * 36) (fun q -> 2.0f * float32 (2 * prototypes[q / 36][q % 36] - 1))

    let b2 =
        Array.init 10 (fun c -> -float32(Array.sumBy (fun b -> 2 * b - 1) prototypes[c]))

    let net: Network<float32> =
        {
            Arch = parse "input 36, dense 36 sigmoid, dense 10 softmax"
            Params = [| [| w1; b1 |]; [| w2; b2 |] |]
        }

    let count = 60
    let labels = Array.init count (fun n -> n % 10)

    let pixels =
        Array.init (count * 36) (fun q ->
            let bit = prototypes[labels[q / 36]][q % 36]

            byte (
                if bit = 1 then
                    215 + rng.NextInt 30
                else
                    10 + rng.NextInt 30
            ))

    net,
    {
        Pixels = pixels
        Labels = Array.map byte labels
        Count = count
        Features = 36
        Values = [||]
    }

let private everyMethod eps seed =
    [
        Attacks.apgdCe eps 10 2 seed
        Attacks.apgdT eps 10 1 3 seed
        Attacks.square eps 60 2 seed
        Attacks.autoAttack eps 10 60 1 3 seed
    ]

[<Tests>]
let tests =
    testSequenced
    <| testList
        "AutoAttack"
        [
            testCase "APGD-CE finds the points of an independent float64 APGD-CE written from the paper"
            <| fun () ->
                let net =
                    Network.init<float> Xavier 3 (parse "input 36, dense 12 tanh, dense 10 softmax")

                let mutable standing = 0

                for eps in [ 0.002; 0.01 ] do
                    let imgs =
                        images 1 12 (fun x ->
                            let _, _, p = byHand net x 0
                            p)

                    let o = AutoAttack.run net Unit imgs 12 5 12 (Attacks.apgdCe eps 100 1 9)

                    for n in 0..11 do
                        let x0 = Array.init 36 (fun i -> float imgs.Pixels[n * 36 + i] / 255.0)
                        let gen = Margins.generator Apgd.ceSalt 9 n 0
                        let t = Array.init 36 (fun _ -> 2.0 * gen.NextDouble() - 1.0)
                        let x, fooled = paperApgd (byHand net) x0 (int imgs.Labels[n]) eps t 100

                        if not fooled then
                            standing <- standing + 1

                        Expect.equal
                            (o.Predictions[n] <> int imgs.Labels[n])
                            fooled
                            $"eps %g{eps}, example %d{n}: fooled"

                        for i in 0..35 do
                            Expect.floatClose
                                { absolute = 1e-9; relative = 1e-9 }
                                o.Examples[n].[i]
                                x[i]
                                $"eps %g{eps}, example %d{n}, input %d{i}"

                Expect.isGreaterThan standing 2 "some examples survive, so the step-size schedule ran to its end"

            testCase "the targeted DLR loss's gradient matches central differences"
            <| fun () ->
                let rng = Rng.For(3, 3)
                let g = Array.zeroCreate 10

                for _ in 1..20 do
                    let z = Array.init 10 (fun _ -> 4.0 * rng.NextNormal())
                    let y, t = rng.NextInt 10, rng.NextInt 10
                    let t = if t = y then (t + 1) % 10 else t
                    Margins.dlrTargeted z y t g |> ignore
                    let scratch = Array.zeroCreate 10

                    for i in 0..9 do
                        let at d =
                            let w = Array.copy z
                            w[i] <- w[i] + d
                            Margins.dlrTargeted w y t scratch

                        Expect.floatClose Accuracy.medium g[i] ((at 1e-6 - at -1e-6) / 2e-6) $"class %d{i}"

            testCase "AutoAttack is never above PGD-40 on a trained network, and every stage's breaks add up"
            <| fun () ->
                let model = trained.Force()
                let test = synthetic 12 200
                let mutable informative = false
                let seen = ResizeArray()

                for eps in [ 0.02; 0.05; 0.1; 0.2 ] do
                    let pgd = Api.Attacks.Run(model, test, 200, 100, 0, Attacks.pgd eps 40 1 1)

                    let aa =
                        Api.Attacks.Run(model, test, 200, 100, 0, Attacks.autoAttack eps 20 100 1 3 1)

                    let clean = Api.Attacks.Run(model, test, 200, 100, 0, Attacks.fgsm 0.0 false 1)

                    seen.Add(eps, clean.Accuracy, pgd.Accuracy, aa.Accuracy)

                    if pgd.Accuracy > 0.05 && pgd.Accuracy < clean.Accuracy - 0.05 then
                        informative <- true

                    Expect.isLessThanOrEqual aa.Accuracy pgd.Accuracy $"eps %g{eps}: AutoAttack <= PGD-40"
                    let broken = aa.Stages |> Array.sumBy (fun s -> s.Broken)

                    Expect.equal
                        (round ((clean.Accuracy - aa.Accuracy) * 200.0) |> int)
                        broken
                        $"eps %g{eps}: the stages broke what clean accuracy lost"

                    Expect.equal
                        (200L + (aa.Stages |> Array.sumBy (fun s -> s.Forwards)))
                        aa.Forwards
                        $"eps %g{eps}: the clean pass and the stages' passes make the total"

                    Expect.equal
                        (aa.Stages |> Array.map (fun s -> s.Method))
                        [| ApgdCe; ApgdT; Square |]
                        "the stages in order"

                Expect.isTrue
                    informative
                    $"PGD-40 leaves some but not all standing at some epsilon: %A{List.ofSeq seen}"

            testCase "every new attack keeps inside the eps-ball and the input range, for every scaling"
            <| fun () ->
                for scale in [ Unit; Book; Offset ] do
                    for text in
                        [
                            "input 36, dense 12 relu, dense 10 softmax"
                            "input 1x6x6, conv 3 3x3 relu, maxpool 2, flatten, dense 10 softmax"
                        ] do
                        let net = Network.init<float32> He 7 (parse text)
                        let r = Attacks.range scale
                        let probe = Network.init<float> He 7 (parse text)

                        let imgs =
                            images 3 16 (fun x ->
                                let xs = Tensor.ofColumnMajor 36 1 (Array.map (fun v -> r.Lo + v * r.Width) x)
                                (Network.argmaxColumns (forward probe xs).Output)[0])

                        for eps in [ 0.05; 0.3 ] do
                            let e = eps * r.Width

                            for attack in everyMethod e 4 do
                                let o = AutoAttack.run net scale imgs 16 5 16 attack

                                for n in 0..15 do
                                    let x =
                                        Array.init 36 (fun i -> (Scale.table<float> scale)[int imgs.Pixels[n * 36 + i]])

                                    for i in 0..35 do
                                        let v = o.Examples[n].[i]

                                        let where =
                                            $"%s{Method.name attack.Method}, %A{scale}, eps %g{eps}, %d{n}/%d{i}"

                                        Expect.isLessThanOrEqual (abs (v - x[i])) (e + 1e-6) $"%s{where}: in the ball"
                                        Expect.isGreaterThanOrEqual v (float (float32 r.Lo)) $"%s{where}: above Lo"
                                        Expect.isLessThanOrEqual v (float (float32 r.Hi)) $"%s{where}: below Hi"

            testCase "the same seed gives the same bits at 1 and 2 threads; another seed differs"
            <| fun () ->
                let model = trained.Force()
                let test = synthetic 13 120
                let saved = Tensor.Blas.Threads

                let run seed =
                    [
                        for a in everyMethod 0.2 seed -> Api.Attacks.Run(model, test, 120, 50, 120, a)
                    ]

                try
                    Tensor.Blas.SetThreads 1
                    let one = run 1
                    Tensor.Blas.SetThreads 2
                    let two = run 1
                    let other = run 2

                    for a, b in List.zip one two do
                        let name = Method.name a.Attack.Method
                        Expect.equal b.Predictions a.Predictions $"%s{name}: same predictions"
                        Expect.equal b.Forwards a.Forwards $"%s{name}: same cost"

                        for n in 0..119 do
                            Expect.equal (bits b.Examples[n]) (bits a.Examples[n]) $"%s{name}, example %d{n}: same bits"

                    for a, c in List.zip one other do
                        Expect.isTrue
                            (Seq.exists2 (fun (u: float[]) (v: float[]) -> u <> v) a.Examples c.Examples)
                            $"%s{Method.name a.Attack.Method}: another seed starts elsewhere"
                finally
                    Tensor.Blas.SetThreads saved

            testCase "Square runs no backward pass; APGD-CE runs one per forward after the clean one"
            <| fun () ->
                let model = trained.Force()
                let test = synthetic 14 100
                let clean = Api.Attacks.Run(model, test, 100, 100, 0, Attacks.fgsm 0.0 false 1)
                let correct = int (round (clean.Accuracy * 100.0))
                let sq = Api.Attacks.Run(model, test, 100, 100, 0, Attacks.square 0.2 50 1 1)
                Expect.equal sq.Backwards 0L "Square: no backward pass"
                Expect.isGreaterThan sq.Forwards 100L "Square: queries beyond the clean pass"
                let ce = Api.Attacks.Run(model, test, 100, 100, 0, Attacks.apgdCe 0.2 10 1 1)
                Expect.equal ce.Backwards (int64 correct * 11L) "APGD-CE: start and 10 steps per attacked example"
                Expect.equal ce.Forwards (100L + int64 correct * 11L) "APGD-CE: the clean pass, then one per gradient"

            testCase
                "a network with masked gradients: PGD calls it robust, Square and AutoAttack do not, and it is named"
            <| fun () ->
                let net, imgs = binariser ()
                let eps = 0.45
                let clean = AutoAttack.run net Unit imgs imgs.Count 30 0 (Attacks.fgsm 0.0 false 1)
                let pgd = AutoAttack.run net Unit imgs imgs.Count 30 0 (Attacks.pgd eps 40 1 1)
                let sq = AutoAttack.run net Unit imgs imgs.Count 30 0 (Attacks.square eps 200 1 1)

                let aa =
                    AutoAttack.run net Unit imgs imgs.Count 30 0 (Attacks.autoAttack eps 20 200 1 3 1)

                Expect.equal clean.Accuracy 1.0 "the prototypes are told apart"
                Expect.isGreaterThan pgd.Accuracy 0.9 "PGD is stuck on the zero gradient"
                Expect.isLessThan sq.Accuracy 0.2 "Square, reading only outputs, breaks it"
                Expect.isLessThan aa.Accuracy 0.2 "AutoAttack breaks it"
                let square = aa.Stages |> Array.find (fun s -> s.Method = Square)
                Expect.isGreaterThan square.Broken 40 "and it was Square that broke it"

                let warned (os: Outcome list) =
                    Masking.warnings "functional attack m" (sprintf "%g") 0.0 (Array.ofList os)
                    |> List.filter (fun w -> w.Contains "Square")

                Expect.isNonEmpty (warned [ pgd; sq ]) "Square beating PGD is named"
                Expect.isNonEmpty (warned [ aa ]) "Square breaking what APGD left is named"
                Expect.isEmpty (warned [ pgd ]) "no Square, no Square warning"
        ]
