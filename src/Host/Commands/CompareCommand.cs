using Functional.Cli;
using Functional.Host.Sweeps;

namespace Functional.Host.Commands;

/// <summary><c>functional compare RUN|SWEEP ...</c>: the settings that differ and the results, as a table and a PNG;
/// for two runs of one configuration, the first journaled step where they differ.</summary>
public static class CompareCommand
{
    public static int Run(CompareOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Png, "--png");
        var runs = Collect(o.Runs, Console.Error);
        string png = o.Png ?? (o.Runs.Length == 1 && SweepFile.IsSweep(o.Runs[0])
            ? Path.Combine(o.Runs[0], ComparePlot.FileName)
            : ComparePlot.FileName);
        Report(runs, string.Join(" ", o.Runs.Select(r => Path.GetFileName(Path.TrimEndingDirectorySeparator(r)))), png, Console.Out);
        return ReturnCode.Ok;
    }

    /// <summary>The runs of the folders given: a sweep folder stands for its points that have a run.json.</summary>
    public static List<RunRecord> Collect(IEnumerable<string> targets, TextWriter warnings)
    {
        var runs = new List<RunRecord>();
        foreach (string target in targets)
        {
            if (SweepFile.IsSweep(target))
            {
                var sweep = SweepFile.Read(target);
                var missing = new List<string>();
                foreach (var p in sweep.Points)
                {
                    string dir = sweep.PointDir(target, p);
                    if (File.Exists(Path.Combine(dir, Runs.RunFile.FileName)))
                    {
                        runs.Add(RunRecord.Read(dir, $"{sweep.Name}/{p.Name}"));
                    }
                    else
                    {
                        missing.Add(p.Name);
                    }
                }
                if (missing.Count > 0)
                {
                    warnings.WriteLine($"warning: {target}: {missing.Count} point(s) have no run yet ({string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")})");
                }
            }
            else if (File.Exists(Path.Combine(target, Runs.RunFile.FileName)))
            {
                runs.Add(RunRecord.Read(target));
            }
            else
            {
                throw new DataError(target, Directory.Exists(target)
                    ? "neither a run folder (run.json) nor a sweep folder (sweep.json)"
                    : "folder not found");
            }
        }
        if (runs.Count == 0)
        {
            throw new DataError(string.Join(" ", targets), "no run to compare (no point of the sweep has run yet)");
        }
        return runs;
    }

    /// <summary>Prints the table (and the same-configuration verdict for two runs) and draws the PNG.</summary>
    public static void Report(List<RunRecord> runs, string title, string png, TextWriter w)
    {
        var c = new Comparison(runs);
        c.Print(w);
        if (c.SameConfiguration() is { } verdict)
        {
            w.WriteLine(verdict);
        }
        w.WriteLine($"plot  {TryPlot(c, title, png)}");
    }

    static string TryPlot(Comparison c, string title, string png)
    {
        try
        {
            return ComparePlot.Write(c, $"compare {title}", png);
        }
        catch (Exception e) when (e is DataError or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return $"not drawn: {e.Message}";
        }
    }
}
