using System.Text;
using Functional.Host.Runs;

namespace Functional.Host.Report;

/// <summary>Each layer's weights as a histogram: the model's, over the run's oldest checkpoint's on the same bins, so
/// the page shows how far training moved them (a layer whose weights never left their start shows two equal lines).</summary>
public static class WeightHistograms
{
    /// <summary>Bins per histogram: enough for a shape, few enough that the page stays small.</summary>
    public const int Bins = 40;

    public static void Render(StringBuilder sb, RunData d)
    {
        if (d.Model is not { } model)
        {
            return;
        }
        var tensors = model.Tensors().Where(IsWeight).ToArray();
        if (tensors.Length == 0)
        {
            return;
        }
        var (start, startLabel) = Oldest(d, tensors);
        sb.Append("<h2>Weights per layer</h2><p class=\"hint\">How many weights of each layer fall in each bin: ")
            .Append(Html.Esc(ModelFile.FileName))
            .Append(start is null ? "" : ", and dashed " + Html.Esc(startLabel)).Append(".</p><div class=\"charts\">");
        foreach (var t in tensors)
        {
            double[] now = Values(t);
            double[]? then = start?.FirstOrDefault(s => s.Name == t.Name && s.Shape.SequenceEqual(t.Shape)) is { } s0 ? Values(s0) : null;
            sb.Append(Chart(t, now, then, startLabel).Render());
        }
        sb.Append("</div>");
    }

    /// <summary>Weight matrices (a recurrent layer's input and hidden ones too), filters and RBF centres; biases and
    /// widths are a handful of numbers.</summary>
    static bool IsWeight(NamedArray t) =>
        t.Shape.Length >= 2 && (t.Name.EndsWith(".weight", StringComparison.Ordinal) || t.Name.EndsWith(".centres", StringComparison.Ordinal)
            || t.Name.Contains(".weight_", StringComparison.Ordinal));

    static double[] Values(NamedArray t) => t.Float32 is { } f ? [.. f.Select(x => (double)x)] : t.Float64;

    /// <summary>The oldest checkpoint that reads and verifies; an unreadable one is a problem line.</summary>
    static (NamedArray[]? State, string Label) Oldest(RunData d, NamedArray[] weights)
    {
        if (d.Run is not { } run)
        {
            return (null, "");
        }
        foreach (var (step, path) in Checkpoints.List(d.Dir).OrderBy(c => c.step))
        {
            try
            {
                var c = Checkpoints.Read(path, run);
                return (c.State, Html.Inv($"the first checkpoint (step {step:N0}, {Path.GetFileName(path)})"));
            }
            catch (DataError e)
            {
                d.Problems.Add(e.Message);
            }
        }
        return (null, "");
    }

    static SvgChart Chart(NamedArray t, double[] now, double[]? then, string thenLabel)
    {
        var finite = now.Concat(then ?? []).Where(double.IsFinite).ToArray();
        double lo = finite.Length == 0 ? 0 : finite.Min(), hi = finite.Length == 0 ? 1 : finite.Max();
        if (hi <= lo)
        {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        double width = (hi - lo) / Bins;
        double[] centres = [.. Enumerable.Range(0, Bins).Select(b => lo + (b + 0.5) * width)];
        var series = new List<Series> { new(Html.Inv($"{ModelFile.FileName} ({now.Length:N0} weights)"), centres, Count(now, lo, width), 0) };
        if (then is not null)
        {
            series.Add(new(thenLabel, centres, Count(then, lo, width), 1, Dashed: true));
        }
        string shape = string.Join("×", t.Shape);
        return new SvgChart
        {
            Id = "w-" + t.Name.Replace('.', '-'),
            Title = $"{t.Name} [{shape}]",
            XLabel = "weight",
            YLabel = "weights in the bin",
            NoData = "no finite weight",
            Series = series,
        };
    }

    /// <summary>Counts per bin; the maximum falls in the last bin, a non-finite value in none.</summary>
    public static double[] Count(double[] values, double lo, double width)
    {
        var counts = new double[Bins];
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                counts[Math.Clamp((int)((v - lo) / width), 0, Bins - 1)]++;
            }
        }
        return counts;
    }
}
