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
    readonly IAnsiConsole? console;
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

    /// <summary>Columns beside the status on the bar's row: bar, percentage, time left, spinner, and the gaps.</summary>
    const int BarWidth = 16;
    const int BesideStatus = BarWidth + 5 + 9 + 2 + 4;

    Progress(TextWriter plain, IAnsiConsole? console, string title, long total, long done)
    {
        this.plain = plain;
        this.console = console;
        done0 = done;
        if (console is null)
        {
            return;
        }
        var ready = new TaskCompletionSource<ProgressTask>(TaskCreationOptions.RunContinuationsAsynchronously);
        // One row, never wider than the console: the status is cut to the room the fixed-width columns leave.
        runner = console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth },
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
        new(Console.Out, show && Interactive ? Terminal.Live() : null, title, total, done);

    /// <summary>A progress that only writes plain lines to <paramref name="plain"/> (what a redirected run does).</summary>
    public static Progress Plain(TextWriter plain) => new(plain, null, "", 0, 0);

    /// <summary>A live progress drawn on <paramref name="console"/> (tests give a fixed-width one).</summary>
    public static Progress On(IAnsiConsole console, string title, long total) => new(Console.Out, console, title, total, 0);

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
        Update(step, Status(epoch, epochs, step, done0 + (long)bar.MaxValue, smoothedLoss, rate));
    }

    /// <summary>
    /// The bar's status, as much of it as fits in <paramref name="room"/> characters: epoch, loss, examples/s and
    /// step, kept in that order of importance and shown in reading order.
    /// </summary>
    public string Status(int epoch, int epochs, long step, long steps, double loss, double rate)
    {
        var inv = CultureInfo.InvariantCulture;
        string[] fields =
        [
            string.Create(inv, $"epoch {epoch}/{epochs}"),
            string.Create(inv, $"step {step:N0}/{steps:N0}"),
            string.Create(inv, $"loss {loss:F4}"),
            string.Create(inv, $"{rate:N0} ex/s"),
        ];
        int room = console is null ? int.MaxValue : console.Profile.Width - BesideStatus;
        int[] priority = [0, 2, 3, 1];
        var kept = new bool[fields.Length];
        int used = -2;
        foreach (int f in priority)
        {
            if (used + 2 + fields[f].Length <= room)
            {
                kept[f] = true;
                used += 2 + fields[f].Length;
            }
        }
        var shown = fields.Where((_, i) => kept[i]).ToArray();
        string status = shown.Length > 0 ? string.Join("  ", shown) : fields[0];
        return status.Length <= Math.Max(room, 1) ? status : status[..Math.Max(room, 1)];
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

    /// <summary>
    /// A permanent line: above the bar on a terminal (fitted to its width), else plain on stdout. <paramref name="tail"/>
    /// is appended when the whole line fits the terminal (always when output is redirected): detail that can go.
    /// </summary>
    public void Line(string text, string tail = "")
    {
        int width = bar is null ? Terminal.Width : console!.Profile.Width;
        string full = text + tail;
        string line = width <= 0 || full.Length <= width ? full : text;
        if (bar is null)
        {
            plain.WriteLine(line);
        }
        else
        {
            foreach (var part in Terminal.Fit(line, width))
            {
                console!.WriteLine(part);
            }
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
        int room = Math.Max(console!.Profile.Width - BesideStatus, 1);
        bar!.Description = Markup.Escape(status.Length <= room ? status : status[..room]);
        bar.Value = Math.Clamp(done - done0, 0, bar.MaxValue);
    }
}
