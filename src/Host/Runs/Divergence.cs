using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// Stopping a run whose numbers left the finite range. The fast path checks only the loss, every step (one
/// comparison); the weights are checked where they are already copied out, before each checkpoint, so a
/// checkpoint never holds a NaN or an infinity. On a stop the first bad tensor is named (weights, then the
/// optimiser's moments, then the gradients of the step's batch) and the last good checkpoint is left as it is.
/// </summary>
public static class Divergence
{
    /// <summary>The name of the first tensor holding a NaN or an infinity, or null when all are finite.</summary>
    public static string? FirstNonFinite(IEnumerable<NamedArray> tensors)
    {
        foreach (var t in tensors)
        {
            bool finite = t.Float32 is { } f
                ? Array.TrueForAll(f, float.IsFinite)
                : t.Float64 is not { } d || Array.TrueForAll(d, double.IsFinite);
            if (!finite)
            {
                return t.Name;
            }
        }
        return null;
    }

    /// <summary>The first layer whose figure (a gradient norm, from a journaled step) is not finite, or null.</summary>
    public static int? FirstNonFiniteLayer(double[] perLayer)
    {
        int i = Array.FindIndex(perLayer, x => !double.IsFinite(x));
        return i >= 0 ? i : null;
    }

    /// <summary>Names what went wrong: the first non-finite weight, moment or gradient (on the step's batch).</summary>
    public static string Culprit(Trainer trainer, int[] order, int offset, int count)
    {
        if (FirstNonFinite(trainer.State()) is { } name)
        {
            return name.StartsWith("optimizer.", StringComparison.Ordinal)
                ? $"the optimiser state {name} holds NaN or infinity"
                : $"{LayerOf(name)}'s {name} holds NaN or infinity";
        }
        try
        {
            if (FirstNonFinite(trainer.Gradients(order, offset, count)) is { } grad)
            {
                return $"the gradient of {LayerOf(grad)}'s {grad} is NaN or infinite";
            }
        }
        catch (ArgumentException)
        {
            // A diagnosis only: the stop matters more.
        }
        return "the weights are finite, the loss overflowed (outputs saturated)";
    }

    static string LayerOf(string name)
    {
        string[] parts = name.Split('.');
        int i = Array.IndexOf(parts, "layers");
        return i >= 0 && i + 1 < parts.Length && int.TryParse(parts[i + 1], CultureInfo.InvariantCulture, out int l) ? Api.LayerName(l) : name;
    }

    /// <summary>Prints the stop (three lines on stderr) and returns <see cref="ReturnCode.Diverged"/>.</summary>
    public static int Stop(string dir, RunFile run, long step, int epoch, string what, string culprit, long lastCheckpoint)
    {
        Console.Out.Flush();
        var err = Console.Error;
        err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"functional: training stopped at step {step} (epoch {epoch + 1}): {what}; {culprit}. The learning rate {run.Config.Lr} is probably too high for {run.Config.OptimizerName}."));
        string kept = lastCheckpoint > 0 && File.Exists(Checkpoints.PathFor(dir, lastCheckpoint))
            ? $"the last good checkpoint {Checkpoints.PathFor(dir, lastCheckpoint)} (step {lastCheckpoint}) is kept; the bad state was not written"
            : "no checkpoint was written (the bad state was not saved)";
        err.WriteLine(kept);
        err.WriteLine($"see where it went wrong with: functional replay {dir} --step {step} --gradcheck");
        err.WriteLine("or check the configuration for the usual causes (too high a rate, saturated units) with: functional doctor <the same options>");
        return ReturnCode.Diverged;
    }
}
