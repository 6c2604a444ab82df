using System.Globalization;
using Functional.Cli;
using Functional.Host.Sweeps;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional sweep</c>: the cross product of train options, each point a run folder under SWEEPS/NAME,
/// run by child <c>functional train</c>/<c>resume</c> processes on this machine or as a Slurm array job.
/// Finished points are skipped and interrupted ones resumed, so running a sweep again completes it.
/// </summary>
public static class SweepCommand
{
    public static int Run(SweepOptions o)
    {
        if (o.Task >= 0)
        {
            return RunTask(o);
        }
        if (o.Executor == "slurm" && SlurmExecutor.Which("sbatch") == null)
        {
            throw new UsageError("--executor slurm: sbatch is not on the PATH (install Slurm's client commands, or use --executor local)");
        }
        var (sweepDir, sweep) = Define(o);
        var log = Console.Out;
        int cores = Environment.ProcessorCount;
        var (jobs, threads) = o.Executor == "slurm" ? (0, Math.Max(o.Threads, 1)) : Share(o.Jobs, o.Threads, cores);

        var todo = sweep.Points.Where(p => !PointRunner.Status(sweep.PointDir(sweepDir, p)).Finished).ToList();
        string axes = sweep.Axes.Length == 0 ? "no axis" : string.Join(" × ", sweep.Axes.Select(a => $"{a.Values.Length} {a.Option}"));
        string how = o.Executor == "slurm"
            ? $"slurm, {threads} thread(s) per task"
            : $"local, {Math.Min(jobs, Math.Max(todo.Count, 1))} job(s) × {threads} thread(s) on {cores} cores";
        log.WriteLine($"sweep {sweep.Name}: {sweep.Points.Count} points ({axes}), {sweep.Points.Count - todo.Count} finished, {todo.Count} to run; {how}");
        log.WriteLine($"folder {sweepDir}");

        int reported = sweep.Points.Count - todo.Count;
        var gate = new Lock();
        void Report(SweepPoint p, string? taskLog)
        {
            var s = PointRunner.Status(sweep.PointDir(sweepDir, p));
            lock (gate)
            {
                reported++;
                string where = $"[{reported}/{sweep.Points.Count}] {p.Name}";
                log.WriteLine(s.Finished
                    ? string.Create(CultureInfo.InvariantCulture, $"{where}: test accuracy {100 * s.TestAccuracy:F2}% ({s.Seconds:F1} s)")
                    : $"{where}: {s.State}{(s.Reason != null ? $": {s.Reason}" : "")}; log {LogOf(sweepDir, sweep, p, taskLog)}");
            }
        }

        try
        {
            if (todo.Count > 0 && o.Executor == "slurm")
            {
                new SlurmExecutor(threads, o.SlurmArgs, log).Run(sweepDir, sweep, todo, p => Report(p, SlurmExecutor.TaskLog(sweepDir, p.Index)));
            }
            else if (todo.Count > 0 && !new LocalExecutor(jobs, threads).Run(sweepDir, sweep, todo, (p, _) => Report(p, null)))
            {
                throw new SweepInterrupted();
            }
        }
        catch (SweepInterrupted)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"sweep {sweep.Name} interrupted: run it again to resume: functional sweep {sweepDir}");
            return ReturnCode.Interrupted;
        }

        var statuses = sweep.Points.Select(p => (Point: p, Status: PointRunner.Status(sweep.PointDir(sweepDir, p)))).ToList();
        var unfinished = statuses.Where(s => !s.Status.Finished).ToList();
        if (unfinished.Count > 0)
        {
            log.WriteLine($"sweep {sweep.Name}: {statuses.Count - unfinished.Count} of {statuses.Count} points finished; not finished:");
            foreach (var (p, s) in unfinished)
            {
                log.WriteLine($"  {p.Name}: {s.State}{(s.Reason != null ? $": {s.Reason}" : "")}; log {LogOf(sweepDir, sweep, p, o.Executor == "slurm" ? SlurmExecutor.TaskLog(sweepDir, p.Index) : null)}");
            }
        }
        else
        {
            log.WriteLine($"sweep {sweep.Name}: all {statuses.Count} points finished");
        }
        var runs = CompareCommand.Collect([sweepDir], TextWriter.Null);
        if (runs.Count > 0)
        {
            CompareCommand.Report(runs, sweep.Name, Path.Combine(sweepDir, ComparePlot.FileName), log);
        }
        if (unfinished.Count > 0)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"functional: sweep {sweep.Name}: {unfinished.Count} of {statuses.Count} points did not finish (first: {unfinished[0].Point.Name}: {unfinished[0].Status.Reason ?? unfinished[0].Status.State})");
            return ReturnCode.CheckFailed;
        }
        return ReturnCode.Ok;
    }

    /// <summary>The point's train.log, and the Slurm task's own log when there is one.</summary>
    static string LogOf(string sweepDir, SweepFile sweep, SweepPoint p, string? taskLog)
    {
        string train = PointRunner.LogPath(sweep.PointDir(sweepDir, p));
        return taskLog != null ? $"{train} (slurm: {taskLog})" : train;
    }

    /// <summary>
    /// Jobs and threads per job, sharing the cores: threads × jobs ≤ cores. One thread a point unless asked: points
    /// side by side use the cores better than threads within one (a point's bytes depend on neither).
    /// </summary>
    public static (int Jobs, int Threads) Share(int jobs, int threads, int cores)
    {
        int t = threads > 0 ? threads : 1;
        int j = jobs > 0 ? jobs : Math.Max(1, cores / t);
        if (j * t > cores)
        {
            throw new UsageError($"--jobs {j} × --threads {t} = {j * t} is more than this machine's {cores} cores");
        }
        return (j, t);
    }

    /// <summary>The sweep to run: a sweep folder as it was defined, or a new (or continued) one from the spec and options.</summary>
    static (string Dir, SweepFile Sweep) Define(SweepOptions o)
    {
        if (o.Spec != null && Directory.Exists(o.Spec))
        {
            if (o.TrainArgs.Length > 0)
            {
                throw new UsageError($"{o.Spec} is a sweep folder: it runs as its sweep.json defines it; train options make a new sweep (give a spec file or a --name)");
            }
            return (o.Spec, SweepFile.Read(o.Spec));
        }
        var spec = o.Spec != null ? SweepSpec.FromFile(o.Spec) : new SweepSpec();
        spec.AddCommandLine(o.TrainArgs);
        if (spec.Options.Count == 0)
        {
            throw new UsageError("nothing to sweep: give a spec file or train options with lists (--lr 0.01,0.1 --seed 1..3)");
        }
        string name = o.Name ?? spec.Name
            ?? (o.Spec != null ? Path.GetFileNameWithoutExtension(o.Spec) : null)
            ?? (spec.Axes.Any() ? string.Join("-", spec.Axes.Select(a => a.Name[2..])) : "sweep");
        if (name.Length == 0 || name is "." or ".." || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '=' or '+'))
        {
            throw new UsageError($"sweep name '{name}' must be letters, digits and . _ - = + (it names a folder)");
        }
        long count = spec.PointCount();
        if (count > o.MaxPoints)
        {
            throw new UsageError(count == long.MaxValue
                ? $"the sweep has more points than can be counted; at most {o.MaxPoints:N0} (--max-points)"
                : $"the sweep has {count:N0} points; at most {o.MaxPoints:N0} (raise the bound with --max-points {count})");
        }
        var points = spec.Points();
        var sweep = new SweepFile(name, [.. spec.Axes.Select(a => (a.Name[2..], a.Values.Distinct().ToArray()))], points);
        string dir = Path.Combine(o.Dir, name);
        if (SweepFile.IsSweep(dir))
        {
            if (!SweepFile.Read(dir).SamePoints(sweep))
            {
                throw new UsageError($"{dir} holds a different sweep (its sweep.json): continue it with 'functional sweep {dir}', or choose another --name");
            }
        }
        else
        {
            sweep.Write(dir);
        }
        return (dir, sweep);
    }

    /// <summary>One point of a sweep folder (a Slurm array task): train or resume it; the exit code is the child's.</summary>
    static int RunTask(SweepOptions o)
    {
        if (o.Spec == null || !Directory.Exists(o.Spec))
        {
            throw new UsageError("--task needs a sweep folder as its spec: functional sweep SWEEP --task I");
        }
        var sweep = SweepFile.Read(o.Spec);
        if (o.Task >= sweep.Points.Count)
        {
            throw new UsageError($"--task {o.Task}: {o.Spec} has points 0..{sweep.Points.Count - 1}");
        }
        var point = sweep.Points[o.Task];
        string dir = sweep.PointDir(o.Spec, point);
        Console.Out.WriteLine($"task {o.Task}: point {point.Name}, {dir}, log {PointRunner.LogPath(dir)}");
        int code = PointRunner.Run(dir, point, Math.Max(o.Threads, 1));
        var s = PointRunner.Status(dir);
        Console.Out.WriteLine(s.Finished
            ? string.Create(CultureInfo.InvariantCulture, $"task {o.Task}: finished, test accuracy {100 * s.TestAccuracy:F2}%")
            : $"task {o.Task}: {s.State} (exit {code}){(s.Reason != null ? $": {s.Reason}" : "")}");
        return code;
    }
}
