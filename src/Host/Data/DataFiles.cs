namespace Functional.Host.Data;

/// <summary>Loading a labelled image set from IDX (raw or gzip) or CSV, detected by content, or from a folder of
/// images (<see cref="ImageFolder"/>).</summary>
public static class DataFiles
{
    /// <summary>Rows and columns of a CSV image (784 pixels per line).</summary>
    public const int CsvSide = 28;

    static readonly (string Images, string Labels)[] StandardNames =
    [
        ("-images-idx3-ubyte", "-labels-idx1-ubyte"),
        ("-images.idx3-ubyte", "-labels.idx1-ubyte"),
    ];

    /// <summary>
    /// Loads images and labels. IDX files (gzip or magic 0x00000803) need a labels file: <paramref name="labelsPath"/>,
    /// or, when null, the file beside the images with the standard MNIST name (<c>-images-idx3-ubyte</c> becomes
    /// <c>-labels-idx1-ubyte</c>, with or without <c>.gz</c>). A CSV file holds its own labels, and so does a folder
    /// <c>DIR/&lt;class&gt;/*.png</c>, whose images are resampled to <c>resize</c> when given and labelled by
    /// <c>classes</c> when given (see <see cref="ImageFolder.Read"/>).
    /// </summary>
    /// <exception cref="DataError">Any problem with either file, naming the file.</exception>
    public static LabeledImages Load(string imagesPath, string? labelsPath) =>
        Load(imagesPath, labelsPath, TableOptions.Default, null);

    /// <summary>As <see cref="Load(string, string?)"/>; any text file that is not an MNIST CSV (label, 784 pixels
    /// 0–255) is read as a <see cref="Table"/>, whose text labels take the order of <paramref name="knownClasses"/>
    /// when given. <paramref name="knownClasses"/> also names the classes of IDX and MNIST CSV files, and labels
    /// the class folders of an image folder.</summary>
    public static LabeledImages Load(
        string imagesPath, string? labelsPath, TableOptions table, string[]? knownClasses,
        (int Rows, int Cols)? resize = null)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(table);
        if (Directory.Exists(imagesPath))
        {
            if (labelsPath is not null && !SameFile(labelsPath, imagesPath))
            {
                throw new DataError(labelsPath,
                    $"a labels file cannot be used with the image folder {imagesPath}, whose class folders are the labels");
            }
            return ImageFolder.Read(imagesPath, resize, knownClasses);
        }
        switch (Detect(imagesPath))
        {
            case Format.Csv:
                if (labelsPath is not null && !SameFile(labelsPath, imagesPath))
                {
                    throw new DataError(
                        labelsPath,
                        $"a labels file cannot be used with the CSV file {imagesPath}, which holds its own labels");
                }
                if (table.IsDefault && TryMnistCsv(imagesPath) is { } mnist)
                {
                    return new LabeledImages(mnist.pixels, mnist.labels, mnist.count, CsvSide, CsvSide, imagesPath, imagesPath)
                    {
                        ClassNames = knownClasses,
                    };
                }
                return Table.Read(imagesPath, table, knownClasses);

            default:
                var (pixels, count, rows, cols) = Idx.ReadImages(imagesPath);
                string labelsFile = labelsPath ?? FindLabelsBeside(imagesPath);
                byte[] labels = Idx.ReadLabels(labelsFile);
                if (labels.Length != count)
                {
                    throw new DataError(
                        labelsFile, $"has {labels.Length} labels but the images file {imagesPath} has {count} images");
                }
                CheckLabels(labelsFile, labels);
                return new LabeledImages(pixels, labels, count, rows, cols, imagesPath, labelsFile)
                {
                    ClassNames = knownClasses ?? ClassNames.Builtin(labelsFile),
                };
        }
    }

    /// <summary>
    /// Where a file shipped in the repository's <c>data</c> folder is: <c>data/NAME</c> under the current folder,
    /// else under the nearest ancestor of the program's folder that has it (so <c>dotnet run</c> works from
    /// anywhere, and the tool finds its packed copy), else in the NuGet package this assembly was loaded from
    /// (a script's <c>#r "nuget: Functional.Host"</c>: the package's content files); if none has it, the path
    /// relative to the current folder.
    /// </summary>
    public static string ShippedPath(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        string relative = Path.Combine("data", fileName);
        if (File.Exists(relative))
        {
            return relative;
        }
        string? assemblyDir = Path.GetDirectoryName(typeof(DataFiles).Assembly.Location);
        foreach (string start in new[] { AppContext.BaseDirectory, assemblyDir ?? "" })
        {
            for (var dir = start.Length > 0 ? new DirectoryInfo(start) : null; dir is not null; dir = dir.Parent)
            {
                foreach (string folder in new[] { "data", Path.Combine("contentFiles", "any", "any", "data") })
                {
                    string candidate = Path.Combine(dir.FullName, folder, fileName);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
        }
        return relative;
    }

    /// <summary>An MNIST CSV read by the fast byte parser, or null when the file is some other table.</summary>
    static (byte[] pixels, byte[] labels, int count)? TryMnistCsv(string path)
    {
        try
        {
            return Csv.Read(path, CsvSide * CsvSide);
        }
        catch (DataError)
        {
            return null; // the table reader says what is wrong, if anything
        }
    }

    enum Format
    {
        Idx,
        Csv,
    }

    static Format Detect(string path)
    {
        Span<byte> start = stackalloc byte[4];
        int n;
        using (FileStream file = FileInput.Open(path, bufferSize: 0))
        {
            try
            {
                n = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataError(path, $"cannot read: {e.Message}");
            }
        }
        start = start[..n];
        if (n == 0)
        {
            throw new DataError(path, "file is empty");
        }
        if (Idx.IsGzip(start))
        {
            return GzipHoldsIdx(path) ? Format.Idx : Format.Csv;
        }
        if (n >= 2 && start[0] == 0 && start[1] == 0)
        {
            return Format.Idx; // Idx says precisely what is wrong with a bad magic number
        }
        return Format.Csv; // the table reader says what is wrong with text that is not a table
    }

    /// <summary>Whether a gzip file's content starts as IDX does (two zero bytes); otherwise it is gzipped text.</summary>
    static bool GzipHoldsIdx(string path)
    {
        using FileStream file = FileInput.Open(path, bufferSize: 0);
        try
        {
            using var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
            Span<byte> start = stackalloc byte[2];
            int n = zip.ReadAtLeast(start, 2, throwOnEndOfStream: false);
            return n < 2 || (start[0] == 0 && start[1] == 0);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return true; // Idx reports the corrupt gzip stream
        }
    }

    static string FindLabelsBeside(string imagesPath)
    {
        string name = Path.GetFileName(imagesPath);
        bool gz = name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        string stem = gz ? name[..^3] : name;
        foreach (var (images, labels) in StandardNames)
        {
            int at = stem.LastIndexOf(images, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                continue;
            }
            string labelsStem = string.Concat(stem.AsSpan(0, at), labels, stem.AsSpan(at + images.Length));
            string dir = Path.GetDirectoryName(imagesPath) ?? "";
            string same = Path.Combine(dir, gz ? labelsStem + ".gz" : labelsStem);
            string other = Path.Combine(dir, gz ? labelsStem : labelsStem + ".gz");
            if (File.Exists(same))
            {
                return same;
            }
            if (File.Exists(other))
            {
                return other;
            }
            throw new DataError(
                same,
                $"labels file not found (nor {Path.GetFileName(other)}) beside the images file {imagesPath}; "
                + "give the labels file with --train-labels/--test-labels");
        }
        throw new DataError(
            imagesPath,
            "no labels file given, and the name does not follow the MNIST pattern NAME-images-idx3-ubyte[.gz] "
            + "to find one beside it; give the labels file with --train-labels/--test-labels");
    }

    static void CheckLabels(string path, byte[] labels)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] > 9)
            {
                throw new DataError(path, $"label {labels[i]} at index {i} is outside 0–9");
            }
        }
    }

    static bool SameFile(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
}
