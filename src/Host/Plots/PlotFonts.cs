using SkiaSharp;

namespace Functional.Host;

/// <summary>
/// The one font every picture uses: DejaVu Sans, shipped in <c>Assets/</c> beside functional.dll and registered
/// with ScottPlot by file, so text renders on a machine with no system fonts and looks the same everywhere.
/// </summary>
public static class PlotFonts
{
    public const string Family = "DejaVu Sans";
    static readonly Lock Gate = new();
    static bool registered;

    /// <summary>The folder holding the shipped fonts (beside this assembly, also when loaded from F# Interactive).</summary>
    public static string AssetsDir =>
        Path.Combine(Path.GetDirectoryName(typeof(PlotFonts).Assembly.Location) ?? AppContext.BaseDirectory, "Assets");

    public static string RegularPath => Path.Combine(AssetsDir, "DejaVuSans.ttf");

    public static string BoldPath => Path.Combine(AssetsDir, "DejaVuSans-Bold.ttf");

    /// <summary>Registers the shipped font with ScottPlot and makes it the default; safe to call many times.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (registered)
            {
                return;
            }
            NativeAssets.Install();
            foreach (string path in new[] { RegularPath, BoldPath })
            {
                if (!File.Exists(path))
                {
                    throw new DataError(path, "the font the pictures need is missing (it ships beside functional.dll)");
                }
            }
            // First in line, and it answers every request: no lookup ever reaches the system's fonts.
            ScottPlot.Fonts.FontResolvers.Insert(0, new ShippedFontResolver());
            ScottPlot.Fonts.Default = Family;
            ScottPlot.Fonts.Sans = Family;
            ScottPlot.Fonts.Serif = Family;
            ScottPlot.Fonts.Monospace = Family;
            registered = true;
        }
    }

    /// <summary>Any family, any style: the shipped regular or bold face (a new instance: ScottPlot may dispose it).</summary>
    sealed class ShippedFontResolver : ScottPlot.IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            SKTypeface.FromFile(bold ? BoldPath : RegularPath);

        public SKTypeface? CreateTypeface(string fontName, ScottPlot.FontWeight weight, ScottPlot.FontSlant slant,
            ScottPlot.FontSpacing spacing) =>
            CreateTypeface(fontName, weight >= ScottPlot.FontWeight.SemiBold, slant != ScottPlot.FontSlant.Upright);
    }

    static SKTypeface? regular;
    static SKTypeface? bold;

    /// <summary>The shipped typeface for drawing with SkiaSharp directly.</summary>
    public static SKTypeface Typeface(bool isBold = false)
    {
        Register();
        lock (Gate)
        {
            return isBold
                ? bold ??= SKTypeface.FromFile(BoldPath)
                : regular ??= SKTypeface.FromFile(RegularPath);
        }
    }
}
