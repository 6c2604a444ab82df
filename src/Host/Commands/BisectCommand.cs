using System.Diagnostics;
using System.Globalization;
using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional bisect RUN --until COND</c>: the first step at which COND holds, found without retraining. The
/// journal (or, for conditions on predictions, the checkpoints) narrows it to one interval; the steps of that
/// interval are then replayed, bit for bit, from the newest checkpoint before it, checking COND after each. The
/// step found is dumped with the one before (as replay --dump writes them), with the commands that look further.
/// </summary>
public static class BisectCommand
{
    public static int Run(BisectOptions o)
    {
        var clock = Stopwatch.StartNew();
        var log = Console.Out;
        var until = Until.Parse(o.Until);
        var run = RunFile.Read(o.Run);
        Threads.Choose(o.Threads > 0 ? o.Threads : run.Threads, run.Config.Batch);
        ReplayCommand.WarnIfEnvironmentDiffers(run);
        var (train, test) = run.LoadData(Console.Error);
        Inputs.CheckFits(train, run.Config);
        var images = Inputs.ToCore(train);
        int n = train.Count, batch = run.BatchSize(n);
        long lastStep = (long)Api.Data.StepsPerEpoch(n, batch) * run.Epochs;
        var journal = Journal.Steps(o.Run, Console.Error);
        var skipped = Journal.Skips(o.Run, TextWriter.Null);
        var probe = until.IsProbe ? Inputs.ToCore(Subset.First(test, Math.Min(o.Probe, test.Count))) : null;
        var names = run.Data?.ClassNames;
        // Accuracy below X counts once the run has been at X or above: every run starts below it.
        bool armed = until.Kind != "accuracy";

        // 1. Narrow the search to the steps (lo, hi].
        long lo, hi;
        string narrowed;
        int checkpointsRead = 0;
        var losses = new List<double>();
        if (until.IsNan)
        {
            // Training checks every step and writes no NaN into a checkpoint: the first bad step follows the newest.
            lo = Checkpoints.NewestValid(o.Run, run, long.MaxValue, TextWriter.Null)?.At.Step ?? 0;
            long interval = Math.Max(run.CheckpointEvery > 0 ? run.CheckpointEvery : Api.Data.StepsPerEpoch(n, batch), run.JournalEvery);
            hi = Math.Min(lastStep, lo + interval);
            narrowed = $"no checkpoint holds a NaN (training checks every step): after the newest valid one, step {lo}";
        }
        else if (until.IsProbe)
        {
            (lo, hi, checkpointsRead, armed) = ByCheckpoints(o, run, images, probe!, until, names);
            if (hi == 0 && lo == 0 && checkpointsRead < 0)
            {
                log.WriteLine($"bisect {o.Run} --until {until.Text}: holds at the start (step 0), before any step: {Evaluate(Checkpoints.Restore(run, images, null), probe!, until, names).where}");
                return ReturnCode.Ok;
            }
            narrowed = hi > 0
                ? $"{checkpointsRead} checkpoint(s) on {probe!.Count} probe images: first at the checkpoint of step {hi}, not at step {lo}"
                : $"no checkpoint shows it ({checkpointsRead} read on {probe!.Count} probe images): after the newest, step {lo}";
            if (hi == 0)
            {
                hi = Math.Min(lastStep, lo + Math.Max(run.CheckpointEvery > 0 ? run.CheckpointEvery : Api.Data.StepsPerEpoch(n, batch), 1));
            }
        }
        else
        {
            long before = 0, first = 0;
            // A run started --from another continues its parent's losses: a spike is measured against them too.
            losses = ParentLosses(run);
            foreach (var (step, s) in journal)
            {
                if (until.OfFigures(s.Loss, s.GradNorms, s.Dead, s.Saturation, losses) is { holds: true })
                {
                    first = step;
                    break;
                }
                before = step;
                losses.Add(s.Loss);
            }
            if (first == 0)
            {
                log.WriteLine($"bisect {o.Run} --until {until.Text}: no journaled step shows it ({journal.Count} step lines, every {run.JournalEvery} steps); nothing to replay");
                return ReturnCode.CheckFailed;
            }
            (lo, hi) = (before, first);
            narrowed = $"{journal.Count} journal lines: first at journaled step {first}, {(before > 0 ? $"not at journaled step {before}" : "the first journaled")}";
        }

        // 2. Replay the interval from the newest valid checkpoint at or before lo.
        var checkpoint = Checkpoints.NewestValid(o.Run, run, lo, TextWriter.Null);
        Trainer trainer;
        if (checkpoint == null && run.Parent is not null)
        {
            // A run started --from another: before its own first checkpoint, from the parent's.
            (trainer, checkpoint) = ParentRun.Start(run, images);
        }
        else
        {
            trainer = Checkpoints.Restore(run, images, checkpoint);
        }
        long from = trainer.StepCount;
        if (until.Kind == "spike")
        {
            losses = [.. ParentLosses(run).Concat(journal.Where(j => j.Key <= from).Select(j => j.Value.Loss)).TakeLast(Until.Window)];
        }
        var rewind = new Rewind(run, images, trainer);
        foreach (long s in skipped.Where(s => s > from))
        {
            rewind.Skipped(s);
        }
        log.WriteLine($"bisect {o.Run} --until {until.Text}: {narrowed}; replaying steps {from + 1}..{hi} (until it holds) from {(checkpoint == null ? "the start" : RunFolder.Shown(checkpoint.Path))}");
        long replayed = 0, found = 0;
        string where = "";
        int[] order = [];
        int epoch = -1, offset = 0, count = 0;
        for (long step = from + 1; step <= hi; step++)
        {
            replayed++;
            if (skipped.Contains(step))
            {
                trainer.Skip();
                continue;
            }
            var at = Api.Data.BatchOfStep(n, batch, step);
            if (at.Epoch != epoch)
            {
                epoch = at.Epoch;
                order = Api.Data.Permutation(run.Config.Seed, epoch, n);
            }
            (offset, count) = (at.Offset, at.Count);
            bool holds;
            if (until.IsNan)
            {
                var s = trainer.StepMeasured(order, offset, count);
                holds = !double.IsFinite(s.Loss) || !trainer.WeightsFinite()
                    || !s.GradNorms.Concat(s.UpdateRatios).All(double.IsFinite);
                if (holds)
                {
                    var after = trainer.State();
                    var (before, back) = rewind.To(step - 1);
                    replayed += back;
                    where = Divergence.InStep(before, after, run.Config, order, offset, count).Text;
                }
            }
            else if (until.IsProbe)
            {
                trainer.Step(order, offset, count);
                var e = Evaluate(trainer, probe!, until, names);
                armed |= until.Kind == "accuracy" && e.accuracy >= until.Value;
                (holds, where) = (armed && e.holds, e.where);
            }
            else
            {
                var s = trainer.StepMeasured(order, offset, count);
                (holds, where) = until.OfFigures(s.Loss, s.GradNorms, s.Dead, s.Saturation, losses)!.Value;
                losses.Add(s.Loss);
            }
            if (holds)
            {
                found = step;
                break;
            }
        }
        if (found == 0)
        {
            log.WriteLine($"not found: --until {until.Text} holds at none of steps {from + 1}..{hi} ({replayed} replayed, {clock.Elapsed.TotalSeconds:F1} s)");
            return ReturnCode.CheckFailed;
        }

        // 3. Report it, dump it and the step before.
        int[] examples = order[offset..(offset + count)];
        log.WriteLine($"first step where {until.Text} holds: step {found} (epoch {epoch + 1}, examples {offset}..{offset + count - 1} of the epoch)");
        log.WriteLine($"  batch (training-set indices): {string.Join(", ", examples.Take(16))}{(count > 16 ? $" and {count - 16} more" : "")}");
        log.WriteLine($"  where: {where}");
        string dumps = o.Dump ?? Path.Combine(o.Run, "bisect");
        foreach (long step in new[] { found - 1, found }.Where(s => s >= 1))
        {
            var (t, back) = rewind.To(step - 1);
            replayed += back;
            var b = Api.Data.BatchOfStep(n, batch, step);
            StepDump.Write(Path.Combine(dumps, $"step-{step}"), run, images, t, Api.Data.Permutation(run.Config.Seed, b.Epoch, n), b.Offset, b.Count, step, b.Epoch);
        }
        log.WriteLine($"  dumps: {Path.Combine(dumps, $"step-{found}")}{(found > 1 ? $" and {Path.Combine(dumps, $"step-{found - 1}")} (the step before)" : "")}, as replay --dump writes them");
        log.WriteLine("look further:");
        log.WriteLine($"  functional replay {o.Run} --step {found} --gradcheck --precision float64");
        log.WriteLine($"  functional drift {o.Run} --from {Math.Max(0, found - 1)} --steps {Math.Max(2, Math.Min(50, lastStep - found + 1))}");
        log.WriteLine($"  functional show --data {train.ImagesPath} --start {examples[0]} --count 1");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cost: {replayed} step(s) replayed from step {from}, {journal.Count} journal lines and {Math.Max(checkpointsRead, 0)} checkpoint(s) read, {clock.Elapsed.TotalSeconds:F1} s"));
        return ReturnCode.Ok;
    }

    /// <summary>The checkpoints in order, on the probe set: (the last step where the condition did not hold, the first
    /// checkpoint's step where it did or 0, checkpoints read or -1 when it holds at the start, armed).</summary>
    static (long lo, long hi, int read, bool armed) ByCheckpoints(BisectOptions o, RunFile run, Functional.Data.Images images,
        Functional.Data.Images probe, Until until, IReadOnlyList<string>? names)
    {
        bool armed = until.Kind != "accuracy";
        long lo = 0;
        int read = 0;
        // A run started --from another starts at its parent's checkpoint: an accuracy reached there arms the condition
        // (a condition already holding there is the parent's to bisect).
        var start = Evaluate(run.Parent is null ? Checkpoints.Restore(run, images, null) : ParentRun.Start(run, images).trainer, probe, until, names);
        armed |= until.Kind == "accuracy" && start.accuracy >= until.Value;
        if (run.Parent is null && armed && start.holds)
        {
            return (0, 0, -1, armed);
        }
        foreach (var (step, path) in Checkpoints.List(o.Run).OrderBy(c => c.step))
        {
            Checkpoint c;
            try
            {
                c = Checkpoints.Read(path, run);
            }
            catch (DataError)
            {
                continue; // a damaged checkpoint narrows nothing; the replay starts from a valid one
            }
            read++;
            var e = Evaluate(Api.Training.RestoreTrainer(run.Config, images, c.State, step), probe, until, names);
            armed |= until.Kind == "accuracy" && e.accuracy >= until.Value;
            if (armed && e.holds)
            {
                return (lo, step, read, armed);
            }
            lo = step;
        }
        return (lo, 0, read, armed);
    }

    /// <summary>The journaled losses of the parent run up to the step this run started from (none without a parent).</summary>
    static List<double> ParentLosses(RunFile run) => run.Parent is { } p && Directory.Exists(p.Run)
        ? [.. Journal.Steps(p.Run, TextWriter.Null).Where(j => j.Key <= p.Step).Select(j => j.Value.Loss)]
        : [];

    static (bool holds, string where, double accuracy) Evaluate(Trainer t, Functional.Data.Images probe, Until until, IReadOnlyList<string>? names)
    {
        var e = t.Model.Evaluate(probe);
        var (holds, where) = until.OfProbe(e.Predictions, e.Accuracy, names);
        return (holds, where, e.Accuracy);
    }
}
