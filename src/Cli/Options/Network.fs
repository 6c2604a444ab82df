namespace Functional.Cli

open Argu
open Functional
open Functional.Activations
open Functional.Arch
open Functional.Cli.Parsing

/// The network options of train: --arch, or the dense network of --layers, --activation, --output and --no-bias.
module NetworkGroup =
    /// The image shape of the shipped data (and of MNIST-style IDX files): what a network whose first layer
    /// works on images takes unless its --arch starts with "input …".
    let imageShape = [| 1; 28; 28 |]

    /// An --arch text as an architecture: the syntax, then the shapes through every layer.
    let parseArch (text: string) : Result<Arch, string> =
        Arch.parseChecked imageShape text
        |> Result.mapError (fun e -> $"option '--arch': %s{e}.")

    let private parseLayers (text: string) =
        let sizes = text.Split ',' |> Array.map parseInt

        if sizes.Length >= 1 && sizes |> Array.forall (fun s -> s.IsSome && s.Value > 0) then
            Ok(sizes |> Array.map Option.get)
        else
            Error
                $"option '--layers' needs comma-separated sizes, all > 0 (e.g. 784,256,10, or one hidden size alone), but was '%s{text}'."

    /// The architecture: --arch as written, or the preset's dense network changed by --layers, --activation,
    /// --output and --no-bias.
    let internal parse (r: ParseResults<TrainArgs>) (p: Presets.Preset) (checks: Checks) =
        let denseGiven =
            r.Contains TrainArgs.Layers
            || r.Contains TrainArgs.Activation
            || r.Contains TrainArgs.Output
            || r.Contains TrainArgs.No_Bias

        match r.TryGetResult TrainArgs.Arch with
        | Some text ->
            if denseGiven then
                checks.Add
                    "option '--arch' describes the whole network: drop --layers, --activation, --output and --no-bias, or write them into --arch."

            checks.Result(parseArch text, p.Config.Arch)
        | None when not denseGiven -> p.Config.Arch
        | None ->
            let sizes0, hidden0, output0, bias0 =
                match Arch.denseParts p.Config.Arch with
                | Some parts -> parts
                | None -> [| 784; 512; 10 |], Relu, Softmax, true

            let sizes =
                match r.TryGetResult TrainArgs.Layers with
                | Some text -> checks.Result(parseLayers text, sizes0)
                | None -> sizes0

            let hidden =
                r.TryGetResult TrainArgs.Activation
                |> Option.map ValueOf.activation
                |> Option.defaultValue hidden0

            let out =
                r.TryGetResult TrainArgs.Output
                |> Option.map ValueOf.output
                |> Option.defaultValue output0

            let bias = bias0 && not (r.Contains TrainArgs.No_Bias)

            // One size is a hidden layer whose ends the host takes from the data; until then, the preset's.
            let sizes =
                if sizes.Length = 1 then
                    [| sizes0[0]; sizes[0]; sizes0[sizes0.Length - 1] |]
                else
                    sizes

            if sizes.Length < 2 then
                p.Config.Arch
            else
                Arch.dense sizes hidden out bias
