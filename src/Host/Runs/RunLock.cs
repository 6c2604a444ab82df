using System.Diagnostics;
using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// run.lock: one process at a time trains into a run folder. The file is created atomically
/// (<see cref="FileMode.CreateNew"/>) and holds "PID START" (START: the process's start time in clock ticks
/// from /proc/PID/stat on Linux, so a reused PID is not mistaken for the owner). A lock whose process is
/// gone (killed with -9, a crash) is stale: it is taken over with a warning. A live owner makes the second
/// process stop with one line naming the PID (<see cref="ReturnCode.Busy"/>). Disposing releases the lock.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "run.lock";

    readonly string path;
    readonly string content;
    bool released;

    RunLock(string path, string content)
    {
        this.path = path;
        this.content = content;
    }

    /// <summary>Takes the lock of <paramref name="dir"/> (created if missing), or throws <see cref="BusyError"/>.</summary>
    public static RunLock Acquire(string dir, TextWriter warnings)
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, FileName);
        string content = Owner(Environment.ProcessId);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                using (var s = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                {
                    s.Write(System.Text.Encoding.ASCII.GetBytes(content));
                    s.Flush(flushToDisk: true);
                }
                return new RunLock(path, content);
            }
            catch (IOException) when (File.Exists(path))
            {
                string held;
                try
                {
                    held = File.ReadAllText(path).Trim();
                }
                catch (IOException)
                {
                    continue; // released or being written meanwhile: try again
                }
                if (held.Length == 0)
                {
                    // Created but not yet filled by its owner, or left empty by a kill: wait a moment, then call it stale.
                    Thread.Sleep(50);
                    if (File.Exists(path) && File.ReadAllText(path).Trim().Length > 0)
                    {
                        continue;
                    }
                }
                else if (IsAlive(held, out int pid))
                {
                    throw new BusyError(
                        $"{dir} is in use by process {pid} ({path}); wait for it to finish or stop it, then 'functional resume {dir}'");
                }
                warnings.WriteLine($"warning: {path}: stale lock of process '{held}', which is no longer running; taking it over");
                TryDelete(path, held);
            }
        }
        throw new BusyError($"{dir}: could not take {path} (other processes keep taking it)");
    }

    /// <summary>"PID START" of a process (START empty where /proc is not available).</summary>
    static string Owner(int pid) => $"{pid} {StartTime(pid)}".Trim();

    static string StartTime(int pid) => StatFields(pid) is { Length: > 19 } fields ? fields[19] : "";

    /// <summary>A process's /proc stat fields from the state on (field 3; empty where /proc is not available).</summary>
    static string[] StatFields(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name before them is in parentheses and may hold spaces.
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return [];
        }
    }

    static bool IsAlive(string held, out int pid)
    {
        string[] parts = held.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out pid) || pid <= 0)
        {
            pid = 0;
            return false;
        }
        if (Directory.Exists("/proc/self"))
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                return false;
            }
            // A zombie holds nothing: it has exited and waits to be reaped, which never happens in a container
            // whose first process does not reap orphans (a killed sweep's children end so).
            if (StatFields(pid) is [var state, ..] && (state == "Z" || state == "X"))
            {
                return false;
            }
            // Same PID, different start time: the owner died and the PID was reused.
            return parts.Length < 2 || StartTime(pid) is var now && (now.Length == 0 || now == parts[1]);
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (released)
        {
            return;
        }
        released = true;
        try
        {
            // Only our own lock: a process that judged ours stale (it cannot, while we live) must not lose its lock.
            if (File.Exists(path) && File.ReadAllText(path).Trim() == content)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover lock of a dead process is detected as stale next time.
        }
    }

    static void TryDelete(string path, string held)
    {
        try
        {
            if (File.ReadAllText(path).Trim() == held)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another process removed or took it; the next attempt sees which.
        }
    }
}
