/// The face C# sees: static methods over typed values (Config, Arch, ModelSpec), arrays, PascalCase, and
/// `Checked` results where a value may be refused. Training, evaluation and benchmarking live in their own
/// files; this one only hands them out. Precision is a runtime choice here; below it everything is generic.
namespace Functional

open System
open System.Collections.Generic
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Data

/// A value, or why there is none (Error is null exactly when Value is usable).
type Checked<'T> =
    {
        Value: 'T
        Error: string | null
    }

    member c.Ok = isNull c.Error

module internal Checked =
    let ofResult (r: Result<'T, string>) : Checked<'T> =
        match r with
        | Ok v -> { Value = v; Error = null }
        | Error e ->
            {
                Value = Unchecked.defaultof<'T>
                Error = e
            }

/// A run's first network, held for Api.CreateProbe (its type is the precision's).
[<Sealed>]
type StartingNetwork internal (network: obj) =
    member internal _.Network = network

[<AbstractClass; Sealed>]
type Api =
    /// A stratified hold-out of `fraction` of these labels, chosen by the seed: (training, held-out) indices.
    static member StratifiedSplit(seed: int, fraction: float, labels: byte[]) : struct (int[] * int[]) =
        let t, v = Data.stratifiedSplit seed fraction labels
        struct (t, v)

    /// The learning-rate schedule of a request in epochs, for a run of `epochs` epochs of `stepsPerEpoch` updates.
    static member ResolveSchedule(request: Schedule.Request, stepsPerEpoch: int, epochs: int) =
        Schedule.Request.resolve request stepsPerEpoch epochs

    /// The updates this configuration's schedule was laid out for; -1 when it has no end (constant, step decay).
    static member ScheduleLength(config: Config) =
        Schedule.length config.Schedule |> Option.defaultValue -1L

    /// The learning rate of the update that follows `t` updates under this configuration's schedule.
    static member LrAt(config: Config, t: int64) = Step.Hyper.lrAt config.Hyper t

    /// The numbers of the update that follows `t` updates: "lr" (the schedule's rate there), "base_lr", and the
    /// optimiser's own ("momentum"; "beta1", "beta2", "eps"), then "l2" and "clip_norm" (0 = off).
    static member StepNumbers(config: Config, t: int64) : KeyValuePair<string, float>[] =
        let hyper = config.Hyper

        let own =
            match hyper.Optimizer with
            | Optim.Sgd _ -> []
            | Optim.Momentum(_, mu) -> [ "momentum", mu ]
            | Optim.Adam(_, b1, b2, eps) -> [ "beta1", b1; "beta2", b2; "eps", eps ]

        [
            "lr", Step.Hyper.lrAt hyper t
            "base_lr", Optim.OptimizerSpec.lr hyper.Optimizer
        ]
        @ own
        @ [ "l2", hyper.L2; "clip_norm", hyper.ClipNorm ]
        |> List.map KeyValuePair
        |> Array.ofList

    /// The learning-rate range test (LrFinder): `steps` steps from rate `lo` to `hi`.
    static member LrFind(config: Config, train: Images, lo: float, hi: float, steps: int) =
        LrFinder.run config train lo hi steps

    /// Image `index` of `pixels` (rows × cols bytes each) as training distorts it in epoch `epoch` under `seed`,
    /// back in bytes (for pictures).
    static member Augmented
        (augment: Augment.Augment, seed: int, epoch: int, index: int, pixels: byte[], rows: int, cols: int)
        =
        let n = rows * cols
        let x = Array.init n (fun i -> float32 pixels[index * n + i] / 255.0f)
        Augment.Augmenter(augment, rows, cols).Apply(x, 0, 0.0f, seed, epoch, index)

        x
        |> Array.map (fun v -> byte (Math.Round(float (max 0.0f (min 1.0f v)) * 255.0)))

    /// The defaults, written once (Config.defaults).
    static member DefaultConfig = Config.defaults

    /// Why this configuration cannot train, or null when it can.
    static member Problem(config: Config) : string | null =
        match Config.problem config with
        | Some p -> p
        | None -> null

    /// Reads an --arch description; `imageShape` ([C; H; W] of the data) is the input of a network whose first
    /// layer works on images, and its flat size the input of one that starts with a dense layer.
    static member ParseArch(text: string, imageShape: int[]) : Checked<Arch> =
        Arch.parseChecked imageShape text |> Checked.ofResult

    /// The dense network of these sizes (--layers).
    static member DenseArch(sizes: int[], hidden: Activations.Activation, output: Activations.Activation, bias: bool) =
        Arch.dense sizes hidden output bias

    /// The same dense network with `inputs` inputs and `classes` outputs (hidden layers kept); an error when the
    /// network is not one --layers describes.
    static member DenseWithEnds(arch: Arch, inputs: int, classes: int) : Checked<Arch> =
        match Arch.denseParts arch with
        | Some(sizes, hidden, output, bias) ->
            let sizes = Array.copy sizes
            sizes[0] <- inputs
            sizes[sizes.Length - 1] <- classes
            Checked.ofResult (Ok(Arch.dense sizes hidden output bias))
        | None -> Checked.ofResult (Error "not a dense network")

    static member WithoutAugment(config: Config) = config.WithAugment Augment.Augment.none

    /// Whether the configuration distorts its training images.
    static member Augments(config: Config) =
        not (Augment.Augment.isNone config.Augment)

    /// The per-feature input transform of kind `kind` (none, unit or standard) fitted on rows of `features` values.
    static member FitFeatureScale(kind: string, features: int, values: float32[]) =
        match FeatureScale.tryParse kind with
        | Some k -> FeatureScale.fit k features values
        | None -> invalidArg "kind" $"no feature scaling '%s{kind}'"

    static member ApplyFeatureScale(t: FeatureScale.Transform, values: float32[]) = FeatureScale.apply t values

    static member FeatureScaleName(t: FeatureScale.Transform) = FeatureScale.name t.Kind

    static member FeatureScaleOf(kind: string, shift: float32[], spread: float32[]) : FeatureScale.Transform =
        {
            Kind = FeatureScale.tryParse kind |> Option.defaultValue FeatureScale.NoScaling
            Shift = shift
            Spread = spread
        }

    /// The configuration as (key, text) pairs (run.json's "config").
    static member ConfigFields(config: Config) : KeyValuePair<string, string>[] =
        Config.fields config |> Array.map KeyValuePair

    /// Reads ConfigFields' pairs back (get returns null for a missing key).
    static member ConfigOfFields(get: Func<string, string | null>) : Checked<Config> =
        Config.ofFields (fun k ->
            match get.Invoke k with
            | null -> None
            | v -> Some v)
        |> Checked.ofResult

    static member Describe(config: Config) = Config.describe config

    /// Describe, naming `scale` as the scaling applied (a table's feature transform).
    static member Describe(config: Config, scale: string) = Config.describeScaled scale config

    static member CreateTrainer(config: Config, train: Images) : Trainer =
        Api.RestoreTrainer(config, train, null, 0L)

    /// A trainer that continues from a checkpoint's state (State()'s tensors) after `step` steps; a state of weights
    /// alone (no optimizer.* tensors) starts the optimiser's moments at zero.
    static member RestoreTrainer(config: Config, train: Images, state: NamedArray[], step: int64) : Trainer =
        if train.Features <> config.Inputs then
            invalidArg
                "train"
                (sprintf "images have %d values but the network's input is %d" train.Features config.Inputs)

        match config.Precision with
        | Float64 -> TrainerOf<float>(config, train, state, step) :> Trainer
        | Float32 -> TrainerOf<float32>(config, train, state, step) :> Trainer

    /// Why these tensors cannot be this architecture's parameters (a missing tensor, a wrong shape), or null.
    static member TensorsProblem(arch: Arch, tensors: NamedArray[], prefix: string) : string | null =
        match Named.mismatch prefix arch tensors with
        | Some p -> p
        | None -> null

    /// A model file's spec as (key, text) pairs: "arch", "scale", "precision".
    static member ModelSpecFields(spec: ModelSpec) : KeyValuePair<string, string>[] =
        [|
            KeyValuePair("arch", Arch.text spec.Arch)
            KeyValuePair("scale", Scale.name spec.Scale)
            KeyValuePair("precision", Precision.name spec.Precision)
        |]

    /// Reads a model file's spec (also the pre-architecture form with "sizes", "hidden", "output", "bias").
    static member ModelSpecOfFields(get: Func<string, string | null>) : Checked<ModelSpec> =
        let get k =
            match get.Invoke k with
            | null -> None
            | v -> Some v

        let need key f expected = Config.field get key f expected
        let arch = Config.archOfFields get

        arch
        |> Result.bind (fun a ->
            match Arch.problem a with
            | Some p -> Error p
            | None -> Ok a)
        |> Result.bind (fun a ->
            need "scale" Scale.tryParse "unit, book or offset"
            |> Result.bind (fun s ->
                need "precision" Precision.tryParse "float32 or float64"
                |> Result.map (fun p -> { Arch = a; Scale = s; Precision = p })))
        |> Checked.ofResult

    /// Rebuilds a model from its spec and tensors (row-major, layers.{i}.{name}); check TensorsProblem first.
    static member LoadModel(spec: ModelSpec, tensors: NamedArray[]) : Model =
        match Named.mismatch "" spec.Arch tensors with
        | Some p -> invalidArg "tensors" p
        | None ->
            match spec.Precision with
            | Float64 -> ModelOf<float>(Named.network spec.Arch tensors, spec.Scale, Float64) :> Model
            | Float32 -> ModelOf<float32>(Named.network spec.Arch tensors, spec.Scale, Float32) :> Model

    /// The model as an ONNX graph (raw pixels in, the model's scaling inside, class scores out), or the
    /// first layer that cannot be exported yet.
    static member OnnxGraph(model: Model) : Checked<OnnxGraph.Graph> =
        let tensors =
            model.Tensors() |> Array.map (fun t -> t.Name, Named.values<float32> t) |> dict

        OnnxGraph.build model.Spec.Arch model.Spec.Scale (fun n -> tensors[n])
        |> Checked.ofResult

    /// The activation of the last layer (what the outputs are).
    static member OutputActivation(arch: Arch) = Arch.output arch

    static member ActivationName(a: Activations.Activation) = Activations.Activation.name a

    /// What the model's input scaling computes from a pixel x in 0..255 ("x/255*0.99+0.01").
    static member ScaleFormula(scale: Scale) = Scale.formula scale

    /// The order in which epoch `epoch` (0-based) visits n examples under `seed`.
    static member Permutation(seed: int, epoch: int, n: int) = Data.permutation seed epoch n

    /// The batch of step `step` (1-based) over n examples in batches of `batch` (0 = full).
    static member BatchOfStep(n: int, batch: int, step: int64) = Data.batchOfStep n batch step

    static member StepsPerEpoch(n: int, batch: int) = Data.stepsPerEpoch n batch

    /// FLOPs of one training step per example: forward, ∂L/∂θ and ∂L/∂x (matrix work only).
    static member FlopsPerExample(arch: Arch) : float = Arch.trainingFlops arch

    /// An action running only the matrix products of one step at this batch size: time it for the roofline.
    static member MatrixProducts(arch: Arch, batch: int, precision: Precision) : Action =
        match precision with
        | Float64 -> Benchmark.action<float> arch batch
        | Float32 -> Benchmark.action<float32> arch batch

    /// Per-layer forward and backward times of training steps of the configuration (Profile.fs).
    static member ProfileLayers(config: Config, seconds: float) : Profile.LayerTime[] =
        match config.Precision with
        | Float64 -> Profile.layers<float> config.Hyper config.Init config.Arch config.Batch seconds
        | Float32 -> Profile.layers<float32> config.Hyper config.Init config.Arch config.Batch seconds

    static member BlasDescription() = Tensor.Blas.Describe()
    /// OpenBLAS's kernel family in use ("Haswell"), "" for the managed provider.
    static member BlasCore() = Tensor.Blas.CoreName
    /// "OpenBLAS 0.3.21" or "managed".
    static member BlasBackend() = Tensor.Blas.Backend
    static member BlasNativeAvailable = Tensor.Blas.NativeAvailable
    static member SetThreads(n: int) = Tensor.Blas.SetThreads n
    static member UseManagedBlas() = Tensor.Blas.Use Tensor.Managed

    // The doctor's and gradcheck's face: Diagnostics.fs and GradCheck.fs.

    /// The network a Trainer of this configuration on `train` starts from (Start.fs), to make probes of: the start
    /// from data (k-means) runs once however many probes the doctor makes.
    static member StartNetwork(config: Config, train: Images) : StartingNetwork =
        match config.Precision with
        | Float64 -> StartingNetwork(Start.network<float> config train)
        | Float32 -> StartingNetwork(Start.network<float32> config train)

    /// A fresh copy of the starting network under this configuration's optimiser and rate, to train and measure.
    static member CreateProbe(config: Config, start: StartingNetwork) : Diagnostics.Probe =
        let hyper = config.Hyper

        match start.Network with
        | :? Network<float> as n when config.Precision = Float64 ->
            Diagnostics.ProbeOf<float>(Network.copy n, hyper, config.Scale)
        | :? Network<float32> as n when config.Precision = Float32 ->
            Diagnostics.ProbeOf<float32>(Network.copy n, hyper, config.Scale)
        | _ -> invalidArg "start" "the starting network is of another precision than the configuration"

    /// A probe of the network a Trainer on `train` starts from.
    static member CreateProbe(config: Config, train: Images) : Diagnostics.Probe =
        Api.CreateProbe(config, Api.StartNetwork(config, train))

    /// Analytic against numeric gradients (float64, central differences) of this configuration's initial
    /// network on the first `examples` images, on up to `perLayer` parameters per layer chosen by `seed`.
    static member CheckGradients(config: Config, images: Images, examples: int, perLayer: int, seed: int) =
        Api.CheckGradientsOf(config, Start.network<float> config images, images, examples, perLayer, seed)

    /// As CheckGradients, at a saved (or imported) model's weights: its architecture and scaling, `config`'s loss,
    /// reduction and L2.
    static member CheckGradientsAt
        (config: Config, model: Model, images: Images, examples: int, perLayer: int, seed: int)
        =
        let config = Api.ConfigOfModel(config, model.Spec)

        Api.CheckGradientsOf(
            config,
            Named.network<float> model.Spec.Arch (model.Tensors()),
            images,
            examples,
            perLayer,
            seed
        )

    /// `config` with a model's architecture, scaling and precision.
    static member ConfigOfModel(config: Config, spec: ModelSpec) =
        { config with
            Arch = spec.Arch
            Scale = spec.Scale
            Precision = spec.Precision
        }

    static member private CheckGradientsOf(config: Config, net: Network<float>, images, examples, perLayer, seed) =
        let n = max 1 (min examples images.Count)

        let batch =
            Named.batch<float> config.Scale images config.Classes (Array.init n id) 0 n

        GradCheck.check config.Hyper batch net perLayer seed

    /// What a layer's gradient check means, in one line (names a sign flip or a factor of two).
    static member GradCheckVerdict(layer: GradCheck.LayerCheck) = GradCheck.verdict layer

    static member GradCheckPassed(layer: GradCheck.LayerCheck) = GradCheck.passed layer

    /// The relative error at or above which a gradient entry fails.
    static member GradCheckThreshold = GradCheck.threshold

    /// float32 against float64 over `steps` steps of the run from `state` (after `from` steps; null = the initial
    /// weights), sampled every `every` steps (Trajectory.fs states the rule its verdict uses).
    static member Drift
        (config: Config, train: Images, test: Images, state: NamedArray[], from: int64, steps: int, every: int)
        =
        if train.Features <> config.Inputs then
            invalidArg
                "train"
                (sprintf "images have %d values but the network's input is %d" train.Features config.Inputs)

        Trajectory.run config train test state from steps every

    /// The rule the drift verdict uses, in words.
    static member DriftRule = Trajectory.rule

    /// What rounding explains after t steps: 4·t·2⁻²⁴.
    static member DriftBound(t: int64) = Trajectory.bound t

    /// Layer l (0-based) as every command names it: "layer 1 (layers.0)" (Display.layer).
    static member LayerName(l: int) = Display.layer l

    /// Layer l with what it is: "layer 3 (layers.2, dense 10 softmax)" (Display.layerWith).
    static member LayerName(l: int, text: string) = Display.layerWith l text

    /// A small figure as every command prints it: "2.4e-07" (Display.small).
    static member Small(x: float) = Display.small x

    /// Labels, scaled value range and non-finite values of an image set.
    static member Summarize(images: Images, scale: Scale, classes: int) =
        Diagnostics.summarize scale classes images

    /// How many test images are byte for byte equal to a training image.
    static member SharedImages(train: Images, test: Images) = Diagnostics.shared train test

    /// Roughly the bytes training the config's network on `examples` examples takes, per layer (Arch.trainingBytes).
    static member TrainingBytes(config: Config, examples: int) : float[] =
        let batch =
            if config.Batch <= 0 || config.Batch >= examples then
                max 1 examples
            else
                config.Batch

        Arch.trainingBytes config.Arch (if config.Precision = Float64 then 8 else 4) batch

    /// "3.1 TB".
    static member BytesText(bytes: float) = Arch.bytesText bytes

    /// Parameters per layer (0 for layers without any).
    static member ParameterCounts(arch: Arch) =
        Arch.parameters arch
        |> Array.map (Array.sumBy (fun p -> Array.fold (*) 1 p.Shape))

    /// Each layer's parameter tensors (names and shapes as saved), in layer order.
    static member ParameterInfos(arch: Arch) = Arch.parameters arch

    /// Layer l's text in the --arch syntax.
    static member LayerText(arch: Arch, l: int) = arch.Layers[l].Text

    // The attack command's face: Attacks.fs and Masking.fs.

    /// The valid input range of a scaling (what bytes 0 and 255 become).
    static member AttackRange(scale: Scale) = Attacks.range scale

    /// Why this attack cannot run against inputs of this range, or null.
    static member AttackProblem(attack: Attacks.Attack, range: Attacks.Range) : string | null =
        match Attacks.problem attack range with
        | Some p -> p
        | None -> null

    static member Fgsm(eps: float, randomStart: bool, seed: int) = Attacks.fgsm eps randomStart seed

    static member Pgd(eps: float, steps: int, restarts: int, seed: int) = Attacks.pgd eps steps restarts seed

    static member ApgdCe(eps: float, steps: int, restarts: int, seed: int) = Attacks.apgdCe eps steps restarts seed

    static member ApgdT(eps: float, steps: int, restarts: int, targets: int, seed: int) =
        Attacks.apgdT eps steps restarts targets seed

    static member Square(eps: float, queries: int, restarts: int, seed: int) =
        Attacks.square eps queries restarts seed

    static member AutoAttack(eps: float, steps: int, queries: int, restarts: int, targets: int, seed: int) =
        Attacks.autoAttack eps steps queries restarts targets seed

    /// How many classes the network tells apart.
    static member Classes(arch: Arch) = Arch.classes arch

    static member MethodName(m: Attacks.Method) = Attacks.Method.name m

    /// `attack` on the first `count` images, in chunks of `chunk` examples, keeping `keep` adversarial inputs.
    static member Attack(model: Model, images: Images, count: int, chunk: int, keep: int, attack: Attacks.Attack) =
        let spec = model.Spec

        match spec.Precision with
        | Float64 ->
            AutoAttack.run (Named.network<float> spec.Arch (model.Tensors())) spec.Scale images count chunk keep attack
        | Float32 ->
            AutoAttack.run
                (Named.network<float32> spec.Arch (model.Tensors()))
                spec.Scale
                images
                count
                chunk
                keep
                attack

    /// The fraction of the first `count` images whose input gradient is exactly zero.
    static member ZeroGradients(model: Model, images: Images, count: int, chunk: int) =
        let spec = model.Spec

        match spec.Precision with
        | Float64 ->
            Attacks.zeroGradients (Named.network<float> spec.Arch (model.Tensors())) spec.Scale images count chunk
        | Float32 ->
            Attacks.zeroGradients (Named.network<float32> spec.Arch (model.Tensors())) spec.Scale images count chunk

    /// One line per sign of apparent robustness in these outcomes (Masking.warnings).
    static member MaskingWarnings
        (command: string, epsText: Func<float, string>, zeroGradients: float, outcomes: Attacks.Outcome[])
        : string[] =
        Masking.warnings command epsText.Invoke zeroGradients outcomes |> Array.ofList

    /// Reads an --adversarial value ("fgsm:0.1", "fgsm:0.1:random", "pgd:0.3:40").
    static member ParseAdversarial(text: string, weight: float) : Checked<Attacks.Adversarial> =
        Attacks.Adversarial.parse weight text |> Checked.ofResult
