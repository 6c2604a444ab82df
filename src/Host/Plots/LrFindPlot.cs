using System.Globalization;
using ScottPlot;

namespace Functional.Host;

/// <summary>lr-find.png: the raw and smoothed loss against log10(learning rate), the suggested rate and the rate at
/// the smoothed minimum marked.</summary>
public static class LrFindPlot
{
    public const int Width = 1000, Height = 640;

    public static string Write(string path, LrFinder.Finding f, string title)
    {
        var p = new Plot();
        p.Title(title, 16);
        p.XLabel("learning rate (log scale)", 13);
        p.YLabel("training loss", 13);
        int n = f.Rates.Length;
        var finite = Enumerable.Range(0, n).Where(i => double.IsFinite(f.Losses[i]) && double.IsFinite(f.Smoothed[i])).ToArray();
        if (finite.Length == 0)
        {
            Png.NoData(p, "the loss was not finite at any rate");
        }
        else
        {
            double[] xs = [.. finite.Select(i => Math.Log10(f.Rates[i]))];
            var raw = p.Add.ScatterLine(xs, finite.Select(i => f.Losses[i]).ToArray());
            raw.LegendText = "loss per step";
            raw.Color = Colors.SteelBlue.WithAlpha(0.35);
            var smooth = p.Add.ScatterLine(xs, finite.Select(i => f.Smoothed[i]).ToArray());
            smooth.LegendText = "smoothed (EMA, β = 0.98)";
            smooth.Color = Colors.DarkBlue;
            smooth.LineWidth = 2;
            // The raw loss near divergence dwarfs the rest: the axis follows the smoothed curve.
            double lo = finite.Min(i => f.Smoothed[i]), hi = f.Smoothed[finite[0]];
            p.Axes.SetLimitsY(0, hi + 0.6 * (hi - lo) + 1e-9);
            Mark(p, f.Suggested, Colors.DarkGreen, "suggested");
            Mark(p, f.AtMinimum, Colors.DarkRed, "minimum");
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true,
                LabelFormatter = CurvesPlot.PowerOfTen,
            };
            p.ShowLegend(Alignment.UpperLeft);
        }
        Png.Write(path, Width, Height, canvas => Png.Grid(canvas, Width, Height, 1, 0, [p]));
        return path;
    }

    static void Mark(Plot p, double rate, Color color, string what)
    {
        if (!double.IsFinite(rate) || rate <= 0)
        {
            return;
        }
        var line = p.Add.VerticalLine(Math.Log10(rate));
        line.Color = color;
        line.LinePattern = LinePattern.Dashed;
        line.LegendText = $"{what}: {rate.ToString("G2", CultureInfo.InvariantCulture)}";
    }
}
