namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional runs`: a table of the runs under a folder.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type RunsArgs =
    | [<MainCommand>] Dir of dir: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Dir _ -> "the folder to search for run folders (run.json), recursively (default: runs and sweeps)."

/// `functional runs`.
type RunsOptions =
    {
        /// null = runs/ and sweeps/.
        Dir: string | null
    }

module internal Runs =
    let parse (r: ParseResults<RunsArgs>) (_: Checks) =
        {
            Dir = r.TryGetResult RunsArgs.Dir |> toNull
        }
