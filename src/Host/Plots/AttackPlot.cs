using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace Functional.Host;

/// <summary>
/// The pictures of <c>functional attack</c>: accuracy against ε, one line per method; and clean digits beside their
/// adversarial versions with both predictions, and the perturbation magnified (grey = 0, white = +ε, black = −ε).
/// </summary>
public static class AttackPlot
{
    /// <summary>One line of the robustness curve: its name and (ε, accuracy in [0, 1]) points.</summary>
    public sealed record Curve(string Name, double[] Eps, double[] Accuracy);

    public static string Robustness(string path, string title, string epsLabel, IReadOnlyList<Curve> curves)
    {
        var p = new Plot();
        p.Title(title, 15);
        p.XLabel(epsLabel, 13);
        p.YLabel("accuracy under attack (%)", 13);
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < curves.Count; i++)
        {
            var s = p.Add.Scatter(curves[i].Eps, [.. curves[i].Accuracy.Select(a => 100 * a)], palette.GetColor(i));
            s.LineWidth = 2;
            s.MarkerSize = 7;
            s.LegendText = curves[i].Name;
        }
        p.Axes.SetLimitsY(0, 100);
        p.ShowLegend(Alignment.UpperRight);
        return Png.Write(path, 720, 480, canvas => Png.Grid(canvas, 720, 480, 1, 0, [p]));
    }

    /// <summary>
    /// One row per example: the clean digit (label → clean prediction), the adversarial one (→ its prediction), and
    /// the perturbation scaled so ±ε fills black..white. Values are in [0, 1] units of the pixel range.
    /// </summary>
    public static string Grid(string path, string title, int rows, int cols, double[][] clean, double[][] adversarial,
        int[] labels, int[] cleanPredictions, int[] adversarialPredictions, double eps)
    {
        int n = clean.Length;
        const int scale = 4, gap = 16, margin = 12, label = 22, top = 60;
        int cell = cols * scale;
        int width = Math.Max(2 * margin + 3 * cell + 2 * gap, 2 * margin + 3 * 120);
        int columnWidth = (width - 2 * margin) / 3;
        int rowHeight = rows * scale + label + 8;
        int height = top + n * rowHeight + margin;
        return Png.Write(path, width, height, canvas =>
        {
            Png.Text(canvas, title, width / 2f, 22, 14, SKColors.Black, bold: true, maxWidth: width - 2 * margin);
            string[] heads = ["clean", "adversarial", "perturbation ×" + (eps > 0 ? (0.5 / eps).ToString("G3", CultureInfo.InvariantCulture) : "0")];
            for (int c = 0; c < 3; c++)
            {
                Png.Text(canvas, heads[c], margin + columnWidth * (c + 0.5f), 48, 13, SKColors.Black, bold: true);
            }
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            for (int k = 0; k < n; k++)
            {
                int y = top + k * rowHeight;
                for (int c = 0; c < 3; c++)
                {
                    int x = margin + columnWidth * c + (columnWidth - cell) / 2;
                    for (int r = 0; r < rows; r++)
                    {
                        for (int q = 0; q < cols; q++)
                        {
                            int i = r * cols + q;
                            double v = c switch
                            {
                                0 => clean[k][i],
                                1 => adversarial[k][i],
                                _ => eps > 0 ? 0.5 + 0.5 * (adversarial[k][i] - clean[k][i]) / eps : 0.5,
                            };
                            byte g = (byte)Math.Clamp(Math.Round(255 * v), 0, 255);
                            paint.Color = new SKColor(g, g, g);
                            canvas.DrawRect(x + q * scale, y + r * scale, scale, scale, paint);
                        }
                    }
                    string text = c switch
                    {
                        0 => string.Create(CultureInfo.InvariantCulture, $"{labels[k]} → {cleanPredictions[k]}"),
                        1 => string.Create(CultureInfo.InvariantCulture, $"→ {adversarialPredictions[k]}"),
                        _ => "",
                    };
                    bool wrong = c == 1 && adversarialPredictions[k] != labels[k] || c == 0 && cleanPredictions[k] != labels[k];
                    Png.Text(canvas, text, margin + columnWidth * (c + 0.5f), y + rows * scale + 17, 14,
                        wrong ? SKColors.Red : SKColors.Black, bold: wrong);
                }
            }
        });
    }
}
