/// The way back: parsed train options as the shortest `functional train` command line that gives them
/// (its preset, then every option whose value differs from the preset's), for commands that print a
/// ready-to-run command.
namespace Functional.Cli

open System
open System.Globalization

[<AbstractClass; Sealed>]
type Argv =
    /// The arguments after `functional train` that parse back to `o`.
    static member Train(o: TrainOptions) : string[] =
        let p = Presets.find o.Preset

        let num (x: float) =
            x.ToString("R", CultureInfo.InvariantCulture)

        let int' (n: int) =
            n.ToString(CultureInfo.InvariantCulture)

        let defaultLr =
            if o.Optimizer = p.Optimizer then p.Lr
            elif o.Optimizer = "adam" then 0.001
            else 0.1

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
            if o.TrainCount <> p.TrainCount then
                yield! [ "--train-count"; int' o.TrainCount ]
            if o.Network.Layers <> p.Layers then
                yield! [ "--layers"; String.Join(",", o.Network.Layers) ]
            for flag, value, preset in
                [
                    "--activation", o.Network.Activation, p.Activation
                    "--output", o.Network.Output, p.Output
                    "--loss", o.Network.Loss, p.Loss
                    "--init", o.Network.Init, p.Init
                    "--scale", o.Data.Scale, p.Scale
                    "--optimizer", o.Optimizer, p.Optimizer
                    "--reduction", o.Reduction, p.Reduction
                    "--precision", o.Precision, p.Precision
                ] do
                if value <> preset then
                    yield! [ flag; value ]
            if not o.Network.Bias && p.Bias then
                yield "--no-bias"
            if o.Lr <> defaultLr then
                yield! [ "--lr"; num o.Lr ]
            if o.L2 <> p.L2 then
                yield! [ "--l2"; num o.L2 ]
            if o.Momentum <> p.Momentum then
                yield! [ "--momentum"; num o.Momentum ]
            if o.Batch <> p.Batch then
                yield! [ "--batch"; (if o.Batch = 0 then "full" else int' o.Batch) ]
            if o.Epochs <> p.Epochs then
                yield! [ "--epochs"; int' o.Epochs ]
            if o.Seed <> p.Seed then
                yield! [ "--seed"; int' o.Seed ]
            if o.Threads <> 0 then
                yield! [ "--threads"; int' o.Threads ]
            if o.Quiet then
                yield "--quiet"
        |]
