namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional bisect`: the first step of a run where a condition holds.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type BisectArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | [<Mandatory>] Until of condition: string
    | Dump of dir: string
    | Probe of count: int
    | Threads of count: int
    | Other_Kernels

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder to search (its journal, checkpoints and data; nothing is retrained)."
            | Until _ ->
                "the condition: nan (a NaN or infinity in the loss, a gradient or the weights), spike[:FACTOR] (the loss above FACTOR, default 3, times the median of the 25 before), collapse (every probe image called one class), dead:P (a layer's dead or saturated share above P), accuracy<X (the probe accuracy falls below X after reaching it), loss>V, grad>V (the global gradient norm)."
            | Dump _ -> "where the dumps of the step found and the one before go (default: <run>/bisect)."
            | Probe _ -> "test images collapse and accuracy<X are measured on, >= 1 (default 500: the first 500)."
            | Threads _ -> "worker threads, 0 = auto (default: the run's own)."
            | Other_Kernels ->
                "search even where this machine cannot use the OpenBLAS kernels the run recorded (then with its own; steps may differ in the last bits)."

type BisectOptions =
    {
        Run: string
        /// The condition, as typed (checked by the host).
        Until: string
        /// Where the dumps go; null = <run>/bisect.
        Dump: string | null
        /// Test images the probe conditions are measured on.
        Probe: int
        /// 0 = the run's own.
        Threads: int
        OtherKernels: bool
    }

module internal Bisect =
    let parse (r: ParseResults<BisectArgs>) (checks: Checks) =
        let probe = r.GetResult(BisectArgs.Probe, defaultValue = 500)
        let threads = r.GetResult(BisectArgs.Threads, defaultValue = 0)
        checks.Require (probe >= 1) "probe" ">= 1" probe
        checks.Require (threads >= 0) "threads" ">= 0 (0 = the run's own)" threads

        {
            Run = r.GetResult BisectArgs.Run_Dir
            Until = r.GetResult BisectArgs.Until
            Dump = r.TryGetResult BisectArgs.Dump |> toNull
            Probe = probe
            Threads = threads
            OtherKernels = r.Contains BisectArgs.Other_Kernels
        }
