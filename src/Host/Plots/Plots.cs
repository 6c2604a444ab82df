namespace Functional.Host;

/// <summary>The pictures Functional draws, one call each; every one writes a PNG and returns its path.</summary>
public static class Plots
{
    /// <summary>curves.png in <paramref name="runDir"/> (or at <paramref name="path"/>), from run.json and journal.jsonl.</summary>
    public static string Curves(string runDir, string? path = null) =>
        CurvesPlot.Write(RunHistory.Load(runDir), path ?? Path.Combine(runDir, CurvesPlot.FileName));

    /// <summary>
    /// Like <see cref="Curves"/>, for the end of training: a picture that cannot be drawn must not fail the run,
    /// so this returns the path, or "not drawn: why".
    /// </summary>
    public static string TryCurves(string runDir)
    {
        try
        {
            return Curves(runDir);
        }
        catch (Exception e) when (e is DataError or IOException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return $"not drawn: {e.Message}";
        }
    }

    /// <summary>One series against its index, both axes titled (scripts/Scripting.fsx's <c>plot</c>).</summary>
    public static string Series(string path, string title, string xTitle, string yTitle, double[] ys) =>
        SeriesPlot.Write(path, title, xTitle, yTitle, ys);

    /// <summary>The range test's loss against the learning rate (log axis), the suggestion marked.</summary>
    public static string LrFind(string path, LrFinder.Finding f, string title) => LrFindPlot.Write(path, f, title);

    /// <summary>
    /// A grid of images <paramref name="start"/>.. of <paramref name="images"/> with their labels, and with
    /// <paramref name="predictions"/> (one per image shown) the predicted classes, wrong ones framed in red.
    /// </summary>
    public static string Digits(string path, Functional.Host.Data.LabeledImages images, int start, int count, int[]? predictions = null)
    {
        int[] indices = [.. Enumerable.Range(start, count)];
        string what = predictions is null ? "label" : "label → prediction, wrong in red";
        string title = $"{Path.GetFileName(images.ImagesPath)} {start}–{start + count - 1}: {what}";
        return DigitGrid.Write(path, images.Pixels, images.Labels, images.Rows, images.Cols, indices, predictions, title, images.ClassNames);
    }

    /// <summary>
    /// The filters of a convolution weight [out, in, kh, kw] as a grid: one picture per (output, input channel),
    /// labelled with its output channel, each scaled on its own from its minimum (black) to its maximum (white)
    /// and drawn <paramref name="zoom"/> image pixels per weight.
    /// </summary>
    public static string Filters(string path, NamedArray weight, string title, int zoom = 6)
    {
        byte[] png = FiltersPng(weight, title, zoom);
        AtomicFile.Write(path, s => s.Write(png));
        return path;
    }

    /// <summary>The PNG bytes <see cref="Filters"/> writes.</summary>
    public static byte[] FiltersPng(NamedArray weight, string title, int zoom = 6)
    {
        int outs = weight.Shape[0], ins = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3];
        double[] w = weight.Float32 is { } f ? [.. f.Select(x => (double)x)] : weight.Float64;
        int rows = kh * zoom, cols = kw * zoom, count = outs * ins;
        var pixels = new byte[count * rows * cols];
        var labels = new byte[count];
        for (int k = 0; k < count; k++)
        {
            var filter = w.AsSpan(k * kh * kw, kh * kw);
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (double v in filter)
            {
                lo = Math.Min(lo, v);
                hi = Math.Max(hi, v);
            }
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    double v = filter[r / zoom * kw + c / zoom];
                    pixels[(k * rows + r) * cols + c] = (byte)Math.Round(hi > lo ? 255 * (v - lo) / (hi - lo) : 128);
                }
            }
            labels[k] = (byte)Math.Min(k / ins, 255);
        }
        return DigitGrid.Encode(pixels, labels, rows, cols, [.. Enumerable.Range(0, count)], null, title);
    }

    /// <summary>The confusion matrix of <paramref name="evaluation"/> as a heatmap.</summary>
    public static string Confusion(string path, Evaluation evaluation, string title, string[]? classNames = null) =>
        ConfusionPlot.Write(path, evaluation.Confusion, title, classNames);

    /// <summary>Per layer, histograms of its activations and of its gradients (for the doctor).</summary>
    public static string Histograms(string path, IReadOnlyList<LayerValues> layers, string title = "activations and gradients per layer") =>
        HistogramsPlot.Write(path, layers, title);
}
