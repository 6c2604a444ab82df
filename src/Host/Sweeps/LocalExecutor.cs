using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Functional.Host.Sweeps;

/// <summary>
/// Runs points on this machine: <c>jobs</c> child processes at a time, each with <c>threads</c> BLAS threads.
/// Ctrl+C or SIGTERM is passed on to the children, which checkpoint and stop; the sweep then stops too, and
/// running it again resumes them.
/// </summary>
public sealed class LocalExecutor(int jobs, int threads)
{
    readonly ConcurrentDictionary<int, Process> running = new();
    volatile bool stopping;

    /// <summary>Runs <paramref name="todo"/>, calling <paramref name="done"/> as each point ends; false when stopped.</summary>
    public bool Run(string sweepDir, SweepFile sweep, IReadOnlyList<SweepPoint> todo, Action<SweepPoint, int> done)
    {
        var queue = new ConcurrentQueue<SweepPoint>(todo);
        using var term = Register(PosixSignal.SIGTERM);
        using var interrupt = Register(PosixSignal.SIGINT);
        var workers = Enumerable.Range(0, Math.Min(jobs, Math.Max(todo.Count, 1))).Select(worker => Task.Run(() =>
        {
            while (!stopping && queue.TryDequeue(out var point))
            {
                int? id = null;
                int code = PointRunner.Run(sweep.PointDir(sweepDir, point), point, threads, child =>
                {
                    id = child.Id;
                    running[child.Id] = child;
                    if (stopping)
                    {
                        SelfCommand.Terminate(child);
                    }
                });
                if (id is int k)
                {
                    running.TryRemove(k, out _);
                }
                done(point, code);
            }
        })).ToArray();
        Task.WaitAll(workers);
        return !stopping;
    }

    PosixSignalRegistration? Register(PosixSignal signal)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                stopping = true;
                foreach (var p in running.Values)
                {
                    SelfCommand.Terminate(p);
                }
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }
}
