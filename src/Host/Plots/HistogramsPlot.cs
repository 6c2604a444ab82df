using System.Globalization;
using ScottPlot;

namespace Functional.Host;

/// <summary>One layer's values for <see cref="HistogramsPlot"/>: its activations and its gradients (either may be empty).</summary>
public sealed record LayerValues(string Name, double[] Activations, double[] Gradients);

/// <summary>
/// Per layer, a histogram of its activations beside one of its gradients: saturated sigmoids pile up at 0 and 1,
/// dead ReLUs at 0, vanishing gradients in one spike at 0. Each title gives the mean, the spread and the share of zeros.
/// </summary>
public static class HistogramsPlot
{
    public const int Width = 1200;
    public const int RowHeight = 300;
    public const int Bins = 50;
    public const int TitleHeight = 40;

    public static int HeightFor(int layers) => TitleHeight + Math.Max(1, layers) * RowHeight;

    public static string Write(string path, IReadOnlyList<LayerValues> layers, string title)
    {
        PlotFonts.Register();
        var plots = new List<Plot>();
        foreach (var layer in layers)
        {
            plots.Add(Histogram($"{layer.Name}: activations", layer.Activations, Colors.SteelBlue));
            plots.Add(Histogram($"{layer.Name}: gradients", layer.Gradients, Colors.DarkOrange));
        }
        int height = HeightFor(layers.Count);
        return Png.Write(path, Width, height, canvas =>
        {
            Png.Text(canvas, title, Width / 2f, 27, 18, SkiaSharp.SKColors.Black, bold: true, maxWidth: Width - 20);
            Png.Grid(canvas, Width, height, 2, TitleHeight, plots);
        });
    }

    /// <summary>One histogram panel (public for the tests).</summary>
    public static Plot Histogram(string name, double[] values, Color color)
    {
        var p = new Plot();
        p.XLabel("value", 12);
        p.YLabel("count", 12);
        double[] finite = [.. values.Where(double.IsFinite)];
        if (finite.Length == 0)
        {
            p.Title(name, 14);
            Png.NoData(p, "no values");
            return p;
        }
        double min = finite.Min(), max = finite.Max();
        double mean = finite.Average();
        double std = Math.Sqrt(finite.Sum(v => (v - mean) * (v - mean)) / finite.Length);
        double zeros = finite.Count(v => v == 0) / (double)finite.Length;
        p.Title(string.Create(CultureInfo.InvariantCulture, $"{name}  (mean {mean:G3}, std {std:G3}, zeros {zeros:P0})"), 14);
        if (max == min)
        {
            (min, max) = (min - 0.5, max + 0.5);
        }
        double width = (max - min) / Bins;
        var counts = new double[Bins];
        foreach (double v in finite)
        {
            counts[Math.Min(Bins - 1, (int)((v - min) / width))]++;
        }
        var bars = p.Add.Bars(Enumerable.Range(0, Bins).Select(i => min + (i + 0.5) * width).ToArray(), counts);
        foreach (var bar in bars.Bars)
        {
            bar.Size = width;
            bar.FillColor = color;
            bar.LineWidth = 0;
        }
        p.Axes.Margins(bottom: 0);
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = TickLabel(min, max) };
        return p;
    }

    /// <summary>
    /// Tick labels for values in [<paramref name="min"/>, <paramref name="max"/>], in the titles' format ("G"): with
    /// enough significant digits to tell ticks a tenth of the range apart, so a tiny range reads 2E-08, not 0.
    /// </summary>
    public static Func<double, string> TickLabel(double min, double max)
    {
        double magnitude = Math.Max(Math.Abs(min), Math.Abs(max));
        double step = (max - min) / 10;
        int digits = magnitude > 0 && step > 0 ? Math.Clamp((int)Math.Ceiling(Math.Log10(magnitude / step)) + 1, 1, 15) : 3;
        string format = "G" + digits.ToString(CultureInfo.InvariantCulture);
        // Below 1e-3 "G" still writes 0.0000123: scientific notation is shorter and readable.
        return v => Math.Abs(v) < step / 1e6 ? "0"
            : magnitude < 1e-3 || magnitude >= 1e5 ? v.ToString(digits <= 1 ? "0E+0" : "0." + new string('#', digits - 1) + "E+0", CultureInfo.InvariantCulture)
            : v.ToString(format, CultureInfo.InvariantCulture);
    }
}
