using System.Globalization;
using System.Text;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional eval</c>: accuracy, per-class accuracy, the confusion matrix and a few examples.</summary>
public static class EvalCommand
{
    public static int Run(EvalOptions o)
    {
        Threads.Choose(o.Threads, 500);
        var model = ModelFile.Load(o.Model);
        var data = Inputs.Load(o.Data, o.DataLabels, Inputs.TestImages);
        Inputs.CheckFits(data, model.Spec);
        var images = Inputs.ToCore(data);
        var scaled = ModelFile.WithScale(model, o.Scale);
        var e = scaled.Evaluate(images);
        var log = Console.Out;

        log.WriteLine($"model {ModelFile.Resolve(o.Model)}: {model.Spec.LayersText}, {model.Spec.PrecisionName}, scale {scaled.Spec.ScaleName}");
        log.WriteLine($"data  {data.ImagesPath}: {data.Count:N0} images");
        log.WriteLine(Inv($"accuracy: {100 * e.Accuracy:F2}% ({e.Confusion.Select((r, c) => r[c]).Sum():N0}/{e.Count:N0}), mean loss {e.Loss:F4}"));
        log.WriteLine();
        log.WriteLine(ConfusionTable(e));
        log.WriteLine(Sample(data.Labels, e.Predictions, o.Seed));
        if (o.Png is { } png)
        {
            log.WriteLine($"png   {Plots.Confusion(png, e, Inv($"{Path.GetFileName(data.ImagesPath)}: accuracy {100 * e.Accuracy:F2}% of {e.Count:N0}, rows = targets"))}");
        }
        return ReturnCode.Ok;
    }

    /// <summary>Rows are targets, columns predictions; the last column is the class's accuracy.</summary>
    public static string ConfusionTable(Evaluation e)
    {
        int k = e.Confusion.Length;
        var sb = new StringBuilder();
        sb.Append("target\\pred").Append(' ', 1);
        for (int c = 0; c < k; c++)
        {
            sb.Append(Inv($"{c,6}"));
        }
        sb.AppendLine("   accuracy");
        for (int t = 0; t < k; t++)
        {
            sb.Append(Inv($"{t,11} "));
            for (int c = 0; c < k; c++)
            {
                sb.Append(Inv($"{e.Confusion[t][c],6}"));
            }
            double acc = e.PerClassAccuracy[t];
            sb.AppendLine(double.IsNaN(acc) ? "          -" : Inv($"{100 * acc,10:F2}%"));
        }
        return sb.ToString();
    }

    /// <summary>Ten random examples (seeded, each index at most once): their targets above their predictions.</summary>
    public static string Sample(byte[] labels, int[] predictions, int seed)
    {
        var rng = new Random(seed);
        int k = Math.Min(10, labels.Length);
        // A partial Fisher-Yates shuffle over the indices seen so far: k distinct picks without an n-sized array.
        var swapped = new Dictionary<int, int>();
        int[] picks = new int[k];
        for (int i = 0; i < k; i++)
        {
            int j = rng.Next(i, labels.Length);
            picks[i] = swapped.GetValueOrDefault(j, j);
            swapped[j] = swapped.GetValueOrDefault(i, i);
        }
        return "index      " + string.Join(" ", picks.Select(i => Inv($"{i,5}"))) + "\n" +
               "target     " + string.Join(" ", picks.Select(i => Inv($"{labels[i],5}"))) + "\n" +
               "prediction " + string.Join(" ", picks.Select(i => Inv($"{predictions[i],5}")));
    }

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
