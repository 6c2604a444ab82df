using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Functional.Host.Data;

namespace Functional.Host;

/// <summary>
/// The Hugging Face safetensors format: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
/// (an object mapping tensor names to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c>, plus an optional
/// <c>"__metadata__"</c> object of string values), padded with spaces so the data starts at a multiple of 8,
/// then the tensors' little-endian bytes, contiguous, offsets relative to the end of the header.
/// </summary>
public static class Safetensors
{
    /// <summary>The largest header accepted, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    const string MetadataKey = "__metadata__";

    static readonly Dictionary<string, int> DtypeSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1,
        ["U8"] = 1,
        ["I8"] = 1,
        ["F8_E5M2"] = 1,
        ["F8_E4M3"] = 1,
        ["I16"] = 2,
        ["U16"] = 2,
        ["F16"] = 2,
        ["BF16"] = 2,
        ["I32"] = 4,
        ["U32"] = 4,
        ["F32"] = 4,
        ["I64"] = 8,
        ["U64"] = 8,
        ["F64"] = 8,
    };

    /// <summary>The byte size of one element of <paramref name="dtype"/>, or null if it is not a safetensors dtype.</summary>
    public static int? DtypeSize(string dtype) => DtypeSizes.TryGetValue(dtype, out int size) ? size : null;

    /// <summary>
    /// One named tensor: dtype (<c>"F32"</c>, <c>"F64"</c>, <c>"I64"</c>, <c>"U8"</c>, ...), shape (outermost first,
    /// row-major) and raw little-endian bytes. Equality compares shape and data by content.
    /// </summary>
    public sealed record Tensor(string Name, string Dtype, long[] Shape, byte[] Data)
    {
        /// <summary>The product of the shape (1 for a scalar).</summary>
        public long ElementCount => Elements(Shape);

        public static Tensor FromFloats(string name, long[] shape, float[] data)
        {
            ArgumentNullException.ThrowIfNull(data);
            CheckCount(shape, data.Length);
            var bytes = new byte[data.Length * sizeof(float)];
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(bytes);
            }
            else
            {
                for (int i = 0; i < data.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), data[i]);
                }
            }
            return new Tensor(name, "F32", (long[])shape.Clone(), bytes);
        }

        public static Tensor FromDoubles(string name, long[] shape, double[] data)
        {
            ArgumentNullException.ThrowIfNull(data);
            CheckCount(shape, data.Length);
            var bytes = new byte[data.Length * sizeof(double)];
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(bytes);
            }
            else
            {
                for (int i = 0; i < data.Length; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), data[i]);
                }
            }
            return new Tensor(name, "F64", (long[])shape.Clone(), bytes);
        }

        public static Tensor FromInt64s(string name, long[] shape, long[] data)
        {
            ArgumentNullException.ThrowIfNull(data);
            CheckCount(shape, data.Length);
            var bytes = new byte[data.Length * sizeof(long)];
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(bytes);
            }
            else
            {
                for (int i = 0; i < data.Length; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), data[i]);
                }
            }
            return new Tensor(name, "I64", (long[])shape.Clone(), bytes);
        }

        /// <exception cref="InvalidOperationException">The dtype is not F32 (check <see cref="Dtype"/> first).</exception>
        public float[] ToFloats()
        {
            CheckDtype("F32", sizeof(float));
            if (BitConverter.IsLittleEndian)
            {
                return MemoryMarshal.Cast<byte, float>(Data).ToArray();
            }
            var values = new float[Data.Length / sizeof(float)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * sizeof(float)));
            }
            return values;
        }

        /// <exception cref="InvalidOperationException">The dtype is not F64 (check <see cref="Dtype"/> first).</exception>
        public double[] ToDoubles()
        {
            CheckDtype("F64", sizeof(double));
            if (BitConverter.IsLittleEndian)
            {
                return MemoryMarshal.Cast<byte, double>(Data).ToArray();
            }
            var values = new double[Data.Length / sizeof(double)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(i * sizeof(double)));
            }
            return values;
        }

        /// <exception cref="InvalidOperationException">The dtype is not I64 (check <see cref="Dtype"/> first).</exception>
        public long[] ToInt64s()
        {
            CheckDtype("I64", sizeof(long));
            if (BitConverter.IsLittleEndian)
            {
                return MemoryMarshal.Cast<byte, long>(Data).ToArray();
            }
            var values = new long[Data.Length / sizeof(long)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(i * sizeof(long)));
            }
            return values;
        }

        public bool Equals(Tensor? other) =>
            other is not null
            && Name == other.Name
            && Dtype == other.Dtype
            && Shape.AsSpan().SequenceEqual(other.Shape)
            && Data.AsSpan().SequenceEqual(other.Data);

        public override int GetHashCode() => HashCode.Combine(Name, Dtype, Shape.Length, Data.Length);

        void CheckDtype(string dtype, int size)
        {
            if (Dtype != dtype)
            {
                throw new InvalidOperationException($"tensor '{Name}' has dtype {Dtype}, not {dtype}");
            }
            if (Data.Length % size != 0)
            {
                throw new InvalidOperationException(
                    $"tensor '{Name}' has {Data.Length} bytes, not a whole number of {dtype} values");
            }
        }

        static void CheckCount(long[] shape, int count)
        {
            ArgumentNullException.ThrowIfNull(shape);
            if (shape.Any(d => d < 0) || Elements(shape) != count)
            {
                throw new ArgumentException($"shape [{string.Join(',', shape)}] does not hold {count} values", nameof(shape));
            }
        }
    }

    /// <summary>
    /// Writes the tensors, in the given order and contiguous, with <paramref name="metadata"/> as
    /// <c>__metadata__</c> (left out when empty), atomically.
    /// </summary>
    /// <exception cref="ArgumentException">Duplicate or reserved names, unknown dtypes, or data that does not match its shape.</exception>
    public static void Write(
        string path, IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        byte[] header = Header(tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (Tensor t in tensors)
            {
                stream.Write(t.Data);
            }
        });
    }

    static byte[] Header(IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    ArgumentNullException.ThrowIfNull(value, $"metadata[{key}]");
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (Tensor t in tensors)
            {
                ArgumentNullException.ThrowIfNull(t);
                if (string.IsNullOrEmpty(t.Name) || t.Name == MetadataKey || !names.Add(t.Name))
                {
                    throw new ArgumentException($"tensor name '{t.Name}' is empty, reserved or used twice", nameof(tensors));
                }
                int size = DtypeSize(t.Dtype)
                    ?? throw new ArgumentException($"tensor '{t.Name}': unknown dtype '{t.Dtype}'", nameof(tensors));
                if (t.Shape.Any(d => d < 0) || Elements(t.Shape) * size != t.Data.Length)
                {
                    throw new ArgumentException(
                        $"tensor '{t.Name}': {t.Data.Length} bytes do not match dtype {t.Dtype} and shape [{string.Join(',', t.Shape)}]",
                        nameof(tensors));
                }
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", t.Dtype);
                writer.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    writer.WriteNumberValue(d);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + t.Data.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += t.Data.Length;
            }
            writer.WriteEndObject();
        }
        int padded = (json.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    /// <summary>What the file looks like when it is not safetensors (the header must start with '{' at byte 8), or
    /// null when it could be one; the stream is left after the length.</summary>
    static string? NotSafetensors(FileStream file)
    {
        Span<byte> start = stackalloc byte[24];
        file.Position = 0;
        int got = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        file.Position = 8;
        if (got > 8 && start[8] == (byte)'{')
        {
            return null;
        }
        var head = start[..got];
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
        {
            return "it is a PNG image";
        }
        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
        {
            return "it is a JPEG image";
        }
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            return "it is gzip data";
        }
        foreach (byte b in head)
        {
            if (b is < 0x20 and not ((byte)'\t' or (byte)'\n' or (byte)'\r') or > 0x7E)
            {
                return "it starts with other bytes";
            }
        }
        string text = System.Text.Encoding.ASCII.GetString(head).Split('\n')[0].TrimEnd('\r');
        return $"it starts with text: '{text}'";
    }

    /// <summary>
    /// Reads and validates a safetensors file. Tensors come back in data order (the order of their offsets,
    /// which is the header order for files written by <see cref="Write"/>).
    /// </summary>
    /// <exception cref="DataError">Any violation of the format, naming the file and the rule.</exception>
    public static (IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata) Read(string path)
    {
        using FileStream file = FileInput.Open(path);
        try
        {
            long fileLength = file.Length;
            if (fileLength < 8)
            {
                throw new DataError(
                    path, $"file is {fileLength} bytes, too short for a safetensors file (8-byte header length first)");
            }
            Span<byte> prefix = stackalloc byte[8];
            file.ReadExactly(prefix);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if ((n < 2 || n > MaxHeaderLength || (long)n > fileLength - 8) && NotSafetensors(file) is { } what)
            {
                // A CSV or a PNG given as --model: its first 8 bytes read as a length say nothing useful.
                throw new DataError(path, $"not a model file (expected safetensors: an 8-byte header length, then a JSON header starting with '{{'); {what}");
            }
            if (n < 2)
            {
                throw new DataError(path, $"header length is {n}, too small for a JSON object (at least 2 bytes, {{}})");
            }
            if (n > MaxHeaderLength)
            {
                throw new DataError(path, $"header length {n} is over the limit of {MaxHeaderLength} bytes");
            }
            if ((long)n > fileLength - 8)
            {
                throw new DataError(
                    path, $"header length {n} goes past the end of the file ({fileLength - 8} bytes follow the length)");
            }
            var header = new byte[n];
            file.ReadExactly(header);
            var (entries, metadata) = ParseHeader(path, header);

            long dataLength = fileLength - 8 - (long)n;
            // Ordered by offsets, the byte ranges must tile [0, dataLength) exactly.
            Entry[] ordered = [.. entries.OrderBy(e => e.Begin).ThenBy(e => e.End)];
            long expected = 0;
            foreach (Entry e in ordered)
            {
                if (e.Begin != expected)
                {
                    throw new DataError(
                        path,
                        e.Begin > expected
                            ? $"tensor '{e.Name}': data_offsets [{e.Begin},{e.End}] leave a gap after byte {expected} (tensor data must be contiguous from 0)"
                            : $"tensor '{e.Name}': data_offsets [{e.Begin},{e.End}] overlap the tensor before, which ends at byte {expected}");
                }
                expected = e.End;
            }
            if (expected != dataLength)
            {
                throw new DataError(
                    path,
                    $"the tensors' data_offsets cover {expected} bytes but {dataLength} bytes follow the header (they must end exactly at the end of the file)");
            }
            var tensors = new List<Tensor>(ordered.Length);
            foreach (Entry e in ordered)
            {
                long length = e.End - e.Begin;
                if (length > Array.MaxLength)
                {
                    throw new DataError(path, $"tensor '{e.Name}' is {length} bytes, too large to load into one array");
                }
                var data = new byte[length];
                file.ReadExactly(data);
                tensors.Add(new Tensor(e.Name, e.Dtype, e.Shape, data));
            }
            return (tensors, metadata);
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

    sealed record Entry(string Name, string Dtype, long[] Shape, long Begin, long End);

    static (List<Entry> entries, Dictionary<string, string> metadata) ParseHeader(string path, byte[] header)
    {
        if (!Utf8.IsValid(header))
        {
            throw new DataError(path, "header is not valid UTF-8");
        }
        if (header[0] != (byte)'{')
        {
            throw new DataError(path, "header does not start with '{' (it must be a JSON object)");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new DataError(path, $"header is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(p.Name))
                {
                    throw new DataError(path, $"header has the name '{p.Name}' twice");
                }
                if (p.Name == MetadataKey)
                {
                    if (p.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new DataError(path, $"{MetadataKey} is not an object of strings");
                    }
                    foreach (JsonProperty m in p.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                        {
                            throw new DataError(
                                path, $"{MetadataKey} value of '{m.Name}' is {Describe(m.Value.ValueKind)}, not a string");
                        }
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                        {
                            throw new DataError(path, $"{MetadataKey} has the key '{m.Name}' twice");
                        }
                    }
                }
                else
                {
                    entries.Add(ParseEntry(path, p.Name, p.Value));
                }
            }
            return (entries, metadata);
        }
    }

    static Entry ParseEntry(string path, string name, JsonElement value)
    {
        DataError Bad(string what) => new(path, $"tensor '{name}': {what}");

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad($"is {Describe(value.ValueKind)}, expected an object with dtype, shape and data_offsets");
        }
        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty p in value.EnumerateObject())
        {
            if (!seen.Add(p.Name))
            {
                throw Bad($"has '{p.Name}' twice");
            }
            switch (p.Name)
            {
                case "dtype":
                    dtypeElement = p.Value;
                    break;
                case "shape":
                    shapeElement = p.Value;
                    break;
                case "data_offsets":
                    offsetsElement = p.Value;
                    break;
                default:
                    break; // unknown fields are ignored, as by the reference implementation
            }
        }
        if (dtypeElement is not { ValueKind: JsonValueKind.String } dt)
        {
            throw Bad("dtype is missing or not a string");
        }
        string dtype = dt.GetString()!;
        int size = DtypeSize(dtype) ?? throw Bad($"unknown dtype '{dtype}'");

        if (shapeElement is not { ValueKind: JsonValueKind.Array } sh)
        {
            throw Bad("shape is missing or not an array");
        }
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (JsonElement d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
            {
                throw Bad($"shape [{sh.GetRawText()}] must hold integers");
            }
            if (dim < 0)
            {
                throw Bad($"shape has a negative dimension {dim}");
            }
            shape[i++] = dim;
        }

        if (offsetsElement is not { ValueKind: JsonValueKind.Array } off || off.GetArrayLength() != 2)
        {
            throw Bad("data_offsets is missing or not an array [begin, end]");
        }
        if (off[0].ValueKind != JsonValueKind.Number || !off[0].TryGetInt64(out long begin) || begin < 0
            || off[1].ValueKind != JsonValueKind.Number || !off[1].TryGetInt64(out long end) || end < 0)
        {
            throw Bad($"data_offsets {off.GetRawText()} must be two non-negative integers");
        }
        if (end < begin)
        {
            throw Bad($"data_offsets [{begin},{end}] end before they begin");
        }
        long bytes;
        try
        {
            bytes = checked(Elements(shape) * size);
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(',', shape)}] is too large");
        }
        if (end - begin != bytes)
        {
            throw Bad(
                $"dtype {dtype} and shape [{string.Join(',', shape)}] need {bytes} bytes but data_offsets [{begin},{end}] cover {end - begin}");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    static long Elements(long[] shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>
    /// Lowercase hex SHA-256 identifying the tensors' names, dtypes, shapes and data (not the metadata),
    /// independent of file layout. The hashed bytes are, all integers little-endian:
    /// <c>u64 tensor count</c>, then for each tensor in list order:
    /// <c>u32 name length, name (UTF-8), u32 dtype length, dtype (UTF-8), u32 rank, rank × i64 dims,
    /// u64 data length, data</c>.
    /// </summary>
    public static string TensorHash(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(number, (ulong)tensors.Count);
        hash.AppendData(number);
        foreach (Tensor t in tensors)
        {
            AppendString(hash, t.Name);
            AppendString(hash, t.Dtype);
            BinaryPrimitives.WriteUInt32LittleEndian(number, (uint)t.Shape.Length);
            hash.AppendData(number[..4]);
            foreach (long d in t.Shape)
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, d);
                hash.AppendData(number);
            }
            BinaryPrimitives.WriteUInt64LittleEndian(number, (ulong)t.Data.Length);
            hash.AppendData(number);
            hash.AppendData(t.Data);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static void AppendString(IncrementalHash hash, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
