using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional show</c>: a grid of images with their labels and, with a model, its predictions.</summary>
public static class ShowCommand
{
    public static int Run(ShowOptions o)
    {
        Threads.Choose(o.Threads, 500);
        var data = Inputs.Load(o.Data, o.DataLabels, Inputs.TestImages);
        if (o.Start >= data.Count)
        {
            throw new UsageError($"--start {o.Start} is outside {data.ImagesPath}, which holds images 0..{data.Count - 1}");
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
