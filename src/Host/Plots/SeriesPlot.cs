using ScottPlot;

namespace Functional.Host;

/// <summary>One series against its index (a loss per step, an accuracy per epoch), with both axes titled: the
/// picture a script draws through scripts/Scripting.fsx's <c>plot</c>.</summary>
public static class SeriesPlot
{
    public const int Width = 800, Height = 500;

    public static Plot Build(string title, string xTitle, string yTitle, double[] ys)
    {
        // Before the first Plot: outside the functional process (F# Interactive) SkiaSharp is found only so.
        PlotFonts.Register();
        var p = new Plot();
        p.Title(title, 15);
        p.XLabel(xTitle, 13);
        p.YLabel(yTitle, 13);
        if (ys.Length == 0)
        {
            Png.NoData(p, "the series is empty");
        }
        else
        {
            p.Add.ScatterLine(Enumerable.Range(0, ys.Length).Select(i => (double)i).ToArray(), ys);
        }
        return p;
    }

    public static string Write(string path, string title, string xTitle, string yTitle, double[] ys)
    {
        var p = Build(title, xTitle, yTitle, ys);
        return Png.Write(path, Width, Height, canvas => Png.Grid(canvas, Width, Height, 1, 0, [p]));
    }
}
