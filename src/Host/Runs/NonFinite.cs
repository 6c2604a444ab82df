using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// train --on-nonfinite: what a step that would put a NaN or an infinity into the weights does. "stop" (0 skips
/// allowed) keeps the state before that step as a checkpoint and stops; "skip:K" leaves the step out (its batch
/// is dropped, the journal says so) and goes on, until K steps were skipped.
/// </summary>
public static class NonFinitePolicy
{
    public const int DefaultSkips = 10;

    /// <summary>The skips allowed: 0 for "stop", K for "skip:K" ("skip" alone: <see cref="DefaultSkips"/>).</summary>
    public static int Parse(string text, Func<string, Exception> refuse)
    {
        if (text == "stop")
        {
            return 0;
        }
        if (text == "skip")
        {
            return DefaultSkips;
        }
        if (text.StartsWith("skip:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k > 0)
        {
            return k;
        }
        throw refuse($"'{text}': expected stop, skip or skip:K with K a positive whole number (the skips allowed before it stops)");
    }

    public static string Text(int skips) => skips == 0 ? "stop" : $"skip:{skips}";
}

/// <summary>
/// The way back from a step that went non-finite. Every step's weights are checked (one vectorised pass), so the
/// bad step is known exactly; the state before it is rebuilt by replaying from the last good state the loop holds
/// (its start or its newest checkpoint, in memory), which costs at most one checkpoint interval, and only then.
/// </summary>
public sealed class Rewind
{
    readonly RunFile run;
    readonly Functional.Data.Images train;
    NamedArray[] goodState;
    long goodStep;
    readonly SortedSet<long> skipped = [];

    public Rewind(RunFile run, Functional.Data.Images train, Trainer trainer)
    {
        this.run = run;
        this.train = train;
        goodState = trainer.State();
        goodStep = trainer.StepCount;
    }

    /// <summary>A checkpoint's state, checked finite: the new start of any rewind.</summary>
    public void Good(NamedArray[] state, long step)
    {
        goodState = state;
        goodStep = step;
        skipped.RemoveWhere(s => s <= step);
    }

    public void Skipped(long step) => skipped.Add(step);

    /// <summary>A trainer in the state after step <paramref name="step"/> (at least the last good state's step),
    /// replayed from the last good state as the loop took the steps, skips included; and the steps replayed.</summary>
    public (Trainer trainer, long replayed) To(long step)
    {
        var t = Api.Training.RestoreTrainer(run.Config, train, goodState, goodStep);
        long replayed = Replay.Steps(run, train, t, step, skipped);
        return (t, replayed);
    }
}

/// <summary>Steps a trainer on as the run took its steps: the batch each step number names, skipped steps left out.</summary>
public static class Replay
{
    /// <summary>Takes the steps after the trainer's own up to <paramref name="until"/>; returns how many were taken.</summary>
    public static long Steps(RunFile run, Functional.Data.Images train, Trainer t, long until, IReadOnlySet<long> skipped)
    {
        // StepReplay without a journal: the same batches and skips as replay and verify take.
        var steps = new StepReplay(run, train.Count, t, NoJournal, skipped);
        long from = t.StepCount;
        for (long s = from + 1; s <= until; s++)
        {
            steps.Take(s);
        }
        return Math.Max(0, until - from);
    }

    static readonly IReadOnlyDictionary<long, JournalStep> NoJournal = new Dictionary<long, JournalStep>();
}
