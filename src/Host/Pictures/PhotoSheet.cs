using Functional.Host.Data;
using SkiaSharp;

namespace Functional.Host;

/// <summary>
/// <c>predict --image … --show PNG</c>: one row per picture, the picture as read (grey, scaled to fit) beside the
/// 28×28 image the network saw (each pixel a <see cref="Scale"/>×<see cref="Scale"/> square), with the prediction.
/// </summary>
public static class PhotoSheet
{
    public const int Scale = 6;
    const int Cell = DigitPhoto.Side * Scale;
    const int Margin = 12;
    const int Gap = 24;
    const int LabelHeight = 26;

    /// <summary>A picture, the image the network saw, and what to write under each.</summary>
    public sealed record Row(GrayImage Picture, byte[] Seen, string PictureLabel, string SeenLabel);

    public static void Write(string path, IReadOnlyList<Row> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int width = (2 * Margin) + (2 * Cell) + Gap;
        int height = (2 * Margin) + (rows.Count * (Cell + LabelHeight)) + ((rows.Count - 1) * Margin);
        Png.Write(path, width, height, canvas =>
        {
            for (int i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                float y = Margin + (i * (Cell + LabelHeight + Margin));
                // The picture keeps its aspect ratio inside its cell, smoothly scaled.
                float fit = Math.Min((float)Cell / row.Picture.Cols, (float)Cell / row.Picture.Rows);
                float pw = row.Picture.Cols * fit, ph = row.Picture.Rows * fit;
                var pictureRect = SKRect.Create(Margin + ((Cell - pw) / 2), y + ((Cell - ph) / 2), pw, ph);
                Draw(canvas, row.Picture.Pixels, row.Picture.Rows, row.Picture.Cols, pictureRect, SKFilterMode.Linear);
                // The network's input exactly: each pixel one square.
                var seenRect = SKRect.Create(Margin + Cell + Gap, y, Cell, Cell);
                Draw(canvas, row.Seen, DigitPhoto.Side, DigitPhoto.Side, seenRect, SKFilterMode.Nearest);
                float labelY = y + Cell + LabelHeight - 8;
                Png.Text(canvas, row.PictureLabel, Margin + (Cell / 2f), labelY, 14, SKColors.Black, maxWidth: Cell);
                Png.Text(canvas, row.SeenLabel, Margin + Cell + Gap + (Cell / 2f), labelY, 14, SKColors.Black, bold: true,
                    maxWidth: Cell);
            }
        });
    }

    static void Draw(SKCanvas canvas, byte[] gray, int rows, int cols, SKRect where, SKFilterMode filter)
    {
        using var image = SKImage.FromPixelCopy(new SKImageInfo(cols, rows, SKColorType.Gray8, SKAlphaType.Opaque), gray)
            ?? throw new InvalidOperationException($"SkiaSharp could not make a {cols}x{rows} grey image");
        canvas.DrawImage(image, where, new SKSamplingOptions(filter));
    }
}
