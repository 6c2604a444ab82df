using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host;

/// <summary>Resolving data options to loaded image sets, and the shipped defaults.</summary>
public static class Inputs
{
    public const string TrainImages = "train-images-idx3-ubyte.gz";
    public const string TestImages = "test-images-idx3-ubyte.gz";

    /// <summary>Loads <paramref name="path"/> (null: the shipped file <paramref name="shipped"/>) with its labels; image
    /// folders resampled to <paramref name="resize"/> and labelled by <paramref name="classes"/> when given.</summary>
    public static LabeledImages Load(string? path, string? labels, string shipped, (int Rows, int Cols)? resize = null,
        string[]? classes = null) =>
        DataFiles.Load(path ?? DataFiles.ShippedPath(shipped), labels, TableOptions.Default, classes, resize);

    /// <summary>The --resize option as the readers take it.</summary>
    public static (int Rows, int Cols)? SizeOf(Microsoft.FSharp.Core.FSharpOption<ImageSize>? size) =>
        size == null ? null : (size.Value.Rows, size.Value.Cols);

    /// <summary>Loads data for a trained model: a table read as it was in training and with its input transform,
    /// an image folder resampled as it was (--resize), class names as the model's.</summary>
    public static LabeledImages LoadFor(string? path, string? labels, DataInfo? info)
    {
        var data = DataFiles.Load(
            path ?? DataFiles.ShippedPath(TestImages), labels, info?.TableOptions ?? TableOptions.Default, info?.ClassNames, info?.Resize);
        return info is null ? data : info.Apply(data);
    }

    /// <summary>The core's view of an image set: bytes (or a table's values) and labels, nothing copied.</summary>
    public static Functional.Data.Images ToCore(LabeledImages images) =>
        new(images.Pixels, images.Labels, images.Count, images.Features, images.Values ?? []);

    public static void CheckFits(LabeledImages images, Config config) =>
        CheckFits(images, config.Inputs, config.Classes, config.ArchText);

    public static void CheckFits(LabeledImages images, ModelSpec spec) =>
        CheckFits(images, spec.Inputs, spec.Classes, spec.ArchText);

    /// <summary>Fails with one line when the images do not fit a network of these inputs and classes.</summary>
    static void CheckFits(LabeledImages images, int inputs, int classes, string arch)
    {
        if (images.Features != inputs && images.IsTable)
        {
            throw new DataError(images.ImagesPath,
                $"rows have {images.Features} features but the network takes {inputs} inputs ({arch})");
        }
        if (images.Features != inputs)
        {
            throw new DataError(images.ImagesPath,
                $"images have {images.Rows}x{images.Cols} = {images.Features} pixels but the network takes {inputs} inputs ({arch})");
        }
        for (int i = 0; i < images.Labels.Length; i++)
        {
            if (images.Labels[i] >= classes)
            {
                throw new DataError(images.LabelsPath,
                    $"label {Data.ClassNames.Of(images.ClassNames, images.Labels[i])} at index {i} does not fit the network's {classes} outputs");
            }
        }
    }
}
