using System.Globalization;
using Functional.Cli;
using Functional.Host.Data;
using Functional.Host.Doctor;

namespace Functional.Host.Runs;

/// <summary>
/// The line at the end of <c>train</c> and <c>resume</c> when the run went wrong though it finished: the predictions
/// collapsed (one class takes most of the test set, or fewer than half the classes are ever predicted), the test
/// accuracy is near chance (below 1.5 × 1/classes), or the mean loss of the last epoch is above the first's. It is
/// followed by the <c>functional doctor</c> command for the run's configuration. The exit code stays 0: the run did
/// what was asked.
/// </summary>
public static class RunWarning
{
    /// <summary>What went wrong, in one line; null when nothing did.</summary>
    public static string? Of(int[] histogram, double accuracy, double firstLoss, double lastLoss)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var inv = CultureInfo.InvariantCulture;
        int classes = histogram.Length;
        long total = histogram.Sum(c => (long)c);
        var problems = new List<string>();
        if (total > 0 && classes > 1)
        {
            int top = Array.IndexOf(histogram, histogram.Max());
            int distinct = histogram.Count(c => c > 0);
            if (histogram[top] > total / 2)
            {
                problems.Add(string.Create(inv, $"the predictions collapsed ({100.0 * histogram[top] / total:F0}% of the test set is called {top})"));
            }
            else if (distinct < (classes + 1) / 2)
            {
                problems.Add(string.Create(inv, $"the predictions collapsed (only {distinct} of {classes} classes are ever predicted)"));
            }
            if (accuracy < 1.5 / classes)
            {
                problems.Add(string.Create(inv, $"the test accuracy {100 * accuracy:F2}% is near chance ({100.0 / classes:F0}%)"));
            }
        }
        if (double.IsFinite(firstLoss) && double.IsFinite(lastLoss) && lastLoss > firstLoss)
        {
            problems.Add(string.Create(inv, $"the loss grew over the run ({firstLoss:G4} in the first epoch, {lastLoss:G4} in the last)"));
        }
        return problems.Count == 0 ? null : "warning: " + string.Join("; ", problems) + ". Examine the configuration with:";
    }

    /// <summary><c>functional doctor …</c> for the configuration <paramref name="run"/> trained.</summary>
    public static string DoctorCommand(RunFile run)
    {
        ArgumentNullException.ThrowIfNull(run);
        string? Given(DataRef r, string shipped) =>
            Path.GetFullPath(DataFiles.ShippedPath(shipped)) == r.Path ? null : r.Path;
        string? train = Given(run.TrainImages, Inputs.TrainImages);
        string? test = Given(run.TestImages, Inputs.TestImages);
        var options = TrainOptions.Of(
            new DataOptions(train, train is null ? null : run.TrainLabels.Path, test, test is null ? null : run.TestLabels.Path,
                run.Data?.Header, run.Data?.LabelColumn, run.Data is { IsTable: true } d ? d.Scale : null, null, false, false,
                run.Resize is { } size ? Microsoft.FSharp.Core.FSharpOption<ImageSize>.Some(new ImageSize(size.Rows, size.Cols)) : null),
            run.Config, run.Epochs, run.Preset, run.TrainCount);
        return "functional doctor " + Fixes.Command(options)["functional train ".Length..];
    }

    /// <summary>Writes the warning and the doctor's command when the finished run in <paramref name="dir"/> went wrong.</summary>
    public static void Print(TextWriter log, string dir, RunFile run, int[] histogram, double accuracy)
    {
        ArgumentNullException.ThrowIfNull(log);
        double first = double.NaN, last = double.NaN;
        try
        {
            var epochs = RunHistory.Load(dir).Epochs;
            if (epochs.Count > 0)
            {
                first = epochs[0].Loss;
                last = epochs[^1].Loss;
            }
        }
        catch (Exception e) when (e is DataError or IOException or InvalidDataException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            // Without the journal's epochs the loss is not judged; the predictions still are.
        }
        if (Of(histogram, accuracy, first, last) is { } warning)
        {
            log.WriteLine(warning);
            log.WriteLine("  " + DoctorCommand(run));
        }
    }
}
