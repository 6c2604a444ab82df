using ScottPlot;
using SkiaSharp;

namespace Functional.Host;

/// <summary>Headless PNG output: a white canvas of a given size, drawn on, then written atomically.</summary>
public static class Png
{
    /// <summary>Draws with <paramref name="draw"/> on a white <paramref name="width"/>×<paramref name="height"/> canvas and writes it to <paramref name="path"/>.</summary>
    public static string Write(string path, int width, int height, Action<SKCanvas> draw)
    {
        byte[] png = Encode(width, height, draw);
        AtomicFile.Write(path, s => s.Write(png));
        return path;
    }

    /// <summary>The PNG bytes of what <paramref name="draw"/> draws on a white canvas (the report inlines them).</summary>
    public static byte[] Encode(int width, int height, Action<SKCanvas> draw)
    {
        PlotFonts.Register();
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} surface");
        surface.Canvas.Clear(SKColors.White);
        draw(surface.Canvas);
        surface.Canvas.Flush();
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Lays <paramref name="plots"/> out in a grid of <paramref name="columns"/> columns below a title strip.</summary>
    public static void Grid(SKCanvas canvas, int width, int height, int columns, int top, IReadOnlyList<Plot> plots)
    {
        int rows = (plots.Count + columns - 1) / columns;
        float w = width / (float)columns;
        float h = (height - top) / (float)rows;
        for (int i = 0; i < plots.Count; i++)
        {
            float left = (i % columns) * w;
            float y = top + (i / columns) * h;
            // A plot clears the canvas it renders on: render each on its own surface, then copy it in place.
            using var surface = SKSurface.Create(new SKImageInfo((int)w, (int)h))
                ?? throw new InvalidOperationException($"SkiaSharp could not create a {(int)w}x{(int)h} surface");
            plots[i].Render(surface);
            using var image = surface.Snapshot();
            canvas.DrawImage(image, left, y);
        }
    }

    /// <summary>
    /// One line of text in the shipped font, centred on <paramref name="x"/> (its baseline at <paramref name="y"/>),
    /// made smaller when needed to fit in <paramref name="maxWidth"/> pixels (0: no limit).
    /// </summary>
    public static void Text(SKCanvas canvas, string text, float x, float y, float size, SKColor color, bool bold = false,
        float maxWidth = 0)
    {
        using var font = new SKFont(PlotFonts.Typeface(bold), size);
        float width = font.MeasureText(text);
        if (maxWidth > 0 && width > maxWidth)
        {
            font.Size = size * maxWidth / width;
        }
        using var paint = new SKPaint { Color = color, IsAntialias = true };
        canvas.DrawText(text, x, y, SKTextAlign.Center, font, paint);
    }

    /// <summary>A panel that has nothing to draw says why, in its middle.</summary>
    public static void NoData(Plot plot, string why)
    {
        var a = plot.Add.Annotation($"no data: {why}", Alignment.MiddleCenter);
        a.LabelStyle.FontSize = 14;
        a.LabelStyle.ForeColor = Colors.DarkRed;
        a.LabelStyle.BackgroundColor = Colors.White;
        a.LabelStyle.BorderColor = Colors.DarkRed;
        a.LabelStyle.BorderWidth = 1;
        // No made-up axes around the message.
        plot.HideGrid();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
    }
}
