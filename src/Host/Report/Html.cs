using System.Globalization;
using System.Net;

namespace Functional.Host.Report;

/// <summary>Escaping and number formatting for the report: every string that reaches the page goes through
/// <see cref="Esc"/> (run names, paths and class names are the user's, and may hold &lt; or quotes).</summary>
public static class Html
{
    /// <summary>Text or an attribute value, safe inside elements and double-quoted attributes.</summary>
    public static string Esc(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A number as JavaScript and the tests read it back: invariant, round-trippable, NaN/∞ as null.</summary>
    public static string Js(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "null";

    /// <summary>Six significant digits, invariant: SVG coordinates and hover values (a page of exact doubles would
    /// be twice the size for digits no one reads).</summary>
    public static string G(double x) => double.IsFinite(x) ? x.ToString("G6", CultureInfo.InvariantCulture) : "null";

    /// <summary>A percentage of a fraction, two decimals ("92.05%"), as train prints it.</summary>
    public static string Percent(double fraction) =>
        double.IsFinite(fraction) ? (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%" : "—";

    public static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>A PNG as an &lt;img&gt; source that needs no file beside the page.</summary>
    public static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    /// <summary>A JSON string literal that is also safe inside a &lt;script&gt; element (no "&lt;/script&gt;" can close it).</summary>
    public static string JsString(string text) =>
        System.Text.Json.JsonSerializer.Serialize(text).Replace("<", "\\u003c", StringComparison.Ordinal);
}
