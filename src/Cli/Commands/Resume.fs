namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ResumeArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | Epochs of count: int
    | Threads of count: int
    | Quiet

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder to continue (from its newest valid checkpoint)."
            | Epochs _ -> "train until this many epochs in all, >= 1 (default: the run's own)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Quiet ->
                "print only the result: the line naming the checkpoint it continues from, then the model, predicted-classes, plot and test accuracy lines (and any warning); no epoch lines or progress bar."

type ResumeOptions =
    {
        Run: string
        /// Total epochs to reach; 0 = the run's own.
        Epochs: int
        Threads: int
        Quiet: bool
    }

module internal Resume =
    let parse (r: ParseResults<ResumeArgs>) (checks: Checks) =
        let epochs = r.GetResult(ResumeArgs.Epochs, defaultValue = 0)
        let threads = r.GetResult(ResumeArgs.Threads, defaultValue = 0)
        checks.Require (epochs >= 0) "epochs" ">= 1" epochs
        checks.Require (epochs <= MaxEpochs) "epochs" "at most 1,000,000" epochs
        checks.Threads threads

        {
            Run = r.GetResult ResumeArgs.Run_Dir
            Epochs = epochs
            Threads = threads
            Quiet = r.Contains ResumeArgs.Quiet
        }
