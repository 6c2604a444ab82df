namespace Functional.Cli

open Argu
open Functional
open Functional.Data
open Functional.Arch
open Functional.Cli.Parsing

/// `functional import`: a PyTorch nn.Sequential state_dict as a model file.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ImportArgs =
    | [<MainCommand; Mandatory>] File of file: string
    | [<Mandatory>] Arch of description: string
    | Scale of Values.Scale
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ ->
                "a safetensors file of an nn.Sequential's state_dict (0.weight, 0.bias, 2.weight, ...), F32 or F64."
            | Arch _ ->
                "the network, as for train: \"dense 128 relu, dense 10 softmax\"; its layers with parameters take the file's modules in order."
            | Scale _ -> "the pixel scaling the network was trained with: unit, book or offset (default unit)."
            | Out _ ->
                "the model file to write (default: FILE's name with .model.safetensors); an existing file is refused."

/// `functional import`.
type ImportOptions =
    {
        File: string
        Arch: Arch
        Scale: Scale
        /// null = FILE's name with .model.safetensors.
        Out: string | null
    }

module internal Import =
    let parse (r: ParseResults<ImportArgs>) (checks: Checks) =
        {
            File = r.GetResult ImportArgs.File
            Arch = checks.Result(NetworkGroup.parseArch (r.GetResult ImportArgs.Arch), Unchecked.defaultof<Arch>)
            Scale =
                r.TryGetResult ImportArgs.Scale
                |> Option.map ValueOf.scale
                |> Option.defaultValue Unit
            Out = r.TryGetResult ImportArgs.Out |> toNull
        }
