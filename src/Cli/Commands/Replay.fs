namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ReplayArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | [<Mandatory>] Step of step: int64
    | Precision of Values.Precision
    | Gradcheck
    | Params of count: int
    | Dump of dir: string
    | Threads of count: int
    | Other_Kernels

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Other_Kernels ->
                "replay even where this machine cannot use the OpenBLAS kernels the run recorded (then with its own; steps may differ in the last bits)."
            | Run_Dir _ -> "the run folder to replay."
            | Step _ ->
                "re-execute steps from the checkpoint before this step up to it (or to the next journaled step), >= 1."
            | Precision _ ->
                "float64: recompute step N's gradients in float64 and report each layer's drift against the run's."
            | Gradcheck -> "compare step N's analytic gradients with numeric ones (float64 central differences)."
            | Params _ -> "parameters sampled per layer by --gradcheck, >= 1 (default 20)."
            | Dump _ ->
                "write step N's batch, weights before, gradients and weights after as safetensors into this folder."
            | Threads _ -> "worker threads, 0 = auto (default: the run's own)."

type ReplayOptions =
    {
        Run: string
        Step: int64
        /// Float64 to report gradient drift; None = no recomputation.
        Precision: Precision option
        Gradcheck: bool
        Params: int
        /// Folder for the safetensors dump; null = none.
        Dump: string | null
        /// 0 = the run's own.
        Threads: int
        /// Replay with this machine's kernels where it cannot use the run's.
        OtherKernels: bool
    }

module internal Replay =
    let parse (r: ParseResults<ReplayArgs>) (checks: Checks) =
        let step = r.GetResult ReplayArgs.Step
        let count = r.GetResult(ReplayArgs.Params, defaultValue = 20)
        let threads = r.GetResult(ReplayArgs.Threads, defaultValue = 0)
        checks.Require (step >= 1L) "step" ">= 1" step
        checks.Require (count >= 1) "params" ">= 1" count
        checks.Require (threads >= 0) "threads" ">= 0 (0 = the run's own)" threads

        {
            Run = r.GetResult ReplayArgs.Run_Dir
            Step = step
            Precision = r.TryGetResult ReplayArgs.Precision |> Option.map ValueOf.precision
            Gradcheck = r.Contains ReplayArgs.Gradcheck
            Params = count
            Dump = r.TryGetResult ReplayArgs.Dump |> toNull
            Threads = threads
            OtherKernels = r.Contains ReplayArgs.Other_Kernels
        }
