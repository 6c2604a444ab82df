using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// bisect's condition (--until): what must hold at the step it looks for. Journal conditions (loss, gradient
/// norms, dead or saturated units) are read from journal lines first and from each replayed step's measured figures
/// after; probe conditions (collapse, accuracy) are measured on a fixed probe set, on checkpoints first and after
/// each replayed step after; nan is every step's loss, norms and weights.
/// </summary>
public sealed record Until(string Kind, double Value, string Text)
{
    /// <summary>Previous losses a spike is measured against (their median).</summary>
    public const int Window = 25;

    /// <summary>A spike needs this many previous losses before it can be told from the start's noise.</summary>
    const int MinimumHistory = 5;

    public bool IsProbe => Kind is "collapse" or "accuracy";

    public bool IsNan => Kind == "nan";

    public static Until Parse(string text)
    {
        static double Number(string s, string text) =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v
                : throw new UsageError($"--until {text}: '{s}' is not a number");
        string t = text.Trim();
        if (t == "nan" || t == "collapse")
        {
            return new(t, 0, t);
        }
        if (t == "spike" || t.StartsWith("spike:", StringComparison.Ordinal))
        {
            double f = t == "spike" ? 3 : Number(t[6..], text);
            return f > 1 ? new("spike", f, t) : throw new UsageError($"--until {text}: the spike factor must be above 1");
        }
        if (t.StartsWith("dead:", StringComparison.Ordinal))
        {
            double p = Number(t[5..], text);
            return p is >= 0 and < 1 ? new("dead", p, t) : throw new UsageError($"--until {text}: P is a share, 0 <= P < 1");
        }
        foreach (var (prefix, kind) in new[] { ("accuracy<", "accuracy"), ("loss>", "loss"), ("grad>", "grad") })
        {
            if (t.StartsWith(prefix, StringComparison.Ordinal))
            {
                double v = Number(t[prefix.Length..], text);
                return kind == "accuracy" && v is <= 0 or > 1
                    ? throw new UsageError($"--until {text}: the accuracy is a fraction, 0 < X <= 1")
                    : new(kind, v, t);
            }
        }
        throw new UsageError($"--until {text}: expected nan, spike[:FACTOR], collapse, dead:P, accuracy<X, loss>V or grad>V");
    }

    /// <summary>Whether the condition holds at a step of these figures (the loss and norms of its batch before its
    /// update, as the journal has them), with what shows it; null: not a figure-based condition.</summary>
    public (bool holds, string where)? OfFigures(double loss, double[] gradNorms, double[] dead, double[] saturation, IReadOnlyList<double> previousLosses)
    {
        switch (Kind)
        {
            case "loss":
                return (loss > Value, Inv($"the loss {loss:G6} is above {Value:G6}; {Largest(gradNorms)}"));
            case "grad":
                double norm = Math.Sqrt(gradNorms.Sum(g => g * g));
                return (norm > Value, Inv($"the gradient norm {norm:G6} is above {Value:G6}; {Largest(gradNorms)}"));
            case "spike":
                if (previousLosses.Count < MinimumHistory)
                {
                    return (false, "");
                }
                double median = Median(previousLosses.Skip(Math.Max(0, previousLosses.Count - Window)).ToArray());
                return (loss > Value * median, Inv($"the loss {loss:G6} is {loss / median:F1} times the median {median:G6} of the {Math.Min(Window, previousLosses.Count)} losses before; {Largest(gradNorms)}"));
            case "dead":
                for (int l = 0; l < Math.Max(dead.Length, saturation.Length); l++)
                {
                    double d = l < dead.Length ? dead[l] : double.NaN, s = l < saturation.Length ? saturation[l] : double.NaN;
                    if (d > Value || s > Value)
                    {
                        return (true, Inv($"{Api.Display.LayerName(l)}: {(d > Value ? $"{100 * d:F1}% of its ReLU units are dead" : $"{100 * s:F1}% of its units are saturated")} on the step's batch (above {100 * Value:F1}%)"));
                    }
                }
                return (false, "");
            default:
                return null;
        }
    }

    /// <summary>The condition on the probe set's predictions (collapse, accuracy).</summary>
    public (bool holds, string where) OfProbe(int[] predicted, double accuracy, IReadOnlyList<string>? classNames)
    {
        if (Kind == "collapse")
        {
            bool one = predicted.Length > 0 && predicted.All(p => p == predicted[0]);
            string name = predicted.Length == 0 ? "" : classNames is { } n && predicted[0] < n.Count ? n[predicted[0]] : predicted[0].ToString(CultureInfo.InvariantCulture);
            return (one, Inv($"every one of the {predicted.Length} probe images is called {name} (probe accuracy {100 * accuracy:F2}%)"));
        }
        return (accuracy < Value, Inv($"the probe accuracy {100 * accuracy:F2}% is below {100 * Value:F2}%"));
    }

    static string Largest(double[] norms)
    {
        if (norms.Length == 0)
        {
            return "no gradient norms";
        }
        int l = Array.IndexOf(norms, norms.Max());
        return Inv($"the largest gradient norm is {Api.Display.LayerName(l)}'s, {norms[l]:G6}");
    }

    static double Median(double[] xs)
    {
        Array.Sort(xs);
        int n = xs.Length;
        return n % 2 == 1 ? xs[n / 2] : (xs[(n / 2) - 1] + xs[n / 2]) / 2;
    }

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
