using System.Text;
using Functional.Host.Sweeps;

namespace Functional.Host.Report;

/// <summary>
/// <c>functional report</c>'s page: one self-contained HTML file (styles, script and pictures inside, nothing
/// fetched), for one run or for several runs and sweeps.
/// </summary>
public static class ReportPage
{
    public const string FileName = "report.html";

    /// <summary>The runs the targets name: a sweep folder stands for its points that have run; anything else that is
    /// not a run folder is the one-line error (exit 3).</summary>
    public static (List<(string Dir, string Label)> Runs, List<string> Notes) Collect(IReadOnlyList<string> targets)
    {
        var runs = new List<(string, string)>();
        var notes = new List<string>();
        foreach (string target in targets)
        {
            if (SweepFile.IsSweep(target))
            {
                var sweep = SweepFile.Read(target);
                var missing = new List<string>();
                foreach (var p in sweep.Points)
                {
                    string dir = sweep.PointDir(target, p);
                    if (RunData.IsRun(dir))
                    {
                        runs.Add((dir, $"{sweep.Name}/{p.Name}"));
                    }
                    else
                    {
                        missing.Add(p.Name);
                    }
                }
                if (missing.Count > 0)
                {
                    notes.Add($"{target}: {missing.Count} point(s) have no run yet ({string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")})");
                }
            }
            else if (RunData.IsRun(target))
            {
                runs.Add((target, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(target)))));
            }
            else
            {
                throw new DataError(target, Directory.Exists(target)
                    ? "not a run folder (no run.json, journal.jsonl or model.safetensors) nor a sweep folder (sweep.json)"
                    : File.Exists(target) ? "is a file, not a run folder" : "folder not found");
            }
        }
        if (runs.Count == 0)
        {
            throw new DataError(string.Join(" ", targets), "no run to report (no point of the sweep has run yet)");
        }
        return (runs, notes);
    }

    /// <summary>The page; <paramref name="live"/>: of a run still training, without the model's sections (written at
    /// the end), reloading itself every <see cref="LiveReport.ReloadSeconds"/>.</summary>
    public static string Build(IReadOnlyList<string> targets, bool live = false)
    {
        var (runs, notes) = Collect(targets);
        bool single = runs.Count == 1 && !targets.Any(SweepFile.IsSweep);
        string title;
        string body;
        if (single)
        {
            var d = RunData.Load(runs[0].Dir, runs[0].Label, evaluate: !live);
            title = $"{d.Label}: functional report";
            body = (live ? Live(d) : "") + RunSection.Render(d);
        }
        else
        {
            var data = runs.Select(r => RunData.Load(r.Dir, r.Label, evaluate: false)).ToList();
            string name = string.Join(", ", targets.Select(t => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(t)))));
            title = $"{name}: functional report";
            body = CompareSection.Render(name, data, notes);
        }
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        // Nothing may be fetched: the page is read from file://, often offline.
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">");
        if (live)
        {
            sb.Append(Html.Inv($"<meta http-equiv=\"refresh\" content=\"{LiveReport.ReloadSeconds}\">"));
        }
        sb.Append("<meta name=\"generator\" content=\"functional ").Append(Html.Esc(Program.Version)).Append("\">");
        sb.Append("<title>").Append(Html.Esc(title)).Append("</title><style>").Append(PageStyle.Css).Append("</style></head><body>");
        sb.Append(body);
        sb.Append("<footer class=\"hint\">Written by functional ").Append(Html.Esc(Program.Version)).Append(" report; self-contained, works offline.</footer>");
        sb.Append("<script>").Append(PageScript.Js).Append("</script></body></html>\n");
        return sb.ToString();
    }

    static string Live(RunData d)
    {
        int done = d.History?.Epochs.Count ?? 0;
        string of = d.Run is { } run ? Html.Inv($" of {run.Epochs}") : "";
        return Html.Inv($"<p class=\"live\" role=\"status\">Training: epoch {done}{of} done, {DateTime.Now:HH:mm:ss}. This page reloads itself every {LiveReport.ReloadSeconds} s; the model's sections come at the end.</p>");
    }

    /// <summary>Writes the page atomically: a browser reloading it never reads half a page.</summary>
    public static string Write(IReadOnlyList<string> targets, string path, bool live = false)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Build(targets, live));
        AtomicFile.Write(path, s => s.Write(bytes));
        return path;
    }
}
