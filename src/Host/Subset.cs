using Functional.Host.Data;

namespace Functional.Host;

/// <summary>The first N images of a set (<c>--train-count</c>), sharing nothing mutable with the original.</summary>
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
            images.ImagesPath, images.LabelsPath);
    }
}
