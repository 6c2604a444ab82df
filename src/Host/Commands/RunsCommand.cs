using System.Globalization;
using Functional.Cli;
using Functional.Host.Runs;
using Functional.Host.Sweeps;

namespace Functional.Host.Commands;

/// <summary><c>functional runs [DIR]</c>: every run folder under DIR (runs/ and sweeps/ by default), one line each.</summary>
public static class RunsCommand
{
    const int MaxDepth = 4;

    public static int Run(RunsOptions o)
    {
        string[] roots = o.Dir != null ? [o.Dir] : ["runs", "sweeps"];
        if (o.Dir != null && !Directory.Exists(o.Dir))
        {
            throw new DataError(o.Dir, "folder not found");
        }
        var dirs = roots.Where(Directory.Exists).SelectMany(r => Find(r, 0)).ToList();
        if (dirs.Count == 0)
        {
            Console.Out.WriteLine($"no runs under {string.Join(" or ", roots)}");
            return ReturnCode.Ok;
        }
        var rows = new List<List<string>>();
        foreach (string dir in dirs)
        {
            try
            {
                var r = RunRecord.Read(dir);
                rows.Add([dir, r.Architecture(), r.Optimizer(), r.Epochs(),
                    r.TestAccuracy is { } a ? (100 * a).ToString("F2", CultureInfo.InvariantCulture) + " %" : "—",
                    r.Seconds.ToString("F1", CultureInfo.InvariantCulture) + " s", r.Status()]);
            }
            catch (DataError e)
            {
                rows.Add([dir, "?", "?", "?", "—", "—", $"unreadable: {e.Reason}"]);
            }
        }
        Comparison.Table(Console.Out, ["run", "architecture", "optimiser", "epochs", "test accuracy", "time", "status"], rows, rightFrom: 3);
        return ReturnCode.Ok;
    }

    /// <summary>Folders holding a run.json, in name order; a run's own subfolders are not searched.</summary>
    static IEnumerable<string> Find(string dir, int depth)
    {
        if (File.Exists(Path.Combine(dir, RunFile.FileName)))
        {
            yield return dir;
            yield break;
        }
        if (depth >= MaxDepth)
        {
            yield break;
        }
        foreach (string sub in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
        {
            foreach (string found in Find(sub, depth + 1))
            {
                yield return found;
            }
        }
    }
}
