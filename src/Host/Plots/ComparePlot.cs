using System.Globalization;
using Functional.Host.Runs;
using Functional.Host.Sweeps;
using ScottPlot;

namespace Functional.Host;

/// <summary>
/// compare.png: the runs' test accuracy per epoch and training loss per journaled step, overlaid; and when the
/// runs differ in one option (besides the seed), the final test accuracy against that option: each run a dot,
/// the mean over seeds a line with ± one standard deviation.
/// </summary>
public static class ComparePlot
{
    public const string FileName = "compare.png";
    const int PanelWidth = 640;
    const int Height = 560;
    const int TitleHeight = 40;
    const int MaxLegend = 12;
    const int LegendChars = 32;

    public static string Write(Comparison c, string title, string path)
    {
        var plots = new List<Plot> { TestCurves(c), LossCurves(c) };
        if (c.Keys.Count == 1 && c.Groups.Count > 1)
        {
            plots.Add(AgainstOption(c, c.Keys[0]));
        }
        int width = PanelWidth * plots.Count;
        Png.Write(path, width, Height, canvas =>
        {
            Png.Text(canvas, title, width / 2f, 27, 20, SkiaSharp.SKColors.Black, bold: true, maxWidth: width - 20);
            Png.Grid(canvas, width, Height, plots.Count, TitleHeight, plots);
        });
        return path;
    }

    static Plot Panel(string title, string x, string y)
    {
        var p = new Plot();
        p.Title(title, 16);
        p.XLabel(x, 13);
        p.YLabel(y, 13);
        return p;
    }

    /// <summary>Per run: its colour (one per row of the table, so a row's seeds share it) and its legend entry
    /// (the row's values, on its first run only; none when the rows are too many to list).</summary>
    static Dictionary<RunRecord, (Color Color, string Legend)> Styles(Comparison c)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var styles = new Dictionary<RunRecord, (Color, string)>(ReferenceEqualityComparer.Instance);
        for (int g = 0; g < c.Groups.Count; g++)
        {
            var group = c.Groups[g];
            // The differing values name a row when they are short; else its run (or its row number, as the narrow
            // table numbers rows of seeds): entries that all begin "arch=input 1x28x28, …" cannot be told apart.
            string values = string.Join(" ", c.Keys.Select((k, i) => $"{k}={group.Values[i]}"));
            string name = c.Keys.Count > 0 && values.Length <= LegendChars ? values
                : c.BySeed ? $"#{g + 1}" : group.Runs[0].Label;
            if (c.BySeed)
            {
                name += $" ({group.Runs.Count} seeds)";
            }
            for (int r = 0; r < group.Runs.Count; r++)
            {
                styles[group.Runs[r]] = (palette.GetColor(g), r == 0 && c.Groups.Count <= MaxLegend ? name : "");
            }
        }
        return styles;
    }

    static Plot TestCurves(Comparison c)
    {
        // Runs with a validation set are compared on it: choosing by the test set tunes on it.
        bool validation = c.Runs.Any(r => r.HasValidation);
        string set = validation ? "validation" : "test";
        var p = Panel($"{set} accuracy per epoch", "epoch", $"{set} accuracy (%)");
        var styles = Styles(c);
        int drawn = 0;
        foreach (var r in c.Runs)
        {
            var curve = r.TestCurve();
            if (curve.Count == 0)
            {
                continue;
            }
            var s = p.Add.Scatter(curve.Select(e => (double)e.Epoch).ToArray(), curve.Select(e => 100 * e.TestAccuracy).ToArray(), styles[r].Color);
            s.MarkerSize = 6;
            s.LegendText = styles[r].Legend;
            drawn++;
        }
        if (drawn == 0)
        {
            Png.NoData(p, "no run has finished an epoch with a validation or test figure");
            return p;
        }
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (c.Groups.Count <= MaxLegend)
        {
            // Outside the data area, so that no point (a run of one epoch has one) hides behind it.
            p.ShowLegend(Edge.Bottom);
        }
        return p;
    }

    static Plot LossCurves(Comparison c)
    {
        var journals = c.Runs.Select(r => Journal.Steps(r.Dir, TextWriter.Null).Values.Where(s => double.IsFinite(s.Loss)).ToArray()).ToList();
        // The title says what is drawn: smoothed only where a run has more than 30 journaled steps.
        int most = journals.Count == 0 ? 0 : journals.Max(j => j.Length);
        var p = Panel(most > 30 ? "training loss per journaled step (EMA over 30+ steps)"
            : most <= 3 ? $"training loss per journaled step ({most} per run: --journal-every N)"
            : "training loss per journaled step", "step", "loss");
        var styles = Styles(c);
        int drawn = 0;
        for (int i = 0; i < c.Runs.Count; i++)
        {
            var r = c.Runs[i];
            var steps = journals[i];
            if (steps.Length == 0)
            {
                continue;
            }
            double[] losses = [.. steps.Select(x => x.Loss)];
            var s = p.Add.Scatter(steps.Select(x => (double)x.Step).ToArray(), losses.Length > 30 ? CurvesPlot.Smoothed(losses, Math.Clamp(1 - 10.0 / losses.Length, 0, 0.99)) : losses, styles[r].Color);
            s.MarkerSize = steps.Length <= 30 ? 5 : 0;
            s.LegendText = styles[r].Legend;
            drawn++;
        }
        if (drawn == 0)
        {
            Png.NoData(p, "no journal.jsonl with step lines");
            return p;
        }
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (c.Groups.Count <= MaxLegend)
        {
            p.ShowLegend(Edge.Bottom);
        }
        return p;
    }

    /// <summary>Final test accuracy against the one option that differs: on a log axis when its values are positive
    /// numbers spanning 10× or more, evenly spaced when they are not numbers; ticks at the values themselves.</summary>
    static Plot AgainstOption(Comparison c, string key)
    {
        var p = Panel($"test accuracy against {key}" + (c.BySeed ? " (mean ± std over seeds)" : ""), key, "test accuracy (%)");
        string[] labels = [.. c.Groups.Select(g => g.Values[0])];
        double[] numbers = [.. labels.Select(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN)];
        bool numeric = numbers.All(double.IsFinite);
        bool log = numeric && numbers.All(v => v > 0) && numbers.Max() >= 10 * numbers.Min();
        double[] xs = [.. numbers.Select((v, i) => !numeric ? i : log ? Math.Log10(v) : v)];
        var means = new List<(double X, double Mean, double Std)>();
        for (int i = 0; i < c.Groups.Count; i++)
        {
            double[] acc = [.. c.Groups[i].Accuracies.Select(a => 100 * a)];
            if (acc.Length == 0)
            {
                continue;
            }
            var dots = p.Add.Markers(Enumerable.Repeat(xs[i], acc.Length).ToArray(), acc, MarkerShape.OpenCircle, 7, Colors.Gray);
            dots.LegendText = i == 0 ? "each run" : "";
            means.Add((xs[i], acc.Average(), Comparison.Std(acc)));
        }
        if (means.Count == 0)
        {
            Png.NoData(p, "no run has a final test accuracy");
            return p;
        }
        var order = means.OrderBy(m => m.X).ToArray();
        var line = p.Add.Scatter(order.Select(m => m.X).ToArray(), order.Select(m => m.Mean).ToArray(), Colors.DarkBlue);
        line.LineWidth = 2;
        line.MarkerSize = 8;
        line.LegendText = c.BySeed ? "mean over seeds" : "final test accuracy";
        if (c.BySeed)
        {
            var bars = p.Add.ErrorBar(order.Select(m => m.X).ToArray(), order.Select(m => m.Mean).ToArray(), order.Select(m => m.Std).ToArray());
            bars.Color = Colors.DarkBlue;
        }
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, labels);
        double pad = xs.Length > 1 ? (xs.Max() - xs.Min()) * 0.08 : 0.5;
        p.Axes.SetLimitsX(xs.Min() - pad, xs.Max() + pad);
        p.ShowLegend(Alignment.LowerRight);
        return p;
    }
}
