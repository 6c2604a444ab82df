/// The doctor's measurements, as pure functions of a network, a batch and a data set.
/// Saturation: a sigmoid unit is saturated when its σ'(z) = a(1−a), averaged over the batch, is below 0.01
/// (tanh: 1−a²). A ReLU unit is dead when a = 0 for every example of the batch. Collapse: the entropy
/// H = −Σ_c p_c log₂ p_c of the predicted-class histogram (log₂ 10 ≈ 3.32 bits for ten balanced classes,
/// 0 when every input gets the same answer). The loss expected at initialisation is the loss of the
/// uninformed output, a_k = 1/K for softmax (ln K for cross-entropy) and a_k = ½ for sigmoid.
module Functional.Diagnostics

open System
open System.Runtime.InteropServices
open System.Collections.Generic
open System.Numerics
open System.Numerics.Tensors
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Losses
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Step

/// The activations of one layer over a batch.
type LayerHealth =
    {
        Layer: int
        Units: int
        Activation: string
        /// Fraction of units whose mean σ'(z) over the batch is below Activation.saturationThreshold
        /// (sigmoid and tanh layers; NaN for the others).
        Saturated: float
        /// Fraction of (unit, example) entries with σ'(z) below the threshold (NaN when not sigmoid/tanh).
        SaturatedEntries: float
        /// Fraction of units that output 0 for every example (ReLU layers; NaN for the others).
        Dead: float
    }

/// What a network predicts over a data set.
type PredictionSummary =
    {
        Count: int
        /// Histogram[c] = how many examples were predicted as class c.
        Histogram: int[]
        Distinct: int
        /// Entropy of the histogram, in bits.
        Entropy: float
        Accuracy: float
        /// Mean loss per example.
        Loss: float
    }

/// A data set as the network sees it, after scaling.
type DataSummary =
    {
        Count: int
        Features: int
        LabelCounts: int[]
        /// Entropy of the label histogram, in bits (the entropy predictions should approach).
        LabelEntropy: float
        Min: float
        Max: float
        Mean: float
        Std: float
        /// Scaled input values that are NaN or infinite.
        NonFinite: int64
    }

/// H = −Σ p log₂ p of a histogram, in bits.
let entropyBits (histogram: int[]) =
    let n = float (Array.sum histogram)

    if n = 0.0 then
        0.0
    else
        histogram
        |> Array.sumBy (fun c ->
            if c = 0 then
                0.0
            else
                let p = float c / n
                -p * Math.Log2 p)

let histogram (classes: int) (values: int[]) =
    let h = Array.zeroCreate classes

    for v in values do
        if v >= 0 && v < classes then
            h[v] <- h[v] + 1

    h

/// Saturation and dead units of one [units × B] activation matrix a = f(z).
let layerHealth<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (layer: int)
    (act: Activation)
    (a: Matrix<'T>)
    =
    let d = Tensor.data a
    let units, cols = a.RowCount, a.ColumnCount
    let threshold = Activation.saturationThreshold

    let slope (v: float) =
        match act with
        | Sigmoid -> v * (1.0 - v)
        | Tanh -> 1.0 - v * v
        | _ -> nan

    let saturated, entries, dead =
        match act with
        | Sigmoid
        | Tanh ->
            let mutable units' = 0
            let mutable entries = 0

            for i in 0 .. units - 1 do
                let mutable sum = 0.0

                for j in 0 .. cols - 1 do
                    let s = slope (Double.CreateTruncating d[j * units + i])
                    sum <- sum + s

                    if s < threshold then
                        entries <- entries + 1

                if sum / float cols < threshold then
                    units' <- units' + 1

            float units' / float units, float entries / float (units * cols), nan
        | Relu ->
            let mutable deadUnits = 0

            for i in 0 .. units - 1 do
                let mutable alive = false

                for j in 0 .. cols - 1 do
                    if 'T.op_GreaterThan (d[j * units + i], 'T.Zero) then
                        alive <- true

                if not alive then
                    deadUnits <- deadUnits + 1

            nan, nan, float deadUnits / float units
        | Softmax
        | Linear -> nan, nan, nan

    {
        Layer = layer
        Units = units
        Activation = Activation.name act
        Saturated = saturated
        SaturatedEntries = entries
        Dead = dead
    }

/// The health of every layer of a forward pass.
let health<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (trace: Trace<'T>)
    =
    trace.Activations
    |> Array.mapi (fun l a -> layerHealth l net.Arch.Layers[l].Activation a)

/// The mean loss per example of an uninformed output (1/K for softmax, ½ for sigmoid) on targets y
/// ([classes × B]): what a freshly initialised network should score.
let uninformedLoss<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (loss: Loss)
    (output: Activation)
    (y: Matrix<'T>)
    =
    let classes = y.RowCount

    let value: 'T =
        match output with
        | Softmax -> 'T.One / 'T.CreateTruncating classes
        | _ -> 'T.CreateTruncating 0.5

    let a = Array.create (Tensor.data y).Length value
    Losses.value loss output Mean classes a (Tensor.data y)

/// Labels, value range and non-finite values of a table's rows (their values are the network's inputs as they are).
let private summarizeValues (classes: int) (images: Images) : DataSummary =
    let finite = images.Values |> Array.filter Single.IsFinite |> Array.map float
    let mean = if finite.Length = 0 then 0.0 else Array.average finite

    let var =
        if finite.Length = 0 then
            0.0
        else
            finite |> Array.averageBy (fun v -> (v - mean) * (v - mean))

    let labels = histogram classes (images.Labels |> Array.map int)

    {
        Count = images.Count
        Features = images.Features
        LabelCounts = labels
        LabelEntropy = entropyBits labels
        Min = (if finite.Length = 0 then nan else Array.min finite)
        Max = (if finite.Length = 0 then nan else Array.max finite)
        Mean = mean
        Std = sqrt var
        NonFinite = int64 (images.Values.Length - finite.Length)
    }

/// Labels, scaled value range and non-finite values of an image set under `scale` (a table's rows as they are).
let summarize (scale: Scale) (classes: int) (images: Images) : DataSummary =
    if images.Values.Length > 0 then
        summarizeValues classes images
    else
        let table = Scale.table<float> scale
        let counts = Array.zeroCreate<int64> 256

        for p in images.Pixels do
            counts[int p] <- counts[int p] + 1L

        let total = float images.Pixels.LongLength
        let used = [| 0..255 |] |> Array.filter (fun p -> counts[p] > 0L)
        let finite = used |> Array.filter (fun p -> Double.IsFinite table[p])
        let sum = finite |> Array.sumBy (fun p -> float counts[p] * table[p])
        let mean = if total = 0.0 then 0.0 else sum / total

        let var =
            if total = 0.0 then
                0.0
            else
                (finite
                 |> Array.sumBy (fun p -> float counts[p] * (table[p] - mean) * (table[p] - mean)))
                / total

        let labels = histogram classes (images.Labels |> Array.map int)

        {
            Count = images.Count
            Features = images.Features
            LabelCounts = labels
            LabelEntropy = entropyBits labels
            Min =
                (if finite.Length = 0 then
                     nan
                 else
                     finite |> Array.map (fun p -> table[p]) |> Array.min)
            Max =
                (if finite.Length = 0 then
                     nan
                 else
                     finite |> Array.map (fun p -> table[p]) |> Array.max)
            Mean = mean
            Std = sqrt var
            NonFinite =
                used
                |> Array.filter (fun p -> not (Double.IsFinite table[p]))
                |> Array.sumBy (fun p -> counts[p])
        }

/// Example n's bytes: an image's pixels, or a table row's values as raw bytes.
let private rowBytes (images: Images) (n: int) : ReadOnlySpan<byte> =
    let f = images.Features

    if images.Values.Length > 0 then
        MemoryMarshal.AsBytes(ReadOnlySpan<float32>(images.Values, n * f, f))
    else
        ReadOnlySpan<byte>(images.Pixels, n * f, f)

/// How many examples of `test` are byte for byte equal to an example of `train` (images or table rows).
let shared (train: Images) (test: Images) =
    let f = train.Features

    if f <> test.Features || (train.Values.Length > 0) <> (test.Values.Length > 0) then
        0
    else
        let key (images: Images) n =
            let mutable h = HashCode()
            h.AddBytes(rowBytes images n)
            h.ToHashCode()

        let seen = Dictionary<int, ResizeArray<int>>()

        for n in 0 .. train.Count - 1 do
            let k = key train n

            match seen.TryGetValue k with
            | true, l -> l.Add n
            | _ -> seen[k] <- ResizeArray [ n ]

        let same n m =
            (rowBytes test n).SequenceEqual(rowBytes train m)

        let mutable count = 0

        for n in 0 .. test.Count - 1 do
            match seen.TryGetValue(key test n) with
            | true, l when l |> Seq.exists (same n) -> count <- count + 1
            | _ -> ()

        count

/// One layer's values over a batch: its activations and its weight gradient's entries.
type LayerSample =
    {
        Activations: float[]
        Gradients: float[]
    }

/// How the gradient travels back through time in one recurrent layer, over one batch.
type ThroughTime =
    {
        Layer: int
        Text: string
        /// ‖∂L/∂h_t‖ summed over the batch's examples, for t = 1..T.
        StepNorms: float[]
        /// ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: far below 1 the gradient vanishes on its way back, above 1 it grows (explodes).
        FirstOverLast: float
        /// Fraction of saturated tanh units (Elman, tanh) or gate units (LSTM); NaN for a relu RNN.
        Saturated: float
    }

/// Forward and backward on the batch, then each recurrent layer's per-step gradient norms and saturation.
let throughTime<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (net: Network<'T>)
    (batch: Batch<'T>)
    : ThroughTime[] =
    let bound = Bound.create<'T> net.Arch batch.X.ColumnCount

    let trace =
        {
            Input = batch.X
            Activations = Bound.buffers bound
        }

    forwardWith bound net trace Layers.Layer.Mode.eval
    let deltas = Bound.buffers bound
    let out = trace.Output
    let output = Arch.output net.Arch

    Losses.outputGradInto
        hyper.Loss
        output
        hyper.Reduction
        out.RowCount
        (Tensor.data out)
        (Tensor.data batch.Y)
        (Tensor.data deltas[deltas.Length - 1])

    backwardWith bound net trace deltas ValueNone (Array.create deltas.Length false) ValueNone

    bound.Kernels
    |> Array.indexed
    |> Array.choose (fun (l, k) ->
        match box k with
        | :? Layers.Sequence.IRecurrent as r ->
            let norms = Array.copy r.StepGradients

            Some
                {
                    Layer = l
                    Text = net.Arch.Layers[l].Text
                    StepNorms = norms
                    FirstOverLast = norms[0] / norms[norms.Length - 1]
                    Saturated = r.Saturated()
                }
        | _ -> None)

/// An RBF layer's units over a set of inputs: the width heuristic gone wrong shows as units ≈ 0 for every input
/// (σ too small: no gradient reaches the centre), ≈ 1 for every input (σ too large: the unit says nothing), or
/// centres that are never the most active unit of any input (they describe no input).
type RbfUnits =
    {
        Layer: int
        Text: string
        Units: int
        Examples: int
        /// Fraction of units below RbfLow for every example.
        Silent: float
        /// Fraction of units above RbfHigh for every example.
        Saturated: float
        /// Fraction of units never the largest of an example's.
        NeverWin: float
        /// The layer with a larger width, a smaller one, half the centres (the fixes the doctor prints).
        Wider: string
        Narrower: string
        Fewer: string
    }

/// A unit below this for every input is silent, above RbfHigh for every input saturated.
let rbfLow = 0.01
let rbfHigh = 0.99

/// RbfUnits of every rbf layer over examples `indices` of `images`, in batches of 500.
let rbfUnits<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (scale: Scale)
    (images: Images)
    (indices: int[])
    : RbfUnits[] =
    let layers =
        net.Arch.Layers
        |> Array.indexed
        |> Array.choose (fun (l, layer) ->
            match layer with
            | :? Layers.Rbf.Rbf as r -> Some(l, r)
            | _ -> None)

    let lows =
        layers |> Array.map (fun (_, r) -> Array.create r.Units Double.NegativeInfinity)

    let highs =
        layers |> Array.map (fun (_, r) -> Array.create r.Units Double.PositiveInfinity)

    let wins = layers |> Array.map (fun (_, r) -> Array.zeroCreate<int> r.Units)
    let classes = Arch.classes net.Arch

    if layers.Length > 0 then
        for offset, count in Data.batches indices.Length 500 do
            let x = Tensor.zeros<'T> images.Features count
            gatherInto scale images indices offset x (Tensor.zeros<'T> classes count)
            let trace = forward net x

            layers
            |> Array.iteri (fun i (l, r) ->
                let a = Tensor.data trace.Activations[l]

                for j in 0 .. count - 1 do
                    let col = ReadOnlySpan<'T>(a, j * r.Units, r.Units)
                    wins[i].[TensorPrimitives.IndexOfMax col] <- wins[i].[TensorPrimitives.IndexOfMax col] + 1

                    for u in 0 .. r.Units - 1 do
                        let v = Double.CreateTruncating col[u]
                        // lows: the largest value (silent when even that is low); highs: the smallest.
                        lows[i].[u] <- max lows[i].[u] v
                        highs[i].[u] <- min highs[i].[u] v)

    layers
    |> Array.mapi (fun i (l, r) ->
        let fraction f =
            float (Array.filter f [| 0 .. r.Units - 1 |] |> Array.length) / float r.Units

        let text (layer: Layers.Rbf.Rbf) = (layer :> Layers.Layer.ILayer).Text

        {
            Layer = l
            Text = text r
            Units = r.Units
            Examples = indices.Length
            Silent = fraction (fun u -> lows[i].[u] < rbfLow)
            Saturated = fraction (fun u -> highs[i].[u] > rbfHigh)
            NeverWin = fraction (fun u -> wins[i].[u] = 0)
            // Back to the default width when on the other side of it, else a factor of 4 further.
            Wider =
                text
                    { r with
                        Width =
                            (if r.Width < Layers.Rbf.defaultWidth then
                                 Layers.Rbf.defaultWidth
                             else
                                 4.0 * r.Width)
                    }
            Narrower =
                text
                    { r with
                        Width =
                            (if r.Width > Layers.Rbf.defaultWidth then
                                 Layers.Rbf.defaultWidth
                             else
                                 r.Width / 4.0)
                    }
            Fewer = text { r with Units = max 1 (r.Units / 2) }
        })

/// A network under examination: it trains like a Trainer and can be measured between steps.
[<AbstractClass>]
type Probe() =
    /// Updates made so far.
    abstract Steps: int64
    /// Mean data loss per example (without the L2 term) over examples `indices` of `images`.
    abstract Loss: images: Images * indices: int[] -> float
    /// The mean loss per example an uninformed output would have on the same examples.
    abstract UninformedLoss: images: Images * indices: int[] -> float
    /// Saturation and dead units of every layer over examples `indices`.
    abstract Health: images: Images * indices: int[] -> LayerHealth[]
    /// One training step on examples order[offset .. offset+count−1]; with measure, the report carries
    /// per-layer gradient norms and update/weight ratios.
    abstract Step: images: Images * order: int[] * offset: int * count: int * measure: bool -> StepReport
    /// Predictions over every image, from the real inputs or from inputs set to zero.
    abstract Predict: images: Images * zeroed: bool -> PredictionSummary
    /// Every layer's activations and weight gradients over examples `indices` (for histograms).
    abstract Values: images: Images * indices: int[] -> LayerSample[]
    /// Each recurrent layer's gradient through time over examples `indices` (empty without one).
    abstract ThroughTime: images: Images * indices: int[] -> ThroughTime[]
    /// Each rbf layer's silent, saturated and never-winning units over examples `indices` (empty without one).
    abstract RbfUnits: images: Images * indices: int[] -> RbfUnits[]

type internal ProbeOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>, hyper: Hyper, scale: Scale) =
    inherit Probe()
    let opt = Optim.init hyper.Optimizer net
    let mutable steps = 0L
    let arch = net.Arch
    let output = Arch.output arch
    let classes = Arch.classes arch
    let scratch = Dictionary<int, Workspace<'T> * Batch<'T>>()

    let batchOf (images: Images) (indices: int[]) offset count : Batch<'T> =
        let x = Tensor.zeros<'T> images.Features count
        let y = Tensor.zeros<'T> classes count
        gatherInto scale images indices offset x y
        { X = x; Y = y }

    let dataLoss (batch: Batch<'T>) (out: Matrix<'T>) =
        Losses.value hyper.Loss output Sum classes (Tensor.data out) (Tensor.data batch.Y)

    override _.Steps = steps

    override _.Loss(images, indices) =
        let mutable total = 0.0

        for offset, count in Data.batches indices.Length 500 do
            let batch = batchOf images indices offset count
            total <- total + dataLoss batch (forward net batch.X).Output

        total / float (max indices.Length 1)

    override _.UninformedLoss(images, indices) =
        let batch = batchOf images indices 0 indices.Length
        uninformedLoss hyper.Loss output batch.Y

    override _.Health(images, indices) =
        let batch = batchOf images indices 0 indices.Length
        health net (forward net batch.X)

    override _.Values(images, indices) =
        let batch = batchOf images indices 0 indices.Length
        let trace = forward net batch.X
        let _, grads = gradients hyper batch net
        let widen (a: 'T[]) = Array.map Double.CreateTruncating a

        Array.init net.Params.Length (fun l ->
            {
                Activations = widen (Tensor.data trace.Activations[l])
                Gradients = (if grads[l].Length > 0 then widen grads[l].[0] else [||])
            })

    override _.RbfUnits(images, indices) = rbfUnits net scale images indices

    override _.ThroughTime(images, indices) =
        throughTime hyper net (batchOf images indices 0 indices.Length)

    override _.Step(images, order, offset, count, measure) =
        let ws, batch =
            match scratch.TryGetValue count with
            | true, v -> v
            | _ ->
                let v = Workspace.create<'T> arch count, batchOf images order offset count
                scratch[count] <- v
                v

        gatherInto scale images order offset batch.X batch.Y
        let report = stepInPlace hyper batch ws measure steps net opt
        steps <- steps + 1L
        report

    override _.Predict(images, zeroed) =
        let all = Array.init images.Count id
        let predictions = Array.zeroCreate images.Count
        let mutable total = 0.0
        let mutable correct = 0

        for offset, count in Data.batches images.Count 500 do
            let batch = batchOf images all offset count

            if zeroed then
                Array.Clear(Tensor.data batch.X)

            let out = (forward net batch.X).Output
            total <- total + dataLoss batch out

            argmaxColumns out
            |> Array.iteri (fun j p ->
                predictions[offset + j] <- p

                if p = int images.Labels[offset + j] then
                    correct <- correct + 1)

        let h = histogram classes predictions

        {
            Count = images.Count
            Histogram = h
            Distinct = h |> Array.filter (fun c -> c > 0) |> Array.length
            Entropy = entropyBits h
            Accuracy = float correct / float (max images.Count 1)
            Loss = total / float (max images.Count 1)
        }
