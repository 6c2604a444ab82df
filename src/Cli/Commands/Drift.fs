namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type DriftArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | From of step: int64
    | Steps of count: int
    | Every of steps: int
    | Out of file: string
    | Test_Count of count: int
    | Threads of count: int
    | Other_Kernels
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder (its run.json, checkpoints and data)."
            | Json -> "print the report as one JSON object (the PNG is still written)."
            | From _ -> "start from the run's state after this step, >= 0 (default 0: the initial weights)."
            | Steps _ -> "steps to train both ways, >= 1 (default: one epoch)."
            | Every _ -> "sample every this many steps, >= 1 (default 25)."
            | Out _ -> "the PNG to write (default: <run>/drift.png)."
            | Test_Count _ -> "test images on which the two models' predictions are compared, >= 1 (default: all)."
            | Threads _ -> "worker threads, 0 = auto (default: the run's own)."
            | Other_Kernels ->
                "run even where this machine cannot use the OpenBLAS kernels the run recorded (then with its own)."

type DriftOptions =
    {
        Run: string
        /// The run's step to start from; 0 = the initial weights.
        From: int64
        /// Steps to train both ways; 0 = one epoch.
        Steps: int
        Every: int
        /// The PNG; null = <run>/drift.png.
        Out: string | null
        /// Test images compared; 0 = all.
        TestCount: int
        /// 0 = the run's own.
        Threads: int
        OtherKernels: bool
        /// One JSON object instead of the table.
        Json: bool
    }

module internal Drift =
    let parse (r: ParseResults<DriftArgs>) (checks: Checks) =
        let from = r.GetResult(DriftArgs.From, defaultValue = 0L)
        let steps = r.GetResult(DriftArgs.Steps, defaultValue = 0)
        let every = r.GetResult(DriftArgs.Every, defaultValue = 25)
        let testCount = r.GetResult(DriftArgs.Test_Count, defaultValue = 0)
        let threads = r.GetResult(DriftArgs.Threads, defaultValue = 0)
        checks.Require (from >= 0L) "from" ">= 0" from
        checks.Require (r.Contains DriftArgs.Steps |> not || steps >= 1) "steps" ">= 1" steps
        checks.Require (every >= 1) "every" ">= 1" every
        checks.Require (r.Contains DriftArgs.Test_Count |> not || testCount >= 1) "test-count" ">= 1" testCount
        checks.Require (threads >= 0) "threads" ">= 0 (0 = the run's own)" threads

        {
            Run = r.GetResult DriftArgs.Run_Dir
            From = from
            Steps = steps
            Every = every
            Out = r.TryGetResult DriftArgs.Out |> toNull
            TestCount = testCount
            Threads = threads
            OtherKernels = r.Contains DriftArgs.Other_Kernels
            Json = r.Contains DriftArgs.Json
        }
