using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Functional.Host;

/// <summary>
/// curves.png of a run: per epoch the training (and validation) loss and the train/validation/test accuracy, with
/// the epoch the model holds marked; per journalled step the loss (raw and smoothed) with the learning rate on a
/// right-hand axis, each layer's gradient norm and update/weight ratio on log axes, and the fraction of saturated
/// (sigmoid/tanh) or dead (ReLU) units.
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

    /// <summary>What the epoch loss is: the step losses averaged per example, each the batch's sum under --reduction sum.</summary>
    public static string EpochLossLabel(string? reduction) => reduction switch
    {
        "sum" => "loss summed over a batch (epoch mean)",
        "mean" => "mean loss per example",
        _ => "loss",
    };

    /// <summary>What a step's loss is: the batch's sum or its mean per example.</summary>
    public static string StepLossLabel(string? reduction) => reduction switch
    {
        "sum" => "loss summed over the batch",
        "mean" => "mean loss per example",
        _ => "loss",
    };

    static Plot EpochLoss(RunHistory h)
    {
        bool validation = h.Epochs.Any(e => double.IsFinite(e.ValidationLoss));
        var p = Panel(validation ? "loss per epoch" : "training loss per epoch", "epoch", EpochLossLabel(h.Reduction));
        if (h.Epochs.Count == 0)
        {
            Png.NoData(p, "run.json has no epochs yet");
            return p;
        }
        double[] xs = [.. h.Epochs.Select(e => (double)e.Epoch)];
        var s = p.Add.Scatter(xs, h.Epochs.Select(e => e.Loss).ToArray());
        s.MarkerSize = 6;
        if (validation)
        {
            s.LegendText = "training (mean over the epoch's steps)";
            var v = p.Add.Scatter(xs, h.Epochs.Select(e => e.ValidationLoss).ToArray());
            v.MarkerSize = 6;
            v.LegendText = "validation (after the epoch)";
            p.ShowLegend(Alignment.UpperRight);
        }
        MarkKept(p, h);
        IntegerTicks(p.Axes.Bottom);
        return p;
    }

    /// <summary>A vertical line at the epoch the model holds, when it is not simply the last.</summary>
    static void MarkKept(Plot p, RunHistory h)
    {
        if (h.KeptEpoch is int kept && kept > 0 && (h.Kept == "best" || h.StoppedEarlyAfter != null))
        {
            var line = p.Add.VerticalLine(kept);
            line.Color = Colors.DarkGreen;
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = $"kept: epoch {kept}" + (h.StoppedEarlyAfter is int e ? $" (stopped after {e})" : "");
            p.ShowLegend(Alignment.UpperRight);
        }
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
        var last = h.Epochs[^1];
        var inv = CultureInfo.InvariantCulture;
        string title = string.Create(inv, $"accuracy per epoch (last: train {100 * last.TrainAccuracy:F2}%");
        if (h.Epochs.Any(e => double.IsFinite(e.ValidationAccuracy)))
        {
            var v = p.Add.Scatter(xs, h.Epochs.Select(e => 100 * e.ValidationAccuracy).ToArray());
            v.LegendText = "validation";
            title += string.Create(inv, $", validation {100 * last.ValidationAccuracy:F2}%");
        }
        if (h.Epochs.Any(e => double.IsFinite(e.TestAccuracy)))
        {
            var test = p.Add.Scatter(xs, h.Epochs.Select(e => 100 * e.TestAccuracy).ToArray());
            test.LegendText = "test";
            title += string.Create(inv, $", test {100 * last.TestAccuracy:F2}%");
        }
        p.Title(title + ")", 16);
        MarkKept(p, h);
        p.ShowLegend(Alignment.LowerRight);
        IntegerTicks(p.Axes.Bottom);
        return p;
    }

    static Plot StepLoss(RunHistory h)
    {
        var p = Panel("loss per step", "step", StepLossLabel(h.Reduction));
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
            LearningRate(p, h);
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
        LearningRate(p, h);
        p.ShowLegend(Alignment.UpperRight);
        return p;
    }

    /// <summary>The learning rate of every step on the right-hand axis: from the run's schedule when run.json has
    /// one (exact, steps included), else from the journalled steps.</summary>
    static void LearningRate(Plot p, RunHistory h)
    {
        double[] xs, ys;
        if (h.Config is { } config && h.LastStep > 0)
        {
            // At most ~4,000 points; a step schedule's jumps fall between two drawn steps at worst.
            long stride = Math.Max(1, h.LastStep / 4000);
            var steps = new List<long>();
            for (long t = 1; t <= h.LastStep; t += stride)
            {
                steps.Add(t);
            }
            xs = [.. steps.Select(t => (double)t)];
            ys = [.. steps.Select(t => Api.Training.LrAt(config, t - 1))];
        }
        else
        {
            var points = h.Steps.Where(s => double.IsFinite(s.Lr)).ToArray();
            xs = [.. points.Select(s => (double)s.Step)];
            ys = [.. points.Select(s => s.Lr)];
        }
        if (xs.Length == 0)
        {
            return;
        }
        var lr = p.Add.ScatterLine(xs, ys);
        lr.LegendText = "learning rate (right axis)";
        lr.Color = Colors.DarkOrange;
        lr.LineWidth = 2;
        lr.Axes.YAxis = p.Axes.Right;
        p.Axes.Right.Label.Text = "learning rate";
        p.Axes.Right.Label.FontSize = 13;
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
            line.LegendText = Api.Display.LayerName(l);
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

    /// <summary>The y range of the unit-fraction panel: a little beyond [0, 1], so lines lying on 0 or 1 show.</summary>
    public const double FractionMin = -0.05, FractionMax = 1.05;

    /// <summary>
    /// Per layer, the fraction of saturated units (sigmoid/tanh) or, for ReLU layers, of dead ones; a layer with
    /// neither (no such field in an older journal, or a softmax/linear/pooling layer) is in <c>Notes</c> instead.
    /// </summary>
    public static UnitFractions Units(RunHistory h)
    {
        var series = new List<UnitSeries>();
        var notMeasured = new List<int>();
        bool hasDead = h.Steps.Any(s => s.Dead is not null);
        int layers = h.Steps.Count == 0 ? 0
            : h.Steps.Max(s => Math.Max(s.GradNorms.Length, Math.Max(s.Saturation?.Length ?? 0, s.Dead?.Length ?? 0)));
        for (int l = 0; l < layers; l++)
        {
            var series1 = Series(h, l, s => s.Saturation, $"{Api.Display.LayerName(l)}: saturated")
                ?? Series(h, l, s => s.Dead, $"{Api.Display.LayerName(l)}: dead (ReLU)");
            if (series1 is null)
            {
                notMeasured.Add(l);
            }
            else
            {
                series.Add(series1);
            }
        }
        var notes = new List<string>();
        int tiny = h.Steps.Count(s => Tiny(h, s));
        if (tiny > 0 && series.Count > 0)
        {
            notes.Add($"left out: {tiny} step(s) of a last batch under half the batch size (a fraction of one image's units)");
        }
        if (notMeasured.Count > 0)
        {
            string which = string.Join(", ", notMeasured.Select(Api.Display.LayerName));
            notes.Add(hasDead
                ? $"not measured: {which}: neither sigmoid/tanh nor ReLU"
                : $"not measured: {which}: the journal has no \"dead\" field (an older run)");
        }
        return new UnitFractions(series, notes);
    }

    /// <summary>
    /// A step whose batch holds under half the run's largest: the last batch of an epoch (7,201 = 225·32 + 1) measures
    /// dead or saturated units on a few images, and its jump reads as a training fault.
    /// </summary>
    static bool Tiny(RunHistory h, StepPoint s)
    {
        int most = h.Steps.Count == 0 ? 0 : h.Steps.Max(x => x.Examples);
        return s.Examples > 0 && 2 * s.Examples < most;
    }

    static UnitSeries? Series(RunHistory h, int layer, Func<StepPoint, double[]?> values, string label)
    {
        var points = h.Steps.Where(s => !Tiny(h, s) && values(s) is { } v && v.Length > layer && double.IsFinite(v[layer])).ToArray();
        return points.Length == 0 ? null
            : new UnitSeries(label, [.. points.Select(s => (double)s.Step)], [.. points.Select(s => values(s)![layer])]);
    }

    /// <summary>The panel of saturated or dead units per layer (public for the tests).</summary>
    public static Plot Saturation(RunHistory h)
    {
        var p = Panel("saturated (sigmoid/tanh) or dead (ReLU) units per layer", "step", "fraction of units");
        if (h.Steps.Count == 0 || h.Steps.All(s => s.Saturation is null && s.Dead is null))
        {
            Png.NoData(p, h.Steps.Count == 0
                ? (h.HasJournal ? "journal.jsonl has no step lines" : "no journal.jsonl in the run folder")
                : "the journal has no \"saturation\" or \"dead\" field");
            return p;
        }
        var units = Units(h);
        if (units.Series.Count == 0)
        {
            Png.NoData(p, string.Join("; ", units.Notes));
            return p;
        }
        foreach (var u in units.Series)
        {
            var line = p.Add.ScatterLine(u.Steps, u.Fractions);
            line.LegendText = u.Label;
            line.LineWidth = 2;
            line.MarkerSize = u.Steps.Length <= 30 ? 5 : 0;
        }
        // A fraction's axis stays 0..1 (a little beyond, so lines on 0 or 1 show); the notes go under it.
        p.Axes.SetLimitsY(FractionMin, FractionMax);
        if (units.Notes.Count > 0)
        {
            p.XLabel("step\n" + string.Join("\n", units.Notes), 11);
        }
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

/// <summary>One line of the unit-fraction panel: a layer's saturated or dead fraction per journalled step.</summary>
public sealed record UnitSeries(string Label, double[] Steps, double[] Fractions);

/// <summary>What the unit-fraction panel draws: its lines, and a note per layer without one.</summary>
public sealed record UnitFractions(IReadOnlyList<UnitSeries> Series, IReadOnlyList<string> Notes);
