namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type PlotArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder (holding run.json, and journal.jsonl when there is one)."
            | Out _ -> "the PNG file to write (default: <run>/curves.png)."

type PlotOptions =
    {
        /// The run folder.
        Run: string
        /// The PNG to write; null = <run>/curves.png.
        Out: string | null
    }

module internal Plot =
    let parse (r: ParseResults<PlotArgs>) (_: Checks) =
        {
            Run = r.GetResult PlotArgs.Run_Dir
            Out = r.TryGetResult PlotArgs.Out |> toNull
        }
