namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional.Cli.Parsing

/// The size image folders are resampled to (--resize WIDTHxHEIGHT).
type ImageSize = { Rows: int; Cols: int }

/// Data files for training; null = the shipped MNIST files.
type DataOptions =
    {
        Train: string | null
        TrainLabels: string | null
        Test: string | null
        TestLabels: string | null
        /// --header / --no-header; null = detect.
        Header: Nullable<bool>
        /// --label-column as written; null = first.
        LabelColumn: string | null
        /// --scale for tables (none, unit or standard); null = not given.
        FeatureScale: string | null
        /// --classes FILE.
        Classes: string | null
        AllowOneClass: bool
        /// --layers gave only a hidden size, or no network was given (neither --layers nor --arch): the inputs and
        /// outputs come from the data (a table's features and classes, an image folder's class folders).
        LayersFromData: bool
        /// Resample the images of image folders to this size; None = they must all have one size.
        Resize: ImageSize option
    }

/// The data options of train (and of the commands that take them through train's parser).
module internal DataGroup =
    /// "WIDTHxHEIGHT", each 1..4096.
    let private parseSize (text: string) =
        match text.ToLowerInvariant().Split 'x' |> Array.map parseInt with
        | [| Some w; Some h |] when w >= 1 && h >= 1 && w <= 4096 && h <= 4096 -> Ok { Rows = h; Cols = w }
        | _ -> Error $"option '--resize' must be WIDTHxHEIGHT, each 1..4096 (e.g. 28x28), but was '%s{text}'."

    let parse (r: ParseResults<TrainArgs>) (checks: Checks) : DataOptions =
        if r.Contains TrainArgs.Header && r.Contains TrainArgs.No_Header then
            checks.Add "options '--header' and '--no-header' contradict each other: give one."

        {
            Train = r.TryGetResult TrainArgs.Train |> toNull
            TrainLabels = r.TryGetResult TrainArgs.Train_Labels |> toNull
            Test = r.TryGetResult TrainArgs.Test |> toNull
            TestLabels = r.TryGetResult TrainArgs.Test_Labels |> toNull
            Header =
                if r.Contains TrainArgs.Header then Nullable true
                elif r.Contains TrainArgs.No_Header then Nullable false
                else Nullable()
            LabelColumn = r.TryGetResult TrainArgs.Label_Column |> toNull
            FeatureScale = r.TryGetResult TrainArgs.Scale |> ValueOf.featureScale
            Classes = r.TryGetResult TrainArgs.Classes |> toNull
            AllowOneClass = r.Contains TrainArgs.Allow_One_Class
            LayersFromData =
                match r.TryGetResult TrainArgs.Layers with
                | Some text -> text.Split(',').Length = 1
                | None -> not (r.Contains TrainArgs.Arch)
            Resize =
                r.TryGetResult TrainArgs.Resize
                |> Option.map (fun text -> checks.Result(parseSize text, { Rows = 28; Cols = 28 }))
        }

    /// --validation: a fraction when it reads as a number, else a file; with its labels.
    let validation (r: ParseResults<TrainArgs>) (p: Presets.Preset) (checks: Checks) =
        let fraction, file =
            match r.TryGetResult TrainArgs.Validation with
            | None -> p.Validation, null
            | Some text ->
                match Double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, f ->
                    checks.Require (f >= 0.0 && f < 1.0) "validation" "a fraction in [0, 1) or a file" text
                    f, null
                | _ -> 0.0, text

        let labels = r.TryGetResult TrainArgs.Validation_Labels |> toNull

        if not (isNull labels) && isNull file then
            checks.Add "option '--validation-labels' goes with '--validation FILE' (an IDX image file)."

        fraction, file, labels

    /// The first N training images; 0 = all.
    let trainCount (r: ParseResults<TrainArgs>) (p: Presets.Preset) (checks: Checks) =
        let n = r.GetResult(TrainArgs.Train_Count, defaultValue = p.TrainCount)
        checks.Require (n >= 0) "train-count" ">= 0 (0 = all)" n
        n
