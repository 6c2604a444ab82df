namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type BenchArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Test of file: string
    | Test_Labels of file: string
    | Json
    | Threads of count: int
    | Kernels of name: string
    | Seconds of seconds: float
    | Network of Values.Bench_Network
    | Preset of name: string
    | Profile

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Train _ ->
                "training images (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST training set."
            | Train_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Test _ ->
                "test images (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Test_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Json -> "print the results as JSON."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Kernels _ -> Defaults.kernels
            | Seconds _ -> "time budget per benchmark case in seconds, > 0 (default 2.0)."
            | Network _ -> "run only this network's cases (default: all)."
            | Preset _ -> "time this preset alone, at its own batch size (any preset, unlike --network)."
            | Profile ->
                "per layer: forward and backward time, GFLOP/s and the fraction of the roofline of its own matrix products, for the cases chosen."

type BenchOptions =
    {
        Train: string | null
        TrainLabels: string | null
        Test: string | null
        TestLabels: string | null
        Json: bool
        Threads: int
        /// OpenBLAS's kernels; null = the default (Haswell).
        Kernels: string | null
        /// Time budget per benchmark case, in seconds.
        Seconds: double
        /// "seed", "lenet5", "cnn", "rnn", "lstm" or "rbf"; null = all.
        Network: string | null
        /// A preset (Presets.names) timed alone at its own batch; null = the bench's cases.
        Preset: string | null
        /// Per-layer times instead of whole steps.
        Profile: bool
    }

module internal Bench =
    let parse (r: ParseResults<BenchArgs>) (checks: Checks) =
        let threads = r.GetResult(BenchArgs.Threads, defaultValue = 0)
        let seconds = r.GetResult(BenchArgs.Seconds, defaultValue = 2.0)
        checks.Threads threads
        checks.Require (finite seconds && seconds > 0.0) "seconds" "> 0" seconds

        {
            Train = r.TryGetResult BenchArgs.Train |> toNull
            TrainLabels = r.TryGetResult BenchArgs.Train_Labels |> toNull
            Test = r.TryGetResult BenchArgs.Test |> toNull
            TestLabels = r.TryGetResult BenchArgs.Test_Labels |> toNull
            Json = r.Contains BenchArgs.Json
            Threads = threads
            Kernels = r.TryGetResult BenchArgs.Kernels |> toNull
            Seconds = seconds
            Network =
                r.TryGetResult BenchArgs.Network
                |> Option.map (fun n -> (string n).ToLowerInvariant())
                |> toNull
            Preset =
                r.TryGetResult BenchArgs.Preset
                |> Option.map (fun name -> checks.Result(Presets.tryFind "--preset" name, Presets.modern).Name)
                |> toNull
            Profile = r.Contains BenchArgs.Profile
        }
