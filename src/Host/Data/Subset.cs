using Functional.Host.Data;

namespace Functional.Host;

/// <summary>Parts of an image set (<c>--train-count</c>, the validation split), sharing nothing mutable with the original.</summary>
public static class Subset
{
    /// <summary>The first <paramref name="count"/> images; the whole set when count is 0 or at least its size.</summary>
    public static LabeledImages First(LabeledImages images, int count)
    {
        if (count <= 0 || count >= images.Count)
        {
            return images;
        }
        return new LabeledImages(
            images.IsTable ? [] : images.Pixels[..(count * images.Features)], images.Labels[..count], count, images.Rows, images.Cols,
            images.ImagesPath, images.LabelsPath)
        {
            Values = images.Values?[..(count * images.Features)],
            ClassNames = images.ClassNames,
        };
    }

    /// <summary>The images at <paramref name="indices"/>, in that order.</summary>
    public static LabeledImages Pick(LabeledImages images, int[] indices)
    {
        int f = images.Features;
        var pixels = new byte[images.IsTable ? 0 : indices.Length * f];
        float[]? values = images.IsTable ? new float[indices.Length * f] : null;
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            if (values is null)
            {
                Array.Copy(images.Pixels, indices[i] * f, pixels, i * f, f);
            }
            else
            {
                Array.Copy(images.Values!, indices[i] * f, values, i * f, f);
            }
            labels[i] = images.Labels[indices[i]];
        }
        return new LabeledImages(pixels, labels, indices.Length, images.Rows, images.Cols, images.ImagesPath, images.LabelsPath)
        {
            Values = values,
            ClassNames = images.ClassNames,
        };
    }
}
