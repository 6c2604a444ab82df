namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional report`: one self-contained HTML page of runs and sweeps.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type ReportArgs =
    | [<MainCommand; Mandatory>] Runs of dirs: string list
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Runs _ -> "a run folder, or several run folders and sweep folders (holding sweep.json) to compare."
            | Out _ -> "the HTML file to write (default: RUN/report.html for one run or sweep, else report.html)."

/// `functional report`.
type ReportOptions =
    {
        /// Run folders and sweep folders.
        Runs: string[]
        /// null = RUN/report.html for one run or sweep, else report.html.
        Out: string | null
    }

module internal Report =
    let parse (r: ParseResults<ReportArgs>) (checks: Checks) =
        let runs = r.GetResult ReportArgs.Runs |> Array.ofList

        checks.Folders "report" runs

        {
            Runs = runs
            Out = r.TryGetResult ReportArgs.Out |> toNull
        }
