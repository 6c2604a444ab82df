module Functional.Tests.CoreTests

open System
open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step

// ---------------------------------------------------------------------------------------------
// Helpers. Nothing here is shared mutable state: every test builds its own networks and batches,
// and backend choices are scoped to the running thread with Blas.With (never Blas.Use).

/// The raw bits of a float32 or float64 array, so equality is bitwise (NaN = NaN, 0.0 <> -0.0).
let private bits (a: 'T[]) : int64[] =
    match box a with
    | :? (float32[]) as f -> f |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))
    | :? (float[]) as d -> d |> Array.map BitConverter.DoubleToInt64Bits
    | _ -> failwithf "expected a float32[] or float[], got %s" (a.GetType().Name)

let private expectSameBits (what: string) (a: 'T[][]) (b: 'T[][]) =
    Expect.equal a.Length b.Length $"%s{what}: number of arrays"

    for p in 0 .. a.Length - 1 do
        let x, y = bits a[p], bits b[p]
        Expect.equal x.Length y.Length $"%s{what}: length of array %d{p}"

        match Array.zip x y |> Array.tryFindIndex (fun (u, v) -> u <> v) with
        | Some i ->
            let u, v = a[p][i], b[p][i]
            failtestf "%s: array %d differs first at index %d: %A vs %A" what p i u v
        | None -> ()

let private sameFloatBits (a: float) (b: float) =
    BitConverter.DoubleToInt64Bits a = BitConverter.DoubleToInt64Bits b

let private toDoubles (a: 'T[]) : float[] =
    match box a with
    | :? (float32[]) as f -> Array.map float f
    | :? (float[]) as d -> d
    | _ -> failwithf "expected a float32[] or float[], got %s" (a.GetType().Name)

/// ‖a − b‖∞ / ‖a‖∞ for each pair of arrays must stay below tol (arrays compared as a whole, so an
/// entry that happens to be near zero is judged against the array's scale, not its own).
let private expectClose (what: string) (tol: float) (a: 'T[][]) (b: 'T[][]) =
    Expect.equal a.Length b.Length $"%s{what}: number of arrays"

    for p in 0 .. a.Length - 1 do
        let x, y = toDoubles a[p], toDoubles b[p]
        let scale = x |> Array.fold (fun m v -> max m (abs v)) 1e-30
        let diff = Array.map2 (fun u v -> abs (u - v)) x y |> Array.fold max 0.0

        if not (diff <= tol * scale) then
            failtestf "%s: array %d differs by %g relative (tolerance %g)" what p (diff / scale) tol

let private stateArrays (s: TrainState<'T>) =
    Array.append (Network.arrays s.Network) (OptState.arrays s.Opt)

let private copyArrays (arrays: 'T[][]) = Array.map Array.copy arrays

let private spec sizes hidden output bias : Spec =
    {
        Sizes = sizes
        Hidden = hidden
        Output = output
        Bias = bias
    }

type private TargetKind =
    /// One 1 per column, zeros elsewhere.
    | OneHot
    /// The book's 0.01 / 0.99 targets: columns sum to 0.99 + 0.01·(classes−1), not 1.
    | BookHot
    /// Independent values in (0.05, 0.95): columns sum to anything.
    | Soft

let private targets (rng: Rng) (kind: TargetKind) (classes: int) (cols: int) : float[] =
    Array.init cols (fun _ ->
        match kind with
        | OneHot ->
            let k = rng.NextInt classes
            Array.init classes (fun i -> if i = k then 1.0 else 0.0)
        | BookHot ->
            let k = rng.NextInt classes
            Array.init classes (fun i -> if i = k then 0.99 else 0.01)
        | Soft -> Array.init classes (fun _ -> 0.05 + 0.9 * rng.NextDouble()))
    |> Array.concat

let private matrixOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rows: int)
    (cols: int)
    (values: float[])
    : Matrix<'T> =
    Tensor.ofColumnMajor rows cols (values |> Array.map (fun v -> 'T.CreateTruncating v))

let private randomBatch<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rng: Rng)
    (kind: TargetKind)
    (s: Spec)
    (cols: int)
    : Batch<'T> =
    let inputs, classes = Spec.inputs s, Spec.classes s
    let x = Array.init (inputs * cols) (fun _ -> rng.NextNormal())
    let y = targets rng kind classes cols

    {
        X = matrixOf<'T> inputs cols x
        Y = matrixOf<'T> classes cols y
    }

/// A network from a random init scheme and seed, with random (non-zero) biases so bias gradients matter.
let private randomNet<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rng: Rng)
    (s: Spec)
    : Network<'T> =
    let scheme = [| NormalFanIn; Xavier; He |][rng.NextInt 3]
    let net = Network.init<'T> scheme (rng.NextInt 1_000_000) s

    for layer in net.Layers do
        match layer.B with
        | Some b ->
            let d = Tensor.vdata b

            for i in 0 .. d.Length - 1 do
                d[i] <- 'T.CreateTruncating(rng.NextDouble() - 0.5)
        | None -> ()

    net

/// True when no hidden pre-activation lies within 1e-3 of ReLU's kink at 0. A pre-activation that is
/// exactly 0 because its layer has no bias and its whole input column is 0 (every unit below is dead) is
/// fine: no probe can move it, since the dead units below are themselves held ≥ 1e-3 from their kinks.
let private awayFromKinks (net: Network<float>) (x: Matrix<float>) =
    let trace = forward net x

    [ 0 .. net.Layers.Length - 2 ]
    |> List.forall (fun l ->
        let below = if l = 0 then x else trace.Activations[l - 1]
        let z = net.Layers[l].W * below

        let z =
            match net.Layers[l].B with
            | Some b -> z.MapIndexed(fun i _ v -> v + b[i])
            | None -> z

        [ 0 .. x.ColumnCount - 1 ]
        |> List.forall (fun j ->
            z.Column(j).ForAll(fun v -> abs v >= 1e-3)
            || (net.Layers[l].B.IsNone && below.Column(j).ForAll(fun v -> v = 0.0))))

/// True when float64 can evaluate the loss accurately enough for a central difference to reach 1e-5.
/// Cross-entropy is evaluated from the outputs a, not from the logits: a softmax probability below
/// 1e-12 hits the ln floor of Losses.value (the value stops moving while the gradient a·Σy − y does
/// not), and a sigmoid output within δ of 1 leaves ln(1 − a) an absolute rounding error of about
/// 1e-16/δ, which the difference quotient divides by 2h ≈ 1.2e-5. Keeping softmax outputs ≥ 1e-8 and
/// sigmoid outputs inside [0.01, 0.99] bounds that noise near 1e-12. MSE has no such trouble.
let private lossMeasurable (loss: Loss) (net: Network<float>) (x: Matrix<float>) =
    let a = Tensor.data (forward net x).Output

    match loss, net.Spec.Output with
    | Mse, _ -> true
    | CrossEntropy, Softmax -> a |> Array.forall (fun p -> p >= 1e-8)
    | CrossEntropy, _ -> a |> Array.forall (fun p -> p >= 0.01 && p <= 0.99)

let private hyper loss reduction l2 optimizer : Hyper =
    {
        Loss = loss
        Reduction = reduction
        L2 = l2
        Optimizer = optimizer
    }

/// Class c lights pixels 78c .. 78c+77 (bright, 150–255) over background noise (0–89).
let private synthetic (seed: int) (count: int) : Images =
    let rng = Rng.For(seed, 424242)
    let labels = Array.init count (fun _ -> byte (rng.NextInt 10))
    let pixels = Array.zeroCreate (count * 784)

    for n in 0 .. count - 1 do
        for i in 0..783 do
            let lit = i / 78 = int labels[n]
            pixels[n * 784 + i] <- byte (if lit then 150 + rng.NextInt 106 else rng.NextInt 90)

    {
        Pixels = pixels
        Labels = labels
        Count = count
        Features = 784
    }

let private trainConfig precision : TrainConfig =
    {
        Sizes = [| 784; 64; 10 |]
        Hidden = "relu"
        Output = "softmax"
        Loss = "ce"
        Init = "he"
        Bias = true
        Optimizer = "adam"
        Lr = 1e-3
        L2 = 0.0
        Momentum = 0.9
        Reduction = "mean"
        Scale = "unit"
        Seed = 1
        Precision = precision
        Batch = 32
    }

// ---------------------------------------------------------------------------------------------
// Generators. Each case carries a seed; everything random inside a test comes from Init.Rng on it.

type private GradCase =
    {
        Units: int[]
        Cols: int
        CaseSeed: int
        Kind: TargetKind
    }

let private gradCases =
    gen {
        let! layers = Gen.choose (1, 3)
        let! units = Gen.arrayOfLength (layers + 1) (Gen.choose (1, 6))
        let! cols = Gen.choose (1, 4)
        let! seed = Gen.choose (0, 1_000_000)
        let! kind = Gen.elements [ OneHot; BookHot; Soft ]

        return
            {
                Units = units
                Cols = cols
                CaseSeed = seed
                Kind = kind
            }
    }
    |> Arb.fromGen

type private TrainCase =
    {
        Net: Spec
        Hyper: Hyper
        Cols: int
        CaseSeed: int
        Measure: bool
    }

let private trainCases =
    gen {
        let! layers = Gen.choose (1, 3)
        let! units = Gen.arrayOfLength (layers + 1) (Gen.choose (1, 8))
        let! hidden = Gen.elements [ Sigmoid; Tanh; Relu ]
        let! output = Gen.elements [ Sigmoid; Softmax ]
        let! bias = Gen.elements [ true; false ]
        let! loss = Gen.elements [ Mse; CrossEntropy ]
        let! reduction = Gen.elements [ Mean; Sum ]
        let! l2 = Gen.elements [ 0.0; 0.01 ]

        let! optimizer =
            Gen.elements
                [
                    Sgd 0.1
                    Momentum(0.05, 0.9)
                    Adam(0.01, 0.9, 0.999, 1e-8)
                    OptimizerSpec.adam 1e-3
                ]

        // Batch 1 takes the gemv/ger path, larger batches gemm: both must be exercised.
        let! cols = Gen.frequency [ 2, Gen.constant 1; 3, Gen.choose (2, 9) ]
        let! seed = Gen.choose (0, 1_000_000)
        let! measure = Gen.elements [ true; false ]

        return
            ({
                Net = spec units hidden output bias
                Hyper = hyper loss reduction l2 optimizer
                Cols = cols
                CaseSeed = seed
                Measure = measure
            }
            : TrainCase)
    }
    |> Arb.fromGen

/// Fixed-size configs: the number of cases, not FsCheck's size, bounds the work.
let private config n =
    { FsCheckConfig.defaultConfig with
        maxTest = n
        startSize = 10
        endSize = 10
    }

// ---------------------------------------------------------------------------------------------
// 1. Analytic gradients against central differences, over every combination of the maths.

/// Central differences in float64 with h ≈ 6e-6·max(1,|θ|) carry a rounding error of about
/// ε_mach·|L|/h ≈ 4e-11·|L| (and a truncation error of order h²·|L'''|). A gradient entry far below that
/// floor (a nearly saturated sigmoid, say) cannot be measured to 1e-5 relative by any central
/// difference, so such an entry passes when the two agree to an absolute 1e-9·max(1, |L|) instead.
/// Everything else must agree to GradCheck.relError < 1e-5.
let private gradientsMatch (hidden, output, loss, bias, reduction, lambda) (c: GradCase) =
    let s = spec c.Units hidden output bias
    let h = hyper loss reduction lambda (Sgd 0.1)
    let rng = Rng.For(c.CaseSeed, 0)
    // ReLU has a kink at z = 0 where the derivative is undefined: a central difference straddling it
    // measures the average of the two slopes. The step moves a pre-activation by at most about
    // h·|input| ≈ 1e-4 here (|θ|, |x| of order one), so we draw fresh weights and inputs (bounded
    // retry, up to 100 draws) until every hidden |z| ≥ 1e-3: no probe can then cross a kink.
    // The same retry skips the rare draws whose CE loss float64 cannot measure (see lossMeasurable).
    let net, batch =
        Seq.initInfinite (fun _ ->
            let net = randomNet<float> rng s
            net, randomBatch<float> rng c.Kind s c.Cols)
        |> Seq.take 100
        |> Seq.tryFind (fun (net, batch) ->
            (hidden <> Relu || awayFromKinks net batch.X) && lossMeasurable loss net batch.X)
        |> Option.defaultWith (fun () -> failtest "no draw in 100 was away from kinks and saturation")

    let before = copyArrays (Network.arrays net)
    let value, grads = Step.gradients h batch net
    Expect.isTrue (Double.IsFinite value) "the loss is finite"
    expectSameBits "gradients leave the network alone" before (Network.arrays net)
    let analytic = grads |> Array.collect Layer.arrays
    let floor = 1e-9 * max 1.0 (abs value)

    for p in 0 .. analytic.Length - 1 do
        for i in 0 .. analytic[p].Length - 1 do
            let a = analytic[p][i]
            let n = GradCheck.numeric h batch net p i
            let err = GradCheck.relError a n

            if not (err < 1e-5 || abs (a - n) < floor) then
                failtestf "array %d entry %d: analytic %.12g, numeric %.12g, relative error %.3g" p i a n err

let private gradientTests =
    testList
        "gradients"
        [
            for hidden in [ Sigmoid; Tanh; Relu ] do
                for output in [ Sigmoid; Softmax ] do
                    for loss in [ Mse; CrossEntropy ] do
                        for bias in [ true; false ] do
                            for reduction in [ Mean; Sum ] do
                                for lambda in [ 0.0; 0.1 ] do
                                    let name =
                                        sprintf
                                            "%s-%s %s bias=%b %s l2=%g: analytic = numeric"
                                            (Activation.name hidden)
                                            (Activation.name output)
                                            (Loss.name loss)
                                            bias
                                            (Reduction.name reduction)
                                            lambda

                                    testPropertyWithConfig
                                        (config 60)
                                        name
                                        (Prop.forAll
                                            gradCases
                                            (gradientsMatch (hidden, output, loss, bias, reduction, lambda)))
        ]

// ---------------------------------------------------------------------------------------------
// 2. GradCheck itself.

let private gradCheckTests =
    let s = spec [| 4; 5; 3 |] Tanh Softmax true
    let h = hyper CrossEntropy Mean 0.1 (Sgd 0.1)
    let rng = Rng.For(11, 0)
    let net = randomNet<float> rng s
    let batch = randomBatch<float> rng Soft s 3

    testList
        "GradCheck"
        [
            test "check on a correct network: tiny errors, signs agree, norm ratio 1" {
                let layers = GradCheck.check h batch net 1000 1
                Expect.equal layers.Length 2 "one report per layer"

                for r in layers do
                    Expect.equal r.Checked (Layer.arrays net.Layers[r.Layer] |> Array.sumBy Array.length) "all checked"
                    Expect.isLessThan r.MaxRelError 1e-6 $"layer %d{r.Layer} max relative error"
                    Expect.isLessThanOrEqual r.MeanRelError r.MaxRelError "mean ≤ max"
                    Expect.equal r.SignAgreement 1.0 $"layer %d{r.Layer} sign agreement"
                    Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.NormRatio 1.0 "norm ratio"
            }

            test "check samples perLayer parameters when a layer is larger" {
                let layers = GradCheck.check h batch net 7 3
                Expect.all layers (fun r -> r.Checked = 7) "7 checked per layer"
                Expect.all layers (fun r -> r.MaxRelError < 1e-6) "still accurate"
            }

            test "relError and epsilonFor" {
                Expect.equal (GradCheck.relError 2.0 2.0) 0.0 "equal"
                Expect.equal (GradCheck.relError 0.0 0.0) 0.0 "both zero"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 1.0 (-1.0)) 2.0 "sign flip"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 0.5 1.0) 0.5 "halved"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 2.0 1.0) 0.5 "doubled"
                Expect.floatClose Accuracy.veryHigh (GradCheck.relError 1e-9 0.0) 0.1 "1e-8 floor"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor 0.0) 6.0554544523933395e-6 "∛ε"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor 0.5) 6.0554544523933395e-6 "|θ| < 1"
                Expect.floatClose Accuracy.veryHigh (GradCheck.epsilonFor (-100.0)) 6.0554544523933395e-4 "scaled"
            }

            test "numeric gradients flag negated and halved analytic gradients" {
                let _, grads = Step.gradients h batch net
                let analytic = grads |> Array.collect Layer.arrays

                let pairs =
                    [|
                        for p in 0 .. analytic.Length - 1 do
                            for i in 0 .. analytic[p].Length - 1 -> analytic[p][i], GradCheck.numeric h batch net p i
                    |]

                // The same figures check computes, for wrong analytic gradients a' = k·a.
                let figures k =
                    let wrong = pairs |> Array.map (fun (a, n) -> k * a, n)
                    let maxErr = wrong |> Array.map (fun (a, n) -> GradCheck.relError a n) |> Array.max
                    let norm xs = sqrt (Array.sumBy (fun x -> x * x) xs)
                    let an, nn = norm (Array.map fst wrong), norm (Array.map snd wrong)
                    let dot = wrong |> Array.sumBy (fun (a, n) -> a * n)
                    let agree = wrong |> Array.filter (fun (a, n) -> sign a = sign n) |> Array.length
                    maxErr, (if dot < 0.0 then -nn / an else nn / an), float agree / float wrong.Length

                let err1, ratio1, agree1 = figures 1.0
                Expect.isLessThan err1 1e-6 "correct"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } ratio1 1.0 "correct ratio"
                Expect.equal agree1 1.0 "correct signs"
                let errNeg, ratioNeg, agreeNeg = figures (-1.0)
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } errNeg 2.0 "negated: relative error 2"
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } ratioNeg -1.0 "negated: norm ratio −1"
                Expect.equal agreeNeg 0.0 "negated: no sign agrees"
                let errHalf, ratioHalf, agreeHalf = figures 0.5
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } errHalf 0.5 "halved: relative error ½"
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } ratioHalf 2.0 "halved: norm ratio 2"
                Expect.equal agreeHalf 1.0 "halved: signs still agree"
            }

            test "numeric leaves the network untouched" {
                let before = copyArrays (Network.arrays net)
                GradCheck.numeric h batch net 0 0 |> ignore
                expectSameBits "network" before (Network.arrays net)
            }
        ]

// ---------------------------------------------------------------------------------------------
// 3. Activations.

type private Logits = { Rows: int; Values: float[] }

let private logitCases =
    let value =
        Gen.oneof
            [
                Gen.choose (-2000, 2000) |> Gen.map (fun k -> float k / 100.0)
                Gen.elements [ 1000.0; -1000.0; 1e4; -1e4; 709.0; 710.0; 0.0; 88.0; 89.0 ]
            ]

    gen {
        let! rows = Gen.choose (1, 10)
        let! cols = Gen.choose (1, 5)
        let! values = Gen.arrayOfLength (rows * cols) value
        return { Rows = rows; Values = values }
    }
    |> Arb.fromGen

let private activationTests =
    testList
        "Activations"
        [
            testPropertyWithConfig (config 200) "softmax columns sum to 1, even for huge logits (float64)"
            <| Prop.forAll logitCases (fun c ->
                let a = Array.zeroCreate c.Values.Length
                Activation.applyInto Softmax c.Rows c.Values a

                for j in 0 .. c.Values.Length / c.Rows - 1 do
                    let col = a[j * c.Rows .. (j + 1) * c.Rows - 1]
                    Expect.all col (fun p -> Double.IsFinite p && p >= 0.0 && p <= 1.0) "probabilities"
                    Expect.floatClose { absolute = 1e-14; relative = 0.0 } (Array.sum col) 1.0 "column sum"

                    let zs = c.Values[j * c.Rows .. (j + 1) * c.Rows - 1]
                    let top = Array.IndexOf(zs, Array.max zs)
                    Expect.equal (Array.IndexOf(col, Array.max col)) top "softmax keeps the argmax")

            testPropertyWithConfig (config 200) "softmax columns sum to 1, even for huge logits (float32)"
            <| Prop.forAll logitCases (fun c ->
                let z = Array.map float32 c.Values
                let a = Array.zeroCreate z.Length
                Activation.applyInto Softmax c.Rows z a

                for j in 0 .. z.Length / c.Rows - 1 do
                    let col = a[j * c.Rows .. (j + 1) * c.Rows - 1]
                    Expect.all col (fun p -> Single.IsFinite p && p >= 0.0f && p <= 1.0f) "probabilities"
                    Expect.floatClose { absolute = 1e-5; relative = 0.0 } (float (Array.sum col)) 1.0 "column sum")

            test "softmax works in place (a and z the same array)" {
                let z = [| 1.0; 2.0; 3.0; -1.0; 0.0; 1000.0 |]
                let expected = Array.zeroCreate 6
                Activation.applyInto Softmax 3 z expected
                Activation.applyInto Softmax 3 z z
                expectSameBits "in place" [| expected |] [| z |]
            }

            test "sigmoid, tanh and relu values" {
                let z = [| -2.0; 0.0; 0.5; 3.0 |]

                let apply act =
                    let a = Array.zeroCreate 4
                    Activation.applyInto act 2 z a
                    a

                let close = { absolute = 1e-15; relative = 1e-15 }

                Array.iter2 (fun a v -> Expect.floatClose close a (1.0 / (1.0 + exp (-v))) "sigmoid") (apply Sigmoid) z

                Array.iter2 (fun a v -> Expect.floatClose close a (tanh v) "tanh") (apply Tanh) z
                Expect.equal (apply Relu) [| 0.0; 0.0; 0.5; 3.0 |] "relu"
            }

            test "backInto uses the derivative written in terms of the output" {
                let a = [| 0.25; 0.5; 0.0; 2.0 |]
                let da = [| 2.0; -1.0; 3.0; 0.5 |]

                let back act =
                    let dz = Array.zeroCreate 4
                    Activation.backInto act 4 a da dz
                    dz

                Expect.equal (back Sigmoid) [| 2.0 * 0.25 * 0.75; -0.25; 0.0; 0.5 * 2.0 * (-1.0) |] "σ' = a(1−a)"
                Expect.equal (back Tanh) [| 2.0 * (1.0 - 0.0625); -0.75; 3.0; 0.5 * (-3.0) |] "tanh' = 1−a²"
                Expect.equal (back Relu) [| 2.0; -1.0; 0.0; 0.5 |] "relu' = [a > 0]"
            }

            test "softmax+CE output gradient is (p − y)/B for one-hot targets" {
                for rows, cols in [ 10, 1; 3, 4; 5, 7 ] do
                    let rng = Rng.For(rows, cols)
                    let z = Array.init (rows * cols) (fun _ -> 3.0 * rng.NextNormal())
                    let y = targets rng OneHot rows cols
                    let p = Array.zeroCreate z.Length
                    Activation.applyInto Softmax rows z p
                    let dz = Array.zeroCreate z.Length
                    Losses.outputGradInto CrossEntropy Softmax Mean rows p y dz

                    for i in 0 .. dz.Length - 1 do
                        Expect.floatClose
                            { absolute = 1e-16; relative = 1e-15 }
                            dz[i]
                            ((p[i] - y[i]) / float cols)
                            $"entry %d{i}"

                    let dzSum = Array.zeroCreate z.Length
                    Losses.outputGradInto CrossEntropy Softmax Sum rows p y dzSum
                    Array.iteri (fun i g -> Expect.floatClose Accuracy.veryHigh g (p[i] - y[i]) "Sum: p − y") dzSum
            }

            test "softmax+CE output gradient is a·Σy − y for soft targets" {
                let p = [| 0.2; 0.3; 0.5 |]
                let y = [| 0.01; 0.99; 0.01 |]
                let dz = Array.zeroCreate 3
                Losses.outputGradInto CrossEntropy Softmax Mean 3 p y dz
                let sy = 1.01

                Array.iteri (fun i g -> Expect.floatClose Accuracy.veryHigh g (p[i] * sy - y[i]) $"entry %d{i}") dz
            }
        ]

// ---------------------------------------------------------------------------------------------
// 4. Losses.

let private lossTests =
    testList
        "Losses"
        [
            test "MSE uses the ½ convention" {
                Expect.equal (Losses.value Mse Sigmoid Sum 2 [| 1.0; 0.0 |] [| 0.0; 0.0 |]) 0.5 "½·1²"
                // Mean over B = 2 columns of ½(1² + 3²) and ½(2²): (5 + 2) / 2.
                Expect.equal (Losses.value Mse Sigmoid Mean 2 [| 1.0; 3.0; 2.0; 0.0 |] (Array.zeroCreate 4)) 3.5 "mean"
                Expect.equal (Losses.value Mse Softmax Sum 2 [| 1.0f; 0.0f |] [| 0.0f; 0.0f |]) 0.5 "float32"
            }

            test "MSE output gradient has no factor 2" {
                // For a sigmoid output, dL/dz = (a − y)·a(1 − a).
                let a, y = [| 0.5; 0.25 |], [| 0.0; 1.0 |]
                let dz = Array.zeroCreate 2
                Losses.outputGradInto Mse Sigmoid Sum 2 a y dz
                Expect.equal dz [| 0.5 * 0.25; (-0.75) * 0.25 * 0.75 |] "(a − y)·σ'"
            }

            test "CE of a uniform softmax over 10 classes is ln 10" {
                let p = Array.zeroCreate<float> 10
                Activation.applyInto Softmax 10 (Array.zeroCreate<float> 10) p
                let y = Array.init 10 (fun i -> if i = 3 then 1.0 else 0.0)
                Expect.floatClose Accuracy.veryHigh (Losses.value CrossEntropy Softmax Mean 10 p y) (log 10.0) "ln 10"

                let y2 = Array.append y (Array.init 10 (fun i -> if i = 7 then 1.0 else 0.0))
                let p2 = Array.append p p
                Expect.floatClose Accuracy.veryHigh (Losses.value CrossEntropy Softmax Mean 10 p2 y2) (log 10.0) "mean"

                Expect.floatClose
                    Accuracy.veryHigh
                    (Losses.value CrossEntropy Softmax Sum 10 p2 y2)
                    (2.0 * log 10.0)
                    "sum"
            }

            test "binary CE for sigmoid outputs, and the ln floor" {
                let v = Losses.value CrossEntropy Sigmoid Sum 2 [| 0.8; 0.3 |] [| 1.0; 0.0 |]
                Expect.floatClose Accuracy.veryHigh v (-(log 0.8) - log 0.7) "−ln a − ln(1 − a)"
                let capped = Losses.value CrossEntropy Softmax Sum 2 [| 0.0; 1.0 |] [| 1.0; 0.0 |]
                Expect.floatClose Accuracy.veryHigh capped (-(log 1e-12)) "ln is floored at 1e-12"
            }
        ]

// ---------------------------------------------------------------------------------------------
// 5. Optimisers against hand-computed updates on a 2→1 network.

let private optimTests =
    let s = spec [| 2; 1 |] Sigmoid Sigmoid true

    let tiny () =
        let net = Network.zeros<float> s
        (Tensor.data net.Layers[0].W)[0] <- 0.5
        (Tensor.data net.Layers[0].W)[1] <- -0.25
        (Tensor.vdata net.Layers[0].B.Value)[0] <- 0.1
        net

    let grads (w0: float) (w1: float) (b: float) =
        let g = Layer.zeros<float> s 0
        (Tensor.data g.W)[0] <- w0
        (Tensor.data g.W)[1] <- w1
        (Tensor.vdata g.B.Value)[0] <- b
        [| g |]

    let g1 = grads 0.2 (-0.4) 0.3
    let g2 = grads (-0.1) 0.05 0.2
    let w0 = [| 0.5; -0.25; 0.1 |]
    let gs1 = [| 0.2; -0.4; 0.3 |]
    let gs2 = [| -0.1; 0.05; 0.2 |]
    let flat (net: Network<float>) = Network.arrays net |> Array.concat

    /// Two updates through Optim.create, checking on the way that Update mutates none of its inputs.
    let twoSteps optimizer =
        let opt = Optim.create<float> optimizer
        let net = tiny ()
        let state = opt.Init net

        let update t (g: Layer<float>[]) state net =
            let inputs =
                [ Network.arrays net; OptState.arrays state; Array.collect Layer.arrays g ]

            let saved = inputs |> List.map copyArrays
            let result = opt.Update t g state net
            List.iter2 (expectSameBits "Update leaves its inputs alone") saved inputs
            result

        let net1, state1 = update 1L g1 state net
        let net2, state2 = update 2L g2 state1 net1
        flat net1, flat net2, OptState.arrays state2

    let close = { absolute = 1e-15; relative = 1e-13 }

    let expectVector what (actual: float[]) (expected: float[]) =
        Expect.equal actual.Length expected.Length $"%s{what}: length"
        Array.iteri2 (fun i a e -> Expect.floatClose close a e $"%s{what}[%d{i}]") actual expected

    testList
        "Optim"
        [
            test "SGD: w − ηg" {
                let w1, w2, moments = twoSteps (Sgd 0.1)
                expectVector "step 1" w1 (Array.map2 (fun w g -> w - 0.1 * g) w0 gs1)
                expectVector "step 2" w2 [| 0.5 - 0.02 + 0.01; -0.25 + 0.04 - 0.005; 0.1 - 0.03 - 0.02 |]
                Expect.isEmpty moments "SGD keeps no moments"
            }

            test "momentum (PyTorch form): v ← μv + g, w ← w − ηv" {
                let w1, w2, moments = twoSteps (Momentum(0.1, 0.9))
                let v1 = gs1
                let v2 = Array.map2 (fun v g -> 0.9 * v + g) v1 gs2
                expectVector "v after step 2" (Array.concat moments) v2
                expectVector "step 1" w1 [| 0.5 - 0.02; -0.25 + 0.04; 0.1 - 0.03 |]
                // v2 = (0.08, −0.31, 0.47).
                expectVector "step 2" w2 [| 0.48 - 0.008; -0.21 + 0.031; 0.07 - 0.047 |]
            }

            test "Adam: two steps with bias correction" {
                let lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
                let w1, w2, moments = twoSteps (Adam(lr, b1, b2, eps))
                // By hand: m1 = 0.1·g1, v1 = 0.001·g1², m̂1 = m1/0.1 = g1, v̂1 = v1/0.001 = g1²,
                // so step 1 moves every weight by lr·g1/(|g1| + ε) ≈ lr·sign(g1).
                let m1 = gs1 |> Array.map (fun g -> 0.1 * g)
                let v1 = gs1 |> Array.map (fun g -> 0.001 * g * g)
                let expected1 = Array.map2 (fun w g -> w - lr * g / (abs g + eps)) w0 gs1
                expectVector "step 1" w1 expected1
                let m2 = Array.map2 (fun m g -> 0.9 * m + 0.1 * g) m1 gs2
                let v2 = Array.map2 (fun v g -> 0.999 * v + 0.001 * g * g) v1 gs2
                let c1, c2 = 1.0 - 0.81, 1.0 - 0.998001

                let expected2 =
                    [|
                        for i in 0..2 -> expected1[i] - lr * (m2[i] / c1) / (sqrt (v2[i] / c2) + eps)
                    |]

                expectVector "step 2" w2 expected2
                expectVector "m after step 2" (Array.concat moments[0..1]) m2
                expectVector "v after step 2" (Array.concat moments[2..3]) v2
                // A concrete number, worked out on paper for the first weight:
                // m2 = 0.9·0.02 − 0.01 = 0.008, m̂2 = 0.008/0.19; v2 = 0.999·4e-5 + 1e-5 = 4.996e-5,
                // v̂2 = 4.996e-5/0.001999; w2 = 0.49 − 0.01·m̂2/(√v̂2 + 1e-8).
                let paper = 0.49 - 0.01 * (0.008 / 0.19) / (sqrt (4.996e-5 / 0.001999) + 1e-8)
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } w2[0] paper "first weight"
                Expect.floatClose { absolute = 1e-8; relative = 0.0 } w2[0] 0.48733663 "≈ 0.48733663"
            }

            test "init: moments shaped like the network, zero" {
                let net = tiny ()
                let m = Optim.init (Momentum(0.1, 0.9)) net
                let a = Optim.init (OptimizerSpec.adam 1e-3) net
                Expect.equal (OptState.arrays m |> Array.map Array.length) [| 2; 1 |] "momentum: M only"
                Expect.equal (OptState.arrays a |> Array.map Array.length) [| 2; 1; 2; 1 |] "adam: M and V"
                Expect.all (OptState.arrays a |> Array.concat) (fun v -> v = 0.0) "zeros"
            }
        ]

// ---------------------------------------------------------------------------------------------
// 6 & 7. The step: deterministic, and the in-place path gives the pure path's bits.

let private stepTwice<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    ()
    =
    let s = spec [| 6; 5; 4 |] Relu Softmax true
    let h = hyper CrossEntropy Mean 0.01 (OptimizerSpec.adam 0.01)
    let rng = Rng.For(5, 0)
    let net = randomNet<'T> rng s
    let batch = randomBatch<'T> rng Soft s 3
    let state0 = initState h net
    let state1, _ = step h batch state0
    let saved = copyArrays (stateArrays state1)
    let a, ra = step h batch state1
    let b, rb = step h batch state1
    expectSameBits "step leaves its input state alone" saved (stateArrays state1)
    expectSameBits "same state and batch, same new state" (stateArrays a) (stateArrays b)
    Expect.equal a.Step 2L "step counter"
    Expect.isTrue (sameFloatBits ra.Loss rb.Loss) "same loss bits"

    Expect.equal
        (Array.map BitConverter.DoubleToInt64Bits ra.GradNorms)
        (Array.map BitConverter.DoubleToInt64Bits rb.GradNorms)
        "norms"

    Expect.equal
        (Array.map BitConverter.DoubleToInt64Bits ra.UpdateRatios)
        (Array.map BitConverter.DoubleToInt64Bits rb.UpdateRatios)
        "ratios"

    Expect.isFalse (Object.ReferenceEquals((Network.arrays a.Network)[0], (Network.arrays b.Network)[0])) "fresh states"

let private destinationPassing<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (c: TrainCase)
    =
    let rng = Rng.For(c.CaseSeed, 1)
    let net = randomNet<'T> rng c.Net

    let kind =
        if c.Hyper.Loss = CrossEntropy && c.Net.Output = Softmax then
            OneHot
        else
            Soft

    let batches = Array.init 20 (fun _ -> randomBatch<'T> rng kind c.Net c.Cols)
    let state0 = initState c.Hyper net
    let saved = copyArrays (stateArrays state0)

    // The pure definition, threaded through 20 steps.
    let final, reports =
        batches
        |> Array.fold
            (fun (state, losses) batch ->
                let next, report = step c.Hyper batch state
                next, report.Loss :: losses)
            (state0, [])

    expectSameBits "step did not mutate the initial state" saved (stateArrays state0)

    // The fast path: one workspace, one donated network and optimiser state, overwritten 20 times.
    let net' = Network.copy net
    let opt' = OptState.copy state0.Opt
    let ws = Workspace.create<'T> c.Net c.Cols

    let losses =
        batches
        |> Array.mapi (fun t batch -> (stepInPlace c.Hyper batch ws c.Measure (int64 t) net' opt').Loss)

    expectSameBits "weights and moments" (stateArrays final) (Array.append (Network.arrays net') (OptState.arrays opt'))
    Expect.equal final.Step 20L "pure step count"

    Expect.equal
        (losses |> Array.map BitConverter.DoubleToInt64Bits)
        (reports |> List.rev |> List.map BitConverter.DoubleToInt64Bits |> Array.ofList)
        "losses"

let private stepTests =
    testList
        "Step"
        [
            test "step is deterministic (float64)" { stepTwice<float>() }
            test "step is deterministic (float32)" { stepTwice<float32>() }

            test "measure does not change the step" {
                let s = spec [| 3; 4; 2 |] Tanh Sigmoid true
                let h = hyper Mse Sum 0.0 (Momentum(0.1, 0.9))
                let rng = Rng.For(9, 9)
                let net = randomNet<float> rng s
                let batch = randomBatch<float> rng Soft s 2
                let n1, n2 = Network.copy net, Network.copy net
                let o1, o2 = Optim.init h.Optimizer net, Optim.init h.Optimizer net
                let r1 = stepInPlace h batch (Workspace.create s 2) true 0L n1 o1
                let r2 = stepInPlace h batch (Workspace.create s 2) false 0L n2 o2
                expectSameBits "network" (Network.arrays n1) (Network.arrays n2)
                Expect.equal r1.GradNorms.Length 2 "per-layer norms when measured"
                Expect.isEmpty r2.GradNorms "none otherwise"
                Expect.all r1.UpdateRatios (fun r -> r > 0.0 && Double.IsFinite r) "ratios"
            }

            test "step = Step.gradients, then the optimiser's Update number t+1" {
                for optimizer in [ Sgd 0.1; Momentum(0.1, 0.9); OptimizerSpec.adam 0.01 ] do
                    let s = spec [| 4; 6; 3 |] Relu Softmax true
                    let h = hyper CrossEntropy Mean 0.01 optimizer
                    let rng = Rng.For(21, 0)
                    let net = randomNet<float> rng s
                    let batches = Array.init 3 (fun _ -> randomBatch<float> rng OneHot s 5)
                    let opt = Optim.create<float> optimizer

                    let final, _ =
                        batches
                        |> Array.fold
                            (fun (state, composed) batch ->
                                let next, report = step h batch state
                                let loss, grads = Step.gradients h batch (fst composed)
                                let net', opt' = opt.Update (state.Step + 1L) grads (snd composed) (fst composed)
                                Expect.isTrue (sameFloatBits report.Loss loss) "loss"
                                let composedArrays = Array.append (Network.arrays net') (OptState.arrays opt')

                                match optimizer with
                                | Sgd _ ->
                                    // Plain SGD is fused into the backward products (W ← (1−ηλ)W − η·dz·aᵀ),
                                    // which rounds differently from gradient-then-update: equal to ~1 ulp.
                                    expectClose "sgd" 1e-13 (stateArrays next) composedArrays
                                    next, (next.Network, next.Opt)
                                | _ ->
                                    expectSameBits (OptimizerSpec.name optimizer) (stateArrays next) composedArrays
                                    next, (net', opt'))
                            (initState h net, (net, opt.Init net))

                    Expect.equal final.Step 3L "three steps"
            }

            testPropertyWithConfig (config 40) "stepInPlace with one Workspace = step, bit for bit (float64)"
            <| Prop.forAll trainCases destinationPassing<float>

            testPropertyWithConfig (config 40) "stepInPlace with one Workspace = step, bit for bit (float32)"
            <| Prop.forAll trainCases destinationPassing<float32>
        ]

// ---------------------------------------------------------------------------------------------
// 8. Backends: managed and OpenBLAS compute the same step.

let private backendRun<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (backend: Tensor.Backend)
    (sizes: int[])
    (cols: int)
    =
    Tensor.Blas.With backend (fun () ->
        Expect.equal Tensor.Blas.Current backend "Blas.With sets this thread's backend"
        let s = spec sizes Relu Softmax true
        // Momentum: after two steps the velocity 0.9·g1 + g2 exposes the gradients themselves.
        let h = hyper CrossEntropy Mean 0.001 (Momentum(0.05, 0.9))
        let rng = Rng.For(sizes[0] + cols, 8)
        let net = randomNet<'T> rng s
        let b1 = randomBatch<'T> rng OneHot s cols
        let b2 = randomBatch<'T> rng OneHot s cols
        let s1, r1 = step h b1 (initState h net)
        let s2, r2 = step h b2 s1
        stateArrays s2, [| r1.Loss; r2.Loss |])

let private backendsAgree<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (tol: float)
    (sizes: int[])
    (cols: int)
    =
    let managed, managedLoss = backendRun<'T> Tensor.Managed sizes cols
    let again, againLoss = backendRun<'T> Tensor.Managed sizes cols
    expectSameBits "managed twice" managed again
    Expect.isTrue (Array.forall2 sameFloatBits managedLoss againLoss) "managed losses twice"

    if Tensor.Blas.NativeAvailable then
        let native, nativeLoss = backendRun<'T> Tensor.OpenBlas sizes cols
        let again, againLoss = backendRun<'T> Tensor.OpenBlas sizes cols
        expectSameBits "OpenBLAS twice" native again
        Expect.isTrue (Array.forall2 sameFloatBits nativeLoss againLoss) "OpenBLAS losses twice"
        expectClose "managed vs OpenBLAS state" tol managed native

        Array.iter2
            (fun m n -> Expect.floatClose { absolute = 0.0; relative = tol } n m "managed vs OpenBLAS loss")
            managedLoss
            nativeLoss

let private backendTests =
    testList
        "Backends"
        [
            for sizes, cols in
                [
                    [| 7; 5; 3 |], 1
                    [| 7; 5; 3 |], 32
                    [| 784; 12; 10 |], 32
                    [| 784; 12; 10 |], 1
                ] do
                let shape = sizes |> Array.map string |> String.concat "-"

                test $"%s{shape} batch %d{cols}: float64 agree to 1e-12, each backend repeatable" {
                    backendsAgree<float> 1e-12 sizes cols
                }

                test $"%s{shape} batch %d{cols}: float32 agree to 1e-5, each backend repeatable" {
                    backendsAgree<float32> 1e-5 sizes cols
                }

            test "Blas.With restores the thread's backend" {
                let outside = Tensor.Blas.Current
                Tensor.Blas.With Tensor.Managed (fun () -> Expect.equal Tensor.Blas.Current Tensor.Managed "inside")
                Expect.equal Tensor.Blas.Current outside "restored"

                Expect.throws
                    (fun () -> Tensor.Blas.With Tensor.Managed (fun () -> failwith "boom"))
                    "exceptions pass through"

                Expect.equal Tensor.Blas.Current outside "restored after an exception"
            }

            test "batch 1 (gemv/ger) and batch 2 (gemm) give the same per-example gradients" {
                // Two identical columns: the gemm path's gradient must equal the gemv/ger path's (Sum).
                let s = spec [| 5; 4; 3 |] Tanh Softmax true
                let h = hyper CrossEntropy Sum 0.0 (Sgd 0.1)
                let rng = Rng.For(3, 3)
                let net = randomNet<float> rng s
                let one = randomBatch<float> rng OneHot s 1

                let two =
                    {
                        X = Tensor.ofColumnMajor 5 2 (Array.append (Tensor.data one.X) (Tensor.data one.X))
                        Y = Tensor.ofColumnMajor 3 2 (Array.append (Tensor.data one.Y) (Tensor.data one.Y))
                    }

                for backend in
                    (if Tensor.Blas.NativeAvailable then
                         [ Tensor.Managed; Tensor.OpenBlas ]
                     else
                         [ Tensor.Managed ]) do
                    Tensor.Blas.With backend (fun () ->
                        let l1, g1 = Step.gradients h one net
                        let l2, g2 = Step.gradients h two net
                        Expect.floatClose Accuracy.veryHigh l2 (2.0 * l1) "loss doubles"
                        let doubled = g1 |> Array.collect Layer.arrays |> Array.map (Array.map ((*) 2.0))
                        expectClose $"%A{backend}" 1e-14 doubled (g2 |> Array.collect Layer.arrays))
            }
        ]

// ---------------------------------------------------------------------------------------------
// 9. Init.

let private initTests =
    let flatten (n: Network<float>) = Network.arrays n |> Array.concat

    testList
        "Init"
        [
            test "same seed, same weights; different seed, different weights" {
                let s = spec [| 5; 5; 5 |] Relu Softmax true

                for scheme in [ NormalFanIn; Xavier; He ] do
                    let a, b = Network.init<float> scheme 7 s, Network.init<float> scheme 7 s
                    expectSameBits (Init.name scheme) (Network.arrays a) (Network.arrays b)
                    let c = Network.init<float> scheme 8 s
                    Expect.notEqual (bits (flatten a)) (bits (flatten c)) "seed 8 differs from seed 7"
                    // Layers draw from distinct streams: two same-shaped layers differ.
                    Expect.notEqual (bits (Tensor.data a.Layers[0].W)) (bits (Tensor.data a.Layers[1].W)) "layers"
                    Expect.all (a.Layers |> Array.collect (fun l -> Tensor.vdata l.B.Value)) ((=) 0.0) "biases"
            }

            test "float32 init is the float64 init rounded" {
                let s = spec [| 6; 4; 3 |] Relu Softmax false
                let d = Network.init<float> He 3 s |> Network.arrays
                let f = Network.init<float32> He 3 s |> Network.arrays
                expectSameBits "rounded" (d |> Array.map (Array.map float32)) f
            }

            test "normal-fanin: std ≈ n_in^-½ for 784→200, within 3%" {
                let w =
                    Tensor.data (Network.init<float> NormalFanIn 1 (spec [| 784; 200 |] Relu Sigmoid true)).Layers[0].W

                let mean = Array.average w
                let std = sqrt (Array.averageBy (fun v -> (v - mean) * (v - mean)) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (1.0 / sqrt 784.0) "std"
                Expect.isLessThan (abs mean) 0.002 "mean ≈ 0"
            }

            test "he: std ≈ √(2/n_in) for 784→200, within 3%" {
                let w =
                    Tensor.data (Network.init<float> He 1 (spec [| 784; 200 |] Relu Sigmoid true)).Layers[0].W

                let std = sqrt (Array.averageBy (fun v -> v * v) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (sqrt (2.0 / 784.0)) "std"
            }

            test "xavier: within ±√(6/(in+out)) and spread across it" {
                let w =
                    Tensor.data (Network.init<float> Xavier 2 (spec [| 784; 200 |] Relu Sigmoid true)).Layers[0].W

                let bound = sqrt (6.0 / (784.0 + 200.0))
                Expect.all w (fun v -> abs v <= bound) "inside the bound"
                Expect.isGreaterThan (Array.max w) (0.99 * bound) "reaches the top"
                Expect.isLessThan (Array.min w) (-0.99 * bound) "reaches the bottom"
                let std = sqrt (Array.averageBy (fun v -> v * v) w)
                Expect.floatClose { absolute = 0.0; relative = 0.03 } std (bound / sqrt 3.0) "uniform std"
            }

            test "weights are drawn in row-major [out, in] order" {
                let net = Network.init<float> NormalFanIn 4 (spec [| 3; 2 |] Relu Sigmoid false)
                let rng = Rng.For(4, 0)
                let rowMajor = Array.init 6 (fun _ -> Functional.Init.sample NormalFanIn 3 2 rng)
                let w = net.Layers[0].W

                Expect.equal
                    [|
                        for i in 0..1 do
                            for j in 0..2 -> w[i, j]
                    |]
                    rowMajor
                    "W[i, j] is draw i·n_in + j"
            }
        ]

// ---------------------------------------------------------------------------------------------
// 10. Data.

type private PermCase = { Seed: int; Epoch: int; N: int }

let private permCases =
    gen {
        let! seed = Gen.choose (-1000, 1000)
        let! epoch = Gen.choose (0, 100)
        let! n = Gen.choose (0, 300)
        return { Seed = seed; Epoch = epoch; N = n }
    }
    |> Arb.fromGen

let private dataTests =
    testList
        "Data"
        [
            testPropertyWithConfig (config 100) "permutation is a deterministic permutation, new each epoch"
            <| Prop.forAll permCases (fun c ->
                let p = Data.permutation c.Seed c.Epoch c.N
                Expect.equal (Array.sort p) (Array.init c.N id) "a permutation of 0..n−1"
                Expect.equal (Data.permutation c.Seed c.Epoch c.N) p "deterministic for (seed, epoch)"
                Expect.equal (Api.Permutation(c.Seed, c.Epoch, c.N)) p "Api.Permutation is the same"

                if c.N >= 20 then
                    Expect.notEqual (Data.permutation c.Seed (c.Epoch + 1) c.N) p "the next epoch differs"
                    Expect.notEqual (Data.permutation (c.Seed + 1) c.Epoch c.N) p "another seed differs")

            test "batches" {
                Expect.equal (Data.batches 10 4) [| 0, 4; 4, 4; 8, 2 |] "10 by 4"
                Expect.equal (Data.batches 10 0) [| 0, 10 |] "0 = full batch"
                Expect.equal (Data.batches 10 (-1)) [| 0, 10 |] "negative = full batch"
                Expect.equal (Data.batches 10 25) [| 0, 10 |] "batch larger than the set"
                Expect.equal (Data.batches 10 1) (Array.init 10 (fun i -> i, 1)) "batch 1"
            }

            testPropertyWithConfig (config 100) "batches tile 0..n−1 in order"
            <| Prop.forAll
                (Arb.fromGen (
                    gen {
                        let! n = Gen.choose (1, 200)
                        let! b = Gen.choose (0, 64)
                        return n, b
                    }
                ))
                (fun (n, b) ->
                    let bs = Data.batches n b
                    let covered = bs |> Array.collect (fun (o, c) -> Array.init c (fun k -> o + k))
                    Expect.equal covered (Array.init n id) "every example once, in order"
                    let size = if b = 0 then n else min b n
                    Expect.all bs[.. bs.Length - 2] (fun (_, c) -> c = size) "all but the last are full")

            // An empty set has no batches. Today this throws ("The step of a range cannot be zero"):
            // b = min batch 0 = 0 becomes the step of `0..b..n-1`. Model.Evaluate on an empty image set
            // hits it too, although Evaluate guards its own division with max images.Count 1.
            test "an empty set has no batches" {
                Expect.equal (Data.batches 0 32) [||] "0 examples, batch 32"
                Expect.equal (Data.batches 0 0) [||] "0 examples, full batch"
                let trainer = Api.CreateTrainer(trainConfig "float32", synthetic 5 1)

                let empty: Images =
                    {
                        Pixels = [||]
                        Labels = [||]
                        Count = 0
                        Features = 784
                    }

                let eval = trainer.Model.Evaluate empty
                Expect.equal eval.Count 0 "Evaluate of an empty set counts nothing"
                Expect.isEmpty eval.Predictions "and predicts nothing"
            }

            test "Scale tables" {
                let unit = Scale.table<float> Unit
                Expect.equal unit[0] 0.0 "Unit[0]"
                Expect.equal unit[255] 1.0 "Unit[255]"
                Expect.floatClose Accuracy.veryHigh unit[51] 0.2 "Unit[51]"
                let book = Scale.table<float> Book
                Expect.equal book[0] 0.01 "Book[0]"
                Expect.equal book[255] 1.0 "Book[255]"
                let book32 = Scale.table<float32> Book
                Expect.floatClose { absolute = 1e-7; relative = 0.0 } (float book32[0]) 0.01 "Book[0] float32"
                Expect.equal book32[255] 1.0f "Book[255] float32"
                let unit32 = Scale.table<float32> Unit
                Expect.equal unit32[255] 1.0f "Unit[255] float32"
                Expect.equal (Scale.targets<float> Unit) (0.0, 1.0) "unit targets"
                Expect.equal (Scale.targets<float> Book) (0.01, 0.99) "book targets"
                Expect.equal (Scale.tryParse (Scale.name Book)) (Some Book) "Book's name parses back"
                Expect.equal (Scale.tryParse (Scale.name Unit)) (Some Unit) "Unit's name parses back"
            }

            test "gatherInto: image n's pixels in column j, scaled as Scale.table says, and its one-hot target" {
                let images: Images =
                    {
                        Pixels = Array.init (3 * 37) (fun k -> byte (k * 7 % 256))
                        Labels = [| 2uy; 0uy; 1uy |]
                        Count = 3
                        Features = 37
                    }

                for scale in [ Unit; Book ] do
                    let table = Scale.table<float32> scale
                    let off, on = Scale.targets<float32> scale
                    let x = Tensor.zeros<float32> 37 2
                    let y = Tensor.zeros<float32> 3 2
                    // Fill with junk first: gatherInto must overwrite every entry.
                    Array.fill (Tensor.data x) 0 74 nanf
                    Array.fill (Tensor.data y) 0 6 nanf
                    gatherInto scale images [| 1; 2; 0 |] 1 x y

                    for j, n in [ 0, 2; 1, 0 ] do
                        for i in 0..36 do
                            let expected = table[int images.Pixels[n * 37 + i]]
                            Expect.equal x[i, j] expected $"x[%d{i}, %d{j}] under %A{scale}"

                        for k in 0..2 do
                            let expected = if k = int images.Labels[n] then on else off
                            Expect.equal y[k, j] expected $"y[%d{k}, %d{j}]"

                let unit = Scale.table<float> Unit
                Expect.equal unit.[51] (51.0 / 255.0) "unit is x/255"
            }
        ]

// ---------------------------------------------------------------------------------------------
// 11. End to end through the Api: a learnable synthetic set.

let private trainOneEpoch (config: TrainConfig) (train: Images) =
    let trainer = Api.CreateTrainer(config, train)
    let order = Api.Permutation(config.Seed, 0, train.Count)

    let losses =
        Data.batches train.Count config.Batch
        |> Array.map (fun (offset, count) -> trainer.Step(order, offset, count))

    trainer, losses

let private expectSameModel (a: Model) (b: Model) (images: Images) =
    Expect.equal b.Spec a.Spec "spec"
    Expect.equal b.ParameterCount a.ParameterCount "parameter count"

    for i in 0 .. min 20 (images.Count - 1) do
        Expect.equal (bits (b.Outputs(images, i))) (bits (a.Outputs(images, i))) $"outputs of image %d{i}"

    let ea, eb = a.Evaluate images, b.Evaluate images
    Expect.equal eb.Predictions ea.Predictions "predictions"
    Expect.isTrue (sameFloatBits eb.Loss ea.Loss) "evaluation loss"

let private endToEndTests =
    testList
        "EndToEnd"
        [
            test "784-64-10 relu/softmax/ce, adam 1e-3, batch 32: one epoch learns a synthetic set" {
                let train, heldOut = synthetic 1 2000, synthetic 2 500
                let config = trainConfig "float32"
                Expect.isNull (Api.Problem config) "a valid configuration"
                let trainer, losses = trainOneEpoch config train
                Expect.equal trainer.StepCount 63L "⌈2000/32⌉ steps"
                Expect.all losses Double.IsFinite "finite losses"
                Expect.isLessThan (Array.average losses[losses.Length - 10 ..]) (0.5 * losses[0]) "the loss falls"
                let model = trainer.Model
                let eval = model.Evaluate heldOut
                Expect.equal eval.Count 500 "count"
                Expect.isGreaterThan eval.Accuracy 0.9 $"held-out accuracy (loss %.4f{eval.Loss})"

                Expect.equal (eval.Confusion |> Array.sumBy Array.sum) 500 "the confusion matrix counts every image"

                let probs = model.Outputs(heldOut, 0)
                Expect.equal probs.Length 10 "ten outputs"
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } (Array.sum probs) 1.0 "probabilities"
                Expect.equal (Array.IndexOf(probs, Array.max probs)) eval.Predictions[0] "Outputs agrees"
                let loaded = Api.LoadModel(model.Spec, model.Tensors())
                expectSameModel model loaded heldOut
            }

            test "LoadModel round-trips float64 and bias-free models" {
                let train = synthetic 3 200

                for config in
                    [
                        { trainConfig "float64" with
                            Sizes = [| 784; 8; 10 |]
                        }
                        { trainConfig "float32" with
                            Sizes = [| 784; 6; 5; 10 |]
                            Bias = false
                            Hidden = "tanh"
                            Scale = "seed"
                        }
                    ] do
                    let trainer, _ = trainOneEpoch config train
                    let model = trainer.Model
                    let tensors = model.Tensors()
                    let layers = config.Sizes.Length - 1
                    Expect.equal tensors.Length (if config.Bias then 2 * layers else layers) "tensor count"
                    Expect.equal tensors[0].Name "layers.0.weight" "names"
                    Expect.equal tensors[0].Shape [| config.Sizes[1]; 784 |] "PyTorch's [out, in]"
                    expectSameModel model (Api.LoadModel(model.Spec, tensors)) train
            }

            test "Tensors are row-major [out, in]" {
                let trainer =
                    Api.CreateTrainer(
                        { trainConfig "float64" with
                            Sizes = [| 784; 3; 10 |]
                        },
                        synthetic 4 10
                    )

                let tensors = trainer.Model.Tensors()
                let w = tensors[0].Float64
                Expect.isNull tensors[0].Float32 "float64 model"
                // Outputs of a probe image built to light only pixel 5: hidden unit i sees W[i, 5]·1 + b_i (b = 0).
                let probe: Images =
                    {
                        Pixels = Array.init 784 (fun k -> if k = 5 then 255uy else 0uy)
                        Labels = [| 0uy |]
                        Count = 1
                        Features = 784
                    }

                let rebuilt =
                    Api.LoadModel(
                        trainer.Model.Spec,
                        tensors
                        |> Array.map (fun t ->
                            if t.Name = "layers.1.weight" then
                                // Make the output layer read hidden unit 0 only, into class 0.
                                { t with
                                    Float64 = Array.init 30 (fun k -> if k = 0 then 1.0 else 0.0)
                                }
                            else
                                t)
                    )

                let expected = max 0.0 w[0 * 784 + 5]
                let out = rebuilt.Outputs(probe, 0)
                let e = exp expected
                Expect.floatClose Accuracy.veryHigh out[0] (e / (e + 9.0)) "class 0 sees relu(W[0, 5])"
            }
        ]

[<Tests>]
let tests =
    testList
        "Core"
        [
            activationTests
            lossTests
            gradientTests
            gradCheckTests
            optimTests
            stepTests
            backendTests
            initTests
            dataTests
            endToEndTests
        ]
