using System.Globalization;
using SkiaSharp;

namespace Functional.Host;

/// <summary>
/// A grid of images with their labels (the original question's <c>displayData</c>), and with a model, its
/// predictions: wrong ones framed in red. Pixels are drawn exactly: image pixel (r, c) with value v fills the
/// s×s square at <see cref="ImageOrigin"/> + s·(c, r) with grey (v, v, v), s = <see cref="ScaleFor"/>: at least
/// <see cref="Scale"/>, larger for small images so every cell is as wide as its widest label.
/// </summary>
public static class DigitGrid
{
    public const int Scale = 4;
    public const int Margin = 12;
    public const int Gap = 12;
    public const int LabelHeight = 24;
    public const int TitleHeight = 40;
    public const float LabelSize = 15;

    /// <summary>Width every cell gets at least: the widest label, "255 → 255" in bold, fits.</summary>
    public const int MinCellWidth = 84;

    /// <summary>Pixels per image pixel: <see cref="Scale"/>, or more for images narrower than <see cref="MinCellWidth"/>.</summary>
    public static int ScaleFor(int rows, int cols) => Math.Max(Scale, (MinCellWidth + Math.Max(cols, 1) - 1) / Math.Max(cols, 1));

    /// <summary>Columns of the grid: the smallest near-square that holds <paramref name="count"/> images.</summary>
    public static int Columns(int count) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count)));

    /// <summary>Width and height of the picture.</summary>
    public static (int Width, int Height) Size(int count, int rows, int cols)
    {
        int columns = Columns(count);
        int gridRows = (count + columns - 1) / columns;
        int scale = ScaleFor(rows, cols);
        int width = 2 * Margin + columns * cols * scale + (columns - 1) * Gap;
        int height = TitleHeight + Margin + gridRows * (rows * scale + LabelHeight) + (gridRows - 1) * Gap;
        return (Math.Max(width, 480), height);
    }

    /// <summary>The top-left pixel of the <paramref name="index"/>-th image (0-based) of a grid of <paramref name="count"/>.</summary>
    public static (int X, int Y) ImageOrigin(int index, int count, int rows, int cols)
    {
        int columns = Columns(count);
        int gridRow = index / columns, gridCol = index % columns;
        int scale = ScaleFor(rows, cols);
        int width = 2 * Margin + columns * cols * scale + (columns - 1) * Gap;
        int left = (Size(count, rows, cols).Width - width) / 2 + Margin;
        return (left + gridCol * (cols * scale + Gap), TitleHeight + gridRow * (rows * scale + LabelHeight + Gap));
    }

    /// <summary>
    /// Draws images <paramref name="indices"/> of <paramref name="pixels"/> (row-major bytes, <paramref name="rows"/>×<paramref name="cols"/>
    /// each) with their labels and, when <paramref name="predictions"/> is given (one per index), the predicted class;
    /// <paramref name="names"/>, where given, replace the class numbers, shrunk to fit their cell.
    /// </summary>
    public static string Write(
        string path, byte[] pixels, byte[] labels, int rows, int cols, int[] indices, int[]? predictions, string title,
        string[]? names = null)
    {
        byte[] png = Encode(pixels, labels, rows, cols, indices, predictions, title, names);
        AtomicFile.Write(path, s => s.Write(png));
        return path;
    }

    /// <summary>The PNG bytes <see cref="Write"/> writes.</summary>
    public static byte[] Encode(
        byte[] pixels, byte[] labels, int rows, int cols, int[] indices, int[]? predictions, string title, string[]? names = null)
    {
        int count = indices.Length;
        var (width, height) = Size(count, rows, cols);
        int scale = ScaleFor(rows, cols);
        return Png.Encode(width, height, canvas =>
        {
            Png.Text(canvas, title, width / 2f, 26, 15, SKColors.Black, bold: true, maxWidth: width - 2 * Margin);
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            using var frame = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Stroke, StrokeWidth = 3, Color = SKColors.Red };
            for (int k = 0; k < count; k++)
            {
                var (x, y) = ImageOrigin(k, count, rows, cols);
                int offset = indices[k] * rows * cols;
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < cols; c++)
                    {
                        byte v = pixels[offset + r * cols + c];
                        paint.Color = new SKColor(v, v, v);
                        canvas.DrawRect(x + c * scale, y + r * scale, scale, scale, paint);
                    }
                }
                int label = labels[indices[k]];
                bool wrong = predictions is not null && predictions[k] != label;
                string text = predictions is null
                    ? Histogram.ClassName(names, label)
                    : $"{Histogram.ClassName(names, label)} → {Histogram.ClassName(names, predictions[k])}";
                if (wrong)
                {
                    canvas.DrawRect(x - 3, y - 3, cols * scale + 5, rows * scale + 5, frame);
                }
                Png.Text(canvas, text, x + cols * scale / 2f, y + rows * scale + 18, LabelSize,
                    wrong ? SKColors.Red : SKColors.Black, bold: wrong, maxWidth: cols * scale + Gap - 2);
            }
        });
    }
}
