using System.Globalization;

namespace Functional.Host;

/// <summary>The predicted-class histogram in one line: a collapsed network shows one class with every example.</summary>
public static class Histogram
{
    public static int[] Of(int[] predictions, int classes)
    {
        var h = new int[classes];
        foreach (int p in predictions)
        {
            if (p >= 0 && p < classes)
            {
                h[p]++;
            }
        }
        return h;
    }

    /// <summary><c>0:197 1:230 … (10 distinct)</c>; with class names, <c>Trouser:230</c> for <c>1:230</c>.</summary>
    public static string Line(int[] histogram, string[]? names = null) =>
        string.Join(" ", histogram.Select((n, c) => string.Create(CultureInfo.InvariantCulture, $"{ClassName(names, c)}:{n}")))
        + $" ({histogram.Count(n => n > 0)} distinct)";

    /// <summary>Class <paramref name="c"/>'s name, or its number where there are no names.</summary>
    public static string ClassName(string[]? names, int c) =>
        names is not null && c >= 0 && c < names.Length ? names[c] : c.ToString(CultureInfo.InvariantCulture);
}
