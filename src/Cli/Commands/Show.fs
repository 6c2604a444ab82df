namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ShowArgs =
    | Data of file: string
    | Data_Labels of file: string
    | Count of count: int
    | Start of index: int
    | Model of path: string
    | Scale of Values.Scale
    | Out of file: string
    | Threads of count: int
    | Filters of model: string
    | Augmented of distortions: string
    | Seed of seed: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Augmented _ ->
                "draw image --start as training would see it in --count epochs, distorted as --augment (train's syntax, e.g. shift:2,rotate:10,scale:0.1, train's default)."
            | Seed _ -> "the seed the augmented versions are drawn with, as train's --seed (default 1)."
            | Filters _ ->
                "draw the first convolution layer's filters of this model (a model file or a run directory) as a grid instead of images."
            | Data _ ->
                "images to show (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Count _ -> "how many images, 1 to 400 (default 25)."
            | Start _ -> "index of the first image shown, >= 0 (default 0)."
            | Model _ ->
                "also show this model's predictions (a model file or a run directory); wrong ones are framed in red."
            | Scale _ -> "pixel scaling for the model; default: the model's own."
            | Out _ -> "the PNG file to write (default digits.png)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

type ShowOptions =
    {
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// Images shown, 1..400.
        Count: int
        /// Index of the first image shown.
        Start: int
        /// Model file or run directory whose predictions are shown; null = labels only.
        Model: string | null
        /// None = the model's own.
        Scale: Scale option
        /// The PNG to write.
        Out: string
        Threads: int
        /// Draw this model's first convolution filters instead of images; null = images.
        Filters: string | null
        /// Draw image Start's augmented versions (one per epoch) instead; None = images.
        Augmented: Augment.Augment option
        Seed: int
    }

module internal Show =
    let parse (r: ParseResults<ShowArgs>) (checks: Checks) =
        let count = r.GetResult(ShowArgs.Count, defaultValue = 25)
        let start = r.GetResult(ShowArgs.Start, defaultValue = 0)
        let threads = r.GetResult(ShowArgs.Threads, defaultValue = 0)
        checks.Require (count >= 1 && count <= 400) "count" "in 1..400" count
        checks.Require (start >= 0) "start" ">= 0" start
        checks.Threads threads

        {
            Data = r.TryGetResult ShowArgs.Data |> toNull
            DataLabels = r.TryGetResult ShowArgs.Data_Labels |> toNull
            Count = count
            Start = start
            Model = r.TryGetResult ShowArgs.Model |> toNull
            Scale = r.TryGetResult ShowArgs.Scale |> Option.map ValueOf.scale
            Out = r.GetResult(ShowArgs.Out, defaultValue = "digits.png")
            Threads = threads
            Filters = r.TryGetResult ShowArgs.Filters |> toNull
            Augmented =
                r.TryGetResult ShowArgs.Augmented
                |> Option.map (fun text ->
                    checks.Result(
                        Augment.Augment.parse text
                        |> Result.mapError (fun e -> $"option '--augmented': %s{e}."),
                        Augment.Augment.none
                    ))
            Seed = r.GetResult(ShowArgs.Seed, defaultValue = 1)
        }
