using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>The run and step a run started from (<c>train --from RUN@STEP</c>); run.json's "parent".</summary>
public sealed record ParentRef(string Run, long Step);

/// <summary>
/// A run started from another run's checkpoint: its steps 1..S are the parent's, its own start at S + 1 with its
/// own settings. The weights always carry over (the shapes must match); the optimiser's moments carry over when
/// the optimiser is of the same kind (sgd, momentum, adam), whatever its rate, schedule, clipping or L2, and start
/// at zero for another kind. The update count goes on from S either way (Adam's bias correction is a function of it).
/// </summary>
public static class ParentRun
{
    /// <summary>Reads <c>RUN</c> or <c>RUN@STEP</c>.</summary>
    public static (string run, long? step) ParseFrom(string text)
    {
        int at = text.LastIndexOf('@');
        if (at > 0 && long.TryParse(text[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out long step))
        {
            return (text[..at], step);
        }
        if (at > 0 && !Directory.Exists(text))
        {
            throw new UsageError($"--from {text}: '{text[(at + 1)..]}' is not a step number (RUN or RUN@STEP, e.g. runs/a@500)");
        }
        return (text, null);
    }

    /// <summary>The parent's checkpoint at <paramref name="step"/> (or its newest valid one), verified against the
    /// parent's own run.json.</summary>
    public static Checkpoint CheckpointOf(string parentDir, RunFile parent, long? step)
    {
        if (step is long s)
        {
            string path = Checkpoints.PathFor(parentDir, s);
            if (!File.Exists(path))
            {
                var steps = Checkpoints.List(parentDir).Select(c => c.step).OrderBy(x => x).ToList();
                throw new UsageError(steps.Count == 0
                    ? $"--from {parentDir}@{s}: the run has no checkpoints"
                    : $"--from {parentDir}@{s}: no checkpoint at step {s}; the run has checkpoints at steps {string.Join(", ", steps)}");
            }
            return Checkpoints.Read(path, parent);
        }
        return Checkpoints.NewestValid(parentDir, parent, long.MaxValue, Console.Error)
            ?? throw new UsageError($"--from {parentDir}: the run has no valid checkpoint to start from");
    }

    /// <summary>True when the child keeps the parent's optimiser state (an optimiser of the same kind).</summary>
    public static bool KeepsOptimizer(Config parent, Config child) =>
        Api.Training.ConfigFields(parent).First(f => f.Key == "optimizer").Value == Api.Training.ConfigFields(child).First(f => f.Key == "optimizer").Value;

    /// <summary>The state the child starts from: the checkpoint's weights, and its moments when kept. A network of
    /// other shapes is refused in one line.</summary>
    public static NamedArray[] StartState(Checkpoint checkpoint, RunFile parent, Config child)
    {
        if (Api.Models.TensorsProblem(child.Arch, checkpoint.State, "") is { } problem)
        {
            throw new UsageError($"{checkpoint.Path} cannot start this network: {problem}; --from keeps the parent's shapes (its --arch or --layers)");
        }
        return KeepsOptimizer(parent.Config, child)
            ? checkpoint.State
            : checkpoint.State.Where(t => !t.Name.StartsWith("optimizer.", StringComparison.Ordinal)).ToArray();
    }

    /// <summary>A child run's trainer at its start (step S, the parent's checkpoint), for resume and replay when the
    /// child has no checkpoint of its own yet; also returns that checkpoint (its hash is the child's first parent).</summary>
    public static (Trainer trainer, Checkpoint checkpoint) Start(RunFile child, Functional.Data.Images train)
    {
        var p = child.Parent ?? throw new InvalidOperationException("not a child run");
        var parent = RunFile.Read(p.Run);
        var checkpoint = CheckpointOf(p.Run, parent, p.Step);
        var state = StartState(checkpoint, parent, child.Config);
        try
        {
            return (Api.Training.RestoreTrainer(child.Config, train, state, p.Step), checkpoint);
        }
        catch (ArgumentException e)
        {
            throw new DataError(checkpoint.Path, e.Message);
        }
    }
}
