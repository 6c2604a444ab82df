using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Functional.Host.Sweeps;

/// <summary>
/// Runs points as one Slurm array job: writes SWEEP/slurm/sweep.sbatch, whose task i runs
/// <c>functional sweep SWEEP --task i</c> (point i, as the local executor would: train or resume, its log in the
/// point's train.log), submits it with <c>sbatch</c>, and follows the tasks with <c>squeue</c> until none is left.
/// Results are read from the run folders afterwards (accounting, and so sacct, is often not set up).
/// </summary>
public sealed class SlurmExecutor(int threads, string slurmArgs, TextWriter log)
{
    public const string Folder = "slurm";
    public const string ScriptName = "sweep.sbatch";
    public const string JobFile = "job";

    /// <summary>The Slurm log of point <paramref name="index"/>'s task in the sweep's last job, or null.</summary>
    public static string? TaskLog(string sweepDir, int index)
    {
        string jobFile = Path.Combine(sweepDir, Folder, JobFile);
        return File.Exists(jobFile) ? Path.Combine(sweepDir, Folder, $"{File.ReadAllText(jobFile).Trim()}_{index}.out") : null;
    }

    /// <summary>A program on the PATH, or null.</summary>
    public static string? Which(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, program);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    public static string Script(string sweepDir, SweepFile sweep, IReadOnlyList<int> indices, int threads)
    {
        string dir = Path.GetFullPath(sweepDir);
        var (program, prefix) = SelfCommand.Get();
        var command = new[] { program }.Concat(prefix).Concat(["sweep", dir, "--task", "__TASK__", "--threads", threads.ToString(CultureInfo.InvariantCulture)]);
        return string.Join("\n",
            "#!/bin/bash",
            $"# Written by functional sweep: task i runs point i of {Path.Combine(dir, SweepFile.FileName)}.",
            $"#SBATCH --job-name={SelfCommand.Quote("functional-" + sweep.Name)}",
            $"#SBATCH --array={Ranges(indices)}",
            $"#SBATCH --cpus-per-task={threads}",
            $"#SBATCH --output={SelfCommand.Quote(Path.Combine(dir, Folder, "%A_%a.out"))}",
            $"#SBATCH --chdir={SelfCommand.Quote(Directory.GetCurrentDirectory())}",
            "export CI=true",
            "exec " + SelfCommand.Shell(command).Replace("__TASK__", "\"$SLURM_ARRAY_TASK_ID\"", StringComparison.Ordinal),
            "");
    }

    /// <summary>0,1,2,5 as "0-2,5".</summary>
    public static string Ranges(IReadOnlyList<int> indices)
    {
        var parts = new List<string>();
        for (int i = 0; i < indices.Count;)
        {
            int j = i;
            while (j + 1 < indices.Count && indices[j + 1] == indices[j] + 1)
            {
                j++;
            }
            parts.Add(i == j ? $"{indices[i]}" : $"{indices[i]}-{indices[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    /// <summary>Submits the points (or follows the job already submitted for them) and waits until Slurm is done with them.</summary>
    public void Run(string sweepDir, SweepFile sweep, IReadOnlyList<SweepPoint> todo, Action<SweepPoint> done)
    {
        string folder = Path.Combine(sweepDir, Folder);
        Directory.CreateDirectory(folder);
        string jobFile = Path.Combine(folder, JobFile);
        string? job = File.Exists(jobFile) ? File.ReadAllText(jobFile).Trim() : null;
        if (job != null && Queued(job).Count > 0)
        {
            log.WriteLine($"slurm job {job} of this sweep is still queued or running: following it");
        }
        else
        {
            string script = Path.Combine(folder, ScriptName);
            File.WriteAllText(script, Script(sweepDir, sweep, [.. todo.Select(p => p.Index)], threads));
            var args = new List<string> { "--parsable" };
            args.AddRange(slurmArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            args.Add(script);
            var (code, output, error) = Execute("sbatch", args);
            if (code != 0)
            {
                throw new UsageError($"sbatch refused {script}: {FirstLine(error, output)}");
            }
            job = output.Trim().Split(';')[0];
            File.WriteAllText(jobFile, job + "\n");
            log.WriteLine($"slurm job {job}: {todo.Count} task(s), script {script}, task logs {Path.Combine(folder, job + "_<i>.out")}");
        }
        Follow(job, sweep, todo, done);
    }

    void Follow(string job, SweepFile sweep, IReadOnlyList<SweepPoint> todo, Action<SweepPoint> done)
    {
        var pending = todo.ToDictionary(p => p.Index);
        var stop = false;
        using var interrupt = Register(PosixSignal.SIGINT, () => stop = true);
        using var term = Register(PosixSignal.SIGTERM, () => stop = true);
        string summary = "";
        var sinceSummary = Stopwatch.StartNew();
        while (pending.Count > 0)
        {
            var states = Queued(job);
            foreach (var index in pending.Keys.Where(i => !states.ContainsKey(i)).ToList())
            {
                done(pending[index]);
                pending.Remove(index);
            }
            string now = string.Join(", ", states.Values.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToLowerInvariant()}"));
            // The queue's state when it changes, at most every 30 s: the points' own lines say the rest.
            if (now != summary && now.Length > 0 && (summary.Length == 0 || sinceSummary.Elapsed.TotalSeconds >= 30))
            {
                log.WriteLine($"slurm job {job}: {now}");
                summary = now;
                sinceSummary.Restart();
            }
            if (pending.Count == 0)
            {
                break;
            }
            if (stop)
            {
                log.WriteLine($"stopped following slurm job {job}; it keeps running (squeue -j {job}, scancel {job}); run the sweep again to follow it and see the results");
                throw new SweepInterrupted();
            }
            Thread.Sleep(1000);
        }
    }

    /// <summary>The array tasks of <paramref name="job"/> still known to squeue, by index, with their state.</summary>
    static Dictionary<int, string> Queued(string job)
    {
        var (code, output, _) = Execute("squeue", ["-h", "-r", "-j", job, "-o", "%K %T"]);
        var states = new Dictionary<int, string>();
        if (code != 0)
        {
            return states; // "Invalid job id": the job has left the queue
        }
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = line.Split(' ', 2);
            if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                states[index] = parts[1];
            }
        }
        return states;
    }

    static (int Code, string Output, string Error) Execute(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Which(program) ?? program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new UsageError($"could not start {program}");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    static string FirstLine(params string[] texts) =>
        texts.SelectMany(t => t.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).FirstOrDefault() ?? "no message";

    static PosixSignalRegistration? Register(PosixSignal signal, Action action)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                action();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }
}

/// <summary>The sweep stopped on Ctrl+C or SIGTERM (exit code 130).</summary>
public sealed class SweepInterrupted : Exception;
