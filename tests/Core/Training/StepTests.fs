module Functional.Tests.Core.StepTests

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
open Functional.Tests.Core.Helpers

type private TrainCase =
    {
        Net: Arch
        Hyper: Hyper
        Cols: int
        CaseSeed: int
        Measure: bool
    }

/// What comes before the dense layers: nothing, or an image-shaped input and a flatten (sometimes with a
/// second, flat-to-flat flatten between the first two dense layers).
type private Front =
    | Flat
    | Image

let private trainCasesWith (hiddens: Activation list) (front: Front) =
    gen {
        let! layers = Gen.choose (1, 3)
        let! units = Gen.arrayOfLength (layers + 1) (Gen.choose (1, 8))
        let! hidden = Gen.elements hiddens
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

        let! net =
            match front with
            | Flat -> Gen.constant (dense units hidden output bias)
            | Image ->
                gen {
                    let! channels = Gen.choose (1, 2)
                    let! height = Gen.choose (1, 3)
                    let! width = Gen.choose (1, 3)
                    let! middle = Gen.elements [ true; false ]

                    let d =
                        dense (Array.append [| channels * height * width |] units[1..]) hidden output bias

                    let layers =
                        if middle && d.Layers.Length > 1 then
                            Array.concat [ d.Layers[..0]; [| Layers.Flatten.Flatten :> ILayer |]; d.Layers[1..] ]
                        else
                            d.Layers

                    return withFlatten [| channels; height; width |] layers
                }

        return
            ({
                Net = net
                Hyper = hyper loss reduction l2 optimizer
                Cols = cols
                CaseSeed = seed
                Measure = measure
            }
            : TrainCase)
    }
    |> Arb.fromGen

let private trainCases = trainCasesWith [ Sigmoid; Tanh; Relu ] Flat

let private stepTwice<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    ()
    =
    let s = dense [| 6; 5; 4 |] Relu Softmax true
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
        if c.Hyper.Loss = CrossEntropy && Arch.output c.Net = Softmax then
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

let stepTests =
    testList
        "Step"
        [
            test "step is deterministic (float64)" { stepTwice<float>() }
            test "step is deterministic (float32)" { stepTwice<float32>() }

            test "measure does not change the step" {
                let s = dense [| 3; 4; 2 |] Tanh Sigmoid true
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
                    let s = dense [| 4; 6; 3 |] Relu Softmax true
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

            testPropertyWithConfig (config 25) "stepInPlace = step, bit for bit, with linear hidden layers (float64)"
            <| Prop.forAll (trainCasesWith [ Linear ] Flat) destinationPassing<float>

            testPropertyWithConfig (config 25) "stepInPlace = step, bit for bit, with linear hidden layers (float32)"
            <| Prop.forAll (trainCasesWith [ Linear ] Flat) destinationPassing<float32>

            testPropertyWithConfig (config 25) "stepInPlace = step, bit for bit, for networks with flatten (float64)"
            <| Prop.forAll (trainCasesWith [ Sigmoid; Tanh; Relu; Linear ] Image) destinationPassing<float>

            testPropertyWithConfig (config 25) "stepInPlace = step, bit for bit, for networks with flatten (float32)"
            <| Prop.forAll (trainCasesWith [ Sigmoid; Tanh; Relu; Linear ] Image) destinationPassing<float32>

            test "--clip-norm scales the whole gradient to the norm when it is above it, and leaves it alone below" {
                for optimizer in [ Sgd 0.1; OptimizerSpec.adam 0.01 ] do
                    let s = dense [| 4; 6; 3 |] Tanh Softmax true
                    let h = hyper CrossEntropy Mean 0.01 optimizer
                    let rng = Rng.For(5, 0)
                    let net = randomNet<float> rng s
                    let batch = randomBatch<float> rng OneHot s 5
                    let _, grads = Step.gradients h batch net
                    let norm = sqrt (grads |> Array.sumBy (Array.sumBy (Array.sumBy (fun g -> g * g))))
                    let clip = norm / 4.0
                    let clipped, report = step { h with ClipNorm = clip } batch (initState h net)
                    Expect.floatClose Accuracy.high report.Clip 0.25 "the factor"

                    Expect.floatClose
                        Accuracy.high
                        (sqrt (report.GradNorms |> Array.sumBy (fun g -> g * g)))
                        norm
                        "the journal's norms are the gradient's before clipping"

                    // The same update from the gradient scaled by hand.
                    let scaled = grads |> Array.map (Array.map (Array.map (fun g -> g * clip / norm)))

                    let expected, _ =
                        (Optim.create<float> optimizer).Update 1L scaled (Optim.init optimizer net) net

                    expectClose "clipped update" 1e-12 (Network.arrays clipped.Network) (Network.arrays expected)

                    let loose, r = step { h with ClipNorm = norm * 2.0 } batch (initState h net)
                    let plain, _ = step h batch (initState h net)
                    Expect.equal r.Clip 1.0 "not clipped"

                    if optimizer <> Sgd 0.1 then
                        expectSameBits "a clip above the norm changes nothing" (stateArrays loose) (stateArrays plain)
            }

            test "stepInPlace = step, bit for bit, for recurrent networks with clipping" {
                for text in
                    [
                        "rnn 5 relu identity, dense 3 softmax"
                        "lstm 4 orthogonal sequence, flatten, dense 3 softmax"
                    ] do
                    let arch =
                        Arch.parse [| 6; 3 |] ("input 6x3, " + text) |> Result.defaultWith failwith

                    let h =
                        { hyper CrossEntropy Mean 0.001 (OptimizerSpec.adam 0.01) with
                            ClipNorm = 0.5
                        }

                    let rng = Rng.For(8, 1)
                    let net = randomNet<float32> rng arch
                    let batches = Array.init 4 (fun _ -> randomBatch<float32> rng OneHot arch 3)
                    let pure' = batches |> Array.fold (fun st b -> fst (step h b st)) (initState h net)
                    let n, o = Network.copy net, Optim.init h.Optimizer net
                    let ws = Workspace.create arch 3

                    batches
                    |> Array.iteri (fun t b -> stepInPlace h b ws false (int64 t) n o |> ignore)

                    expectSameBits text (stateArrays pure') (Array.append (Network.arrays n) (OptState.arrays o))
            }

            test "inputGradient is ∂L/∂x by central differences, through flatten and dense layers" {
                let arch = withFlatten [| 2; 2; 2 |] (dense [| 8; 5; 3 |] Tanh Softmax true).Layers

                let h = hyper CrossEntropy Mean 0.0 (Sgd 0.1)
                let rng = Rng.For(31, 0)
                let net = randomNet<float> rng arch
                let batch = randomBatch<float> rng OneHot arch 2
                let value, dx = Step.inputGradient h batch net
                Expect.equal (dx.RowCount, dx.ColumnCount) (8, 2) "shaped like the input"
                let x = Tensor.data batch.X

                for i in 0 .. x.Length - 1 do
                    let theta = x[i]
                    let eps = GradCheck.epsilonFor theta
                    x[i] <- theta + eps
                    let up = GradCheck.loss h batch net
                    x[i] <- theta - eps
                    let down = GradCheck.loss h batch net
                    x[i] <- theta
                    let numeric = (up - down) / (2.0 * eps)
                    let analytic = (Tensor.data dx)[i]

                    if
                        not (
                            GradCheck.relError analytic numeric < 1e-5
                            || abs (analytic - numeric) < 1e-9 * max 1.0 value
                        )
                    then
                        failtestf "x entry %d: analytic %.12g, numeric %.12g" i analytic numeric
            }
        ]


[<Tests>]
let tests = testList "Core" [ stepTests ]
