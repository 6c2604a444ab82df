using System.Globalization;
using System.Text;
using Functional.Host.Sweeps;

namespace Functional.Host.Report;

/// <summary>Several runs (or a sweep's points): their curves overlaid, one colour per run, and a sortable table of
/// the settings that differ (a sweep's grid) and their results; a row highlights its run's curves.</summary>
public static class CompareSection
{
    public static string Render(string title, List<RunData> runs, List<string> notes)
    {
        var sb = new StringBuilder();
        sb.Append("<section class=\"compare\"><h1>").Append(Html.Esc(title)).Append("</h1>");
        sb.Append(Html.Inv($"<p class=\"path\">{runs.Count} runs</p>"));
        if (notes.Count > 0)
        {
            sb.Append("<div class=\"problems\" role=\"alert\"><ul>");
            foreach (string n in notes)
            {
                sb.Append("<li class=\"warning\">").Append(Html.Esc(n)).Append("</li>");
            }
            sb.Append("</ul></div>");
        }
        foreach (var r in runs.Where(r => r.Problems.Count > 0 || r.Warnings.Count > 0))
        {
            sb.Append("<h3>").Append(Html.Esc(r.Label)).Append("</h3>");
            RunSection.Problems(sb, r);
        }
        var records = runs.Where(r => r.Record is not null).ToList();
        if (records.Count > 0)
        {
            Table(sb, records);
        }
        sb.Append("<h2>Curves</h2><p class=\"hint\">Click a row of the table to highlight its run.</p><div class=\"charts\">");
        foreach (var chart in Charts(runs))
        {
            sb.Append(chart.Render());
        }
        sb.Append("</div></section>");
        return sb.ToString();
    }

    /// <summary>A run's colour and dash: eight colours, then the same dashed.</summary>
    static Series Style(Series s, int run) => s with { Color = run, Dashed = run / SvgChart.Palette.Length % 2 == 1, Run = run };

    static List<SvgChart> Charts(List<RunData> runs)
    {
        bool validation = runs.Any(r => r.History?.Epochs.Any(e => double.IsFinite(e.ValidationAccuracy)) == true);
        string set = validation ? "validation" : "test";
        var accuracy = new SvgChart { Id = "c-acc", Title = $"{set} accuracy per epoch (%)", XLabel = "epoch", YLabel = $"{set} accuracy (%)", NoData = "no run has finished an epoch" };
        var loss = new SvgChart { Id = "c-eloss", Title = "training loss per epoch", XLabel = "epoch", YLabel = "loss", NoData = "no run has finished an epoch" };
        var steps = new SvgChart { Id = "c-sloss", Title = "training loss per journalled step (EMA)", XLabel = "step", YLabel = "loss", NoData = "no journal.jsonl with step lines", StartLog = false };
        for (int i = 0; i < runs.Count; i++)
        {
            if (runs[i].History is not { } h)
            {
                continue;
            }
            string name = runs[i].Label;
            double[] xs = [.. h.Epochs.Select(e => (double)e.Epoch)];
            accuracy.Series.Add(Style(new(name, xs, [.. h.Epochs.Select(e => 100 * (validation ? e.ValidationAccuracy : e.TestAccuracy))], 0), i));
            loss.Series.Add(Style(new(name, xs, [.. h.Epochs.Select(e => e.Loss)], 0), i));
            double[] ls = [.. h.Steps.Select(s => s.Loss)];
            if (ls.Length > 0)
            {
                steps.Series.Add(Style(new(name, [.. h.Steps.Select(s => (double)s.Step)], ls.Length > 30 ? CurvesPlot.Smoothed(ls, Math.Clamp(1 - 10.0 / ls.Length, 0, 0.99)) : ls, 0), i));
            }
        }
        return [accuracy, loss, steps];
    }

    static void Table(StringBuilder sb, List<RunData> runs)
    {
        var c = new Comparison([.. runs.Select(r => r.Record!)]);
        var settings = runs.Select(r => r.Record!.Settings()).ToList();
        sb.Append("<h2>Runs</h2><div class=\"scroll\"><table class=\"runs\"><thead><tr>");
        string[] columns = ["run", .. c.Differing, "test accuracy", "best validation", "epochs", "time (s)", "status"];
        foreach (string col in columns)
        {
            sb.Append("<th scope=\"col\"><button type=\"button\">").Append(Html.Esc(col)).Append("</button></th>");
        }
        sb.Append("</tr></thead><tbody>");
        for (int i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            var record = r.Record!;
            sb.Append(Html.Inv($"<tr data-run=\"{i}\" tabindex=\"0\"><td><span class=\"sw\" style=\"border-color:{SvgChart.Palette[i % SvgChart.Palette.Length]}\"></span>{Html.Esc(r.Label)}</td>"));
            foreach (string key in c.Differing)
            {
                string v = settings[i].GetValueOrDefault(key, "—");
                sb.Append(Cell(v, double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : null));
            }
            sb.Append(Cell(record.TestAccuracy is double a ? Html.Percent(a) : "—", record.TestAccuracy, "test_accuracy"));
            double? best = r.History?.Epochs.Select(e => e.ValidationAccuracy).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max() is double b && double.IsFinite(b) ? b : null;
            sb.Append(Cell(best is double bv ? Html.Percent(bv) : "—", best));
            sb.Append(Cell(record.Epochs(), r.History?.Epochs.Count ?? 0));
            sb.Append(Cell(record.Seconds.ToString("F1", CultureInfo.InvariantCulture), record.Seconds));
            sb.Append(Cell(record.Status(), null));
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table></div>");
        if (c.Differing.Count == 0 && runs.Count > 1)
        {
            sb.Append("<p>No setting differs between these runs.</p>");
        }
    }

    /// <summary>A cell; with a number, its exact value for sorting (and for the tests).</summary>
    static string Cell(string text, double? value, string? key = null) =>
        "<td" + (value is double v ? $" class=\"num\" data-v=\"{Html.Js(v)}\"" : "") + (key is null ? "" : $" data-key=\"{key}\"") + ">" + Html.Esc(text) + "</td>";
}
