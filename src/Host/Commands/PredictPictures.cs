using System.Globalization;
using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional predict --image a.png [b.jpg ...]</c>: each picture prepared as MNIST's digits were
/// (<see cref="DigitPhoto"/>), then its predicted class and top-3 outputs, one line per picture;
/// <c>--show</c> draws what the network saw.
/// </summary>
public static class PredictPictures
{
    public static int Run(PredictOptions o, Model model)
    {
        if (model.Spec.Inputs != DigitPhoto.Side * DigitPhoto.Side)
        {
            throw new DataError(ModelFile.Resolve(o.Model),
                $"the network takes {model.Spec.Inputs} inputs ({model.Spec.ArchText}); pictures are prepared as 28x28 = 784-pixel digits");
        }
        string[] classes = ModelFile.ClassNames(o.Model, model);
        // Every picture is read and prepared before anything is printed or drawn: a bad one fails alone, early.
        var pictures = o.Images.Select(GrayImage.Read).ToArray();
        var seen = pictures.Select((p, i) => DigitPhoto.Prepare(p, o.Images[i])).ToArray();
        int n = pictures.Length, k = model.Spec.Classes, side = DigitPhoto.Side * DigitPhoto.Side;
        var pixels = new byte[n * side];
        for (int i = 0; i < n; i++)
        {
            seen[i].Pixels.CopyTo(pixels, i * side);
        }
        double[] outputs = model.OutputsAll(Api.Data.Images(pixels, new byte[n], n, side));

        var log = Console.Out;
        log.WriteLine($"model {ModelFile.Resolve(o.Model)}: {model.Spec.ArchText}; top 3 of {ModelFile.OutputsText(model.Spec)}");
        var rows = new List<PhotoSheet.Row>();
        for (int i = 0; i < n; i++)
        {
            var row = outputs.AsSpan(i * k, k).ToArray();
            int[] order = Enumerable.Range(0, k).OrderByDescending(c => row[c]).ThenBy(c => c).ToArray();
            string top = string.Join(", ", order.Take(3).Select(c => string.Create(CultureInfo.InvariantCulture, $"{classes[c]} {row[c]:F4}")));
            string how = seen[i].Inverted ? "light paper, inverted" : "dark background";
            log.WriteLine($"{o.Images[i]}: {classes[order[0]]}   ({top}; {pictures[i].Cols}x{pictures[i].Rows}, {how})");
            rows.Add(new PhotoSheet.Row(pictures[i], seen[i].Pixels, Path.GetFileName(o.Images[i]),
                string.Create(CultureInfo.InvariantCulture, $"seen: {classes[order[0]]} ({row[order[0]]:F2})")));
        }
        if (o.Show is { } png)
        {
            PhotoSheet.Write(png, rows);
            log.WriteLine($"picture {png}: each picture beside the 28x28 image the network saw");
        }
        return ReturnCode.Ok;
    }
}
