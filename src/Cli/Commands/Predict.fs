namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type PredictArgs =
    | [<Mandatory>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Image of files: string list
    | Show of png: string
    | Scale of Values.Scale
    | Index of index: int
    | Out of file: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "model file, or a run directory containing one (required)."
            | Data _ ->
                "images to predict from (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Scale _ -> "pixel scaling; default: the model's own."
            | Index _ -> "predict this image alone, >= 0, with a bar per output (default: every image, as CSV)."
            | Image _ ->
                "pictures of digits (PNG, JPEG: a photo, a drawing) to predict instead of --data: each is prepared as MNIST's digits were (grey, inverted if the paper is light, cropped to the ink, fitted into 20x20, centred by centre of mass in 28x28), then its class and top-3 outputs are printed."
            | Show _ -> "with --image: write a PNG of each picture beside the 28x28 image the network saw."
            | Out _ ->
                "the CSV to write (default: standard output): index,label,predicted, then the outputs: p_0,p_1,... for softmax probabilities (they sum to 1), sigmoid_0,sigmoid_1,... for sigmoid outputs (each in 0..1; they do not sum to 1)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

type PredictOptions =
    {
        /// Model file or run directory.
        Model: string
        /// Pictures of digits (PNG, JPEG) to prepare as MNIST's were and predict; empty = predict from Data.
        Images: string array
        /// The PNG showing each picture beside the 28x28 image the network saw; null = none.
        Show: string | null
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        /// None = the model's own.
        Scale: Scale option
        /// None = every image, as CSV.
        Index: int option
        /// The CSV file; null = standard output.
        Out: string | null
        Threads: int
    }

module internal Predict =
    let parse (r: ParseResults<PredictArgs>) (checks: Checks) =
        let index = r.TryGetResult PredictArgs.Index
        let threads = r.GetResult(PredictArgs.Threads, defaultValue = 0)

        match index with
        | Some i -> checks.Require (i >= 0) "index" ">= 0" i
        | None -> ()

        if index.IsSome && r.Contains PredictArgs.Out then
            checks.Add
                "options '--index' and '--out' do not go together: --index shows one image, --out writes every image."

        let images = r.GetResult(PredictArgs.Image, defaultValue = []) |> Array.ofList

        if r.Contains PredictArgs.Image then
            if images.Length = 0 then
                checks.Add "option '--image' needs at least one picture file (PNG or JPEG)."

            for other, name in
                [
                    r.Contains PredictArgs.Data, "--data"
                    r.Contains PredictArgs.Data_Labels, "--data-labels"
                    index.IsSome, "--index"
                    r.Contains PredictArgs.Out, "--out"
                ] do
                if other then
                    checks.Add
                        $"options '--image' and '%s{name}' do not go together: --image predicts pictures, not a data set."
        elif r.Contains PredictArgs.Show then
            checks.Add
                "option '--show' draws the pictures of '--image': give the pictures with --image a.png [b.jpg ...]."

        checks.Threads threads

        {
            Model = r.GetResult PredictArgs.Model
            Images = images
            Show = r.TryGetResult PredictArgs.Show |> toNull
            Data = r.TryGetResult PredictArgs.Data |> toNull
            DataLabels = r.TryGetResult PredictArgs.Data_Labels |> toNull
            Scale = r.TryGetResult PredictArgs.Scale |> Option.map ValueOf.scale
            Index = index
            Out = r.TryGetResult PredictArgs.Out |> toNull
            Threads = threads
        }
