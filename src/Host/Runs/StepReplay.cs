namespace Functional.Host.Runs;

/// <summary>One journaled step that came out otherwise than the journal says: what the replay measured, and the line.</summary>
public sealed record StepMismatch(long Step, StepSummary Measured, JournalStep Expected);

/// <summary>
/// A run's steps taken again one at a time, as training took them: the batch each step number names, the steps
/// train --on-nonfinite skip left out skipped again, and every journaled step's weights hash and loss compared bit for
/// bit with its line. What replay and verify share, so that both mean the same by "reproduces".
/// </summary>
public sealed class StepReplay(RunFile run, int examples, Trainer trainer, IReadOnlyDictionary<long, JournalStep> journal, IReadOnlySet<long> skipped)
{
    readonly int batch = run.BatchSize(examples);
    int epoch = -1;
    int[] order = [];

    public Trainer Trainer { get; } = trainer;

    /// <summary>Journaled steps compared and found equal.</summary>
    public int Checked { get; private set; }

    /// <summary>The last of them (0: none yet).</summary>
    public long LastChecked { get; private set; }

    /// <summary>The batch of step <paramref name="step"/>: the epoch's order, where the batch starts in it, its size.</summary>
    public (int[] order, int offset, int count, int epoch) Batch(long step)
    {
        var at = Api.Data.BatchOfStep(examples, batch, step);
        if (at.Epoch != epoch)
        {
            epoch = at.Epoch;
            order = Api.Data.Permutation(run.Config.Seed, epoch, examples);
        }
        return (order, at.Offset, at.Count, at.Epoch);
    }

    /// <summary>Takes step <paramref name="step"/> (the trainer's next); null when it has no journal line or matches it.</summary>
    public StepMismatch? Take(long step)
    {
        if (skipped.Contains(step))
        {
            Trainer.Skip();
            return null;
        }
        var (o, offset, count, _) = Batch(step);
        if (!journal.TryGetValue(step, out var expected))
        {
            Trainer.Step(o, offset, count);
            return null;
        }
        var s = Trainer.StepMeasured(o, offset, count);
        if (Trainer.WeightsHash() != expected.WeightsHash || BitConverter.DoubleToInt64Bits(s.Loss) != BitConverter.DoubleToInt64Bits(expected.Loss))
        {
            return new StepMismatch(step, s, expected);
        }
        Checked++;
        LastChecked = step;
        return null;
    }
}
