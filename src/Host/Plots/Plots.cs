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

    /// <summary>
    /// A grid of images <paramref name="start"/>.. of <paramref name="images"/> with their labels, and with
    /// <paramref name="predictions"/> (one per image shown) the predicted classes, wrong ones framed in red.
    /// </summary>
    public static string Digits(string path, Functional.Host.Data.LabeledImages images, int start, int count, int[]? predictions = null)
    {
        int[] indices = [.. Enumerable.Range(start, count)];
        string what = predictions is null ? "label" : "label → prediction, wrong in red";
        string title = $"{Path.GetFileName(images.ImagesPath)} {start}–{start + count - 1}: {what}";
        return DigitGrid.Write(path, images.Pixels, images.Labels, images.Rows, images.Cols, indices, predictions, title);
    }

    /// <summary>The confusion matrix of <paramref name="evaluation"/> as a heatmap.</summary>
    public static string Confusion(string path, Evaluation evaluation, string title) =>
        ConfusionPlot.Write(path, evaluation.Confusion, title);

    /// <summary>Per layer, histograms of its activations and of its gradients (for the doctor).</summary>
    public static string Histograms(string path, IReadOnlyList<LayerValues> layers, string title = "activations and gradients per layer") =>
        HistogramsPlot.Write(path, layers, title);
}
