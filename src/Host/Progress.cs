using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Functional.Host;

/// <summary>
/// Progress of long work. On an interactive terminal (stdout not redirected, <c>CI</c> unset, <c>TERM</c> not dumb)
/// a Spectre.Console bar shows the status (epoch, step, loss, examples/s) and the time left, and permanent lines
/// scroll above it. Otherwise only the permanent lines are written, as plain text: no escape codes in a log.
/// Use: <c>using var p = Progress.Start("train", steps); ... p.Step(...); p.Line("epoch ..."); </c>
/// </summary>
public sealed class Progress : IDisposable
{
    static readonly TimeSpan RefreshEvery = TimeSpan.FromMilliseconds(100);
    readonly TextWriter plain;
    readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly Task? runner;
    readonly long done0;
    ProgressTask? bar;
    TimeSpan lastRefresh = -RefreshEvery;
    long examples;
    long examplesAtRefresh;
    double smoothedLoss = double.NaN;
    long started;
    bool disposed;

    Progress(TextWriter plain, string title, long total, long done, bool interactive)
    {
        this.plain = plain;
        done0 = done;
        if (!interactive)
        {
            return;
        }
        var ready = new TaskCompletionSource<ProgressTask>(TaskCreationOptions.RunContinuationsAsynchronously);
        runner = AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), autoStart: true, maxValue: Math.Max(1, total - done));
                ready.SetResult(task);
                await finished.Task.ConfigureAwait(false);
                task.Value = task.MaxValue;
            });
        bar = ready.Task.GetAwaiter().GetResult();
    }

    /// <summary>True when a live bar would be drawn: stdout is a terminal, <c>CI</c> is unset and <c>TERM</c> is not "dumb".</summary>
    public static bool Interactive =>
        !Console.IsOutputRedirected
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        && Environment.GetEnvironmentVariable("TERM") != "dumb";

    /// <summary>
    /// Starts showing progress of <paramref name="total"/> units of work of which <paramref name="done"/> are done
    /// already (a resumed run: the time left is estimated from this session's pace); <paramref name="show"/> = false
    /// never draws a bar.
    /// </summary>
    public static Progress Start(string title, long total, bool show = true, long done = 0) =>
        new(Console.Out, title, total, done, show && Interactive);

    /// <summary>A progress that only writes plain lines to <paramref name="plain"/> (what a redirected run does).</summary>
    public static Progress Plain(TextWriter plain) => new(plain, "", 0, 0, interactive: false);

    /// <summary>True when this progress draws a live bar.</summary>
    public bool IsLive => bar is not null;

    /// <summary>A training step is done: <paramref name="step"/> steps in all, the last on <paramref name="count"/> examples.</summary>
    /// The loss shown is a moving average (a single step's loss is noise at small batches); the rate is the recent one.
    public void Step(long step, int epoch, int epochs, double loss, int count)
    {
        if (bar is null)
        {
            return;
        }
        examples += count;
        smoothedLoss = double.IsNaN(smoothedLoss) ? loss : 0.98 * smoothedLoss + 0.02 * loss;
        var since = lastRefresh;
        if (!Due())
        {
            return;
        }
        double rate = (examples - examplesAtRefresh) / Math.Max((lastRefresh - since).TotalSeconds, 1e-9);
        examplesAtRefresh = examples;
        Update(step, string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{epochs}  step {step:N0}/{done0 + (long)bar.MaxValue:N0}  loss {smoothedLoss:F4}  {rate:N0} ex/s"));
    }

    /// <summary><paramref name="done"/> units of work are done; <paramref name="status"/> says what is under way.</summary>
    public void Advance(long done, string status)
    {
        if (bar is not null)
        {
            Update(done, status);
        }
    }

    /// <summary>The next of the units of work starts (the ones before it are done); <paramref name="status"/> names it.</summary>
    public void Next(string status) => Advance(started++, status);

    /// <summary>A permanent line: above the bar on a terminal, else plain on stdout.</summary>
    public void Line(string text)
    {
        if (bar is null)
        {
            plain.WriteLine(text);
        }
        else
        {
            AnsiConsole.WriteLine(text);
        }
    }

    /// <summary>Removes the bar (when there is one); from then on every call is plain, so it is safe to call early.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        finished.TrySetResult();
        runner?.GetAwaiter().GetResult();
        bar = null;
    }

    bool Due()
    {
        var now = clock.Elapsed;
        if (now - lastRefresh < RefreshEvery)
        {
            return false;
        }
        lastRefresh = now;
        return true;
    }

    void Update(long done, string status)
    {
        bar!.Description = Markup.Escape(status);
        bar.Value = Math.Clamp(done - done0, 0, bar.MaxValue);
    }
}
