namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type EvalArgs =
    | [<Mandatory>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Scale of Values.Scale
    | Seed of seed: int
    | Threads of count: int
    | Png of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "model file, or a run directory containing one (required)."
            | Data _ ->
                "images to evaluate on (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Scale _ -> "pixel scaling; default: the model's own."
            | Seed _ -> "seed for the random sample of predictions shown (default 1)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Png _ -> "also draw the confusion matrix as a heatmap into this PNG file."

type EvalOptions =
    {
        /// Model file or run directory.
        Model: string
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// None = the model's own.
        Scale: Scale option
        Seed: int
        Threads: int
        /// PNG file for the confusion-matrix heatmap; null = none.
        Png: string | null
    }

module internal Eval =
    let parse (r: ParseResults<EvalArgs>) (checks: Checks) =
        let threads = r.GetResult(EvalArgs.Threads, defaultValue = 0)
        checks.Threads threads

        {
            Model = r.GetResult EvalArgs.Model
            Data = r.TryGetResult EvalArgs.Data |> toNull
            DataLabels = r.TryGetResult EvalArgs.Data_Labels |> toNull
            Scale = r.TryGetResult EvalArgs.Scale |> Option.map ValueOf.scale
            Seed = r.GetResult(EvalArgs.Seed, defaultValue = 1)
            Threads = threads
            Png = r.TryGetResult EvalArgs.Png |> toNull
        }
