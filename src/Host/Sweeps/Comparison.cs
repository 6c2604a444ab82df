using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Host.Runs;

namespace Functional.Host.Sweeps;

/// <summary>A row of the comparison: the values of the options that differ, and the runs that have them
/// (several when the runs differ only by seed).</summary>
public sealed record CompareGroup(string[] Values, List<RunRecord> Runs)
{
    public double[] Accuracies => [.. Runs.Select(r => r.TestAccuracy).OfType<double>()];
}

/// <summary>
/// Runs side by side: the settings that differ between them (whatever run.json holds), and the results,
/// as the mean ± sample standard deviation over seeds where runs differ only by seed.
/// </summary>
public sealed class Comparison
{
    public const string SeedKey = "seed";

    public IReadOnlyList<RunRecord> Runs { get; }

    /// <summary>Settings whose values are not the same in every run.</summary>
    public List<string> Differing { get; }

    /// <summary>Differing minus the seed when runs are grouped over seeds, else Differing.</summary>
    public List<string> Keys { get; }

    public List<CompareGroup> Groups { get; }

    /// <summary>True when some row holds several runs that differ only by seed.</summary>
    public bool BySeed { get; }

    public Comparison(IReadOnlyList<RunRecord> runs)
    {
        Runs = runs;
        var settings = runs.Select(r => r.Settings()).ToList();
        var keys = settings.SelectMany(s => s.Keys).Distinct().Order(StringComparer.Ordinal);
        Differing = [.. keys.Where(k => settings.Select(s => s.GetValueOrDefault(k, "—")).Distinct().Count() > 1)];
        // The swept options first (config fields have no dot), then the rest.
        Differing = [.. Differing.OrderBy(k => k.Contains('.')).ThenBy(k => k, StringComparer.Ordinal)];
        var withoutSeed = Differing.Where(k => k != SeedKey).ToList();
        var grouped = Group(settings, withoutSeed, merge: Differing.Contains(SeedKey));
        BySeed = Differing.Contains(SeedKey) && grouped.Any(g => g.Runs.Count > 1);
        Keys = BySeed ? withoutSeed : Differing;
        Groups = BySeed ? grouped : Group(settings, Differing, merge: false);
    }

    List<CompareGroup> Group(List<SortedDictionary<string, string>> settings, List<string> keys, bool merge)
    {
        var groups = new List<CompareGroup>();
        for (int i = 0; i < Runs.Count; i++)
        {
            string[] values = [.. keys.Select(k => settings[i].GetValueOrDefault(k, "—"))];
            var g = groups.FirstOrDefault(g => g.Values.SequenceEqual(values));
            if (g == null || !merge)
            {
                groups.Add(new CompareGroup(values, [Runs[i]]));
            }
            else
            {
                g.Runs.Add(Runs[i]);
            }
        }
        return groups;
    }

    /// <summary>"92.05 ± 0.31 %" over the runs that have a result; "—" without any.</summary>
    public static string MeanStd(double[] xs, double scale = 100, string unit = " %", string format = "F2")
    {
        if (xs.Length == 0)
        {
            return "—";
        }
        double mean = xs.Average() * scale;
        if (xs.Length == 1)
        {
            return mean.ToString(format, CultureInfo.InvariantCulture) + unit;
        }
        return $"{mean.ToString(format, CultureInfo.InvariantCulture)} ± {(Std(xs) * scale).ToString(format, CultureInfo.InvariantCulture)}{unit}";
    }

    /// <summary>The sample standard deviation (n − 1).</summary>
    public static double Std(double[] xs)
    {
        if (xs.Length < 2)
        {
            return 0;
        }
        double mean = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Length - 1));
    }

    /// <summary>The table: one row per run, or per group of seeds.</summary>
    public void Print(TextWriter w)
    {
        var header = new List<string>();
        var rows = new List<List<string>>();
        if (BySeed)
        {
            header.AddRange(Keys);
            header.AddRange(["seeds", "test accuracy", "time"]);
            foreach (var g in Groups)
            {
                var seeds = g.Runs.Select(r => r.Settings().GetValueOrDefault(SeedKey, "?"));
                rows.Add([.. g.Values, string.Join(",", seeds), MeanStd(g.Accuracies),
                    MeanStd([.. g.Runs.Select(r => r.Seconds)], 1, " s", "F1")]);
            }
        }
        else
        {
            header.Add("run");
            header.AddRange(Keys);
            header.AddRange(["test accuracy", "time", "status"]);
            foreach (var g in Groups)
            {
                foreach (var r in g.Runs)
                {
                    rows.Add([r.Label, .. g.Values, MeanStd(r.TestAccuracy is { } a ? [a] : []),
                        r.Seconds.ToString("F1", CultureInfo.InvariantCulture) + " s", r.Status()]);
                }
            }
        }
        int rightFrom = header.Count - (BySeed ? 2 : 3);
        if (TableWidth(header, rows) <= Width || Keys.Count == 0)
        {
            Table(w, header, rows, rightFrom);
        }
        else
        {
            PrintNarrow(w, header, rows, rightFrom);
        }
        if (Differing.Count == 0 && Runs.Count > 1)
        {
            w.WriteLine("no setting differs between these runs");
        }
    }

    /// <summary>The columns a table may take: a terminal's 80.</summary>
    public const int Width = 80;

    static int TableWidth(List<string> header, List<List<string>> rows) =>
        Enumerable.Range(0, header.Count).Sum(c => Math.Max(header[c].Length, rows.Max(r => c < r.Count ? r[c].Length : 0)))
            + 2 * (header.Count - 1);

    /// <summary>
    /// A table too wide for the terminal (long settings such as an architecture): the results first, one row per
    /// run (or group of seeds), then each setting that differs with every row's value, wrapped to 80 columns.
    /// </summary>
    void PrintNarrow(TextWriter w, List<string> header, List<List<string>> rows, int rightFrom)
    {
        // Rows are named by their run, or by number when a row is a group of seeds.
        string[] names = BySeed
            ? [.. Enumerable.Range(1, rows.Count).Select(i => $"#{i}")]
            : [.. rows.Select(r => r[0])];
        int first = BySeed ? 0 : 1;
        var resultHeader = new List<string> { BySeed ? "row" : "run" };
        resultHeader.AddRange(header.Skip(first + Keys.Count));
        var resultRows = rows.Select((r, i) => new List<string> { names[i] }.Concat(r.Skip(first + Keys.Count)).ToList()).ToList();
        Table(w, resultHeader, resultRows, rightFrom: resultHeader.Count - (header.Count - rightFrom));
        w.WriteLine();
        w.WriteLine("settings that differ:");
        int keyWidth = Keys.Max(k => k.Length), nameWidth = names.Max(n => n.Length);
        for (int k = 0; k < Keys.Count; k++)
        {
            for (int i = 0; i < rows.Count; i++)
            {
                string lead = $"  {(i == 0 ? Keys[k] : "").PadRight(keyWidth)}  {names[i].PadRight(nameWidth)}  ";
                var lines = Wrap(rows[i][first + k], Math.Max(20, Width - lead.Length));
                w.WriteLine((lead + lines[0]).TrimEnd());
                foreach (string more in lines.Skip(1))
                {
                    w.WriteLine((new string(' ', lead.Length) + more).TrimEnd());
                }
            }
        }
    }

    /// <summary>Text cut into lines of at most <paramref name="width"/> columns at spaces (a longer word stays whole).</summary>
    public static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        string line = "";
        foreach (string word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line);
                line = word;
            }
            else
            {
                line = line.Length == 0 ? word : line + " " + word;
            }
        }
        lines.Add(line);
        return lines;
    }

    /// <summary>Columns padded to their widest cell; columns from <paramref name="rightFrom"/> on are right-aligned.</summary>
    public static void Table(TextWriter w, List<string> header, List<List<string>> rows, int rightFrom)
    {
        var all = new List<List<string>> { header };
        all.AddRange(rows);
        int[] widths = [.. Enumerable.Range(0, header.Count).Select(c => all.Max(r => c < r.Count ? r[c].Length : 0))];
        foreach (var row in all)
        {
            var cells = row.Select((cell, c) => c >= rightFrom ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            w.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    /// <summary>
    /// For two runs of the same configuration: the first journaled step whose weights hash differs, or that
    /// they are identical. Null when the configurations differ (the table says how).
    /// </summary>
    public string? SameConfiguration()
    {
        if (Runs.Count != 2)
        {
            return null;
        }
        var (a, b) = (Runs[0], Runs[1]);
        bool same = JsonNode.DeepEquals(a.Config, b.Config)
            && JsonNode.DeepEquals(a.Json["epochs"], b.Json["epochs"])
            && JsonNode.DeepEquals(a.Json["train_count"], b.Json["train_count"]);
        if (!same || a.Config == null)
        {
            return null;
        }
        var stepsA = Journal.Steps(a.Dir, TextWriter.Null);
        var stepsB = Journal.Steps(b.Dir, TextWriter.Null);
        long agreed = 0;
        int common = 0;
        foreach (var (step, sa) in stepsA)
        {
            if (!stepsB.TryGetValue(step, out var sb))
            {
                continue;
            }
            if (sa.WeightsHash != sb.WeightsHash)
            {
                return $"same configuration; they first differ at journaled step {step} (weights sha256 {Short(sa.WeightsHash)} vs {Short(sb.WeightsHash)})"
                    + (agreed > 0 ? $", after agreeing up to step {agreed}" : ", the first journaled step")
                    + $": see 'functional replay {a.Dir} --step {step}'";
            }
            agreed = step;
            common++;
        }
        if (common == 0)
        {
            return "same configuration, but their journals have no step in common to compare";
        }
        string modelA = Path.Combine(a.Dir, ModelFile.FileName), modelB = Path.Combine(b.Dir, ModelFile.FileName);
        bool models = File.Exists(modelA) && File.Exists(modelB);
        if (stepsA.Count != stepsB.Count)
        {
            return $"same configuration; they agree on all {common} journaled steps both have (up to step {agreed}); one run is further along";
        }
        if (models && !File.ReadAllBytes(modelA).AsSpan().SequenceEqual(File.ReadAllBytes(modelB)))
        {
            return $"same configuration; all {common} journaled steps agree, but model.safetensors differs";
        }
        return $"identical: same configuration, all {common} journaled weights hashes agree (up to step {agreed})"
            + (models ? " and model.safetensors is the same byte for byte" : "");
    }
}
