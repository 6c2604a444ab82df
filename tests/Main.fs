module Functional.Tests.Main

open Expecto
open Expecto.Impl

/// After Expecto's own summary, the plain line CI reads: "N passed, N failed" (errors count as failures).
let private plainSummary =
    SummaryHandler(fun summary ->
        let failed = summary.failed.Length + summary.errored.Length
        printfn "%d passed, %d failed" summary.passed.Length failed)

[<EntryPoint>]
let main argv =
    try
        runTestsInAssemblyWithCLIArgs [ Colours 0; No_Spinner; Append_Summary_Handler plainSummary ] argv
    finally
        // The end-to-end tests' run folders (hundreds of MB over a whole run), also after a failure.
        EndToEndTests.removeTempDirs ()
