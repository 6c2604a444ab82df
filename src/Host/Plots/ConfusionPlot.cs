using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Functional.Host;

/// <summary>
/// The confusion matrix as a heatmap: rows are targets (0 at the top), columns predictions; a cell's colour is the
/// fraction of its row (so rare classes show as clearly as common ones), its text the count.
/// </summary>
public static class ConfusionPlot
{
    public const int Width = 900;
    public const int Height = 800;

    public static string Write(string path, int[][] confusion, string title, string[]? classNames = null)
    {
        PlotFonts.Register();
        int k = confusion.Length;
        var fractions = new double[k, k];
        for (int t = 0; t < k; t++)
        {
            double total = confusion[t].Sum();
            for (int p = 0; p < k; p++)
            {
                fractions[t, p] = total == 0 ? 0 : confusion[t][p] / total;
            }
        }
        var plot = new Plot();
        var heat = plot.Add.Heatmap(fractions);
        heat.Colormap = new ScottPlot.Colormaps.Viridis();
        heat.ManualRange = new ScottPlot.Range(0, 1);
        // Row 0 of the intensities is drawn at the top: target t sits at y = k-1-t, prediction p at x = p.
        heat.Rectangle = new CoordinateRect(-0.5, k - 0.5, -0.5, k - 0.5);
        for (int t = 0; t < k; t++)
        {
            for (int p = 0; p < k; p++)
            {
                var text = plot.Add.Text(confusion[t][p].ToString(CultureInfo.InvariantCulture), p, k - 1 - t);
                text.Alignment = Alignment.MiddleCenter;
                text.LabelFontSize = k <= 10 ? 15 : 9;
                text.LabelFontColor = fractions[t, p] > 0.5 ? Colors.Black : Colors.White;
            }
        }
        var bar = plot.Add.ColorBar(heat);
        bar.Label = "fraction of the target's examples";
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        string[] names = [.. Enumerable.Range(0, k).Select(i => Histogram.ClassName(classNames, i))];
        double[] positions = [.. Enumerable.Range(0, k).Select(i => (double)i)];
        plot.Axes.Bottom.TickGenerator = new NumericManual(positions, names);
        plot.Axes.Left.TickGenerator = new NumericManual([.. positions.Select(y => k - 1 - y)], names);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.FontSize = 14;
        plot.Title(title, 16);
        plot.XLabel("predicted", 14);
        plot.YLabel("target", 14);
        return Png.Write(path, Width, Height, canvas => Png.Grid(canvas, Width, Height, 1, 0, [plot]));
    }
}
