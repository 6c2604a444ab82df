namespace Functional.Host.Data;

/// <summary>
/// A labelled set as loaded from disk: pixels stay bytes (0–255), one image after another, each row-major, and
/// one label per image. A table (tabular CSV) instead holds float <see cref="Values"/> as one row of
/// <see cref="Features"/> columns, and no pixels.
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
        if ((long)count * rows * cols != pixels.Length && !(pixels.Length == 0 && rows == 1))
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

    /// <summary>A table of <paramref name="count"/> rows of <paramref name="features"/> float values.</summary>
    public static LabeledImages Table(float[] values, byte[] labels, int count, int features, string path)
    {
        ArgumentNullException.ThrowIfNull(values);
        if ((long)count * features != values.Length)
        {
            throw new ArgumentException($"{values.Length} values for {count} rows of {features}", nameof(values));
        }
        return new LabeledImages([], labels, count, 1, features, path, path) { Values = values };
    }

    /// <summary>Float inputs of a table, <c>Count * Features</c>, row after row; null for images (see Pixels).</summary>
    public float[]? Values { get; init; }

    /// <summary>The name of each class (label i is ClassNames[i]: a table's text labels, an image folder's class
    /// folders, Fashion-MNIST's names); null = the digits "0".."N-1".</summary>
    public string[]? ClassNames { get; init; }

    public bool IsTable => Values is not null;

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
}
