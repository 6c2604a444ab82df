namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// What train's output options give: where the run goes, how often it is written, what it prints, how it runs.
type internal OutputPart =
    {
        Run: string | null
        CheckpointEvery: int
        JournalEvery: int
        Threads: int
        Kernels: string | null
        Quiet: bool
        TestEveryEpoch: bool
    }

/// The output options of train: the run folder, checkpoints, journal, printing, threads and kernels.
module internal OutputGroup =
    let parse (r: ParseResults<TrainArgs>) (checks: Checks) =
        let checkpointEvery = r.GetResult(TrainArgs.Checkpoint_Every, defaultValue = 0)
        let journalEvery = r.GetResult(TrainArgs.Journal_Every, defaultValue = 0)
        let threads = r.GetResult(TrainArgs.Threads, defaultValue = 0)
        checks.Require (checkpointEvery >= 0) "checkpoint-every" ">= 0" checkpointEvery
        checks.Require (journalEvery >= 0) "journal-every" ">= 1 (or 0 for the default)" journalEvery
        checks.Threads threads

        {
            Run = r.TryGetResult TrainArgs.Run |> toNull
            CheckpointEvery = checkpointEvery
            JournalEvery = journalEvery
            Threads = threads
            Kernels = r.TryGetResult TrainArgs.Kernels |> toNull
            Quiet = r.Contains TrainArgs.Quiet
            TestEveryEpoch = r.Contains TrainArgs.Test_Every_Epoch
        }
