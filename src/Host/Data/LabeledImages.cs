namespace Functional.Host.Data;

/// <summary>
/// A labelled image set as loaded from disk: pixels stay bytes (0–255), one image after another,
/// each row-major, and one label (0–9) per image.
/// </summary>
public sealed class LabeledImages
{
    public LabeledImages(
        byte[] pixels, byte[] labels, int count, int rows, int cols, string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if ((long)count * rows * cols != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} pixels for {count} images of {rows}x{cols}", nameof(pixels));
        }
        if (labels.Length != count)
        {
            throw new ArgumentException($"{labels.Length} labels for {count} images", nameof(labels));
        }
        Pixels = pixels;
        Labels = labels;
        Count = count;
        Rows = rows;
        Cols = cols;
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
    }

    /// <summary><c>Count * Rows * Cols</c> bytes: image i starts at <c>i * Features</c>, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary><c>Count</c> labels, each 0–9.</summary>
    public byte[] Labels { get; }

    public int Count { get; }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Pixels per image.</summary>
    public int Features => Rows * Cols;

    public string ImagesPath { get; }

    /// <summary>The labels file; the same as <see cref="ImagesPath"/> for CSV and image folders.</summary>
    public string LabelsPath { get; }

    /// <summary>The name of each label (an image folder's class folders); null = digits "0".."N-1".</summary>
    public string[]? ClassNames { get; init; }
}
