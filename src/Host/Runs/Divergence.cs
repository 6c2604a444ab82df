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

    /// <summary>Where a step first goes non-finite, looked at from the state before it: the forward pass layer by
    /// layer (naming the example), then the loss, then the gradients in backward order (the last layer's first), then
    /// the update (<paramref name="after"/>: the state the step left, when known). Tensor is "" when every value is finite.</summary>
    public static (string Tensor, string Text) InStep(Trainer before, NamedArray[]? after, Config config, int[] order, int offset, int count)
    {
        foreach (var t in before.Activations(order, offset, count))
        {
            if (FirstIndex(t) is int i and >= 0)
            {
                int perExample = t.Shape.Skip(1).Aggregate(1, (a, b) => a * b);
                string kind = t.Name.EndsWith(".preactivation", StringComparison.Ordinal) ? "pre-activation" : "output";
                return (t.Name, Inv($"{LayerOf(t.Name)}'s {kind} ({t.Name}) is {ValueAt(t, i)} on example {order[offset + i / perExample]} (the forward pass)"));
            }
        }
        var (loss, grads) = before.StepGradients(order, offset, count);
        if (!double.IsFinite(loss))
        {
            string l2 = config.L2 > 0 ? " (its L2 term is finite: the weights are)" : "";
            return ("loss", Inv($"the {config.LossName} loss of finite outputs is {loss}{l2}"));
        }
        foreach (var g in grads.Reverse().GroupBy(g => LayerIndex(g.Name)).SelectMany(layer => layer.Reverse()))
        {
            if (FirstIndex(g) >= 0)
            {
                return (g.Name, $"the gradient of {LayerOf(g.Name)}'s {g.Name} is {ValueAt(g, FirstIndex(g))} (the backward pass; the loss {Inv($"{loss:R}")} is finite)");
            }
        }
        if (after != null && FirstNonFinite(after) is { } w)
        {
            return (w, $"the update made {w} non-finite: finite gradients times the learning rate {Inv($"{config.Lr}")} overflowed");
        }
        // What is left of a bad step: its figures, measured in the run's precision, overflow although its values do not.
        return ("", "every value of the step is finite, but its gradient norm or update ratio overflows the precision (the weights are near its limit)");
    }

    /// <summary>The index of the first NaN or infinity of a tensor, -1 when all are finite.</summary>
    static int FirstIndex(NamedArray t) => t.Float32 is { } f
        ? Array.FindIndex(f, x => !float.IsFinite(x))
        : t.Float64 is { } d ? Array.FindIndex(d, x => !double.IsFinite(x)) : -1;

    static string ValueAt(NamedArray t, int i) => t.Float32 is { } f ? Inv($"{f[i]}") : Inv($"{t.Float64[i]}");

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static int LayerIndex(string name)
    {
        string[] parts = name.Split('.');
        int i = Array.IndexOf(parts, "layers");
        return i >= 0 && i + 1 < parts.Length && int.TryParse(parts[i + 1], CultureInfo.InvariantCulture, out int l) ? l : -1;
    }

    static string LayerOf(string name)
    {
        string[] parts = name.Split('.');
        int i = Array.IndexOf(parts, "layers");
        return i >= 0 && i + 1 < parts.Length && int.TryParse(parts[i + 1], CultureInfo.InvariantCulture, out int l) ? Api.Display.LayerName(l) : name;
    }

    /// <summary>Prints the stop (three lines on stderr) and returns <see cref="ReturnCode.Diverged"/>.</summary>
    public static int Stop(string dir, RunFile run, long step, int epoch, string what, string culprit, long lastCheckpoint)
    {
        Console.Out.Flush();
        var err = Console.Error;
        err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"functional: training stopped at step {step} (epoch {epoch + 1}): {what}; {culprit}. The learning rate {run.Config.Lr} is probably too high for {run.Config.OptimizerName}."));
        string kept = lastCheckpoint > 0 && File.Exists(Checkpoints.PathFor(dir, lastCheckpoint))
            ? $"the last good state is kept as {Checkpoints.PathFor(dir, lastCheckpoint)} (step {lastCheckpoint}); nothing after it was written"
            : "no checkpoint was written (the bad state was not saved)";
        err.WriteLine(kept);
        err.WriteLine($"see where it went wrong with: functional replay {dir} --step {step} --gradcheck");
        err.WriteLine("or check the configuration for the usual causes (too high a rate, saturated units) with: functional doctor <the same options>");
        return ReturnCode.Diverged;
    }
}
