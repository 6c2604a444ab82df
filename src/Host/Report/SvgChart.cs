using System.Text;

namespace Functional.Host.Report;

/// <summary>One line of a chart: its points (NaN breaks the line), its colour index and, for a comparison, the run
/// it belongs to (the table's row highlights it).</summary>
public sealed record Series(string Name, double[] Xs, double[] Ys, int Color, bool Dashed = false, int Run = -1, bool Faint = false);

/// <summary>
/// A line chart as inline SVG, drawn here rather than by a JavaScript library so the page stays small and works
/// without one. Linear and, when every value is positive, logarithmic y axes are both drawn (the page's toggle shows
/// one); the points go beside it as JSON for the hover readout. Long series are thinned to <see cref="MaxPoints"/>.
/// </summary>
public sealed class SvgChart
{
    public const int Width = 640, Height = 300;
    const int Left = 62, Right = 14, Top = 14, Bottom = 42;
    const int PlotW = Width - Left - Right, PlotH = Height - Top - Bottom;

    /// <summary>Points drawn per series at most: a 30-epoch run journals ~7,500 steps, more than a chart has pixels.</summary>
    public const int MaxPoints = 700;

    /// <summary>Okabe and Ito's palette, distinguishable under the common colour blindnesses.</summary>
    public static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];

    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public string YLabel { get; init; } = "";
    public List<Series> Series { get; init; } = [];

    /// <summary>A vertical dashed line (the kept epoch) and its label.</summary>
    public double? Marker { get; init; }
    public string? MarkerLabel { get; init; }

    /// <summary>Start on the log axis (gradient norms span decades).</summary>
    public bool StartLog { get; init; }

    /// <summary>The x axis counts steps of this run folder: the readout offers the replay command of a step.</summary>
    public string? ReplayRun { get; init; }

    /// <summary>Shown instead of a chart when no series has a point.</summary>
    public string NoData { get; init; } = "no data";

    /// <summary>Whether the log axis can be shown: every finite value is positive.</summary>
    bool LogPossible => Series.SelectMany(s => s.Ys).Where(double.IsFinite).All(y => y > 0);

    public string Render()
    {
        var sb = new StringBuilder();
        var thinned = Series.Select(Thin).Where(s => s.Xs.Length > 0).ToList();
        bool any = thinned.Any(s => s.Ys.Any(double.IsFinite));
        bool log = LogPossible && any;
        string cls = "chart" + (log && StartLog ? " log" : "");
        sb.Append(Html.Inv($"<figure class=\"{cls}\" id=\"{Html.Esc(Id)}\" data-title=\"{Html.Esc(Title)}\">"));
        sb.Append("<figcaption><span class=\"ct\">").Append(Html.Esc(Title)).Append("</span><span class=\"tools\">");
        if (any)
        {
            // Zoom on x: these buttons, a drag across the chart, or + − 0 on the focused chart (PageScript).
            sb.Append("<button type=\"button\" class=\"zin\" aria-label=\"zoom in\" title=\"zoom in (+)\">+</button><button type=\"button\" class=\"zout\" aria-label=\"zoom out\" title=\"zoom out (−)\">−</button><button type=\"button\" class=\"zreset\" title=\"show every point (0)\" disabled>reset</button>");
        }
        if (log)
        {
            sb.Append("<button type=\"button\" class=\"logt\" aria-pressed=\"").Append(StartLog ? "true" : "false").Append("\">log scale</button>");
        }
        sb.Append("</span>");
        sb.Append("</figcaption>");
        if (!any)
        {
            sb.Append("<p class=\"nodata\">").Append(Html.Esc(NoData)).Append("</p></figure>");
            return sb.ToString();
        }
        var finiteX = thinned.SelectMany(s => s.Xs).Where(double.IsFinite).ToArray();
        double x0 = finiteX.Min(), x1 = finiteX.Max();
        if (Marker is double m)
        {
            x0 = Math.Min(x0, m);
            x1 = Math.Max(x1, m);
        }
        if (x1 == x0)
        {
            (x0, x1) = (x0 - 1, x1 + 1);
        }
        sb.Append(Html.Inv($"<svg viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Html.Esc(Title)}\" tabindex=\"0\" data-x0=\"{Html.G(x0)}\" data-x1=\"{Html.G(x1)}\" data-left=\"{Left}\" data-w=\"{PlotW}\" data-top=\"{Top}\" data-h=\"{PlotH}\">"));
        Axes(sb, x0, x1, thinned, logAxis: false);
        if (log)
        {
            Axes(sb, x0, x1, thinned, logAxis: true);
        }
        sb.Append(Html.Inv($"<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{Top}\" y2=\"{Top + PlotH}\" visibility=\"hidden\"/>"));
        sb.Append("</svg>");
        Legend(sb);
        sb.Append("<div class=\"readout\" aria-live=\"polite\"></div>");
        sb.Append("<script type=\"application/json\" class=\"points\">").Append(PointsJson(thinned)).Append("</script>");
        sb.Append("</figure>");
        return sb.ToString();
    }

    /// <summary>One axis system (class "lin" or "logy"): grid, ticks, the marker and the lines.</summary>
    void Axes(StringBuilder sb, double x0, double x1, List<Series> series, bool logAxis)
    {
        var ys = series.SelectMany(s => s.Ys).Where(y => double.IsFinite(y) && (!logAxis || y > 0)).Select(y => logAxis ? Math.Log10(y) : y).ToArray();
        double y0 = ys.Min(), y1 = ys.Max();
        if (y1 - y0 < 1e-12 * Math.Max(1, Math.Abs(y1)))
        {
            (y0, y1) = logAxis ? (y0 - 0.5, y1 + 0.5) : (y0 - Math.Max(0.5, Math.Abs(y0) * 0.1), y1 + Math.Max(0.5, Math.Abs(y1) * 0.1));
        }
        else
        {
            double pad = (y1 - y0) * 0.04;
            (y0, y1) = (y0 - pad, y1 + pad);
        }
        double X(double x) => Left + (x - x0) / (x1 - x0) * PlotW;
        double Y(double y) => Top + PlotH - (y - y0) / (y1 - y0) * PlotH;
        sb.Append(logAxis ? "<g class=\"logy\">" : "<g class=\"lin\">");
        sb.Append(Html.Inv($"<rect class=\"frame\" x=\"{Left}\" y=\"{Top}\" width=\"{PlotW}\" height=\"{PlotH}\"/>"));
        foreach (var (t, label) in Ticks.For(x0, x1, integer: XLabel is "epoch" or "step"))
        {
            double px = X(t);
            sb.Append(Html.Inv($"<line class=\"grid\" x1=\"{px:F1}\" x2=\"{px:F1}\" y1=\"{Top}\" y2=\"{Top + PlotH}\"/><text class=\"tick\" x=\"{px:F1}\" y=\"{Top + PlotH + 15}\" text-anchor=\"middle\">{Html.Esc(label)}</text>"));
        }
        foreach (var (t, label) in logAxis ? Ticks.Log(y0, y1) : Ticks.For(y0, y1, integer: false))
        {
            double py = Y(t);
            sb.Append(Html.Inv($"<line class=\"grid\" x1=\"{Left}\" x2=\"{Left + PlotW}\" y1=\"{py:F1}\" y2=\"{py:F1}\"/><text class=\"tick\" x=\"{Left - 5}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{Html.Esc(label)}</text>"));
        }
        sb.Append(Html.Inv($"<text class=\"axis\" x=\"{Left + PlotW / 2}\" y=\"{Height - 6}\" text-anchor=\"middle\">{Html.Esc(XLabel)}</text>"));
        string yLabel = YLabel + (logAxis ? " (log scale)" : "");
        sb.Append(Html.Inv($"<text class=\"axis\" transform=\"translate(13 {Top + PlotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Html.Esc(yLabel)}</text>"));
        sb.Append(Html.Inv($"<clipPath id=\"{Html.Esc(Id)}-{(logAxis ? "g" : "l")}\"><rect x=\"{Left}\" y=\"{Top}\" width=\"{PlotW}\" height=\"{PlotH}\"/></clipPath>"));
        sb.Append(Html.Inv($"<g clip-path=\"url(#{Html.Esc(Id)}-{(logAxis ? "g" : "l")})\">"));
        if (Marker is double m)
        {
            double px = X(m);
            sb.Append(Html.Inv($"<line class=\"marker\" x1=\"{px:F1}\" x2=\"{px:F1}\" y1=\"{Top}\" y2=\"{Top + PlotH}\"/>"));
        }
        foreach (var s in series)
        {
            var path = new StringBuilder();
            bool pen = false;
            int drawn = 0;
            for (int i = 0; i < s.Xs.Length; i++)
            {
                double y = s.Ys[i];
                if (!double.IsFinite(y) || (logAxis && y <= 0))
                {
                    pen = false;
                    continue;
                }
                path.Append(pen ? 'L' : 'M').Append(Html.Inv($"{X(s.Xs[i]):F1} {Y(logAxis ? Math.Log10(y) : y):F1}"));
                pen = true;
                drawn++;
            }
            string style = $"stroke:{Palette[s.Color % Palette.Length]}";
            string classes = "line" + (s.Dashed ? " dash" : "") + (s.Faint ? " faint" : "");
            string run = s.Run >= 0 ? Html.Inv($" data-run=\"{s.Run}\"") : "";
            sb.Append(Html.Inv($"<path class=\"{classes}\" style=\"{style}\"{run} d=\"{path}\"/>"));
            if (drawn <= 30)
            {
                // Few points: each one shows, so a two-epoch run is not two bare line ends.
                for (int i = 0; i < s.Xs.Length; i++)
                {
                    if (double.IsFinite(s.Ys[i]) && (!logAxis || s.Ys[i] > 0))
                    {
                        sb.Append(Html.Inv($"<circle class=\"dot\" style=\"fill:{Palette[s.Color % Palette.Length]}\"{run} cx=\"{X(s.Xs[i]):F1}\" cy=\"{Y(logAxis ? Math.Log10(s.Ys[i]) : s.Ys[i]):F1}\" r=\"3\"/>"));
                    }
                }
            }
        }
        sb.Append("</g>");
        if (Marker is double mk && MarkerLabel is { } ml)
        {
            sb.Append(Html.Inv($"<text class=\"mlabel\" x=\"{X(mk) - 4:F1}\" y=\"{Top + 12}\" text-anchor=\"end\">{Html.Esc(ml)}</text>"));
        }
        sb.Append("</g>");
    }

    void Legend(StringBuilder sb)
    {
        sb.Append("<ul class=\"legend\">");
        foreach (var s in Series)
        {
            string run = s.Run >= 0 ? Html.Inv($" data-run=\"{s.Run}\"") : "";
            sb.Append(Html.Inv($"<li{run}><span class=\"sw{(s.Dashed ? " dash" : "")}\" style=\"border-color:{Palette[s.Color % Palette.Length]}\"></span>{Html.Esc(s.Name)}</li>"));
        }
        if (MarkerLabel is { } ml)
        {
            sb.Append("<li><span class=\"sw mk\"></span>").Append(Html.Esc(ml)).Append("</li>");
        }
        sb.Append("</ul>");
    }

    /// <summary>What the readout needs: per series its name, colour and points; the run whose steps these are.</summary>
    string PointsJson(List<Series> series)
    {
        var sb = new StringBuilder("{");
        if (ReplayRun is { } run)
        {
            sb.Append("\"replay\":").Append(Html.JsString(run)).Append(',');
        }
        if (Marker is double m)
        {
            sb.Append("\"marker\":").Append(Html.G(m)).Append(',');
        }
        sb.Append("\"x\":").Append(Html.JsString(XLabel)).Append(",\"integer\":").Append(XLabel is "epoch" or "step" ? "true" : "false")
            .Append(",\"series\":[");
        for (int k = 0; k < series.Count; k++)
        {
            var s = series[k];
            sb.Append(k == 0 ? "" : ",").Append("{\"name\":").Append(Html.JsString(s.Name))
                .Append(",\"color\":").Append(Html.JsString(Palette[s.Color % Palette.Length]))
                .Append(",\"cls\":").Append(Html.JsString("line" + (s.Dashed ? " dash" : "") + (s.Faint ? " faint" : "")))
                .Append(s.Run >= 0 ? Html.Inv($",\"run\":{s.Run}") : "")
                .Append(",\"xs\":[").AppendJoin(',', s.Xs.Select(Html.G))
                .Append("],\"ys\":[").AppendJoin(',', s.Ys.Select(Html.G)).Append("]}");
        }
        return sb.Append("]}").ToString();
    }

    /// <summary>Every k-th point, the last always kept, so at most about <see cref="MaxPoints"/> remain.</summary>
    public static Series Thin(Series s)
    {
        if (s.Xs.Length <= MaxPoints)
        {
            return s;
        }
        int stride = (s.Xs.Length + MaxPoints - 1) / MaxPoints;
        var keep = Enumerable.Range(0, s.Xs.Length).Where(i => i % stride == 0 || i == s.Xs.Length - 1).ToArray();
        return s with { Xs = [.. keep.Select(i => s.Xs[i])], Ys = [.. keep.Select(i => s.Ys[i])] };
    }
}
