using System.Security.Cryptography;
using System.Text;

namespace Functional.Host.Data;

/// <summary>Names of classes: a <c>--classes</c> file, or the built-in names of the Fashion-MNIST files.</summary>
public static class ClassNames
{
    static readonly string[] Fashion =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>SHA-256 of Fashion-MNIST's gzipped label files as Zalando publishes them (and Debian ships them in
    /// /usr/share/datasets/fashion-mnist): the content is recognised whatever the files are called, since their
    /// names are MNIST's.</summary>
    static readonly HashSet<string> FashionLabelHashes =
    [
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", // train-labels-idx1-ubyte.gz
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", // t10k-labels-idx1-ubyte.gz
    ];

    /// <summary>The built-in names for a labels file, or null (the digits).</summary>
    public static string[]? Builtin(string labelsPath)
    {
        try
        {
            var info = new FileInfo(labelsPath);
            // Fashion's label files are 29,491 and 5,125 bytes: anything big is not one, and is not hashed.
            if (!info.Exists || info.Length > 64 * 1024)
            {
                return null;
            }
            string hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(labelsPath)));
            return FashionLabelHashes.Contains(hash) ? Fashion : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>One name per line (blank lines at the end ignored), each unique.</summary>
    /// <exception cref="DataError">Missing, empty, not UTF-8, blank or repeated names, too many.</exception>
    public static string[] Read(string path)
    {
        using var file = FileInput.Open(path);
        string text;
        try
        {
            using var reader = new StreamReader(file, new UTF8Encoding(false, throwOnInvalidBytes: true));
            text = reader.ReadToEnd();
        }
        catch (DecoderFallbackException)
        {
            throw new DataError(path, "not UTF-8 text");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataError(path, $"cannot read: {e.Message}");
        }
        var names = text.Split('\n').Select(l => l.TrimEnd('\r').Trim()).ToList();
        while (names.Count > 0 && names[^1].Length == 0)
        {
            names.RemoveAt(names.Count - 1);
        }
        if (names.Count == 0)
        {
            throw new DataError(path, "no class names (expected one name per line)");
        }
        if (names.Count > Table.MaxClasses)
        {
            throw new DataError(path, $"{names.Count} class names; at most {Table.MaxClasses}");
        }
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i].Length == 0)
            {
                throw new DataError(path, $"line {i + 1} is blank: one class name per line");
            }
            if (names.IndexOf(names[i]) < i)
            {
                throw new DataError(path, $"line {i + 1}: '{Table.Shown(names[i])}' repeats line {names.IndexOf(names[i]) + 1}");
            }
        }
        return [.. names];
    }

    /// <summary>The name of class <paramref name="c"/>: its name, or the number itself.</summary>
    public static string Of(string[]? names, int c) => names is not null && c < names.Length ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
