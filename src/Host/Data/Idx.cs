using System.Buffers.Binary;
using System.IO.Compression;

namespace Functional.Host.Data;

/// <summary>
/// The IDX format of the MNIST files: a big-endian int32 magic number <c>00 00 TYPE NDIMS</c>,
/// NDIMS big-endian int32 sizes, then the data in C order. Only unsigned bytes (type 0x08) are read:
/// images (3 dimensions, magic 0x00000803) and labels (1 dimension, magic 0x00000801).
/// Files may be gzip-compressed; this is detected by content (1F 8B), not by the file name.
/// </summary>
public static class Idx
{
    /// <summary>Unsigned bytes, 3 dimensions: count, rows, columns.</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Unsigned bytes, 1 dimension: count.</summary>
    public const uint LabelsMagic = 0x00000801;

    const int InitialChunk = 1 << 20;

    /// <summary>Reads an IDX images file (raw or gzip). Pixels are row-major per image, images one after another.</summary>
    /// <exception cref="DataError">The file is missing, unreadable, not an IDX images file, truncated or too long.</exception>
    public static (byte[] pixels, int count, int rows, int cols) ReadImages(string path)
    {
        var (data, dims) = Read(path, ImagesMagic);
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads an IDX labels file (raw or gzip).</summary>
    /// <exception cref="DataError">The file is missing, unreadable, not an IDX labels file, truncated or too long.</exception>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic).data;

    /// <summary>Writes an IDX images file atomically, gzip-compressed if <paramref name="gzip"/>.</summary>
    public static void WriteImages(string path, byte[] pixels, int count, int rows, int cols, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if ((long)count * rows * cols != pixels.Length)
        {
            throw new ArgumentException(
                $"{pixels.Length} pixels given for {count} images of {rows}x{cols}", nameof(pixels));
        }
        Write(path, ImagesMagic, [count, rows, cols], pixels, gzip);
    }

    /// <summary>Writes an IDX labels file atomically, gzip-compressed if <paramref name="gzip"/>.</summary>
    public static void WriteLabels(string path, byte[] labels, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfZero(labels.Length, nameof(labels));
        Write(path, LabelsMagic, [labels.Length], labels, gzip);
    }

    /// <summary>True if the bytes start with the gzip magic 1F 8B.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == 0x1F && start[1] == 0x8B;

    static void Write(string path, uint magic, int[] dims, byte[] data, bool gzip)
    {
        var header = new byte[4 + (4 * dims.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), dims[i]);
        }
        AtomicFile.Write(path, stream =>
        {
            if (gzip)
            {
                using var zip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
                zip.Write(header);
                zip.Write(data);
            }
            else
            {
                stream.Write(header);
                stream.Write(data);
            }
        });
    }

    static (byte[] data, int[] dims) Read(string path, uint magic)
    {
        using FileStream file = FileInput.Open(path);
        try
        {
            long fileLength = file.Length;
            if (fileLength == 0)
            {
                throw new DataError(path, $"file is empty, expected an IDX {Kind(magic)} file");
            }
            Span<byte> start = stackalloc byte[2];
            int startLength = file.ReadAtLeast(start, 2, throwOnEndOfStream: false);
            file.Position = 0;
            bool gzip = IsGzip(start[..startLength]);
            using Stream? zip = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : null;
            Stream input = zip ?? file;

            int rank = (int)(magic & 0xFF);
            int headerLength = 4 + (4 * rank);
            Span<byte> header = stackalloc byte[headerLength];
            int got = input.ReadAtLeast(header[..4], 4, throwOnEndOfStream: false);
            if (got < 4)
            {
                throw new DataError(path, $"only {Size(got)}, too short for an IDX header ({headerLength} bytes)");
            }
            CheckMagic(path, BinaryPrimitives.ReadUInt32BigEndian(header), magic);
            got += input.ReadAtLeast(header[4..], headerLength - 4, throwOnEndOfStream: false);
            if (got < headerLength)
            {
                throw new DataError(path, $"truncated header: {Size(got)}, expected {headerLength}");
            }
            var dims = new int[rank];
            long payload = 1;
            for (int i = 0; i < rank; i++)
            {
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(header[(4 + (4 * i))..]);
                if (dims[i] <= 0)
                {
                    throw new DataError(
                        path, $"header declares {DimName(magic, i)} = {dims[i]}; sizes must be positive");
                }
                payload *= dims[i]; // below 2^31 times below 2^31: no overflow, checked at each step
                if (payload > Array.MaxLength)
                {
                    throw new DataError(
                        path, $"header declares {Declared(magic, dims[..(i + 1)], payload)}, more than one array can hold");
                }
            }

            byte[] data;
            if (gzip)
            {
                data = ReadGzipPayload(path, input, magic, dims, (int)payload, fileLength);
            }
            else
            {
                long available = fileLength - headerLength;
                if (available < payload)
                {
                    throw new DataError(
                        path, $"truncated: header declares {Declared(magic, dims, payload)} but only {Size(available)} follow");
                }
                if (available > payload)
                {
                    throw new DataError(
                        path, $"trailing data: header declares {Declared(magic, dims, payload)} but {Size(available)} follow");
                }
                data = new byte[payload];
                file.ReadExactly(data);
            }
            return (data, dims);
        }
        catch (InvalidDataException e)
        {
            throw new DataError(path, $"not a valid gzip stream: {e.Message}");
        }
        catch (EndOfStreamException)
        {
            throw new DataError(path, "the file got shorter while it was being read");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>
    /// Decompresses exactly <paramref name="payload"/> bytes, growing the buffer as data actually arrives,
    /// so a small file that claims a huge payload fails before the claim is allocated.
    /// </summary>
    static byte[] ReadGzipPayload(string path, Stream input, uint magic, int[] dims, int payload, long fileLength)
    {
        // Start near what the compressed size suggests (MNIST deflates about 4:1), never at the claim.
        var data = new byte[(int)Math.Min(payload, Math.Clamp(8 * fileLength, 4096, InitialChunk))];
        int filled = 0;
        while (true)
        {
            if (filled == data.Length)
            {
                if (filled == payload)
                {
                    break;
                }
                Array.Resize(ref data, (int)Math.Min(payload, 2L * data.Length));
            }
            int n = input.Read(data, filled, data.Length - filled);
            if (n == 0)
            {
                throw new DataError(
                    path, $"truncated: header declares {Declared(magic, dims, payload)} but only {Size(filled)} follow");
            }
            filled += n;
        }
        if (input.ReadByte() >= 0)
        {
            throw new DataError(
                path, $"trailing data: header declares {Declared(magic, dims, payload)} but more bytes follow");
        }
        return data;
    }

    static void CheckMagic(string path, uint found, uint expected)
    {
        if (found == expected)
        {
            return;
        }
        string want = $"expected {Kind(expected)} (magic {Hex(expected)})";
        if (found is ImagesMagic or LabelsMagic)
        {
            throw new DataError(
                path, $"this is an IDX {Kind(found)} file, expected {Kind(expected)} (magic is {Hex(found)}, not {Hex(expected)})");
        }
        if (found >> 16 == 0 && TypeName((found >> 8) & 0xFF) is { } type)
        {
            throw new DataError(
                path, $"unsupported IDX file: magic {Hex(found)} means {type} in {found & 0xFF} dimension(s), {want}");
        }
        throw new DataError(path, $"not an IDX file: magic is {Hex(found)}, {want}");
    }

    static string Kind(uint magic) => magic == ImagesMagic ? "images" : "labels";

    static string Hex(uint magic) => $"0x{magic:X8}";

    static string? TypeName(uint code) => code switch
    {
        0x08 => "unsigned bytes",
        0x09 => "signed bytes",
        0x0B => "16-bit integers",
        0x0C => "32-bit integers",
        0x0D => "32-bit floats",
        0x0E => "64-bit floats",
        _ => null,
    };

    static string DimName(uint magic, int i) =>
        magic == LabelsMagic ? "label count" : i switch { 0 => "image count", 1 => "rows", _ => "columns" };

    static string Declared(uint magic, int[] dims, long bytes) =>
        magic == LabelsMagic ? $"{dims[0]} labels ({Size(bytes)})"
        : dims.Length == 3 ? $"{dims[0]} images of {dims[1]}x{dims[2]} ({Size(bytes)})"
        : $"{string.Join('x', dims)} values ({Size(bytes)})";

    static string Size(long bytes) => bytes == 1 ? "1 byte" : $"{bytes} bytes";
}

/// <summary>Opening input files with every failure turned into a <see cref="DataError"/>.</summary>
static class FileInput
{
    public static FileStream Open(string path, int bufferSize = 1 << 16)
    {
        if (Directory.Exists(path))
        {
            throw new DataError(path, "is a folder, expected a file");
        }
        if (!File.Exists(path))
        {
            throw new DataError(path, "file not found");
        }
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
    }
}
