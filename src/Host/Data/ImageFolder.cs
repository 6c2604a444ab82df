namespace Functional.Host.Data;

/// <summary>
/// A folder of images in torchvision's <c>ImageFolder</c> layout, <c>DIR/&lt;class&gt;/*.png|*.jpg|*.jpeg</c>: the
/// classes are the subfolders' names in ordinal order, an image's label is its class's index. Images are read as grey
/// levels, all of one size unless a size to resize to is given. Only these two levels are read, so a symbolic link
/// pointing back up cannot make the reader walk forever; other files (a README) and hidden entries are ignored.
/// </summary>
public static class ImageFolder
{
    static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Reads the folder. <paramref name="resize"/>: resample every image to this size (null: all images
    /// must already have one size). <paramref name="classes"/>: use these class names and their order (a test set
    /// labelled as its training set); a folder naming a class outside them is an error.</summary>
    /// <exception cref="DataError">A bad folder or image, naming it.</exception>
    public static LabeledImages Read(string dir, (int Rows, int Cols)? resize = null, string[]? classes = null)
    {
        var files = List(dir);
        string[] names = classes ?? files.Select(f => f.Class).Distinct().ToArray();
        if (names.Length > 256)
        {
            throw new DataError(dir, $"{names.Length} class folders; at most 256 classes are supported");
        }
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            index[names[i]] = i;
        }
        foreach (var f in files)
        {
            if (!index.ContainsKey(f.Class))
            {
                throw new DataError(Path.Combine(dir, f.Class),
                    $"class '{f.Class}' is not one of the training set's classes ({string.Join(", ", names)})");
            }
        }

        var (rows, cols) = resize ?? CommonSize(files);
        long total = (long)files.Count * rows * cols;
        if (total > Array.MaxLength)
        {
            throw new DataError(dir, $"{files.Count} images of {rows}x{cols} are more pixels than one array can hold");
        }
        var pixels = new byte[total];
        var labels = new byte[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            var image = GrayImage.Read(files[i].Path);
            if (resize is null && (image.Rows != rows || image.Cols != cols))
            {
                // The header said otherwise than the pixels: a forged or damaged file.
                throw new DataError(files[i].Path, $"decodes to {image.Cols}x{image.Rows}, not the {cols}x{rows} its header declares");
            }
            image.Resized(rows, cols).Pixels.CopyTo(pixels, (long)i * rows * cols);
            labels[i] = (byte)index[files[i].Class];
        }
        return new LabeledImages(pixels, labels, files.Count, rows, cols, dir, dir) { ClassNames = names };
    }

    /// <summary>Every image file with its class, classes and files in ordinal order of their names.</summary>
    /// <exception cref="DataError">A missing or empty folder, a class folder without images, a subfolder inside a
    /// class folder, or a link that cannot be resolved.</exception>
    public static List<(string Class, string Path)> List(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw new DataError(dir, File.Exists(dir) ? "is a file, expected a folder" : "folder not found");
        }
        var result = new List<(string, string)>();
        var classDirs = Entries(dir).Where(e => IsDirectory(e)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        if (classDirs.Count == 0)
        {
            throw new DataError(dir, "holds no class folders: expected the layout DIR/<class>/*.png|*.jpg");
        }
        foreach (var classDir in classDirs)
        {
            int before = result.Count;
            foreach (var e in Entries(classDir.FullName).OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                if (IsDirectory(e))
                {
                    throw new DataError(e.FullName,
                        "is a folder inside a class folder: images must lie directly in DIR/<class>/");
                }
                if (Extensions.Any(x => e.Name.EndsWith(x, StringComparison.OrdinalIgnoreCase)))
                {
                    result.Add((classDir.Name, e.FullName));
                }
            }
            if (result.Count == before)
            {
                throw new DataError(classDir.FullName, "class folder holds no .png or .jpg images");
            }
        }
        return result;
    }

    static (int Rows, int Cols) CommonSize(List<(string Class, string Path)> files)
    {
        var first = GrayImage.ReadSize(files[0].Path);
        foreach (var f in files.Skip(1))
        {
            var size = GrayImage.ReadSize(f.Path);
            if (size != first)
            {
                throw new DataError(f.Path,
                    $"is {size.Cols}x{size.Rows} but {files[0].Path} is {first.Cols}x{first.Rows}; "
                    + "images of mixed sizes need --resize WIDTHxHEIGHT (for example --resize 28x28)");
            }
        }
        return first;
    }

    static FileSystemInfo[] Entries(string dir)
    {
        try
        {
            // Hidden entries (.DS_Store, .ipynb_checkpoints) are a system's or a tool's, not data.
            return new DirectoryInfo(dir).GetFileSystemInfos().Where(e => !e.Name.StartsWith('.')).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(dir, $"cannot list the folder: {e.Message}");
        }
    }

    /// <summary>A folder, or a link to one; a link that goes nowhere or round in a loop is an error naming it.</summary>
    static bool IsDirectory(FileSystemInfo e)
    {
        if (e.LinkTarget is null)
        {
            return e is DirectoryInfo;
        }
        try
        {
            var target = e.ResolveLinkTarget(returnFinalTarget: true);
            return target is { Exists: true } && target.Attributes.HasFlag(FileAttributes.Directory);
        }
        catch (IOException ex)
        {
            throw new DataError(e.FullName, $"symbolic link cannot be followed: {ex.Message}");
        }
    }
}
