/// The way back: parsed train options as the shortest `functional train` command line that gives them
/// (its preset, then every option whose value differs from the preset's), for commands that print a
/// ready-to-run command.
namespace Functional.Cli

open System
open System.Globalization
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Optim
open Functional.Data
open Functional.Arch

[<AbstractClass; Sealed>]
type Argv =
    /// The arguments after `functional train` that parse back to `o`.
    static member Train(o: TrainOptions) : string[] =
        let p = Presets.find o.Preset
        let c, pc = o.Config, p.Config

        let num (x: float) =
            x.ToString("R", CultureInfo.InvariantCulture)

        let int' (n: int) =
            n.ToString(CultureInfo.InvariantCulture)

        let name = OptimizerSpec.name c.Optimizer

        let defaultLr =
            if name = OptimizerSpec.name pc.Optimizer then
                pc.Lr
            else
                Config.defaultLr name

        let momentum (s: OptimizerSpec) =
            match s with
            | Momentum(_, mu) -> mu
            | _ -> Config.defaultMomentum

        [|
            if o.Preset <> "modern" then
                yield! [ "--preset"; o.Preset ]
            for flag, value in
                [
                    "--train", o.Data.Train
                    "--train-labels", o.Data.TrainLabels
                    "--test", o.Data.Test
                    "--test-labels", o.Data.TestLabels
                    "--run", o.Run
                ] do
                match value with
                | null -> ()
                | v -> yield! [ flag; v ]
            match o.Data.Resize with
            | Some size -> yield! [ "--resize"; $"%d{size.Cols}x%d{size.Rows}" ]
            | None -> ()
            // A table's reading options.
            if o.Data.Header.HasValue then
                yield (if o.Data.Header.Value then "--header" else "--no-header")

            match o.Data.LabelColumn with
            | null -> ()
            | v -> yield! [ "--label-column"; v ]

            match o.Data.Classes with
            | null -> ()
            | v -> yield! [ "--classes"; v ]

            if o.Data.AllowOneClass then
                yield "--allow-one-class"
            if o.TrainCount <> p.TrainCount then
                yield! [ "--train-count"; int' o.TrainCount ]
            if c.Arch <> pc.Arch then
                match Arch.denseParts c.Arch, Arch.denseParts pc.Arch with
                | Some(sizes, hidden, output, bias), presetParts ->
                    let s0, h0, o0, b0 =
                        presetParts |> Option.defaultValue ([| 784; 512; 10 |], Relu, Softmax, true)

                    if o.Data.LayersFromData && sizes.Length = 3 then
                        // The hidden size alone: the table gives the inputs and outputs.
                        yield! [ "--layers"; string (sizes[1]) ]
                    elif sizes <> s0 then
                        yield! [ "--layers"; String.Join(",", sizes) ]

                    if hidden <> h0 && sizes.Length > 2 then
                        yield! [ "--activation"; Activation.name hidden ]

                    if output <> o0 then
                        yield! [ "--output"; Activation.name output ]

                    if b0 && not bias then
                        yield "--no-bias"
                | None, _ ->
                    // The layers alone when they parse back to this architecture, else with its input.
                    let layers = Arch.layersText c.Arch

                    yield!
                        [
                            "--arch"
                            (if NetworkGroup.parseArch layers = Ok c.Arch then
                                 layers
                             else
                                 Arch.text c.Arch)
                        ]
            for flag, value, preset in
                [
                    "--loss", Loss.name c.Loss, Loss.name pc.Loss
                    "--init", Init.name c.Init, Init.name pc.Init
                    // A table's transform (none, unit, standard) is given as --scale too, and always kept.
                    "--scale",
                    (match o.Data.FeatureScale with
                     | null -> Scale.name c.Scale
                     | f -> f),
                    (match o.Data.FeatureScale with
                     | null -> Scale.name pc.Scale
                     | _ -> "")
                    "--optimizer", name, OptimizerSpec.name pc.Optimizer
                    "--reduction", Reduction.name c.Reduction, Reduction.name pc.Reduction
                    "--precision", Precision.name c.Precision, Precision.name pc.Precision
                ] do
                if value <> preset then
                    yield! [ flag; value ]
            if c.Lr <> defaultLr then
                yield! [ "--lr"; num c.Lr ]
            if c.L2 <> pc.L2 then
                yield! [ "--l2"; num c.L2 ]
            if c.ClipNorm <> pc.ClipNorm then
                yield! [ "--clip-norm"; num c.ClipNorm ]
            if momentum c.Optimizer <> momentum pc.Optimizer then
                yield! [ "--momentum"; num (momentum c.Optimizer) ]
            if c.Batch <> pc.Batch then
                yield! [ "--batch"; (if c.Batch = 0 then "full" else int' c.Batch) ]
            if o.Epochs <> p.Epochs then
                yield! [ "--epochs"; int' o.Epochs ]
            if c.Seed <> pc.Seed then
                yield! [ "--seed"; int' c.Seed ]
            if not (isNull o.ValidationFile) then
                yield! [ "--validation"; o.ValidationFile ]

                match o.ValidationLabels with
                | null -> ()
                | v -> yield! [ "--validation-labels"; v ]
            elif o.Validation <> p.Validation then
                yield! [ "--validation"; num o.Validation ]
            if o.TestEveryEpoch then
                yield "--test-every-epoch"
            if o.EarlyStop <> 0 then
                yield! [ "--early-stop"; int' o.EarlyStop ]
            if o.Monitor <> "loss" then
                yield! [ "--monitor"; o.Monitor ]
            let hasValidation = o.Validation > 0.0 || not (isNull o.ValidationFile)

            if o.Keep <> (if hasValidation then "best" else "last") then
                yield! [ "--keep"; o.Keep ]

            if { o.Schedule with Warmup = 0.0 } <> { p.Schedule with Warmup = 0.0 } then
                yield!
                    [
                        "--schedule"
                        (match o.Schedule.Kind with
                         | "step" -> $"step:%s{num o.Schedule.Every}:%s{num o.Schedule.Factor}"
                         | "cosine" when o.Schedule.Factor > 0.0 -> $"cosine:%s{num o.Schedule.Factor}"
                         | k -> k)
                    ]

            if o.Schedule.Warmup <> p.Schedule.Warmup then
                yield! [ "--warmup"; num o.Schedule.Warmup ]

            if c.Augment <> pc.Augment then
                yield! [ "--augment"; Augment.Augment.text c.Augment ]

            match c.Adversarial, pc.Adversarial with
            | Some a, Some b when a = b -> ()
            | Some a, Some b when { a with Weight = b.Weight } = b -> yield! [ "--adversarial-weight"; num a.Weight ]
            // TRADES weighs its terms by its beta, written in its text: --adversarial-weight is refused with it.
            | Some a, _ when a.Trades > 0.0 -> yield! [ "--adversarial"; Attacks.Adversarial.text a ]
            | Some a, _ ->
                yield!
                    [
                        "--adversarial"
                        Attacks.Adversarial.text a
                        "--adversarial-weight"
                        num a.Weight
                    ]
            | None, _ -> ()

            if o.Threads <> 0 then
                yield! [ "--threads"; int' o.Threads ]

            if o.Quiet then
                yield "--quiet"
        |]
