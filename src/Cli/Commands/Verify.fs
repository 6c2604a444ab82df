namespace Functional.Cli

open Argu

/// `functional verify`: whether a run reproduces bit for bit on this machine.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type VerifyArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ ->
                "the run folder to verify: every checkpoint interval is replayed with the run's kernels and threads, and each journaled hash and checkpoint compared."
            | Json -> "print the verdict as one JSON object."

type VerifyOptions = { Run: string; Json: bool }

module internal Verify =
    let parse (r: ParseResults<VerifyArgs>) =
        {
            Run = r.GetResult VerifyArgs.Run_Dir
            Json = r.Contains VerifyArgs.Json
        }
