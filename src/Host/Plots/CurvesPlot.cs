using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Functional.Host;

/// <summary>
/// curves.png of a run: per epoch the loss and the train/test accuracy; per journalled step the loss (raw and
/// smoothed), each layer's gradient norm and update/weight ratio on log axes, and the fraction of saturated units.
/// A panel the run has no data for says so.
/// </summary>
public static class CurvesPlot
{
    public const string FileName = "curves.png";
    public const int Width = 1400;
    public const int Height = 1260;
    public const int TitleHeight = 40;

    public static string Write(RunHistory h, string path)
    {
        var plots = new List<Plot> { EpochLoss(h), Accuracy(h), StepLoss(h), PerLayer(h, "gradient norm per layer", s => s.GradNorms, log: true),
            PerLayer(h, "update / weight ratio per layer", s => s.UpdateRatios, log: true), Saturation(h) };
        Png.Write(path, Width, Height, canvas =>
        {
            Png.Text(canvas, h.Title, Width / 2f, 27, 20, SkiaSharp.SKColors.Black, bold: true, maxWidth: Width - 20);
            Png.Grid(canvas, Width, Height, 2, TitleHeight, plots);
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

    static Plot EpochLoss(RunHistory h)
    {
        var p = Panel("training loss per epoch", "epoch", "mean loss");
        if (h.Epochs.Count == 0)
        {
            Png.NoData(p, "run.json has no epochs yet");
            return p;
        }
        var s = p.Add.Scatter(h.Epochs.Select(e => (double)e.Epoch).ToArray(), h.Epochs.Select(e => e.Loss).ToArray());
        s.MarkerSize = 6;
        IntegerTicks(p.Axes.Bottom);
        return p;
    }

    static Plot Accuracy(RunHistory h)
    {
        var p = Panel("accuracy per epoch", "epoch", "accuracy (%)");
        if (h.Epochs.Count == 0)
        {
            Png.NoData(p, "run.json has no epochs yet");
            return p;
        }
        double[] xs = [.. h.Epochs.Select(e => (double)e.Epoch)];
        var train = p.Add.Scatter(xs, h.Epochs.Select(e => 100 * e.TrainAccuracy).ToArray());
        train.LegendText = "train";
        var test = p.Add.Scatter(xs, h.Epochs.Select(e => 100 * e.TestAccuracy).ToArray());
        test.LegendText = "test";
        var last = h.Epochs[^1];
        p.Title(string.Create(CultureInfo.InvariantCulture, $"accuracy per epoch (last: train {100 * last.TrainAccuracy:F2}%, test {100 * last.TestAccuracy:F2}%)"), 16);
        p.ShowLegend(Alignment.LowerRight);
        IntegerTicks(p.Axes.Bottom);
        return p;
    }

    static Plot StepLoss(RunHistory h)
    {
        var p = Panel("loss per step", "step", "loss");
        if (h.Steps.Count == 0)
        {
            Png.NoData(p, h.HasJournal ? "journal.jsonl has no step lines" : "no journal.jsonl in the run folder");
            return p;
        }
        double[] xs = [.. h.Steps.Select(s => (double)s.Step)];
        double[] ys = [.. h.Steps.Select(s => s.Loss)];
        if (ys.Length <= 30)
        {
            // Too few points to smooth: show each one.
            var points = p.Add.Scatter(xs, ys);
            points.LegendText = $"loss, every journalled step ({ys.Length})";
            p.ShowLegend(Alignment.UpperRight);
            return p;
        }
        var raw = p.Add.ScatterLine(xs, ys);
        raw.LegendText = "loss";
        raw.Color = Colors.SteelBlue.WithAlpha(0.35);
        var smooth = p.Add.ScatterLine(xs, Smoothed(ys));
        smooth.LegendText = "smoothed (EMA)";
        smooth.Color = Colors.DarkBlue;
        smooth.LineWidth = 2;
        p.ShowLegend(Alignment.UpperRight);
        return p;
    }

    static Plot PerLayer(RunHistory h, string title, Func<StepPoint, double[]> values, bool log)
    {
        var p = Panel(title, "step", log ? "log scale" : "");
        int layers = h.Steps.Count == 0 ? 0 : h.Steps.Max(s => values(s).Length);
        if (layers == 0)
        {
            Png.NoData(p, h.Steps.Count == 0
                ? (h.HasJournal ? "journal.jsonl has no step lines" : "no journal.jsonl in the run folder")
                : "the journal's step lines have no such field");
            return p;
        }
        var ys = new List<double>();
        for (int l = 0; l < layers; l++)
        {
            var points = h.Steps.Where(s => values(s).Length > l && values(s)[l] > 0 && double.IsFinite(values(s)[l])).ToArray();
            if (points.Length == 0)
            {
                continue; // a layer without parameters (pooling, flattening): nothing to draw
            }
            double[] y = [.. points.Select(s => log ? Math.Log10(values(s)[l]) : values(s)[l])];
            var line = p.Add.ScatterLine(points.Select(s => (double)s.Step).ToArray(), y);
            line.LegendText = $"layer {l + 1}";
            line.MarkerSize = points.Length <= 30 ? 5 : 0;
            ys.AddRange(y);
        }
        if (log)
        {
            LogTicks(p.Axes.Left, ys.Count == 0 ? 0 : ys.Max() - ys.Min());
        }
        p.ShowLegend(Alignment.UpperRight);
        return p;
    }

    static Plot Saturation(RunHistory h)
    {
        var p = Panel("saturated units per layer", "step", "fraction saturated");
        if (h.Steps.Count == 0 || h.Steps.All(s => s.Saturation is null))
        {
            Png.NoData(p, h.Steps.Count == 0
                ? (h.HasJournal ? "journal.jsonl has no step lines" : "no journal.jsonl in the run folder")
                : "the journal has no \"saturation\" field");
            return p;
        }
        int layers = h.Steps.Max(s => s.Saturation?.Length ?? 0);
        for (int l = 0; l < layers; l++)
        {
            var points = h.Steps.Where(s => s.Saturation is { } v && v.Length > l && double.IsFinite(v[l])).ToArray();
            if (points.Length == 0)
            {
                continue; // not a sigmoid or tanh layer
            }
            var line = p.Add.ScatterLine(points.Select(s => (double)s.Step).ToArray(), points.Select(s => s.Saturation![l]).ToArray());
            line.LegendText = $"layer {l + 1}";
        }
        p.Axes.SetLimitsY(0, 1);
        p.ShowLegend(Alignment.UpperRight);
        return p;
    }

    /// <summary>An exponential moving average, debiased like Adam's, so the first points are not pulled to zero.</summary>
    /// The default window is about a thirtieth of the curve, so a short journal is not smoothed flat.
    public static double[] Smoothed(double[] ys, double? beta = null)
    {
        double b = beta ?? Math.Clamp(1 - 30.0 / Math.Max(ys.Length, 1), 0, 0.99);
        var result = new double[ys.Length];
        double m = 0;
        for (int i = 0; i < ys.Length; i++)
        {
            m = b * m + (1 - b) * ys[i];
            result[i] = b == 0 ? ys[i] : m / (1 - Math.Pow(b, i + 1));
        }
        return result;
    }

    static void IntegerTicks(IAxis axis) => axis.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };

    /// <summary>
    /// The values are log10 of the data. Over two decades or more: ticks at powers of ten with log-spaced minor
    /// ticks; over less, ordinary ticks labelled with the data's value (10^y, two significant digits).
    /// </summary>
    static void LogTicks(IAxis axis, double decades) => axis.TickGenerator = decades >= 2
        ? new NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new LogMinorTickGenerator(),
            LabelFormatter = PowerOfTen,
        }
        : new NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("G2", CultureInfo.InvariantCulture),
        };

    /// <summary>10^k as people write it: 0.001, 1, 1000 near 1, else 1e-5.</summary>
    public static string PowerOfTen(double k)
    {
        int e = (int)Math.Round(k);
        return e is >= -4 and <= 4
            ? Math.Pow(10, e).ToString("0.####", CultureInfo.InvariantCulture)
            : $"1e{e.ToString(CultureInfo.InvariantCulture)}";
    }
}
