namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional export`: a model as a file other programs run.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ExportArgs =
    | [<MainCommand; Mandatory>] Model of model: string
    | [<Mandatory>] Onnx of file: string
    | Force

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "a model.safetensors, or a run folder holding one."
            | Onnx _ ->
                "the ONNX file to write (opset 17): raw pixels 0..255 in ([N,784], or [N,1,28,28] for networks on images), the model's scaling inside, class scores out."
            | Force -> "replace the ONNX file if it exists (a run's own files are never replaced)."

/// `functional export`.
type ExportOptions =
    {
        Model: string
        Onnx: string
        /// Replace an existing file (never a run's own).
        Force: bool
    }

module internal Export =
    let parse (r: ParseResults<ExportArgs>) =
        {
            Model = r.GetResult ExportArgs.Model
            Onnx = r.GetResult ExportArgs.Onnx
            Force = r.Contains ExportArgs.Force
        }
