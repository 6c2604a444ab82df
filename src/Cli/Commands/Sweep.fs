namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// The executors of `functional sweep`.
[<RequireQualifiedAccess>]
type SweepExecutor =
    | Local
    | Slurm

/// `functional sweep`: its own options. Every other option is a train option, forwarded to each point
/// (Options/Forwarded.fs splits them off before Argu sees this union).
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type SweepArgs =
    | [<MainCommand>] Spec of spec: string
    | Name of name: string
    | Dir of dir: string
    | Executor of SweepExecutor
    | Jobs of count: int
    | Threads of count: int
    | Slurm_Args of args: string
    | Task of index: int
    | Max_Points of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Spec _ ->
                "a JSON file {\"name\": ..., \"options\": {\"lr\": [0.03, 0.1], \"seed\": \"1..3\", \"preset\": \"book\"}}, or a sweep folder to run again. Any train option after it (--lr 0.03,0.1 --seed 1..3) adds or replaces an axis; a list's values become the cross product."
            | Name _ ->
                "the sweep's name, its folder under --dir (default: the spec file's name, else the swept options')."
            | Dir _ -> "the folder holding sweeps (default sweeps)."
            | Executor _ -> "where the points run: local worker processes (default) or a Slurm array job."
            | Jobs _ -> "local: points run at once, >= 1 (default: cores / threads)."
            | Threads _ ->
                "threads of each point, >= 1 (default 1); local: threads × jobs <= cores. A point's bytes do not depend on it."
            | Slurm_Args _ ->
                "extra sbatch options, as one string: --slurm-args '--partition=debug --time=10:00 --mem=2G'."
            | Task _ -> "run only point I of the sweep folder SPEC (what each Slurm array task runs)."
            | Max_Points _ ->
                "refuse a sweep of more points than this, >= 1 (default 10,000: a typo in a range should not start a million runs)."

/// `functional sweep`: its own options; every other option is a train option, kept as typed.
type SweepOptions =
    {
        /// A JSON spec file or a sweep folder; null = the command line alone.
        Spec: string | null
        /// null = from the spec file's name, else the swept options' names.
        Name: string | null
        /// The folder holding sweeps.
        Dir: string
        /// "local" | "slurm"
        Executor: string
        /// Points run at once by the local executor; 0 = cores / threads.
        Jobs: int
        /// BLAS threads per point; 0 = 1.
        Threads: int
        /// Extra sbatch options as one string; "" = none.
        SlurmArgs: string
        /// Run only this point of the sweep folder Spec; -1 = all.
        Task: int
        /// The most points a sweep may have.
        MaxPoints: int
        /// The train options, as typed: "--lr" "0.1,0.3" "--seed" "1..3" "--no-bias" ...
        TrainArgs: string[]
    }

module internal Sweep =
    let parse (r: ParseResults<SweepArgs>) (trainArgs: string list) (checks: Checks) =
        let jobs = r.GetResult(SweepArgs.Jobs, defaultValue = 0)
        let threads = r.GetResult(SweepArgs.Threads, defaultValue = 0)
        let task = r.GetResult(SweepArgs.Task, defaultValue = -1)
        checks.Require (jobs >= 0) "jobs" ">= 1" jobs
        checks.Require (threads >= 0) "threads" ">= 1" threads
        checks.Require (not (r.Contains SweepArgs.Task) || task >= 0) "task" ">= 0" task
        let maxPoints = r.GetResult(SweepArgs.Max_Points, defaultValue = 10_000)
        checks.Require (maxPoints >= 1) "max-points" ">= 1" maxPoints

        {
            Spec = r.TryGetResult SweepArgs.Spec |> toNull
            Name = r.TryGetResult SweepArgs.Name |> toNull
            Dir = r.GetResult(SweepArgs.Dir, defaultValue = "sweeps")
            Executor =
                match r.GetResult(SweepArgs.Executor, defaultValue = SweepExecutor.Local) with
                | SweepExecutor.Local -> "local"
                | SweepExecutor.Slurm -> "slurm"
            Jobs = jobs
            Threads = threads
            SlurmArgs = r.GetResult(SweepArgs.Slurm_Args, defaultValue = "")
            Task = task
            MaxPoints = maxPoints
            TrainArgs = Array.ofList trainArgs
        }
