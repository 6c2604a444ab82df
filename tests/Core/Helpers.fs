/// Shared by the Core tests. Nothing here is shared mutable state: every test builds its own networks and
/// batches, and backend choices are scoped to the running thread with Blas.With (never Blas.Use).
module Functional.Tests.Core.Helpers

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
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step

/// The raw bits of a float32 or float64 array, so equality is bitwise (NaN = NaN, 0.0 <> -0.0).
let bits (a: 'T[]) : int64[] =
    match box a with
    | :? (float32[]) as f -> f |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))
    | :? (float[]) as d -> d |> Array.map BitConverter.DoubleToInt64Bits
    | _ -> failwithf "expected a float32[] or float[], got %s" (a.GetType().Name)

let expectSameBits (what: string) (a: 'T[][]) (b: 'T[][]) =
    Expect.equal a.Length b.Length $"%s{what}: number of arrays"

    for p in 0 .. a.Length - 1 do
        let x, y = bits a[p], bits b[p]
        Expect.equal x.Length y.Length $"%s{what}: length of array %d{p}"

        match Array.zip x y |> Array.tryFindIndex (fun (u, v) -> u <> v) with
        | Some i ->
            let u, v = a[p][i], b[p][i]
            failtestf "%s: array %d differs first at index %d: %A vs %A" what p i u v
        | None -> ()

let sameFloatBits (a: float) (b: float) =
    BitConverter.DoubleToInt64Bits a = BitConverter.DoubleToInt64Bits b

let toDoubles (a: 'T[]) : float[] =
    match box a with
    | :? (float32[]) as f -> Array.map float f
    | :? (float[]) as d -> d
    | _ -> failwithf "expected a float32[] or float[], got %s" (a.GetType().Name)

/// ‖a − b‖∞ / ‖a‖∞ for each pair of arrays must stay below tol (arrays compared as a whole, so an
/// entry that happens to be near zero is judged against the array's scale, not its own).
let expectClose (what: string) (tol: float) (a: 'T[][]) (b: 'T[][]) =
    Expect.equal a.Length b.Length $"%s{what}: number of arrays"

    for p in 0 .. a.Length - 1 do
        let x, y = toDoubles a[p], toDoubles b[p]
        let scale = x |> Array.fold (fun m v -> max m (abs v)) 1e-30
        let diff = Array.map2 (fun u v -> abs (u - v)) x y |> Array.fold max 0.0

        if not (diff <= tol * scale) then
            failtestf "%s: array %d differs by %g relative (tolerance %g)" what p (diff / scale) tol

let stateArrays (s: TrainState<'T>) =
    Array.append (Network.arrays s.Network) (OptState.arrays s.Opt)

let copyArrays (arrays: 'T[][]) = Array.map Array.copy arrays

/// The multilayer perceptron of these sizes (what the old tests called a Spec).
let dense sizes hidden output bias = Arch.dense sizes hidden output bias

/// `layers` after an image-shaped input: "input C×H×W, flatten, …".
let withFlatten (input: Shape) (layers: ILayer[]) : Arch =
    {
        Input = input
        Layers = Array.append [| Layers.Flatten.Flatten :> ILayer |] layers
    }

type TargetKind =
    /// One 1 per column, zeros elsewhere.
    | OneHot
    /// The book's 0.01 / 0.99 targets: columns sum to 0.99 + 0.01·(classes−1), not 1.
    | BookHot
    /// Independent values in (0.05, 0.95): columns sum to anything.
    | Soft

let targets (rng: Rng) (kind: TargetKind) (classes: int) (cols: int) : float[] =
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

let matrixOf<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rows: int)
    (cols: int)
    (values: float[])
    : Matrix<'T> =
    Tensor.ofColumnMajor rows cols (values |> Array.map (fun v -> 'T.CreateTruncating v))

let randomBatch<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rng: Rng)
    (kind: TargetKind)
    (arch: Arch)
    (cols: int)
    : Batch<'T> =
    let inputs, classes = Arch.inputs arch, Arch.classes arch
    let x = Array.init (inputs * cols) (fun _ -> rng.NextNormal())
    let y = targets rng kind classes cols

    {
        X = matrixOf<'T> inputs cols x
        Y = matrixOf<'T> classes cols y
    }

/// A network from a random init scheme and seed, with random (non-zero) biases so bias gradients matter.
let randomNet<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (rng: Rng)
    (arch: Arch)
    : Network<'T> =
    let scheme = [| NormalFanIn; Xavier; He |][rng.NextInt 3]
    let net = Network.init<'T> scheme (rng.NextInt 1_000_000) arch
    let infos = Arch.parameters arch

    for l in 0 .. infos.Length - 1 do
        for p in 0 .. infos[l].Length - 1 do
            if infos[l].[p].Name = "bias" then
                let d = net.Params[l].[p]

                for i in 0 .. d.Length - 1 do
                    d[i] <- 'T.CreateTruncating(rng.NextDouble() - 0.5)

    net

/// Layer l's pre-activation z = W·below + b for a dense layer (W row-major [out, in]), computed here
/// independently of the kernels.
let preActivation (net: Network<float>) (l: int) (below: Matrix<float>) : Matrix<float> =
    let d = net.Arch.Layers[l] :?> Layers.Dense.Dense
    let w = net.Params[l].[0]
    let n = below.RowCount

    Matrix<float>
        .Build.Dense(
            d.Units,
            below.ColumnCount,
            fun i j ->
                let mutable s = if d.Bias then net.Params[l].[1].[i] else 0.0

                for k in 0 .. n - 1 do
                    s <- s + w[i * n + k] * below[k, j]

                s
        )

/// True when no hidden pre-activation lies within 1e-3 of ReLU's kink at 0. A pre-activation that is
/// exactly 0 because its layer has no bias and its whole input column is 0 (every unit below is dead) is
/// fine: no probe can move it, since the dead units below are themselves held ≥ 1e-3 from their kinks.
/// Layers without parameters (flatten) have no kink.
let awayFromKinks (net: Network<float>) (x: Matrix<float>) =
    let trace = forward net x

    [ 0 .. net.Arch.Layers.Length - 2 ]
    |> List.forall (fun l ->
        match net.Arch.Layers[l] with
        | :? Layers.Dense.Dense as d ->
            let below = if l = 0 then x else trace.Activations[l - 1]
            let z = preActivation net l below

            [ 0 .. x.ColumnCount - 1 ]
            |> List.forall (fun j ->
                z.Column(j).ForAll(fun v -> abs v >= 1e-3)
                || (not d.Bias && below.Column(j).ForAll(fun v -> v = 0.0)))
        | _ -> true)

/// True when float64 can evaluate the loss accurately enough for a central difference to reach 1e-5.
/// Cross-entropy is evaluated from the outputs a, not from the logits: a softmax probability below
/// 1e-12 hits the ln floor of Losses.value (the value stops moving while the gradient a·Σy − y does
/// not), and a sigmoid output within δ of 1 leaves ln(1 − a) an absolute rounding error of about
/// 1e-16/δ, which the difference quotient divides by 2h ≈ 1.2e-5. Keeping softmax outputs ≥ 1e-8 and
/// sigmoid outputs inside [0.01, 0.99] bounds that noise near 1e-12. MSE has no such trouble.
let lossMeasurable (loss: Loss) (net: Network<float>) (x: Matrix<float>) =
    let a = Tensor.data (forward net x).Output

    match loss, Arch.output net.Arch with
    | Mse, _ -> true
    | CrossEntropy, Softmax -> a |> Array.forall (fun p -> p >= 1e-8)
    | CrossEntropy, _ -> a |> Array.forall (fun p -> p >= 0.01 && p <= 0.99)

let hyper loss reduction l2 optimizer : Hyper =
    {
        Loss = loss
        Reduction = reduction
        L2 = l2
        Optimizer = optimizer
        Seed = 1
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Trades = 0.0
    }

/// Class c lights pixels 78c .. 78c+77 (bright, 150–255) over background noise (0–89).
let synthetic (seed: int) (count: int) : Images =
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
        Values = [||]
    }

/// 784-64-10 relu/softmax, ce, he, adam 1e-3, no L2, batch 32, seed 1.
let trainConfig (precision: Precision) : Config =
    { Config.defaults with
        Arch = dense [| 784; 64; 10 |] Relu Softmax true
        Loss = CrossEntropy
        Init = He
        Optimizer = Adam(1e-3, 0.9, 0.999, 1e-8)
        L2 = 0.0
        Reduction = Mean
        Scale = Unit
        Seed = 1
        Precision = precision
        Batch = 32
        Schedule = Schedule.Constant
        ClipNorm = 0.0
        Augment = Augment.Augment.none
        Adversarial = None
    }

/// Fixed-size configs: the number of cases, not FsCheck's size, bounds the work.
let config n =
    { FsCheckConfig.defaultConfig with
        maxTest = n
        startSize = 10
        endSize = 10
    }

/// Ok's value, or the test fails with the error.
let ok (what: string) (r: Result<'a, string>) =
    match r with
    | Ok v -> v
    | Error e -> failtestf "%s: %s" what e

/// Error's message, or the test fails.
let error (what: string) (r: Result<'a, string>) =
    match r with
    | Ok v -> failtestf "%s: expected an error, got %A" what v
    | Error e -> e

/// Central differences in float64 with h ≈ 6e-6·max(1,|θ|) carry a rounding error of about
/// ε_mach·|L|/h ≈ 4e-11·|L| (and a truncation error of order h²·|L'''|). A gradient entry far below that
/// floor (a nearly saturated sigmoid, say) cannot be measured to 1e-5 relative by any central
/// difference, so such an entry passes when the two agree to an absolute 1e-9·max(1, |L|) instead.
/// Everything else must agree to GradCheck.relError < 1e-5.
let expectGradientsMatch (arch: Arch) (h: Hyper) (kind: TargetKind) (cols: int) (caseSeed: int) =
    let rng = Rng.For(caseSeed, 0)

    let reluHidden =
        arch.Layers[.. arch.Layers.Length - 2]
        |> Array.exists (fun l -> l.Activation = Relu)

    // ReLU has a kink at z = 0 where the derivative is undefined: a central difference straddling it
    // measures the average of the two slopes. The step moves a pre-activation by at most about
    // h·|input| ≈ 1e-4 here (|θ|, |x| of order one), so we draw fresh weights and inputs (bounded
    // retry, up to 100 draws) until every hidden |z| ≥ 1e-3: no probe can then cross a kink.
    // The same retry skips the rare draws whose CE loss float64 cannot measure (see lossMeasurable).
    let net, batch =
        Seq.initInfinite (fun _ ->
            let net = randomNet<float> rng arch
            net, randomBatch<float> rng kind arch cols)
        |> Seq.take 100
        |> Seq.tryFind (fun (net, batch) ->
            (not reluHidden || awayFromKinks net batch.X)
            && lossMeasurable h.Loss net batch.X)
        |> Option.defaultWith (fun () -> failtest "no draw in 100 was away from kinks and saturation")

    let before = copyArrays (Network.arrays net)
    let value, grads = Step.gradients h batch net
    Expect.isTrue (Double.IsFinite value) "the loss is finite"
    expectSameBits "gradients leave the network alone" before (Network.arrays net)
    let analytic = Array.concat grads
    let floor = 1e-9 * max 1.0 (abs value)

    for p in 0 .. analytic.Length - 1 do
        for i in 0 .. analytic[p].Length - 1 do
            let a = analytic[p][i]
            let n = GradCheck.numeric h batch net p i
            let err = GradCheck.relError a n

            if not (err < 1e-5 || abs (a - n) < floor) then
                failtestf "array %d entry %d: analytic %.12g, numeric %.12g, relative error %.3g" p i a n err
