namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional gradcheck`: its own options; train's options it takes go through train's parser.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type GradcheckArgs =
    | Examples of count: int
    | Params of count: int
    | Json
    | Model of path: string
    | Directional of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ ->
                "check at a saved or imported model's weights (a model file or run folder; its architecture and scaling) instead of the configured network at initialisation."
            | Examples _ -> "examples in the batch checked, >= 1 (default 10)."
            | Params _ -> "parameters checked per layer, sampled when a layer has more, >= 1 (default 200)."
            | Json -> "print the report as one JSON object."
            | Directional _ ->
                "check the whole network at once along this many random directions (g·u against a central difference along u), >= 1; instead of layer by layer."

/// `functional gradcheck`: the network and loss of Train, checked on Examples examples, Params per layer.
type GradcheckOptions =
    {
        Train: TrainOptions
        Examples: int
        Params: int
        Json: bool
        /// A model whose weights are checked; null = the configured network at initialisation.
        Model: string | null
        /// Random directions of the whole-network check; 0 = the element-wise check.
        Directional: int
    }

module internal Gradcheck =
    /// What defines the loss at one point: data, network, loss, L2 and seed; nothing of the optimiser.
    let trainOptions = Forwarded.dataOptions @ Forwarded.networkOptions

    let parse (r: ParseResults<GradcheckArgs>) (trainArgs: string list) (checks: Checks) =
        let examples = r.GetResult(GradcheckArgs.Examples, defaultValue = 10)
        let parameters = r.GetResult(GradcheckArgs.Params, defaultValue = 200)
        checks.Require (examples >= 1) "examples" ">= 1" examples
        checks.Require (parameters >= 1) "params" ">= 1" parameters
        let directional = r.GetResult(GradcheckArgs.Directional, defaultValue = 0)

        checks.Require (not (r.Contains GradcheckArgs.Directional) || directional >= 1) "directional" ">= 1" directional

        {
            Train = Forwarded.parse "gradcheck" trainOptions trainArgs checks
            Examples = examples
            Params = parameters
            Json = r.Contains GradcheckArgs.Json
            Model = r.TryGetResult GradcheckArgs.Model |> toNull
            Directional = directional
        }
