using SkiaSharp;

namespace Functional.Host.Data;

/// <summary>
/// A PNG or JPEG file as grey levels 0–255 (row-major), decoded with SkiaSharp: transparent pixels count as white
/// paper, colours become luminance 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's "L" mode).
/// </summary>
public sealed record GrayImage(byte[] Pixels, int Rows, int Cols)
{
    /// <summary>Larger claims are refused before decoding: a 16-megapixel photo fits, a forged header cannot
    /// make us allocate gigabytes.</summary>
    public const long MaxPixels = 1L << 24;

    /// <summary>The image's size from its header alone, without decoding the pixels.</summary>
    /// <exception cref="DataError">Missing, unreadable, not a PNG/JPEG, or larger than <see cref="MaxPixels"/>.</exception>
    public static (int Rows, int Cols) ReadSize(string path)
    {
        using var codec = Open(path);
        return Turned(codec.EncodedOrigin) ? (codec.Info.Width, codec.Info.Height) : (codec.Info.Height, codec.Info.Width);
    }

    /// <summary>Decodes the whole image.</summary>
    /// <exception cref="DataError">As <see cref="ReadSize"/>, and for truncated or corrupt pixel data.</exception>
    public static GrayImage Read(string path)
    {
        using var codec = Open(path);
        int w = codec.Info.Width, h = codec.Info.Height;
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            throw new DataError(path, $"cannot hold a {w}x{h} image in memory");
        }
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new DataError(path, codec.EncodedFormat == SKEncodedImageFormat.Png && PngCheck.Problem(path) is { } png
                ? $"the PNG is {png} ({w}x{h} declared)"
                : $"the {Kind(codec)} pixel data is {Reason(result)} ({w}x{h} declared)");
        }
        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        var gray = new byte[w * h];
        for (int i = 0; i < gray.Length; i++)
        {
            int r = rgba[4 * i], g = rgba[(4 * i) + 1], b = rgba[(4 * i) + 2], a = rgba[(4 * i) + 3];
            double luminance = (0.299 * r) + (0.587 * g) + (0.114 * b);
            // Over white paper: what a transparent canvas from a paint program looks like.
            gray[i] = (byte)Math.Round(((luminance * a) + (255.0 * (255 - a))) / 255.0);
        }
        return Oriented(gray, h, w, codec.EncodedOrigin);
    }

    /// <summary>The image as it is meant to be seen: a phone stores a photo as its sensor read it and says in the
    /// EXIF orientation tag how to turn it, so a digit photographed in portrait would otherwise lie on its side.</summary>
    public static GrayImage Oriented(byte[] pixels, int rows, int cols, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or SKEncodedOrigin.Default)
        {
            return new GrayImage(pixels, rows, cols);
        }
        int h = rows, w = cols;
        var (outRows, outCols) = Turned(origin) ? (w, h) : (h, w);
        var turned = new byte[pixels.Length];
        for (int r = 0; r < outRows; r++)
        {
            for (int c = 0; c < outCols; c++)
            {
                // The stored pixel that shows at (r, c).
                var (sr, sc) = origin switch
                {
                    SKEncodedOrigin.TopRight => (r, w - 1 - c),
                    SKEncodedOrigin.BottomRight => (h - 1 - r, w - 1 - c),
                    SKEncodedOrigin.BottomLeft => (h - 1 - r, c),
                    SKEncodedOrigin.LeftTop => (c, r),
                    SKEncodedOrigin.RightTop => (h - 1 - c, r),
                    SKEncodedOrigin.RightBottom => (h - 1 - c, w - 1 - r),
                    _ => (c, w - 1 - r), // LeftBottom
                };
                turned[(r * outCols) + c] = pixels[(sr * w) + sc];
            }
        }
        return new GrayImage(turned, outRows, outCols);
    }

    /// <summary>Orientations that swap width and height (a quarter turn, with or without a mirror).</summary>
    static bool Turned(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    static SKCodec Open(string path)
    {
        NativeAssets.Install(); // for F# Interactive and test hosts
        // FileInput names a missing file or a folder; the stream is SkiaSharp's from here on.
        using (FileInput.Open(path, bufferSize: 0))
        {
        }
        long length = new FileInfo(path).Length;
        if (length == 0)
        {
            throw new DataError(path, "file is empty, expected a PNG or JPEG image");
        }
        SKCodec? codec;
        SKCodecResult result;
        try
        {
            codec = SKCodec.Create(path, out result);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
        if (codec is null)
        {
            throw new DataError(path, StartsLikeAnImage(path)
                ? PngCheck.Problem(path) is { } png ? $"a damaged PNG: {png}" : $"a damaged image: its header cannot be decoded ({Reason(result)})"
                : "not a PNG or JPEG image: it does not start with either's signature");
        }
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg))
        {
            var format = codec.EncodedFormat;
            codec.Dispose();
            throw new DataError(path, $"is a {format} image; only PNG and JPEG are read");
        }
        int w = codec.Info.Width, h = codec.Info.Height;
        if (w <= 0 || h <= 0 || (long)w * h > MaxPixels)
        {
            codec.Dispose();
            throw new DataError(path, $"declares {w}x{h} pixels; at most {MaxPixels:N0} pixels are read");
        }
        return codec;
    }

    static bool StartsLikeAnImage(string path)
    {
        Span<byte> start = stackalloc byte[4];
        using var file = FileInput.Open(path, bufferSize: 0);
        int n = file.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        return n == 4 && (start.SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
            || (start[0] == 0xFF && start[1] == 0xD8 && start[2] == 0xFF));
    }

    static string Kind(SKCodec codec) => codec.EncodedFormat == SKEncodedImageFormat.Png ? "PNG" : "JPEG";

    static string Reason(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "truncated",
        SKCodecResult.ErrorInInput => "corrupt",
        SKCodecResult.InvalidInput => "not a known image format",
        SKCodecResult.Unimplemented => "in a variant SkiaSharp cannot decode",
        SKCodecResult.InvalidConversion => "in a colour format that cannot be converted",
        var r => r.ToString(),
    };

    /// <summary>
    /// Resamples to <paramref name="rows"/>×<paramref name="cols"/> by area averaging: each output pixel is the mean of
    /// the input area it covers (fractional pixels weighted), so shrinking does not alias and enlarging is blocky but
    /// exact. Float values in, float values out: the photo preparation resamples before rounding.
    /// </summary>
    public static float[] Resample(ReadOnlySpan<float> source, int sourceRows, int sourceCols, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        var (rowFrom, rowWeight) = Spans(sourceRows, rows);
        var (colFrom, colWeight) = Spans(sourceCols, cols);
        var result = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                double sum = 0, weight = 0;
                for (int i = 0; i < rowWeight[r].Length; i++)
                {
                    for (int j = 0; j < colWeight[c].Length; j++)
                    {
                        double w = rowWeight[r][i] * colWeight[c][j];
                        sum += w * source[((rowFrom[r] + i) * sourceCols) + colFrom[c] + j];
                        weight += w;
                    }
                }
                result[(r * cols) + c] = (float)(sum / weight);
            }
        }
        return result;
    }

    /// <summary>Resamples grey levels to <paramref name="rows"/>×<paramref name="cols"/> (see <see cref="Resample"/>).</summary>
    public GrayImage Resized(int rows, int cols)
    {
        if (rows == Rows && cols == Cols)
        {
            return this;
        }
        var source = Array.ConvertAll(Pixels, p => (float)p);
        var resized = Resample(source, Rows, Cols, rows, cols);
        return new GrayImage(Array.ConvertAll(resized, v => (byte)Math.Clamp(Math.Round(v), 0, 255)), rows, cols);
    }

    /// <summary>For each output index, the first source index it covers and the weight of each source index covered.</summary>
    static (int[] from, double[][] weights) Spans(int source, int target)
    {
        var from = new int[target];
        var weights = new double[target][];
        double step = (double)source / target;
        for (int t = 0; t < target; t++)
        {
            double start = t * step, end = (t + 1) * step;
            int first = (int)Math.Floor(start);
            int last = Math.Min(source - 1, (int)Math.Ceiling(end) - 1);
            from[t] = first;
            weights[t] = new double[last - first + 1];
            for (int s = first; s <= last; s++)
            {
                weights[t][s - first] = Math.Min(end, s + 1) - Math.Max(start, s);
            }
        }
        return (from, weights);
    }
}
