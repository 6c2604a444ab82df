using System.Globalization;
using System.Text;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional eval</c>: accuracy, per-class accuracy, the confusion matrix and a few examples.</summary>
public static class EvalCommand
{
    public static int Run(EvalOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Png, "--png");
        Threads.Choose(o.Threads, 500);
        var model = ModelFile.Load(o.Model);
        var info = ModelFile.ReadDataInfo(o.Model);
        var data = Inputs.LoadFor(o.Data, o.DataLabels, info);
        Inputs.CheckFits(data, model.Spec);
        var images = Inputs.ToCore(data);
        var scaled = ModelFile.WithScale(model, o.Scale);
        var e = scaled.Evaluate(images);
        var log = Console.Out;

        log.WriteLine($"model {ModelFile.Resolve(o.Model)}: {model.Spec.LayersText}, {model.Spec.PrecisionName}, scale {scaled.Spec.ScaleName}");
        log.WriteLine($"data  {data.ImagesPath}: {data.Count:N0} {(data.IsTable ? "rows" : "images")}");
        if (info?.ClassNames is not null)
        {
            log.WriteLine($"classes {string.Join(", ", Enumerable.Range(0, model.Spec.Classes).Select(c => $"{c} {info.NameOf(c)}"))}");
        }
        log.WriteLine(Inv($"accuracy: {100 * e.Accuracy:F2}% ({e.Confusion.Select((r, c) => r[c]).Sum():N0}/{e.Count:N0}), mean loss {e.Loss:F4}"));
        log.WriteLine();
        log.WriteLine(ConfusionTable(e, info?.ClassNames));
        log.WriteLine(Sample(data.Labels, e.Predictions, o.Seed));
        if (o.Png is { } png)
        {
            log.WriteLine($"png   {Plots.Confusion(png, e, Inv($"{Path.GetFileName(data.ImagesPath)}: accuracy {100 * e.Accuracy:F2}% of {e.Count:N0}, rows = targets"), info?.ClassNames)}");
        }
        return ReturnCode.Ok;
    }

    /// <summary>Rows are targets, columns predictions; the last column is the class's accuracy.</summary>
    public static string ConfusionTable(Evaluation e, string[]? names = null)
    {
        int k = e.Confusion.Length;
        // Named rows read "name c"; the columns keep the class numbers.
        int width = names is null ? 11 : Math.Max(11, Enumerable.Range(0, k).Max(c => Data.ClassNames.Of(names, c).Length + 1 + $"{c}".Length));
        var sb = new StringBuilder();
        sb.Append("target\\pred".PadLeft(width)).Append(' ', 1);
        for (int c = 0; c < k; c++)
        {
            sb.Append(Inv($"{c,6}"));
        }
        sb.AppendLine("   accuracy");
        for (int t = 0; t < k; t++)
        {
            sb.Append((names is null ? Inv($"{t}") : $"{Data.ClassNames.Of(names, t)} {t}").PadLeft(width)).Append(' ');
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
