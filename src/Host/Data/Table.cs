using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Functional.Host.Data;

/// <summary>How to read a tabular CSV: the header row and the label column.</summary>
/// <param name="Header">true/false forces a header row; null detects it (the first row is one when a column is not
/// a number there but is in the second row, or no cell of the first row is a number).</param>
/// <param name="LabelColumn">first, last, a header name, or a 0-based index; null = first.</param>
public sealed record TableOptions(bool? Header = null, string? LabelColumn = null)
{
    public static readonly TableOptions Default = new();

    public bool IsDefault => Header is null && (LabelColumn is null || LabelColumn == "first");
}

/// <summary>
/// Tabular CSV: one example per row, a label column and numeric feature columns (integers or floats, finite and
/// within float32). Separators <c>,</c> <c>;</c> or tab, detected from the first row, with optional spaces around
/// cells; gzip detected by content; strict UTF-8. Labels are integers 0–255 (class = the integer) or any text: text
/// labels become class names in ordinal sort order (so a training and a test file agree), unless
/// <c>knownClasses</c> fixes the order.
/// </summary>
public static class Table
{
    /// <summary>Bigger inputs (after gzip) are refused rather than half-read.</summary>
    public const long MaxBytes = 1L << 30;

    public const int MaxClasses = 256;

    /// <summary>No number or label is longer: a longer cell is refused before it is decoded and copied.</summary>
    public const int MaxCell = 4096;

    public static LabeledImages Read(string path, TableOptions options, string[]? knownClasses = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        byte[] bytes = ReadAll(path);
        CheckCellLengths(path, bytes);
        var rows = Rows(path, Decode(path, bytes));
        bool header = options.Header ?? LooksLikeHeader(rows);
        if (header && rows.Count < 2)
        {
            throw new DataError(path, "only a header row, no data rows");
        }
        int columns = rows[0].Cells.Length;
        if (columns < 2)
        {
            throw new DataError(path, $"row {rows[0].Line}: one column; expected a label and at least one feature, separated by ',' ';' or tab");
        }
        int label = LabelIndex(path, options.LabelColumn ?? "first", header ? rows[0].Cells : null, columns);
        var data = header ? rows.GetRange(1, rows.Count - 1) : rows;
        int features = columns - 1;
        var values = new float[(long)data.Count * features];
        var labelText = new string[data.Count];
        var lines = new int[data.Count];
        for (int r = 0; r < data.Count; r++)
        {
            var (line, cells) = data[r];
            lines[r] = line;
            if (cells.Length != columns)
            {
                throw new DataError(path, $"row {line}: expected {columns} values (as in row {rows[0].Line}), found {cells.Length}");
            }
            int f = 0;
            for (int c = 0; c < columns; c++)
            {
                if (c == label)
                {
                    labelText[r] = cells[c];
                    if (cells[c].Length == 0)
                    {
                        throw new DataError(path, $"row {line}: the label (column {c}) is empty");
                    }
                    continue;
                }
                values[((long)r * features) + f++] = Number(path, line, c, cells[c]);
            }
        }
        var (labels, names) = Labels(path, labelText, lines, knownClasses);
        return new LabeledImages([], labels, data.Count, 1, features, path, path) { Values = values, ClassNames = names };
    }

    static byte[] ReadAll(string path)
    {
        using FileStream file = FileInput.Open(path, bufferSize: 0);
        try
        {
            Span<byte> start = stackalloc byte[2];
            int n = file.ReadAtLeast(start, 2, throwOnEndOfStream: false);
            file.Position = 0;
            bool gzip = Idx.IsGzip(start[..n]);
            if (!gzip)
            {
                if (file.Length > MaxBytes)
                {
                    throw new DataError(path, $"more than {MaxBytes >> 20} MiB of text: too big for a table");
                }
                var all = new byte[file.Length];
                file.ReadExactly(all);
                return all;
            }
            using var zip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            using var memory = new MemoryStream();
            var buffer = new byte[1 << 16];
            int got;
            while ((got = zip.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (memory.Length + got > MaxBytes)
                {
                    throw new DataError(path, $"more than {MaxBytes >> 20} MiB of text (after gzip): too big for a table");
                }
                memory.Write(buffer, 0, got);
            }
            if (!SizeMatchesTrailer(file, memory.Length))
            {
                throw new DataError(path, "gzip data cut short or corrupt: the text read does not match the size the file ends with");
            }
            return memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataError(path, $"corrupt gzip data: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>A gzip file ends with the text's size mod 2^32 (ISIZE): a file cut short ends with other bytes, and
    /// .NET's decompressor stops quietly at its end.</summary>
    static bool SizeMatchesTrailer(FileStream file, long size)
    {
        if (file.Length < 18)
        {
            return false;
        }
        Span<byte> trailer = stackalloc byte[4];
        file.Position = file.Length - 4;
        file.ReadExactly(trailer);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer) == (uint)size;
    }

    static string Decode(string path, byte[] bytes)
    {
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            throw new DataError(path, KnownKind(bytes) is { } kind
                ? $"{kind}, not a data set: give IDX files, a CSV or table, or a folder of class folders (DIR/<class>/*.png); 'functional predict --image' takes pictures"
                : $"neither an IDX file (magic 0x00000803) nor UTF-8 text: invalid byte at offset {start + e.Index}");
        }
    }

    /// <summary>What a binary file is, by its first bytes, when it is a kind people pass by mistake.</summary>
    public static string? KnownKind(ReadOnlySpan<byte> b) =>
        b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']) ? "a PNG picture"
        : b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? "a JPEG picture"
        : b.StartsWith("GIF8"u8) ? "a GIF picture"
        : b.StartsWith("BM"u8) && b.Length > 14 ? "a BMP picture"
        : b.StartsWith("PK\u0003\u0004"u8) ? "a ZIP archive (unpack it first)"
        : b.StartsWith("%PDF"u8) ? "a PDF document"
        : b.Length >= 9 && b[8] == (byte)'{' && b[5] == 0 && b[6] == 0 && b[7] == 0 ? "a safetensors file (a model or checkpoint)"
        : null;

    /// <summary>Refuses a run of more than <see cref="MaxCell"/> bytes without a separator, quote or line end in
    /// the raw bytes, before the text is decoded: a 200 MB line of one cell then costs its bytes only, not the
    /// string, line and cell copied from them. A quoted cell that holds separators is capped as it is read.</summary>
    static void CheckCellLengths(string path, byte[] bytes)
    {
        if (KnownKind(bytes) is not null)
        {
            return; // Decode names the file's kind
        }
        // The separator as Rows detects it, from the first line.
        var firstLine = bytes.AsSpan(0, bytes.AsSpan().IndexOf((byte)'\n') is int n and >= 0 ? n : bytes.Length);
        byte separator = firstLine.Contains((byte)'\t') ? (byte)'\t' : firstLine.Contains((byte)';') ? (byte)';' : (byte)',';
        int row = 1, column = 0, start = 0;
        bool quoted = false; // a quote on this line: its columns are no longer counted by separators
        for (int i = 0; i <= bytes.Length; i++)
        {
            byte b = i < bytes.Length ? bytes[i] : (byte)'\n';
            if (b != separator && b is not ((byte)'"' or (byte)'\n' or (byte)'\r'))
            {
                continue;
            }
            if (i - start > MaxCell)
            {
                string cell = Encoding.UTF8.GetString(bytes, start, 4 * 61).Replace('\uFFFD', '?');
                string at = quoted ? $"row {row}" : $"row {row}, column {column}";
                throw new DataError(path, $"{at}: a cell of {i - start:N0} bytes ('{Shown(cell)}'), longer than any number or label (at most {MaxCell:N0})");
            }
            start = i + 1;
            if (b == separator)
            {
                column++;
            }
            else if (b == (byte)'"')
            {
                quoted = true;
            }
            else if (b == (byte)'\n')
            {
                row++;
                column = 0;
                quoted = false;
            }
        }
    }

    static List<(int Line, string[] Cells)> Rows(string path, string text)
    {
        // Lines as ranges of the text: no copy of the whole text split into lines.
        var lines = new List<Range>();
        for (int at = 0; at <= text.Length;)
        {
            int end = text.IndexOf('\n', at);
            end = end < 0 ? text.Length : end;
            lines.Add(at..end);
            at = end + 1;
        }
        int last = lines.Count;
        while (last > 0 && text.AsSpan()[lines[last - 1]].Trim().Length == 0)
        {
            last--;
        }
        if (last == 0)
        {
            throw new DataError(path, "empty file: no rows");
        }
        ReadOnlySpan<char> first = text.AsSpan()[lines[0]].TrimEnd('\r');
        char separator = first.Contains('\t') ? '\t' : first.Contains(';') ? ';' : ',';
        var rows = new List<(int, string[])>(last);
        for (int i = 0; i < last; i++)
        {
            ReadOnlySpan<char> line = text.AsSpan()[lines[i]];
            line = line.EndsWith('\r') ? line[..^1] : line;
            if (line.Trim().Length == 0)
            {
                throw new DataError(path, $"row {i + 1}: blank line (only allowed at the end of the file)");
            }
            if (line.Contains('\0'))
            {
                throw new DataError(path, $"row {i + 1}: holds a NUL character: binary data, neither an IDX file (magic 0x00000803) nor a table");
            }
            rows.Add((i + 1, Cells(path, i + 1, line, separator)));
        }
        return rows;
    }

    /// <summary>A line's cells, spaces around them trimmed. A cell may be quoted as RFC 4180 has it ("a,b" holds
    /// the separator, "" is a quote): a spreadsheet writes a name with a comma so, and splitting at every comma
    /// would report a wrong count of columns. A quoted cell must end on its line.</summary>
    static string[] Cells(string path, int lineNumber, ReadOnlySpan<char> line, char separator)
    {
        var cells = new List<string>();
        var quoted = new StringBuilder();
        int i = 0;
        while (true)
        {
            while (i < line.Length && line[i] != separator && char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            if (i < line.Length && line[i] == '"')
            {
                quoted.Clear();
                int open = i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new DataError(path, $"row {lineNumber}: the quote at column {open + 1} is not closed on its line (a quoted cell cannot hold a line break)");
                    }
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            quoted.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    quoted.Append(line[i++]);
                    if (quoted.Length > MaxCell)
                    {
                        throw new DataError(path, $"row {lineNumber}: the quoted cell at column {open + 1} ('{Shown(quoted.ToString())}') is longer than any number or label (at most {MaxCell:N0} characters)");
                    }
                }
                while (i < line.Length && line[i] != separator && char.IsWhiteSpace(line[i]))
                {
                    i++;
                }
                if (i < line.Length && line[i] != separator)
                {
                    throw new DataError(path, $"row {lineNumber}: text after the closing quote at column {i}: a quoted cell ends at its separator");
                }
                cells.Add(quoted.ToString());
            }
            else
            {
                int end = line[i..].IndexOf(separator);
                end = end < 0 ? line.Length : i + end;
                cells.Add(line[i..end].Trim().ToString());
                i = end;
            }
            if (i >= line.Length)
            {
                return [.. cells];
            }
            i++; // the separator
        }
    }

    static bool LooksLikeHeader(List<(int Line, string[] Cells)> rows)
    {
        string[] first = rows[0].Cells;
        if (first.All(c => !IsNumber(c)))
        {
            return true;
        }
        if (rows.Count < 2)
        {
            return false;
        }
        string[] second = rows[1].Cells;
        for (int c = 0; c < Math.Min(first.Length, second.Length); c++)
        {
            if (!IsNumber(first[c]) && IsNumber(second[c]))
            {
                return true;
            }
        }
        return false;
    }

    static bool IsNumber(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    static int LabelIndex(string path, string which, string[]? header, int columns)
    {
        switch (which.ToLowerInvariant())
        {
            case "first":
                return 0;
            case "last":
                return columns - 1;
        }
        if (header is not null)
        {
            int named = Array.IndexOf(header, which);
            if (named >= 0)
            {
                return named;
            }
        }
        if (int.TryParse(which, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            if (index < columns)
            {
                return index;
            }
            throw new DataError(path, $"--label-column {which}: the rows have {columns} columns (0 to {columns - 1})");
        }
        throw new DataError(path, header is null
            ? $"--label-column {which}: no header row to find that name in (give first, last or a 0-based index)"
            : $"--label-column {which}: no such column in the header ({string.Join(", ", header.Take(8).Select(Shown))}{(header.Length > 8 ? ", …" : "")})");
    }

    /// <summary>A cell as a message quotes it: at most 60 characters, cut with "…", so a 200 MB cell is not copied
    /// into the message (and printed).</summary>
    internal static string Shown(string cell) => cell.Length > 60 ? cell[..60] + "…" : cell;

    static float Number(string path, int line, int column, string cell)
    {
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double x))
        {
            throw new DataError(path, $"row {line}, column {column}: '{Shown(cell)}' is not a number");
        }
        if (!double.IsFinite(x))
        {
            throw new DataError(path, $"row {line}, column {column}: '{Shown(cell)}' is not a finite number");
        }
        if (Math.Abs(x) > float.MaxValue)
        {
            throw new DataError(path, $"row {line}, column {column}: {Shown(cell)} is outside the float32 range (±3.4e38)");
        }
        return (float)x;
    }

    /// <summary>Integer labels 0–255 stand for themselves (no names) unless class names are known; any other label
    /// text is a class name.</summary>
    static (byte[] labels, string[]? names) Labels(string path, string[] text, int[] lines, string[]? known)
    {
        var labels = new byte[text.Length];
        static bool IsClass(string t) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v < MaxClasses;
        if (text.All(IsClass))
        {
            for (int i = 0; i < text.Length; i++)
            {
                labels[i] = byte.Parse(text[i], NumberStyles.None, CultureInfo.InvariantCulture);
            }
            return (labels, known);
        }
        // A column of numbers with a 1.5, a -1 or a 300 among them is a slip or the wrong column, not a table of
        // text labels: taken as names, "-1" would sort before "0" and move every class by one.
        if (text.All(IsNumber)
            && Array.FindIndex(text, t => !IsClass(t) && (known is null || Array.IndexOf(known, t) < 0)) is int bad and >= 0)
        {
            throw new DataError(path, $"row {lines[bad]}: label '{Shown(text[bad])}' is not a class: a numeric label must be an integer 0–{MaxClasses - 1} (is the label column right? see --label-column)");
        }
        var names = known is null
            ? text.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()
            : [.. known];
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            index.TryAdd(names[i], i);
        }
        for (int i = 0; i < text.Length; i++)
        {
            if (!index.TryGetValue(text[i], out int c))
            {
                // A class the known names lack (a test label unseen in training) gets the next index; the label
                // checks name it before anything trains.
                c = names.Count;
                names.Add(text[i]);
                index[text[i]] = c;
            }
            if (c >= MaxClasses)
            {
                throw new DataError(path, $"more than {MaxClasses} different labels (row values like '{Shown(text[i])}'): is the label column right?");
            }
            labels[i] = (byte)c;
        }
        return (labels, [.. names]);
    }
}
