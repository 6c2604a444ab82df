using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Doctor;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional doctor</c>: runs the checks of a training configuration that find the original question's bugs,
/// one line each (PASS / WARN / FAIL, the figure, and for WARN/FAIL the cause and the fix), then a ready
/// <c>train</c> command with the fixes. Exit 0 when nothing FAILs, 1 otherwise.
/// </summary>
public static class DoctorCommand
{
    public static int Run(DoctorOptions d)
    {
        Runs.RunFiles.CheckNotRunFile(d.Png, "--png");
        var clock = Stopwatch.StartNew();
        var o = d.Train;
        // The data as train reads it: a table with its reading options, its network's ends and its transform.
        var (train, test) = DataSetup.Load(o.Data, o.TrainCount);
        var (config, info) = DataSetup.Fit(o.Data, o.Config, train, test);
        if (train.IsTable && Api.Training.IsAdversarial(config))
        {
            throw new UsageError($"--adversarial attacks image pixels within their range; {train.ImagesPath} is a table, whose features have no such range");
        }
        Inputs.CheckFits(train, config);
        Inputs.CheckFits(test, config);
        info = DataSetup.FitScale(info, train);
        train = info.Apply(train);
        test = info.Apply(test);
        var s = new Subject(o, train, test, c => DataSetup.Fit(o.Data, c, train, test).config);
        Threads.Choose(o.Threads, s.Batch);
        var log = Console.Out;
        if (!d.Json)
        {
            log.WriteLine($"doctor {GradcheckCommand.Describe(config, DataSetup.ScaleText(config, train.IsTable, info.Scale))}, {config.OptimizerName} lr {config.Lr.ToString(CultureInfo.InvariantCulture)}, {(config.Batch <= 0 ? "full batch" : $"batch {config.Batch}")}, {o.Epochs} epochs, {config.PrecisionName}{(o.Preset == "modern" ? "" : $", preset {o.Preset}")}");
            log.WriteLine($"data   train {train.Count:N0} {(train.IsTable ? "rows" : "images")} ({train.ImagesPath}), test {test.Count:N0} ({test.ImagesPath})");
        }

        var fixes = new Fixes();
        var findings = new List<Finding>();
        void Add(Finding f)
        {
            findings.Add(f);
            if (!d.Json)
            {
                log.WriteLine(f.Line);
                log.Flush();
            }
        }

        Add(Checks.Data(s, fixes));
        Add(Checks.InitialLoss(s, fixes));
        Add(Checks.Gradients(s));
        Add(Checks.Overfit(s, fixes));
        var run = Probes.Short(s);
        Add(Checks.Baseline(s, run));
        Add(Checks.Health(s, "health at init", run.HealthAtInit, run.StepAtInit, fixes, atInit: true));
        Add(Checks.Health(s, "health after run", run.HealthAfter, run.StepAfter, fixes, atInit: false));
        if (Checks.ThroughTime(s, run, fixes) is { } time)
        {
            Add(time);
        }
        if (Checks.Rbf(s, fixes) is { } rbf)
        {
            Add(rbf);
        }
        var labels = Api.Data.Summarize(s.TestCore, config.Scale, s.Classes);
        Add(Checks.Collapse(s, run, labels.LabelEntropy));
        Add(Checks.Schedule(s, fixes));
        Add(Checks.Sweep(s, fixes));
        if (Api.Training.IsAdversarial(config))
        {
            Add(RobustnessCheck.Run(s));
        }

        if (d.Png is { } png)
        {
            var layers = run.ValuesAfter
                .Select((v, l) => new LayerValues(Api.Display.LayerName(l), v.Activations, v.Gradients)).ToList();
            string written = Plots.Histograms(png, layers, $"activations and weight gradients after {run.Updates} updates");
            if (!d.Json)
            {
                log.WriteLine($"png    {written}");
            }
        }

        int fails = findings.Count(f => f.Status == Status.Fail);
        int warns = findings.Count(f => f.Status == Status.Warn);
        string? recommended = fixes.Any ? Fixes.Command(fixes.Apply(o)) : null;
        double seconds = clock.Elapsed.TotalSeconds;
        string verdict = fails > 0 ? "FAIL" : warns > 0 ? "WARN" : "PASS";

        if (d.Json)
        {
            log.WriteLine(new JsonObject
            {
                ["command"] = "doctor",
                ["status"] = verdict,
                ["fails"] = fails,
                ["warnings"] = warns,
                ["seconds"] = seconds,
                ["preset"] = o.Preset,
                ["configuration"] = Fixes.Command(o),
                ["checks"] = new JsonArray(findings.Select(f => (JsonNode)f.Json()).ToArray()),
                ["recommended"] = recommended,
            }.ToJsonString());
        }
        else
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"doctor: {verdict}: {fails} FAIL, {warns} WARN, {findings.Count - fails - warns} PASS in {seconds:F1} s"));
            if (recommended is not null)
            {
                log.WriteLine($"fix    {recommended}");
            }
        }
        return fails > 0 ? ReturnCode.CheckFailed : ReturnCode.Ok;
    }
}
