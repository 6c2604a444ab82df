/// The facade's checks of a network: gradient checks, float32 drift and the doctor's probes.
namespace Functional.Api

open Functional
open Functional.Network

/// A run's first network, held for Evaluation.CreateProbe (its type is the precision's).
[<Sealed>]
type StartingNetwork internal (network: obj) =
    member internal _.Network = network

[<AbstractClass; Sealed>]
type Evaluation =
    /// The network a Trainer of this configuration on `train` starts from (Start.fs), to make probes of: the start
    /// from data (k-means) runs once however many probes the doctor makes.
    static member StartNetwork(config: Config, train: Functional.Data.Images) : StartingNetwork =
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
    static member CreateProbe(config: Config, train: Functional.Data.Images) : Diagnostics.Probe =
        Evaluation.CreateProbe(config, Evaluation.StartNetwork(config, train))

    /// An rbf unit below this activation for every input is silent (the doctor's rbf check).
    static member RbfLow = Diagnostics.rbfLow

    /// An rbf unit above this activation for every input is saturated.
    static member RbfHigh = Diagnostics.rbfHigh

    /// Analytic against numeric gradients (float64, central differences) of this configuration's initial
    /// network on the first `examples` images, on up to `perLayer` parameters per layer chosen by `seed`.
    static member CheckGradients
        (config: Config, images: Functional.Data.Images, examples: int, perLayer: int, seed: int)
        =
        Evaluation.CheckGradientsOf(config, Start.network<float> config images, images, examples, perLayer, seed)

    /// As CheckGradients, at a saved (or imported) model's weights: its architecture and scaling, `config`'s loss,
    /// reduction and L2.
    static member CheckGradientsAt
        (config: Config, model: Model, images: Functional.Data.Images, examples: int, perLayer: int, seed: int)
        =
        let config = Training.ConfigOfModel(config, model.Spec)

        Evaluation.CheckGradientsOf(
            config,
            Named.network<float> model.Spec.Arch (model.Tensors()),
            images,
            examples,
            perLayer,
            seed
        )

    static member private CheckGradientsOf
        (config: Config, net: Network<float>, images: Functional.Data.Images, examples, perLayer, seed)
        =
        let n = max 1 (min examples images.Count)

        let batch =
            Named.batch<float> config.Scale images config.Classes (Array.init n id) 0 n

        GradCheck.check config.Hyper batch net perLayer seed

    /// The directional check (float64, all parameters at once): g·u against a central difference along `directions`
    /// random unit directions u chosen by `seed`, on the first `examples` images, at this configuration's initial
    /// network (`model`: null) or a model's weights, exactly-zero parameters moved off their kinks first.
    static member CheckDirections
        (config: Config, model: Model, images: Functional.Data.Images, examples: int, directions: int, seed: int)
        =
        let config, net =
            match Option.ofObj (box model) with
            | None -> config, Start.network<float> config images
            | Some _ ->
                let m = model
                let c = Training.ConfigOfModel(config, m.Spec)
                c, Named.network<float> m.Spec.Arch (m.Tensors())

        let n = max 1 (min examples images.Count)

        let batch =
            Named.batch<float> config.Scale images config.Classes (Array.init n id) 0 n

        GradCheck.directional config.Hyper batch net directions seed

    static member DirectionalPassed(check: GradCheck.DirectionalCheck) = GradCheck.directionalPassed check

    /// What a layer's gradient check means, in one line (names a sign flip or a factor of two).
    static member GradCheckVerdict(layer: GradCheck.LayerCheck) = GradCheck.verdict layer

    static member GradCheckPassed(layer: GradCheck.LayerCheck) = GradCheck.passed layer

    /// The relative error at or above which a gradient entry fails.
    static member GradCheckThreshold = GradCheck.threshold

    /// float32 against float64 over `steps` steps of the run from `state` (after `from` steps; null = the initial
    /// weights), sampled every `every` steps (Trajectory.fs states the rule its verdict uses).
    static member Drift
        (
            config: Config,
            train: Functional.Data.Images,
            test: Functional.Data.Images,
            state: NamedArray[],
            from: int64,
            steps: int,
            every: int
        ) =
        if train.Features <> config.Inputs then
            invalidArg
                "train"
                (sprintf "images have %d values but the network's input is %d" train.Features config.Inputs)

        Trajectory.run config train test state from steps every

    /// The rule the drift verdict uses, in words.
    static member DriftRule = Trajectory.rule

    /// What rounding explains after t steps: 4·t·2⁻²⁴.
    static member DriftBound(t: int64) = Trajectory.bound t
