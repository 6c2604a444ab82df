/// The face C# sees: plain records and classes, arrays, PascalCase, strings for choices.
/// Precision is a runtime choice here ("float32" | "float64"); below this file everything is generic.
namespace Functional

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step

/// Everything that defines a training run's maths.
type TrainConfig =
    {
        Sizes: int[]
        Hidden: string
        Output: string
        Loss: string
        Init: string
        Bias: bool
        Optimizer: string
        Lr: float
        L2: float
        Momentum: float
        Reduction: string
        Scale: string
        Seed: int
        Precision: string
        /// Examples per step; 0 = the whole training set (full batch).
        Batch: int
    }

/// What a saved model is, beside its tensors.
type ModelSpec =
    {
        Sizes: int[]
        Hidden: string
        Output: string
        Bias: bool
        Scale: string
        Precision: string
    }

/// One tensor: row-major values in the model's precision (the other array is null).
type NamedArray =
    {
        Name: string
        Shape: int[]
        Float32: float32[]
        Float64: float[]
    }

type Evaluation =
    {
        Count: int
        Accuracy: float
        /// Mean cross-entropy of the predicted distribution (softmax outputs) or mean MSE (sigmoid outputs).
        Loss: float
        /// Confusion[target][predicted].
        Confusion: int[][]
        PerClassAccuracy: float[]
        Predictions: int[]
    }

/// A trained or loaded network, in its own precision.
[<AbstractClass>]
type Model() =
    abstract Spec: ModelSpec
    abstract ParameterCount: int
    abstract Evaluate: images: Images -> Evaluation
    /// The output layer's values for image `index` (class probabilities for softmax outputs).
    abstract Outputs: images: Images * index: int -> float[]
    abstract Tensors: unit -> NamedArray[]

/// What a measured step reports (per layer: weights and biases together).
type StepSummary =
    {
        Loss: float
        GradNorms: float[]
        UpdateRatios: float[]
        /// Per layer, the fraction of sigmoid/tanh units saturated (mean σ'(z) < 0.01) over the step's batch,
        /// before its update; NaN for other activations.
        Saturation: float[]
    }

/// A training run in progress: each Step overwrites the state it holds (the fast, allocation-free path).
[<AbstractClass>]
type Trainer() =
    /// Steps taken since the run began (restored with the state).
    abstract StepCount: int64
    /// Trains on examples order[offset .. offset+count−1] of the training images; returns the loss.
    abstract Step: order: int[] * offset: int * count: int -> float
    /// The same step, also measuring gradient norms and update ratios (same resulting bits as Step).
    abstract StepMeasured: order: int[] * offset: int * count: int -> StepSummary
    /// The current network (a live view: read it between steps).
    abstract Model: Model
    /// SHA-256 of every parameter's bytes (the journal's weights hash).
    abstract WeightsHash: unit -> string
    /// Weights and optimiser moments as named row-major tensors (a checkpoint's contents).
    abstract State: unit -> NamedArray[]
    /// The batch as fed to the network: inputs [n, features] and targets [n, classes], row-major.
    abstract Batch: order: int[] * offset: int * count: int -> NamedArray[]
    /// ∂L/∂θ of the current state on this batch (L2 included), named like the weights.
    abstract Gradients: order: int[] * offset: int * count: int -> NamedArray[]
    /// The same gradients recomputed in float64 from the same state, compared with this precision's.
    abstract Drift: order: int[] * offset: int * count: int -> Snapshot.Drift[]

    /// Analytic against numeric (float64 central differences) gradients on `perLayer` parameters a layer.
    abstract CheckGradients:
        order: int[] * offset: int * count: int * perLayer: int * seed: int -> GradCheck.LayerCheck[]

module internal Parse =
    let fail what (value: string) (allowed: string) =
        raise (ArgumentException(sprintf "unknown %s '%s' (expected %s)" what value allowed))

    let activation (s: string) =
        Activation.tryParse s
        |> Option.defaultWith (fun () -> fail "activation" s "sigmoid, tanh, relu or softmax")

    let loss s =
        Loss.tryParse s |> Option.defaultWith (fun () -> fail "loss" s "mse or ce")

    let init s =
        Init.tryParse s
        |> Option.defaultWith (fun () -> fail "init" s "normal-fanin, normal-fanout, xavier or he")

    let scale s =
        Scale.tryParse s
        |> Option.defaultWith (fun () -> fail "scale" s "unit, seed or offset")

    let reduction s =
        Reduction.tryParse s
        |> Option.defaultWith (fun () -> fail "reduction" s "mean or sum")

    let spec (sizes: int[]) hidden output bias =
        let spec =
            {
                Sizes = sizes
                Hidden = activation hidden
                Output = activation output
                Bias = bias
            }

        match Spec.problem spec with
        | Some p -> raise (ArgumentException p)
        | None -> spec

    let optimizer (c: TrainConfig) =
        match c.Optimizer.Trim().ToLowerInvariant() with
        | "sgd" -> Sgd c.Lr
        | "momentum" -> Momentum(c.Lr, c.Momentum)
        | "adam" -> OptimizerSpec.adam c.Lr
        | s -> fail "optimizer" s "sgd, momentum or adam"

    let hyper (c: TrainConfig) =
        {
            Loss = loss c.Loss
            Reduction = reduction c.Reduction
            L2 = c.L2
            Optimizer = optimizer c
        }

module internal Named =
    let ofValues (name: string) (shape: int[]) (values: 'T[]) : NamedArray =
        match box values with
        | :? (float32[]) as f ->
            {
                Name = name
                Shape = shape
                Float32 = f
                Float64 = null
            }
        | :? (float[]) as d ->
            {
                Name = name
                Shape = shape
                Float32 = null
                Float64 = d
            }
        | _ -> invalidArg "values" "float32 or float64 values expected"

    let ofLayers prefix (layers: Layer<'T>[]) =
        Snapshot.named prefix layers
        |> Array.map (fun (n, shape, v) -> ofValues n shape v)

    /// The values of a tensor in precision 'T (converted when stored in the other precision).
    let values<'T when 'T :> IFloatingPointIeee754<'T>> (t: NamedArray) : 'T[] =
        if not (isNull t.Float32) then
            t.Float32 |> Array.map 'T.CreateTruncating
        else
            t.Float64 |> Array.map 'T.CreateTruncating

    /// A fresh batch of examples order[offset .. offset+count−1] in precision 'U.
    let batch<'U when 'U :> IFloatingPointIeee754<'U> and 'U: (new: unit -> 'U) and 'U: struct and 'U :> ValueType>
        (scale: Scale)
        (images: Images)
        (spec: Spec)
        (order: int[])
        offset
        count
        : Batch<'U> =
        let b =
            {
                X = Tensor.zeros<'U> images.Features count
                Y = Tensor.zeros<'U> (Spec.classes spec) count
            }

        gatherInto scale images order offset b.X b.Y
        b

    /// A network of `spec` with the tensors' values, in precision 'T.
    let network<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (spec: Spec)
        (find: string -> int[] -> 'T[])
        : Network<'T> =
        let net = Network.zeros<'T> spec
        Snapshot.load "" find net.Layers
        net

    /// A finder over `tensors` for Snapshot.load that checks names and shapes.
    let finder<'T when 'T :> IFloatingPointIeee754<'T>> (tensors: NamedArray[]) (name: string) (shape: int[]) : 'T[] =
        match tensors |> Array.tryFind (fun t -> t.Name = name) with
        | None -> raise (ArgumentException(sprintf "tensor '%s' is missing" name))
        | Some t when t.Shape <> shape ->
            raise (
                ArgumentException(
                    sprintf
                        "tensor '%s' has shape [%s], expected [%s]"
                        name
                        (String.Join(",", t.Shape))
                        (String.Join(",", shape))
                )
            )
        | Some t -> values<'T> t

type internal ModelOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>, scale: Scale, precision: string) =
    inherit Model()
    let chunk = 500

    override _.Spec =
        {
            Sizes = net.Spec.Sizes
            Hidden = Activation.name net.Spec.Hidden
            Output = Activation.name net.Spec.Output
            Bias = net.Spec.Bias
            Scale = Scale.name scale
            Precision = precision
        }

    override _.ParameterCount = Network.parameterCount net

    override _.Evaluate images =
        let spec = net.Spec
        let classes = Spec.classes spec

        if images.Features <> Spec.inputs spec then
            raise (
                ArgumentException(
                    sprintf "images have %d pixels but the network takes %d inputs" images.Features (Spec.inputs spec)
                )
            )

        let order = Array.init images.Count id
        let predictions = Array.zeroCreate images.Count
        let confusion = Array.init classes (fun _ -> Array.zeroCreate classes)
        let mutable total = 0.0

        // One set of buffers per chunk size (at most two), reused: a 60,000-image evaluation would
        // otherwise leave ~250 MB of large-object garbage behind.
        let buffers = Collections.Generic.Dictionary<int, Matrix<'T> * Trace<'T>>()

        for offset, count in Data.batches images.Count chunk do
            let y, trace =
                match buffers.TryGetValue count with
                | true, b -> b
                | _ ->
                    let b =
                        Tensor.zeros<'T> classes count,
                        {
                            Input = Tensor.zeros<'T> images.Features count
                            Activations = activationBuffers spec count
                        }

                    buffers[count] <- b
                    b

            gatherInto scale images order offset trace.Input y
            forwardInto net trace
            let out = trace.Output
            let loss = if spec.Output = Softmax then CrossEntropy else Mse

            total <-
                total
                + Losses.value loss spec.Output Sum classes (Tensor.data out) (Tensor.data y)

            argmaxColumns out
            |> Array.iteri (fun j p ->
                let n = offset + j
                predictions[n] <- p
                let t = int images.Labels[n]

                if t < classes then
                    confusion[t][p] <- confusion[t][p] + 1)

        let correct = Array.init classes (fun c -> confusion[c][c]) |> Array.sum
        let n = max images.Count 1

        {
            Count = images.Count
            Accuracy = float correct / float n
            Loss = total / float n
            Confusion = confusion
            PerClassAccuracy =
                confusion
                |> Array.mapi (fun c row ->
                    let s = Array.sum row
                    if s = 0 then nan else float row[c] / float s)
            Predictions = predictions
        }

    override _.Outputs(images, index) =
        let x = Tensor.zeros<'T> images.Features 1
        let y = Tensor.zeros<'T> (Spec.classes net.Spec) 1
        gatherInto scale images [| index |] 0 x y
        (forward net x).Output |> Tensor.data |> Array.map Double.CreateTruncating

    override _.Tensors() = Named.ofLayers "" net.Layers

type internal TrainerOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (config: TrainConfig, train: Images, restore: NamedArray[], startStep: int64) =
    inherit Trainer()
    let hyper = Parse.hyper config
    let spec = Parse.spec config.Sizes config.Hidden config.Output config.Bias
    let scale = Parse.scale config.Scale
    let net = Network.init<'T> (Parse.init config.Init) config.Seed spec
    let opt = Optim.init hyper.Optimizer net

    do
        if not (isNull restore) then
            let find = Named.finder<'T> restore
            Snapshot.load "" find net.Layers
            Snapshot.load "optimizer.m." find opt.M
            Snapshot.load "optimizer.v." find opt.V

    let mutable steps = startStep
    // One workspace and batch buffer per batch size (an epoch has at most two: full and remainder).
    let scratch =
        Collections.Generic.Dictionary<int, struct (Workspace<'T> * Batch<'T>)>()

    let model = ModelOf<'T>(net, scale, config.Precision)

    let prepared (order: int[]) offset count =
        // Struct tuples: this runs every step and must not allocate.
        let struct (ws, batch) =
            match scratch.TryGetValue count with
            | true, v -> v
            | _ ->
                let v =
                    struct (Workspace.create<'T> spec count,
                            {
                                X = Tensor.zeros<'T> train.Features count
                                Y = Tensor.zeros<'T> (Spec.classes spec) count
                            })

                scratch[count] <- v
                v

        gatherInto scale train order offset batch.X batch.Y
        struct (ws, batch)

    override _.StepCount = steps

    override _.Step(order, offset, count) =
        let struct (ws, batch) = prepared order offset count
        let report = stepInPlace hyper batch ws false steps net opt
        steps <- steps + 1L
        report.Loss

    override _.StepMeasured(order, offset, count) =
        let struct (ws, batch) = prepared order offset count
        let report = stepInPlace hyper batch ws true steps net opt
        steps <- steps + 1L

        // The step's forward pass (with the weights before its update) left the batch's activations in ws.
        let saturation =
            Diagnostics.health
                net
                {
                    Input = batch.X
                    Activations = ws.Acts
                }
            |> Array.map (fun h -> h.Saturated)

        {
            Loss = report.Loss
            GradNorms = report.GradNorms
            UpdateRatios = report.UpdateRatios
            Saturation = saturation
        }

    override _.Model = model

    override _.WeightsHash() = Snapshot.hash (Network.arrays net)

    override _.State() =
        Array.concat
            [
                Named.ofLayers "" net.Layers
                Named.ofLayers "optimizer.m." opt.M
                Named.ofLayers "optimizer.v." opt.V
            ]

    override _.Batch(order, offset, count) =
        let b = Named.batch<'T> scale train spec order offset count
        // [features × n] column-major has the bytes of [n, features] row-major.
        [|
            Named.ofValues "inputs" [| count; train.Features |] (Array.copy (Tensor.data b.X))
            Named.ofValues "targets" [| count; Spec.classes spec |] (Array.copy (Tensor.data b.Y))
        |]

    override _.Gradients(order, offset, count) =
        let _, grads =
            gradients hyper (Named.batch<'T> scale train spec order offset count) net

        Named.ofLayers "" grads

    override _.Drift(order, offset, count) =
        let _, own =
            gradients hyper (Named.batch<'T> scale train spec order offset count) net

        let _, exact =
            gradients hyper (Named.batch<float> scale train spec order offset count) (Snapshot.convert<'T, float> net)

        Snapshot.drift own exact

    override _.CheckGradients(order, offset, count, perLayer, seed) =
        GradCheck.check
            hyper
            (Named.batch<float> scale train spec order offset count)
            (Snapshot.convert<'T, float> net)
            perLayer
            seed

module internal Roofline =
    /// The matrix products of one training step, alone, on fixed buffers (the same kernels the step uses).
    let products<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (sizes: int[])
        (batch: int)
        : Action =
        let layers = sizes.Length - 1
        let w = Array.init layers (fun l -> Tensor.zeros<'T> sizes[l + 1] sizes[l])
        let g = Array.init layers (fun l -> Tensor.zeros<'T> sizes[l + 1] sizes[l])
        let a = Array.init (layers + 1) (fun l -> Tensor.zeros<'T> sizes[l] batch)
        let d = Array.init (layers + 1) (fun l -> Tensor.zeros<'T> sizes[l] batch)
        let rng = Rng.For(0, 0)

        for m in Array.concat [ w; a; d ] do
            let v = Tensor.data m

            for i in 0 .. v.Length - 1 do
                v[i] <- 'T.CreateTruncating(rng.NextDouble() - 0.5)

        Action(fun () ->
            for l in 0 .. layers - 1 do
                if batch = 1 then
                    Tensor.gemvInto 'T.One w[l] false (Tensor.data a[l]) 'T.Zero (Tensor.data a[l + 1])
                else
                    Tensor.gemmInto 'T.One w[l] false a[l] false 'T.Zero a[l + 1]

            for l in layers - 1 .. -1 .. 0 do
                if batch = 1 then
                    Tensor.gerInto 'T.One (Tensor.data d[l + 1]) (Tensor.data a[l]) g[l]
                else
                    Tensor.gemmInto 'T.One d[l + 1] false a[l] true 'T.Zero g[l]

                if l > 0 then
                    if batch = 1 then
                        Tensor.gemvInto 'T.One w[l] true (Tensor.data d[l + 1]) 'T.Zero (Tensor.data d[l])
                    else
                        Tensor.gemmInto 'T.One w[l] true d[l + 1] false 'T.Zero d[l])

[<AbstractClass; Sealed>]
type Api =
    /// Why this configuration cannot train, or null when it can.
    static member Problem(config: TrainConfig) : string =
        try
            Parse.spec config.Sizes config.Hidden config.Output config.Bias |> ignore
            Parse.hyper config |> ignore
            Parse.init config.Init |> ignore
            Parse.scale config.Scale |> ignore

            if config.Precision <> "float32" && config.Precision <> "float64" then
                Parse.fail "precision" config.Precision "float32 or float64"

            null
        with :? ArgumentException as e ->
            e.Message

    static member CreateTrainer(config: TrainConfig, train: Images) : Trainer =
        Api.RestoreTrainer(config, train, null, 0L)

    /// A trainer that continues from a checkpoint's state (State()'s tensors) after `step` steps.
    static member RestoreTrainer(config: TrainConfig, train: Images, state: NamedArray[], step: int64) : Trainer =
        if train.Features <> config.Sizes[0] then
            raise (
                ArgumentException(
                    sprintf "images have %d pixels but the network's input size is %d" train.Features config.Sizes[0]
                )
            )

        match config.Precision with
        | "float64" -> TrainerOf<float>(config, train, state, step) :> Trainer
        | _ -> TrainerOf<float32>(config, train, state, step) :> Trainer

    /// Rebuilds a model from its spec and tensors (row-major, names layers.{i}.weight / layers.{i}.bias).
    static member LoadModel(spec: ModelSpec, tensors: NamedArray[]) : Model =
        let netSpec = Parse.spec spec.Sizes spec.Hidden spec.Output spec.Bias
        let scale = Parse.scale spec.Scale

        match spec.Precision with
        | "float64" -> ModelOf<float>(Named.network netSpec (Named.finder tensors), scale, "float64") :> Model
        | _ -> ModelOf<float32>(Named.network netSpec (Named.finder tensors), scale, "float32") :> Model

    /// The order in which epoch `epoch` (0-based) visits n examples under `seed`.
    static member Permutation(seed: int, epoch: int, n: int) = Data.permutation seed epoch n

    /// FLOPs of the matrix products of one training step, per example: 2·Σ n_in·n_out forward, the same
    /// for the weight gradients, and 2·Σ_{l>0} n_in·n_out to carry dz down (the input layer needs none).
    static member FlopsPerExample(sizes: int[]) : float =
        let products =
            Array.pairwise sizes |> Array.map (fun (i, o) -> 2.0 * float i * float o)

        2.0 * Array.sum products + Array.sum products[1..]

    /// An action running only the matrix products of one step at this batch size: time it for the roofline.
    static member MatrixProducts(sizes: int[], batch: int, precision: string) : Action =
        match precision with
        | "float64" -> Roofline.products<float> sizes batch
        | _ -> Roofline.products<float32> sizes batch

    static member BlasDescription() = Tensor.Blas.Describe()
    static member BlasNativeAvailable = Tensor.Blas.NativeAvailable
    static member SetThreads(n: int) = Tensor.Blas.SetThreads n
    static member UseManagedBlas() = Tensor.Blas.Use Tensor.Managed

    // The doctor's and gradcheck's face: Diagnostics.fs and GradCheck.fs.

    /// A fresh network of this configuration (the weights a Trainer starts from), to train and measure.
    static member CreateProbe(config: TrainConfig) : Diagnostics.Probe =
        let spec = Parse.spec config.Sizes config.Hidden config.Output config.Bias
        let hyper = Parse.hyper config
        let scale = Parse.scale config.Scale

        match config.Precision with
        | "float64" -> Diagnostics.ProbeOf<float>(Network.init (Parse.init config.Init) config.Seed spec, hyper, scale)
        | _ -> Diagnostics.ProbeOf<float32>(Network.init (Parse.init config.Init) config.Seed spec, hyper, scale)

    /// Analytic against numeric gradients (float64, central differences) of this configuration's initial
    /// network on the first `examples` images, on up to `perLayer` parameters per layer chosen by `seed`.
    static member CheckGradients(config: TrainConfig, images: Images, examples: int, perLayer: int, seed: int) =
        let spec = Parse.spec config.Sizes config.Hidden config.Output config.Bias
        let net = Network.init<float> (Parse.init config.Init) config.Seed spec
        let n = max 1 (min examples images.Count)
        let x = Tensor.zeros<float> images.Features n
        let y = Tensor.zeros<float> (Spec.classes spec) n
        gatherInto (Parse.scale config.Scale) images (Array.init n id) 0 x y
        GradCheck.check (Parse.hyper config) { X = x; Y = y } net perLayer seed

    /// What a layer's gradient check means, in one line (names a sign flip or a factor of two).
    static member GradCheckVerdict(layer: GradCheck.LayerCheck) = GradCheck.verdict layer

    static member GradCheckPassed(layer: GradCheck.LayerCheck) = GradCheck.passed layer

    /// The relative error at or above which a gradient entry fails.
    static member GradCheckThreshold = GradCheck.threshold

    /// Labels, scaled value range and non-finite values of an image set.
    static member Summarize(images: Images, scale: string, classes: int) =
        Diagnostics.summarize (Parse.scale scale) classes images

    /// How many test images are byte for byte equal to a training image.
    static member SharedImages(train: Images, test: Images) = Diagnostics.shared train test
