using System.Globalization;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional predict</c>: the class probabilities of one image.</summary>
public static class PredictCommand
{
    public static int Run(PredictOptions o)
    {
        Threads.Choose(o.Threads, 1);
        var model = ModelFile.Load(o.Model);
        var data = Inputs.Load(o.Data, o.DataLabels, Inputs.TestImages);
        Inputs.CheckFits(data, model.Spec);
        if (o.Index < 0 || o.Index >= data.Count)
        {
            throw new UsageError($"--index {o.Index} is outside {data.ImagesPath}, which holds images 0..{data.Count - 1}");
        }
        model = ModelFile.WithScale(model, o.Scale);
        double[] p = model.Outputs(Inputs.ToCore(data), o.Index);
        int best = Array.IndexOf(p, p.Max());
        var log = Console.Out;
        log.WriteLine($"image {o.Index} of {data.ImagesPath}: label {data.Labels[o.Index]}, predicted {best}");
        for (int c = 0; c < p.Length; c++)
        {
            string bar = new('#', (int)Math.Round(40 * Math.Clamp(p[c], 0, 1)));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c,2}  {p[c],8:F4}  {bar}{(c == best ? "  <" : "")}"));
        }
        return ReturnCode.Ok;
    }
}
