using System.Text;
using SkiaSharp;

namespace Functional.Host.Report;

/// <summary>The model on the test set: the confusion matrix (a cell opens the test images in it), the most
/// confidently wrong digits and the first layer's filters, the pictures inline.</summary>
public static class TestSet
{
    /// <summary>Images a confusion cell shows, at most (the page stays small).</summary>
    public const int PerCell = 12;

    /// <summary>Confidently wrong digits shown.</summary>
    public const int Wrong = 16;

    public static void Render(StringBuilder sb, RunData d)
    {
        if (d.Evaluation is not { } e || d.Test is not { } test)
        {
            return;
        }
        string[]? names = d.Run?.Data?.ClassNames;
        sb.Append("<h2>Test set</h2>");
        sb.Append(Html.Inv($"<p>The model ({Html.Esc(ModelFile.FileName)}) on {test.Count:N0} test {(test.IsTable ? "rows" : "images")} of {Html.Esc(test.ImagesPath)}: accuracy <span class=\"evalacc\" data-value=\"{Html.Js(e.Accuracy)}\">{Html.Percent(e.Accuracy)}</span>, mean loss {e.Loss:F4}.</p>"));
        Confusion(sb, e, test, names);
        if (!test.IsTable && test.Pixels.Length > 0)
        {
            ConfidentlyWrong(sb, d, e, test, names);
        }
        if (d.Model is { } model && FirstFilters.Of(model, dense: true) is var (weight, title))
        {
            sb.Append("<h2>First layer</h2><figure class=\"pic\"><img alt=\"").Append(Html.Esc(title)).Append("\" src=\"")
                .Append(Html.DataUri(Plots.FiltersPng(weight, title, weight.Shape[2] >= 14 ? 1 : 6))).Append("\"><figcaption>")
                .Append(Html.Esc(title)).Append("</figcaption></figure>");
        }
    }

    static void Confusion(StringBuilder sb, Evaluation e, Data.LabeledImages test, string[]? names)
    {
        int k = e.Confusion.Length;
        bool pictures = !test.IsTable && test.Pixels.Length > 0;
        sb.Append("<h3>Confusion matrix</h3><p class=\"hint\">Rows are targets, columns predictions; a cell's shade is its share of the row.")
            .Append(pictures ? " Click a cell to see its images." : "").Append("</p>");
        sb.Append("<div class=\"scroll\"><table class=\"confusion\"><thead><tr><th scope=\"col\">target \\ predicted</th>");
        for (int p = 0; p < k; p++)
        {
            sb.Append("<th scope=\"col\">").Append(Html.Esc(Histogram.ClassName(names, p))).Append("</th>");
        }
        sb.Append("<th scope=\"col\">accuracy</th></tr></thead><tbody>");
        var cells = new StringBuilder();
        for (int t = 0; t < k; t++)
        {
            double total = e.Confusion[t].Sum();
            sb.Append("<tr><th scope=\"row\">").Append(Html.Esc(Histogram.ClassName(names, t))).Append("</th>");
            for (int p = 0; p < k; p++)
            {
                int n = e.Confusion[t][p];
                double share = total == 0 ? 0 : n / total;
                string style = Html.Inv($"background:rgba(0,114,178,{share:F3});color:{(share > 0.5 ? "#fff" : "#000")}");
                sb.Append(Html.Inv($"<td data-t=\"{t}\" data-p=\"{p}\" data-n=\"{n}\" style=\"{style}\">"));
                if (pictures && n > 0)
                {
                    sb.Append(Html.Inv($"<button type=\"button\" class=\"cell\" data-cell=\"cm-{t}-{p}\" aria-label=\"target {Html.Esc(Histogram.ClassName(names, t))}, predicted {Html.Esc(Histogram.ClassName(names, p))}: {n}\">{n}</button>"));
                    CellImages(cells, e, test, names, t, p, n);
                }
                else
                {
                    sb.Append(Html.Inv($"{n}"));
                }
                sb.Append("</td>");
            }
            double acc = e.PerClassAccuracy[t];
            sb.Append("<td class=\"num\">").Append(double.IsNaN(acc) ? "—" : Html.Percent(acc)).Append("</td></tr>");
        }
        sb.Append("</tbody></table></div>").Append(cells);
    }

    /// <summary>The first images of a cell, as one strip at their own size (the page scales them up pixelated).</summary>
    static void CellImages(StringBuilder sb, Evaluation e, Data.LabeledImages test, string[]? names, int t, int p, int n)
    {
        int[] indices = [.. Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == t && e.Predictions[i] == p).Take(PerCell)];
        sb.Append(Html.Inv($"<div class=\"cellimgs\" id=\"cm-{t}-{p}\" hidden><p>target {Html.Esc(Histogram.ClassName(names, t))}, predicted {Html.Esc(Histogram.ClassName(names, p))}: {n} image(s){(n > indices.Length ? $", the first {indices.Length} shown" : "")}; test indices {string.Join(", ", indices)}</p>"));
        sb.Append(Html.Inv($"<img class=\"strip\" width=\"{indices.Length * test.Cols * 3}\" height=\"{test.Rows * 3}\" alt=\"test images {string.Join(", ", indices)}\" src=\"{Html.DataUri(Strip(test, indices))}\"></div>"));
    }

    public static byte[] Strip(Data.LabeledImages test, int[] indices)
    {
        int rows = test.Rows, cols = test.Cols;
        return Png.Encode(indices.Length * cols, rows, canvas =>
        {
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            for (int k = 0; k < indices.Length; k++)
            {
                int offset = indices[k] * rows * cols;
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < cols; c++)
                    {
                        byte v = test.Pixels[offset + r * cols + c];
                        paint.Color = new SKColor(v, v, v);
                        canvas.DrawRect(k * cols + c, r, 1, 1, paint);
                    }
                }
            }
        });
    }

    /// <summary>The wrong predictions the model was surest of: the output it gave the class it chose.</summary>
    static void ConfidentlyWrong(StringBuilder sb, RunData d, Evaluation e, Data.LabeledImages test, string[]? names)
    {
        if (d.Outputs is not { } outputs)
        {
            return;
        }
        int classes = e.Confusion.Length;
        var wrong = Enumerable.Range(0, test.Count).Where(i => e.Predictions[i] != test.Labels[i])
            .Select(i => (Index: i, Confidence: outputs[i * classes + e.Predictions[i]]))
            .OrderByDescending(x => x.Confidence).ThenBy(x => x.Index).Take(Wrong).ToArray();
        if (wrong.Length == 0)
        {
            return;
        }
        int[] indices = [.. wrong.Select(w => w.Index)];
        int[] predictions = [.. indices.Select(i => e.Predictions[i])];
        string title = $"the {wrong.Length} most confidently wrong test images: label → prediction";
        byte[] png = DigitGrid.Encode(test.Pixels, test.Labels, test.Rows, test.Cols, indices, predictions, title, names);
        sb.Append("<h3>Most confidently wrong</h3><figure class=\"pic\"><img alt=\"").Append(Html.Esc(title)).Append("\" src=\"").Append(Html.DataUri(png)).Append("\">");
        sb.Append("<figcaption><ol class=\"wrong\">");
        foreach (var (index, confidence) in wrong)
        {
            sb.Append(Html.Inv($"<li data-index=\"{index}\" data-output=\"{Html.Js(confidence)}\">test image {index}: label {Html.Esc(Histogram.ClassName(names, test.Labels[index]))}, predicted {Html.Esc(Histogram.ClassName(names, e.Predictions[index]))} with output {confidence:F3}</li>"));
        }
        sb.Append("</ol></figcaption></figure>");
    }
}
