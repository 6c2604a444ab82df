using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Host.Runs;

namespace Functional.Host.Sweeps;

/// <summary>Where a point stands, read from its run folder alone (so any executor, or none, may have run it).</summary>
public sealed record PointStatus(string State, double? TestAccuracy, double Seconds, string? Reason)
{
    public bool Finished => State == "finished";
}

/// <summary>
/// Runs one point as a child <c>functional</c>: nothing when its run is finished, <c>resume</c> when its folder
/// holds a run.json, else <c>train</c> with the point's options. The child's output goes to the point's train.log
/// (appended: a resumed point keeps its history), whichever executor runs the point.
/// </summary>
public static class PointRunner
{
    public const string LogName = "train.log";

    public static string LogPath(string pointDir) => Path.Combine(pointDir, LogName);

    /// <summary>finished (run.json with results and a model), failed, interrupted or not started; from the folder.</summary>
    public static PointStatus Status(string pointDir)
    {
        string runJson = Path.Combine(pointDir, RunFile.FileName);
        JsonObject? results = null;
        try
        {
            results = File.Exists(runJson) ? JsonNode.Parse(File.ReadAllText(runJson))?["results"] as JsonObject : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException)
        {
            return new PointStatus("failed", null, 0, $"{runJson}: not valid JSON");
        }
        if (results != null && File.Exists(Path.Combine(pointDir, ModelFile.FileName)))
        {
            double? accuracy = results["test_accuracy"] is JsonValue v && v.TryGetValue(out double a) ? a : null;
            double seconds = (results["epochs"] as JsonArray ?? [])
                .Sum(e => e?["seconds"] is JsonValue s && s.TryGetValue(out double x) ? x : 0);
            return new PointStatus("finished", accuracy, seconds, null);
        }
        string? reason = LastError(LogPath(pointDir));
        if (reason != null)
        {
            return new PointStatus("failed", null, 0, reason);
        }
        return File.Exists(runJson)
            ? new PointStatus("interrupted", null, 0, null)
            : new PointStatus("not started", null, 0, null);
    }

    /// <summary>The last run's one-line error in a point's log ("functional: ..."), or null when it did not fail.</summary>
    public static string? LastError(string log)
    {
        if (!File.Exists(log))
        {
            return null;
        }
        string[] lines = File.ReadAllLines(log);
        int start = Array.FindLastIndex(lines, l => l.StartsWith("== ", StringComparison.Ordinal) && !l.StartsWith("== exit ", StringComparison.Ordinal));
        var last = lines.Skip(Math.Max(start, 0)).ToArray();
        string? exit = last.LastOrDefault(l => l.StartsWith("== exit ", StringComparison.Ordinal));
        // 130: stopped with a checkpoint; 137, 143: killed by SIGKILL or SIGTERM before it could write one.
        if (exit is null or "== exit 0" or "== exit 130" or "== exit 137" or "== exit 143")
        {
            return null;
        }
        return last.LastOrDefault(l => l.StartsWith("functional: ", StringComparison.Ordinal))?["functional: ".Length..]
            ?? exit[3..];
    }

    /// <summary>The child's arguments: resume an interrupted run (at its own thread count), else train the point.</summary>
    public static string[] Arguments(string pointDir, SweepPoint point, int threads) =>
        File.Exists(Path.Combine(pointDir, RunFile.FileName))
            ? ["resume", pointDir]
            : [.. new[] { "train" }.Concat(point.Args).Concat(["--run", pointDir, "--threads", threads.ToString(CultureInfo.InvariantCulture)])];

    /// <summary>Runs the point to its end; returns the child's exit code (0 at once when it was finished).
    /// <paramref name="started"/> sees the child, so a stop can be passed on to it.</summary>
    public static int Run(string pointDir, SweepPoint point, int threads, Action<Process>? started = null)
    {
        if (Status(pointDir).Finished)
        {
            return ReturnCode.Ok;
        }
        Directory.CreateDirectory(pointDir);
        string[] args = Arguments(pointDir, point, threads);
        using var log = new StreamWriter(LogPath(pointDir), append: true) { AutoFlush = true };
        var gate = new Lock();
        void Line(string? text)
        {
            if (text != null)
            {
                lock (gate)
                {
                    log.WriteLine(text);
                }
            }
        }
        Line($"== {DateTime.Now:yyyy-MM-dd HH:mm:ss} functional {SelfCommand.Shell(args)}");
        var psi = SelfCommand.StartInfo(args);
        psi.Environment["CI"] = "true"; // plain lines, no progress bar, in the log
        // Linux sends the death signal when the thread that started the child ends: this one, which waits below.
        psi.Environment[ParentDeath.Variable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using var child = new Process { StartInfo = psi };
        child.OutputDataReceived += (_, e) => Line(e.Data);
        child.ErrorDataReceived += (_, e) => Line(e.Data);
        child.Start();
        started?.Invoke(child);
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        child.WaitForExit();
        Line($"== exit {child.ExitCode}");
        return child.ExitCode;
    }
}
