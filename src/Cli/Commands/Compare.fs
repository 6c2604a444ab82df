namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional compare`: runs and sweeps side by side.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type CompareArgs =
    | [<MainCommand; Mandatory>] Runs of dirs: string list
    | Png of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Runs _ -> "run folders and sweep folders (holding sweep.json) to compare."
            | Png _ -> "the PNG to draw (default: SWEEP/compare.png for one sweep, else compare.png)."

/// `functional compare`.
type CompareOptions =
    {
        /// Run folders and sweep folders.
        Runs: string[]
        /// null = SWEEP/compare.png for one sweep, else compare.png.
        Png: string | null
    }

module internal Compare =
    let parse (r: ParseResults<CompareArgs>) (checks: Checks) =
        let runs = r.GetResult CompareArgs.Runs |> Array.ofList
        checks.Folders "compare" runs

        {
            Runs = runs
            Png = r.TryGetResult CompareArgs.Png |> toNull
        }
