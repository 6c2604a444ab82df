using System.Globalization;

namespace Functional.Host.Report;

/// <summary>Axis ticks at "nice" values: 1, 2 or 5 times a power of ten, about five per axis.</summary>
public static class Ticks
{
    public static IEnumerable<(double At, string Label)> For(double lo, double hi, bool integer)
    {
        double span = hi - lo;
        if (!(span > 0) || !double.IsFinite(span))
        {
            yield break;
        }
        double raw = span / 5;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * power).First(s => s >= raw);
        if (integer)
        {
            step = Math.Max(1, Math.Round(step));
        }
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step)
        {
            double v = Math.Abs(t) < step * 1e-9 ? 0 : t;
            yield return (v, Label(v, step));
        }
    }

    /// <summary>Ticks of a log10 axis (values are log10 of the data): at powers of ten, and at 2 and 5 times them
    /// when the axis spans less than two decades.</summary>
    public static IEnumerable<(double At, string Label)> Log(double lo, double hi)
    {
        double[] multiples = hi - lo < 2 ? [1, 2, 5] : [1];
        int step = Math.Max(1, (int)Math.Ceiling((hi - lo) / 6));
        for (int e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
        {
            if (e % step != 0)
            {
                continue;
            }
            foreach (double m in multiples)
            {
                double at = e + Math.Log10(m);
                if (at >= lo && at <= hi)
                {
                    yield return (at, (m * Math.Pow(10, e)).ToString("G3", CultureInfo.InvariantCulture));
                }
            }
        }
    }

    static string Label(double v, double step) =>
        step >= 1 && Math.Abs(v) < 1e7 ? v.ToString("0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 1e-3 || v == 0 ? v.ToString("0.#####", CultureInfo.InvariantCulture)
        : v.ToString("G3", CultureInfo.InvariantCulture);
}
