namespace Functional.Host.Data;

/// <summary>
/// MNIST as CSV: one image per line, <c>label,p0,p1,...,p783</c>, label 0–9, pixels 0–255.
/// Reading accepts CRLF or LF line ends, a trailing newline (or several blank lines at the very end)
/// and a UTF-8 byte order mark; it parses bytes directly, without a string per row.
/// </summary>
public static class Csv
{
    const int Chunk = 1 << 20;

    /// <summary>Reads a CSV file of <paramref name="features"/> pixels per row.</summary>
    /// <exception cref="DataError">Missing file, empty file, or a bad row: "PATH: row N: what is wrong".</exception>
    public static (byte[] pixels, byte[] labels, int count) Read(string path, int features = 784)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        using FileStream file = FileInput.Open(path, bufferSize: 0);
        try
        {
            var parser = new Parser(path, features, file.Length);
            // No bigger than the file: a tiny file costs a tiny buffer (the fuzz tests bound allocations by file size).
            var buffer = new byte[(int)Math.Clamp(file.Length, 3, Chunk)];
            int n = file.ReadAtLeast(buffer, 3, throwOnEndOfStream: false);
            int start = n >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
            parser.Feed(buffer.AsSpan(start, n - start));
            while ((n = file.Read(buffer, 0, buffer.Length)) > 0)
            {
                parser.Feed(buffer.AsSpan(0, n));
            }
            return parser.Finish();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>Writes <paramref name="count"/> rows <c>label,p0,...</c> with LF line ends, atomically.</summary>
    public static void Write(string path, byte[] pixels, byte[] labels, int count, int features)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if ((long)count * features != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} pixels for {count} rows of {features}", nameof(pixels));
        }
        if (labels.Length != count)
        {
            throw new ArgumentException($"{labels.Length} labels for {count} rows", nameof(labels));
        }
        AtomicFile.Write(path, stream =>
        {
            var line = new byte[4 * (features + 1)];
            for (int r = 0; r < count; r++)
            {
                int at = Put(line, 0, labels[r]);
                ReadOnlySpan<byte> row = pixels.AsSpan(r * features, features);
                foreach (byte p in row)
                {
                    line[at++] = (byte)',';
                    at = Put(line, at, p);
                }
                line[at++] = (byte)'\n';
                stream.Write(line, 0, at);
            }
        });
    }

    /// <summary>A cell as RFC 4180 writes it: quoted, its quotes doubled, when it holds a comma, a quote or a line
    /// break (a class name from a folder or a spreadsheet can), or spaces at its ends, which readers trim.</summary>
    public static string Cell(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 || text.Length != text.Trim().Length
            ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : text;
    }

    static int Put(byte[] line, int at, byte value)
    {
        if (value >= 100)
        {
            line[at++] = (byte)('0' + (value / 100));
        }
        if (value >= 10)
        {
            line[at++] = (byte)('0' + (value / 10 % 10));
        }
        line[at++] = (byte)('0' + (value % 10));
        return at;
    }

    /// <summary>A byte-at-a-time state machine, so rows may span read chunks.</summary>
    sealed class Parser
    {
        const int TokenKeep = 24;

        readonly string path;
        readonly int features;
        readonly int maxRows;
        byte[] pixels;
        byte[] labels;
        int capacity;
        int count;

        int row = 1; // 1-based line number of the line being read
        int field; // index of the value being read in its line: 0 = label, 1.. = pixels
        int value; // saturates at 1,000,000
        int fieldLength; // bytes in the value so far
        bool bad; // the value holds a byte that is not a digit (or a '-' that is not first)
        bool negative;
        bool carriageReturn; // the previous byte was '\r'
        int blankRow; // first blank line seen, 0 if none
        readonly byte[] token = new byte[TokenKeep]; // the value's first bytes, for messages

        public Parser(string path, int features, long fileLength)
        {
            this.path = path;
            this.features = features;
            // Every row takes at least 2 bytes per value ("d," or "d\n"), which bounds the row count.
            long bound = ((fileLength + 1) / (2L * (features + 1))) + 1;
            maxRows = (int)Math.Min(bound, Array.MaxLength / features);
            capacity = Math.Min(maxRows, 4096);
            pixels = new byte[(long)capacity * features];
            labels = new byte[capacity];
        }

        public void Feed(ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes)
            {
                if (carriageReturn)
                {
                    if (b != (byte)'\n')
                    {
                        throw Error(row, "carriage return in the middle of a line");
                    }
                    carriageReturn = false;
                }
                uint digit = (uint)(b - '0');
                if (digit <= 9)
                {
                    value = value < 1_000_000 ? (value * 10) + (int)digit : value;
                    Keep(b);
                }
                else if (b == (byte)',')
                {
                    EndField();
                    field++;
                }
                else if (b == (byte)'\n')
                {
                    EndLine();
                }
                else if (b == (byte)'\r')
                {
                    carriageReturn = true;
                }
                else
                {
                    if (b == (byte)'-' && fieldLength == 0)
                    {
                        negative = true;
                    }
                    else
                    {
                        bad = true;
                    }
                    Keep(b);
                }
            }
        }

        public (byte[] pixels, byte[] labels, int count) Finish()
        {
            if (field > 0 || fieldLength > 0)
            {
                EndLine();
            }
            if (count == 0)
            {
                throw new DataError(path, "empty file: no rows (expected lines of label,pixels...)");
            }
            if (count != capacity)
            {
                Array.Resize(ref pixels, count * features);
                Array.Resize(ref labels, count);
            }
            return (pixels, labels, count);
        }

        void Keep(byte b)
        {
            if (fieldLength < TokenKeep)
            {
                token[fieldLength] = b;
            }
            fieldLength++;
        }

        void EndLine()
        {
            if (field == 0 && fieldLength == 0)
            {
                if (blankRow == 0)
                {
                    blankRow = row;
                }
                row++;
                return;
            }
            EndField();
            int values = field + 1;
            if (values != features + 1)
            {
                throw Error(row, $"expected {features + 1} values (label + {features} pixels), found {values}");
            }
            count++;
            row++;
            field = 0;
        }

        void EndField()
        {
            if (field == 0)
            {
                if (blankRow != 0)
                {
                    throw Error(blankRow, "blank line (only allowed at the end of the file)");
                }
                if (count == capacity)
                {
                    Grow();
                }
            }
            if (fieldLength == 0)
            {
                throw Error(row, $"{What()} is empty");
            }
            if (bad || (negative && fieldLength == 1))
            {
                throw Error(row, $"{What()} is not an integer: '{Token()}'");
            }
            if (field == 0)
            {
                if (negative || value > 9)
                {
                    throw Error(row, $"label {Token()} is outside 0–9");
                }
                labels[count] = (byte)value;
            }
            else if (field <= features)
            {
                if (negative || value > 255)
                {
                    throw Error(row, $"{What()} is {Token()}, outside 0–255");
                }
                pixels[((long)count * features) + field - 1] = (byte)value;
            }
            value = 0;
            fieldLength = 0;
            bad = false;
            negative = false;
        }

        void Grow()
        {
            if (capacity >= maxRows)
            {
                throw Error(row, $"too many rows: at most {maxRows} fit in memory as one array");
            }
            capacity = (int)Math.Min(maxRows, 2L * capacity);
            Array.Resize(ref pixels, capacity * features);
            Array.Resize(ref labels, capacity);
        }

        string What() => field == 0 ? "label" : $"pixel {field - 1} (value {field + 1} in the row)";

        string Token()
        {
            string text = System.Text.Encoding.UTF8.GetString(token, 0, Math.Min(fieldLength, TokenKeep));
            return fieldLength > TokenKeep ? text + "…" : text;
        }

        DataError Error(int atRow, string message) => new(path, $"row {atRow}: {message}");
    }
}
