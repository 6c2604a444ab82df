using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional show</c>: a grid of images with their labels and, with a model, its predictions.</summary>
public static class ShowCommand
{
    public static int Run(ShowOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Out, "--out");
        if (o.Filters is { } run)
        {
            return Filters(run, o.Out);
        }
        Threads.Choose(o.Threads, 500);
        var data = Inputs.Load(o.Data, o.DataLabels, Inputs.TestImages);
        if (data.IsTable)
        {
            throw new DataError(data.ImagesPath, "is a table, and show draws images: eval --data and predict --data report on a table's rows");
        }
        if (o.Start >= data.Count)
        {
            throw new UsageError($"--start {o.Start} is outside {data.ImagesPath}, which holds images 0..{data.Count - 1}");
        }
        if (o.Augmented is { } augmented)
        {
            return Augmented(data, augmented.Value, o);
        }
        int count = Math.Min(o.Count, data.Count - o.Start);
        int[]? predictions = null;
        if (o.Model is { } path)
        {
            var model = ModelFile.Load(path);
            Inputs.CheckFits(data, model.Spec);
            model = ModelFile.WithScale(model, o.Scale);
            var images = Inputs.ToCore(data);
            predictions = [.. Enumerable.Range(o.Start, count).Select(i => ArgMax(model.Outputs(images, i)))];
        }
        string written = Plots.Digits(o.Out, data, o.Start, count, predictions);
        var log = Console.Out;
        log.WriteLine($"show  images {o.Start}..{o.Start + count - 1} of {data.ImagesPath}");
        if (predictions is not null)
        {
            int wrong = Enumerable.Range(0, count).Count(k => predictions[k] != data.Labels[o.Start + k]);
            log.WriteLine($"model {ModelFile.Resolve(o.Model!)}: {count - wrong} of {count} right, {wrong} wrong (framed in red)");
        }
        log.WriteLine($"png   {written}");
        return ReturnCode.Ok;
    }

    /// <summary><c>show --augmented SPEC</c>: one image as training sees it in epochs 0..count−1.</summary>
    static int Augmented(Data.LabeledImages data, Functional.Augment.Augment augment, ShowOptions o)
    {
        int n = data.Rows * data.Cols;
        var pixels = new byte[o.Count * n];
        for (int e = 0; e < o.Count; e++)
        {
            Api.Data.Augmented(augment, o.Seed, e, o.Start, data.Pixels, data.Rows, data.Cols).CopyTo(pixels, e * n);
        }
        var labels = Enumerable.Repeat(data.Labels[o.Start], o.Count).ToArray();
        string spec = Api.Data.AugmentText(augment);
        string title = $"image {o.Start} of {Path.GetFileName(data.ImagesPath)}, augmented {spec}, epochs 1..{o.Count} (seed {o.Seed})";
        string written = DigitGrid.Write(o.Out, pixels, labels, data.Rows, data.Cols, [.. Enumerable.Range(0, o.Count)], null, title);
        Console.Out.WriteLine($"show  image {o.Start} of {data.ImagesPath}, {o.Count} augmented versions ({spec})");
        Console.Out.WriteLine($"png   {written}");
        return ReturnCode.Ok;
    }

    /// <summary><c>show --filters RUN</c>: the first convolution layer's filters of a model, or the first RBF
    /// centres of a network without one (each centre [F] as a √F×√F image).</summary>
    static int Filters(string path, string output)
    {
        var model = ModelFile.Load(path);
        var (weight, title) = FirstFilters.Of(model, dense: false)
            ?? throw new UsageError($"{ModelFile.Resolve(path)} has no convolution layer and no rbf layer of square inputs ({model.Spec.LayersText}): --filters draws a convolution's filters or an rbf layer's centres");
        string written = Plots.Filters(output, weight, title);
        Console.Out.WriteLine($"show  {weight.Name} [{string.Join(",", weight.Shape)}] of {ModelFile.Resolve(path)}");
        Console.Out.WriteLine($"png   {written}");
        return ReturnCode.Ok;
    }

    static int ArgMax(double[] p)
    {
        int best = 0;
        for (int c = 1; c < p.Length; c++)
        {
            if (p[c] > p[best])
            {
                best = c;
            }
        }
        return best;
    }
}
