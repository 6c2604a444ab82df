using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional verify RUN</c>: a certificate that a run reproduces on this machine. Every checkpoint interval is
/// replayed from the checkpoint that opens it (the first from the seed, or a --from run's parent checkpoint), with the
/// run's own kernels and threads, each journaled step compared as replay compares it (StepReplay) and the state at
/// the interval's end compared with the checkpoint that closes it (weights and optimiser moments, by tensor hash).
/// Each interval starts from its checkpoint, as resume does, so a difference is placed in the interval that makes
/// it. Exit 0 when every interval reproduces, 1 (CheckFailed) at the first that does not.
/// </summary>
public static class VerifyCommand
{
    /// <summary>One interval's steps (From, To]: To is a checkpoint's step, or the last journaled step after the newest.</summary>
    sealed record Interval(int Number, long From, long To, bool ClosedByCheckpoint);

    /// <summary>What came out otherwise: the step, what differs, and the file it was compared with.</summary>
    sealed record Difference(Interval Interval, long Step, string What);

    public static int Run(VerifyOptions o)
    {
        var clock = Stopwatch.StartNew();
        var run = RunFile.Read(o.Run);
        Threads.Choose(run.Threads, run.Config.Batch);
        // The training part must be the run's bytes (LoadData refuses otherwise): every step depends on them.
        var (train, _) = run.LoadData(Console.Error);
        Inputs.CheckFits(train, run.Config);
        var images = Inputs.ToCore(train);
        int n = train.Count;
        var (journal, skipped, intervals) = Plan(o.Run, run, n);
        long total = intervals[^1].To - intervals[0].From;

        Difference? difference = null;
        int reproduced = 0, checkpoints = 0, journaled = 0;
        long replayed = 0;
        using (var progress = Progress.Start("verify", intervals[^1].To, show: !o.Json, done: intervals[0].From))
        {
            foreach (var interval in intervals)
            {
                var trainer = Start(o.Run, run, images, interval.From);
                var steps = new StepReplay(run, n, trainer, journal, skipped);
                for (long step = interval.From + 1; step <= interval.To && difference == null; step++)
                {
                    progress.Advance(step - 1, $"verify interval {interval.Number} of {intervals.Count}, step {step:N0}");
                    replayed++;
                    if (steps.Take(step) is { } m)
                    {
                        difference = new(interval, step, Inv($"journaled step {step}: weights hash {Short(trainer.WeightsHash())} and loss {m.Measured.Loss:R}, the journal's {Short(m.Expected.WeightsHash)} and {m.Expected.Loss:R}"));
                    }
                }
                journaled += steps.Checked;
                if (difference == null && interval.ClosedByCheckpoint)
                {
                    difference = AgainstCheckpoint(o.Run, run, interval, trainer);
                    checkpoints++;
                }
                if (difference != null)
                {
                    break;
                }
                reproduced++;
            }
        }

        var machine = Machine(run);
        if (o.Json)
        {
            Console.Out.WriteLine(Json(o.Run, run, intervals.Count, reproduced, difference, machine, replayed, journaled, checkpoints, clock.Elapsed.TotalSeconds).ToJsonString());
            return difference == null ? ReturnCode.Ok : ReturnCode.CheckFailed;
        }
        var log = Console.Out;
        log.WriteLine($"verify {o.Run}: {intervals.Count} interval(s), steps {intervals[0].From + 1}..{intervals[^1].To}, replayed with {(Api.Performance.BlasCore() is { Length: > 0 } core ? $"OpenBLAS's {core} kernels" : "the managed provider")} and {Threads.Current} thread(s)");
        string cost = Inv($"{replayed:N0} of {total:N0} steps replayed, {journaled} journaled step(s) and {checkpoints} checkpoint(s) compared, {clock.Elapsed.TotalSeconds:F1} s");
        if (difference == null)
        {
            log.WriteLine($"reproduces bit for bit on this machine: {reproduced} of {intervals.Count} intervals ({cost})");
            return ReturnCode.Ok;
        }
        var d = difference;
        log.WriteLine($"differs on this machine at interval {d.Interval.Number} of {intervals.Count} (steps {d.Interval.From + 1}..{d.Interval.To}){(reproduced > 0 ? $"; the {reproduced} before it reproduce bit for bit" : "")}");
        log.WriteLine($"  first difference: {d.What}");
        log.WriteLine($"  run vs this machine: {string.Join("; ", machine.Select(f => $"{f.name} {f.recorded}{(f.same ? " (same)" : $" vs {f.now}")}"))}");
        log.WriteLine($"  likely reason: {Reason(run, machine, d)}");
        log.WriteLine($"  look further: functional replay {o.Run} --step {d.Step}");
        log.WriteLine($"  ({cost})");
        return ReturnCode.CheckFailed;
    }

    /// <summary>The journal, the skipped steps and the intervals; a run that cannot be verified is refused in one line.</summary>
    static (SortedDictionary<long, JournalStep> journal, SortedSet<long> skipped, List<Interval> intervals) Plan(string dir, RunFile run, int n)
    {
        string journalPath = Path.Combine(dir, Journal.FileName);
        var steps = Checkpoints.List(dir).Select(c => c.step).OrderBy(s => s).ToList();
        long start = run.Parent?.Step ?? 0;
        steps.RemoveAll(s => s <= start);
        if (steps.Count == 0)
        {
            throw new DataError(Path.Combine(dir, Checkpoints.Folder), "the run has no checkpoints: no interval to verify (train writes one at every epoch's end)");
        }
        if (!File.Exists(journalPath))
        {
            throw new DataError(journalPath, "file not found: the run has no journal to compare its steps with");
        }
        var warnings = new StringWriter();
        var journal = Journal.Steps(dir, warnings);
        var skipped = Journal.Skips(dir, TextWriter.Null);
        // Training journals every step it checkpoints at, but for a checkpoint written on a stop or an interrupt off
        // the cadence: a checkpoint of a cadence step without its line means the journal lost its tail (or a line).
        long lastLine = journal.Count == 0 ? start : journal.Keys.Max();
        foreach (long s in steps.Where(s => Cadence(run, n, s) && !journal.ContainsKey(s) && !skipped.Contains(s)))
        {
            string torn = warnings.ToString().Contains("torn", StringComparison.Ordinal) ? ", its last line torn" : "";
            throw new DataError(journalPath, s > lastLine
                ? $"ends at step {lastLine}{torn}, but the run checkpointed at step {s}: it is truncated, and the steps after it cannot be compared"
                : $"has no line for step {s}, where the run checkpointed: lines were removed, and the steps cannot all be compared");
        }
        Console.Error.Write(warnings.ToString());
        var intervals = new List<Interval>();
        long from = start;
        foreach (long s in steps)
        {
            intervals.Add(new(intervals.Count + 1, from, s, true));
            from = s;
        }
        // A run killed between checkpoints journaled steps that no checkpoint closes: they are compared too.
        if (lastLine > from)
        {
            intervals.Add(new(intervals.Count + 1, from, lastLine, false));
        }
        return (journal, skipped, intervals);
    }

    /// <summary>Whether training journals step <paramref name="step"/> in any case: the journal's and the checkpoints'
    /// cadence, and every epoch's last step.</summary>
    static bool Cadence(RunFile run, int n, long step)
    {
        var at = Api.Data.BatchOfStep(n, run.BatchSize(n), step);
        return at.Offset + at.Count >= n || (run.CheckpointEvery > 0 && step % run.CheckpointEvery == 0)
            || (run.JournalEvery > 0 && step % run.JournalEvery == 0);
    }

    /// <summary>A trainer at the interval's start: the seed's weights, a --from run's parent checkpoint, or the checkpoint.</summary>
    static Trainer Start(string dir, RunFile run, Functional.Data.Images images, long step)
    {
        if (step == (run.Parent?.Step ?? 0))
        {
            return run.Parent is null ? Checkpoints.Restore(run, images, null) : ParentRun.Start(run, images).trainer;
        }
        return Checkpoints.Restore(run, images, Checkpoints.Read(Checkpoints.PathFor(dir, step), run));
    }

    /// <summary>The replayed state against the checkpoint closing the interval (null: the same bits).</summary>
    static Difference? AgainstCheckpoint(string dir, RunFile run, Interval interval, Trainer trainer)
    {
        string path = Checkpoints.PathFor(dir, interval.To);
        Checkpoint c;
        try
        {
            c = Checkpoints.Read(path, run);
        }
        catch (DataError e)
        {
            return new(interval, interval.To, $"the checkpoint of step {interval.To} does not verify: {e.Message}");
        }
        string replayed = Safetensors.TensorHash(ModelFile.ToSafetensors(trainer.State()));
        return replayed == c.TensorHash
            ? null
            : new(interval, interval.To, $"the state after step {interval.To} (weights and optimiser moments) hashes to {Short(replayed)}, {RunFolder.Shown(path)} to {Short(c.TensorHash)}");
    }

    /// <summary>What the run recorded of the machine and code against what this process has.</summary>
    static List<(string name, string recorded, string now, bool same)> Machine(RunFile run)
    {
        var list = new List<(string, string, string, bool)>();
        void Add(string name, string? recorded, string now) =>
            list.Add((name, recorded ?? "not recorded", now, recorded == null || string.Equals(recorded, now, StringComparison.OrdinalIgnoreCase)));
        Add("kernels", run.BlasCore, Api.Performance.BlasCore() is { Length: > 0 } core ? core : "none (managed)");
        Add("BLAS", run.Backend, Api.Performance.BlasBackend());
        Add("threads", run.Threads.ToString(CultureInfo.InvariantCulture), Threads.Current.ToString(CultureInfo.InvariantCulture));
        // Shown to the commit's first 12 digits; compared whole.
        list.Add(("code", Commit(run.CodeVersion), Commit(RunFolder.CodeVersion), run.CodeVersion == RunFolder.CodeVersion));
        Add("CPU", run.Cpu, Kernels.CpuModel());
        // Checked before any step (LoadData refuses other bytes): named so that the list is the whole record.
        Add("training data sha256", run.TrainImages.Sha256[..12] + "…", run.TrainImages.Sha256[..12] + "…");
        Add("precision", run.Config.PrecisionName, run.Config.PrecisionName);
        return list;
    }

    /// <summary>The likeliest cause: the first recorded fact of the arithmetic that differs, else a changed file.</summary>
    static string Reason(RunFile run, List<(string name, string recorded, string now, bool same)> machine, Difference d)
    {
        var differs = machine.Where(f => !f.same && f.name != "CPU").ToList();
        if (differs.FirstOrDefault(f => f.name is "kernels" or "BLAS") is { name: not null } k)
        {
            return $"the BLAS differs ({k.name}: the run's {k.recorded}, here {k.now}): other kernels round matrix products otherwise, and {run.Config.PrecisionName} shows it in the last bits within a step";
        }
        if (differs.FirstOrDefault(f => f.name == "threads") is { name: not null } t)
        {
            return $"the run used {t.recorded} thread(s), this machine {t.now}: matrix products split into other blocks add in another order";
        }
        if (differs.FirstOrDefault(f => f.name == "code") is { name: not null } c)
        {
            return $"the run was made by functional {c.recorded}, this is {c.now}: the arithmetic of a step may have changed";
        }
        return d.What.Contains("does not verify", StringComparison.Ordinal)
            ? "the checkpoint file was changed or damaged after the run wrote it"
            : "the kernels, threads, code and training data are the run's: a checkpoint or the journal was changed after the run wrote it";
    }

    static JsonObject Json(string dir, RunFile run, int intervals, int reproduced, Difference? d,
        List<(string name, string recorded, string now, bool same)> machine, long replayed, int journaled, int checkpoints, double seconds)
    {
        var m = new JsonObject();
        foreach (var (name, recorded, now, same) in machine)
        {
            m[name] = new JsonObject { ["run"] = recorded, ["now"] = now, ["same"] = same };
        }
        return new JsonObject
        {
            ["command"] = "verify",
            ["run"] = dir,
            ["reproduces"] = d == null,
            ["intervals"] = intervals,
            ["reproduced"] = reproduced,
            ["first_difference"] = d == null ? null : new JsonObject
            {
                ["interval"] = d.Interval.Number,
                ["from_step"] = d.Interval.From + 1,
                ["to_step"] = d.Interval.To,
                ["step"] = d.Step,
                ["what"] = d.What,
                ["likely_reason"] = Reason(run, machine, d),
            },
            ["machine"] = m,
            ["steps_replayed"] = replayed,
            ["journaled_steps_compared"] = journaled,
            ["checkpoints_compared"] = checkpoints,
            ["seconds"] = Math.Round(seconds, 2),
        };
    }

    static string Commit(string version) => version.IndexOf('+', StringComparison.Ordinal) is int plus and > 0 && version.Length > plus + 13
        ? version[..(plus + 13)]
        : version;

    static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
