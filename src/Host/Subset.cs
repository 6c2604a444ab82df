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
            images.Pixels[..(count * images.Features)], images.Labels[..count], count, images.Rows, images.Cols,
            images.ImagesPath, images.LabelsPath)
        { ClassNames = images.ClassNames };
    }

    /// <summary>The images at <paramref name="indices"/>, in that order.</summary>
    public static LabeledImages Pick(LabeledImages images, int[] indices)
    {
        int f = images.Features;
        var pixels = new byte[indices.Length * f];
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(images.Pixels, indices[i] * f, pixels, i * f, f);
            labels[i] = images.Labels[indices[i]];
        }
        return new LabeledImages(pixels, labels, indices.Length, images.Rows, images.Cols, images.ImagesPath, images.LabelsPath)
        {
            ClassNames = images.ClassNames,
        };
    }
}
