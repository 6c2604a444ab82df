using System.Text;
using Functional.Host.Runs;

namespace Functional.Host.Report;

/// <summary>The page of one run: its figures, the lines train printed, its configuration, its curves per epoch and
/// per step, its test set (confusion matrix, confidently wrong digits), its first layer and what the diagnostics left
/// in the folder.</summary>
public static class RunSection
{
    public static string Render(RunData d)
    {
        var sb = new StringBuilder();
        sb.Append("<section class=\"run\" id=\"run\"><h1>").Append(Html.Esc(d.Label)).Append("</h1>");
        sb.Append("<p class=\"path\">").Append(Html.Esc(RunFolder.Shown(Path.GetFullPath(d.Dir)))).Append("</p>");
        Problems(sb, d);
        Figures(sb, d);
        if (d.Header is { } header)
        {
            sb.Append("<pre class=\"header\">").Append(Html.Esc(string.Join("\n", header))).Append("</pre>");
        }
        else if (d.Run is { } run)
        {
            sb.Append("<pre class=\"header\">").Append(Html.Esc($"blas  {run.Blas}")).Append("</pre>");
        }
        if (d.Record is { } record)
        {
            Configuration(sb, record);
        }
        if (d.History is { } h)
        {
            sb.Append("<h2>Per epoch</h2><div class=\"charts\">");
            foreach (var chart in Curves.PerEpoch(h, "e"))
            {
                sb.Append(chart.Render());
            }
            sb.Append("</div><h2>Per step</h2>");
            sb.Append("<p class=\"hint\">Point at a curve (or focus it and use ← →) for the values and the command that replays that step; click to keep the point.</p><div class=\"charts\">");
            foreach (var chart in Curves.PerStep(h, Shell.Quote(d.Dir), "s", !h.HasJournal && File.Exists(Path.Combine(d.Dir, Journal.FileName))))
            {
                sb.Append(chart.Render());
            }
            sb.Append("</div>");
        }
        TestSet.Render(sb, d);
        WeightHistograms.Render(sb, d);
        Diagnostics.Render(sb, d);
        sb.Append("</section>");
        return sb.ToString();
    }

    /// <summary>The files that could not be read, each with what is wrong.</summary>
    public static void Problems(StringBuilder sb, RunData d)
    {
        if (d.Problems.Count == 0 && d.Warnings.Count == 0)
        {
            return;
        }
        sb.Append("<div class=\"problems\" role=\"alert\"><ul>");
        foreach (string p in d.Problems)
        {
            sb.Append("<li class=\"problem\">").Append(Html.Esc(p)).Append("</li>");
        }
        foreach (string w in d.Warnings)
        {
            sb.Append("<li class=\"warning\">").Append(Html.Esc(w)).Append("</li>");
        }
        sb.Append("</ul></div>");
    }

    /// <summary>The run's results as run.json has them; each figure carries its exact value for the tests.</summary>
    static void Figures(StringBuilder sb, RunData d)
    {
        var figures = new List<(string Key, string Name, string Text, string Value)>();
        if (d.Record is { } r)
        {
            figures.Add(("status", "status", r.Status(), r.Status()));
            if (r.TestAccuracy is double a)
            {
                figures.Add(("test_accuracy", "test accuracy", Html.Percent(a), Html.Js(a)));
            }
            figures.Add(("epochs", "epochs", r.Epochs(), r.Epochs()));
            figures.Add(("seconds", "training time", Html.Inv($"{r.Seconds:F1} s"), Html.Js(r.Seconds)));
        }
        if (d.History is { } h)
        {
            if (h.KeptEpoch is int kept)
            {
                figures.Add(("kept_epoch", "model holds", $"epoch {kept} ({h.Kept ?? "last"})", Html.Inv($"{kept}")));
            }
            if (h.StoppedEarlyAfter is int stopped)
            {
                figures.Add(("stopped_early_after", "stopped early after", $"epoch {stopped}", Html.Inv($"{stopped}")));
            }
            figures.Add(("steps", "steps", Html.Inv($"{h.LastStep:N0}"), Html.Inv($"{h.LastStep}")));
            figures.Add(("journal_steps", "journalled steps", Html.Inv($"{h.Steps.Count:N0}"), Html.Inv($"{h.Steps.Count}")));
        }
        if (figures.Count == 0)
        {
            return;
        }
        sb.Append("<dl class=\"figures\">");
        foreach (var (key, name, text, value) in figures)
        {
            sb.Append("<div><dt>").Append(Html.Esc(name)).Append("</dt><dd data-key=\"").Append(Html.Esc(key)).Append("\" data-value=\"")
                .Append(Html.Esc(value)).Append("\">").Append(Html.Esc(text)).Append("</dd></div>");
        }
        sb.Append("</dl>");
    }

    static void Configuration(StringBuilder sb, Sweeps.RunRecord r)
    {
        sb.Append("<details class=\"config\"><summary>Configuration (run.json)</summary><table class=\"kv\"><tbody>");
        foreach (var (key, value) in r.Settings())
        {
            sb.Append("<tr><th scope=\"row\">").Append(Html.Esc(key)).Append("</th><td>").Append(Html.Esc(value)).Append("</td></tr>");
        }
        sb.Append("</tbody></table></details>");
    }
}
