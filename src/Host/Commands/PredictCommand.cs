using System.Globalization;
using System.Text;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional predict</c>: every image's predicted class and output values as CSV (to a file or standard
/// output), or one image's outputs with a bar each (<c>--index</c>).
/// </summary>
public static class PredictCommand
{
    public static int Run(PredictOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Out, "--out");
        Threads.Choose(o.Threads, o.Index == null ? 500 : 1);
        var model = ModelFile.Load(o.Model);
        if (o.Images.Length > 0)
        {
            return PredictPictures.Run(o, ModelFile.WithScale(model, o.Scale));
        }
        var info = ModelFile.ReadDataInfo(o.Model);
        var data = Inputs.LoadFor(o.Data, o.DataLabels, info);
        Inputs.CheckFits(data, model.Spec);
        model = ModelFile.WithScale(model, o.Scale);
        string[] classes = info is null
            ? ModelFile.Describe(model)["classes"].Split(',')
            : [.. Enumerable.Range(0, model.Spec.Classes).Select(info.NameOf)];
        if (o.Index == null)
        {
            return All(o, model, data, classes);
        }
        int index = o.Index.Value;
        if (index < 0 || index >= data.Count)
        {
            throw new UsageError($"--index {index} is outside {data.ImagesPath}, which holds images 0..{data.Count - 1}");
        }
        double[] p = model.Outputs(Inputs.ToCore(data), index);
        int best = Array.IndexOf(p, p.Max());
        var log = Console.Out;
        log.WriteLine($"image {index} of {data.ImagesPath}: label {classes[data.Labels[index]]}, predicted {classes[best]}; {ModelFile.OutputsText(model.Spec)}:");
        for (int c = 0; c < p.Length; c++)
        {
            string bar = new('#', (int)Math.Round(40 * Math.Clamp(p[c], 0, 1)));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {classes[c],2}  {p[c],8:F4}  {bar}{(c == best ? "  <" : "")}"));
        }
        return ReturnCode.Ok;
    }

    /// <summary>The columns of the output values: named for what they are (probabilities only for softmax).</summary>
    public static string ColumnPrefix(ModelSpec spec) => Api.Models.OutputActivation(spec.Arch) switch
    {
        var a when a.IsSoftmax => "p_",
        var a => Api.Models.ActivationName(a) + "_",
    };

    static int All(PredictOptions o, Model model, Data.LabeledImages data, string[] classes)
    {
        var images = Inputs.ToCore(data);
        double[] outputs = model.OutputsAll(images);
        int k = model.Spec.Classes;
        bool single = model.Spec.Precision.IsFloat32;
        string prefix = ColumnPrefix(model.Spec);
        var csv = new StringBuilder(data.Count * (16 + 12 * k));
        csv.Append("index,label,predicted");
        for (int c = 0; c < k; c++)
        {
            csv.Append(',').Append(Data.Csv.Cell(prefix + classes[c]));
        }
        csv.Append('\n');
        for (int i = 0; i < data.Count; i++)
        {
            var row = outputs.AsSpan(i * k, k);
            int best = row.IndexOf(Max(row));
            csv.Append(i.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Data.Csv.Cell(classes[data.Labels[i]])).Append(',').Append(Data.Csv.Cell(classes[best]));
            foreach (double v in row)
            {
                // The shortest text that reads back as the same value in the model's precision.
                csv.Append(',').Append(single ? ((float)v).ToString("R", CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture));
            }
            csv.Append('\n');
        }
        if (o.Out is { } path)
        {
            AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(csv.ToString())));
            Console.Out.WriteLine($"predictions {path}: {data.Count:N0} images of {data.ImagesPath}; columns index,label,predicted,{prefix}{classes[0]}..{prefix}{classes[k - 1]}: {ModelFile.OutputsText(model.Spec)}");
        }
        else
        {
            Console.Out.Write(csv.ToString());
        }
        return ReturnCode.Ok;
    }

    static double Max(ReadOnlySpan<double> row)
    {
        double m = row[0];
        foreach (double v in row)
        {
            m = Math.Max(m, v);
        }
        return m;
    }
}
