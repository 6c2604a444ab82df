namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional inspect`: what any safetensors file holds, and accepting a model's tensors changed elsewhere.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type InspectArgs =
    | [<MainCommand; Mandatory>] Model of file: string
    | Rehash
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ ->
                "any safetensors file (a model, a checkpoint, a replay dump, a foreign file), or a run folder (its model.safetensors)."
            | Rehash ->
                "accept a model's tensors as they are: write their hash into the file's metadata (after editing the weights elsewhere)."
            | Json -> "print one JSON object (metadata, and every tensor's dtype, shape and statistics) for scripts."

/// `functional inspect`.
type InspectOptions =
    {
        Model: string
        Rehash: bool
        Json: bool
    }

module internal Inspect =
    let parse (r: ParseResults<InspectArgs>) =
        {
            Model = r.GetResult InspectArgs.Model
            Rehash = r.Contains InspectArgs.Rehash
            Json = r.Contains InspectArgs.Json
        }
