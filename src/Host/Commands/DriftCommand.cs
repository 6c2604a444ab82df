using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional drift RUN</c>: from the run's state after step <c>--from</c>, train the run's next steps in
/// float32 and float64 side by side on the same batches, and report every k steps and per layer how far the two
/// trajectories are apart, with a verdict on whether float32 rounding explains it (Trajectory.fs states the rule).
/// Exit 0 when the comparison is sound (whatever it finds), 1 when it measured nothing or met a NaN or infinity.
/// </summary>
public static class DriftCommand
{
    public static int Run(DriftOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Out, "--out");
        // --json: stdout holds the one JSON object alone.
        var log = o.Json ? TextWriter.Null : Console.Out;
        var run = RunFile.Read(o.Run);
        Threads.Choose(o.Threads > 0 ? o.Threads : run.Threads, run.Config.Batch);
        ReplayCommand.WarnIfEnvironmentDiffers(run);
        var (train, test) = run.LoadData(Console.Error);
        Inputs.CheckFits(train, run.Config);
        if (o.TestCount > 0)
        {
            test = Subset.First(test, o.TestCount);
        }
        var coreTrain = Inputs.ToCore(train);
        int n = train.Count;
        long perEpoch = Api.Data.StepsPerEpoch(n, run.BatchSize(n));
        long last = perEpoch * run.Epochs;
        if (o.From >= last)
        {
            throw new UsageError($"--from {o.From} is at or past the run's last step, {last}");
        }
        int steps = o.Steps > 0 ? o.Steps : (int)perEpoch;

        // The state after step --from: the newest checkpoint at or before it, then the run's own steps up to it.
        var checkpoint = o.From == 0 ? null : Checkpoints.NewestValid(o.Run, run, o.From, Console.Error);
        var trainer = Checkpoints.Restore(run, coreTrain, checkpoint);
        for (long step = trainer.StepCount + 1; step <= o.From; step++)
        {
            var b = Api.Data.BatchOfStep(n, run.BatchSize(n), step);
            trainer.Step(Api.Data.Permutation(run.Config.Seed, b.Epoch, n), b.Offset, b.Count);
        }
        log.WriteLine($"drift {o.Run}: steps {o.From + 1}..{o.From + steps} in float32 and float64 from {(o.From == 0 ? "the initial weights" : $"the state after step {o.From}")}, sampled every {o.Every}; agreement on {test.Count:N0} test images");
        log.WriteLine($"rule   {Api.Evaluation.DriftRule}");

        var report = Api.Evaluation.Drift(run.Config, coreTrain, Inputs.ToCore(test), trainer.State(), o.From, steps, o.Every);
        log.WriteLine("  step      t  layer                ‖ΔW‖/‖W64‖  4·t·2⁻²⁴  ‖Δg‖/‖g64‖  cos(g32, g64)  |ΔL|/L64  test agree");
        foreach (var s in report.Samples)
        {
            double lossRel = Math.Abs(s.Loss32 - s.Loss64) / Math.Max(Math.Abs(s.Loss64), 1e-300);
            foreach (var d in s.Layers)
            {
                bool beyond = d.WeightRel > Api.Evaluation.DriftBound(s.T);
                log.WriteLine(Inv($"{s.Step,6}  {s.T,5}  {Api.Display.LayerName(d.Layer),-19}  {Api.Display.Small(d.WeightRel),10}{(beyond ? "*" : " ")} {Api.Display.Small(Api.Evaluation.DriftBound(s.T)),8}  {Api.Display.Small(d.GradRel),10}  {d.GradCosine,13:F9}  {Api.Display.Small(lossRel),8}  {100 * s.Agreement,9:F2}%"));
            }
        }
        long layersMeasured = report.Samples.Sum(s => (long)s.Layers.Length);
        string png = o.Out ?? Path.Combine(o.Run, "drift.png");
        if (report.Samples.Length > 0)
        {
            DriftPlot.Write(png, report, $"float32 against float64 from step {o.From}: {run.Config.LayersText}, {run.Config.OptimizerName}");
            log.WriteLine($"png    {png}");
        }
        bool sound = report.Problem == "";
        log.WriteLine(Inv($"drift: {(sound ? "" : "FAIL: ")}{report.Verdict} ({report.Samples.Length} samples, {layersMeasured} layer comparisons, {report.Measured:N0} values compared; * = beyond rounding)"));
        if (o.Json)
        {
            Console.Out.WriteLine(Json(o, run, report, steps, test.Count, report.Samples.Length > 0 ? png : null).ToJsonString());
        }
        return sound ? ReturnCode.Ok : ReturnCode.CheckFailed;
    }

    /// <summary>The report as one object: every sample and layer, the rule, the verdict ("layer" is 1-based,
    /// "tensors" the prefix of its tensor names; a NaN or infinity is null, and "sound" false says why).</summary>
    static JsonObject Json(DriftOptions o, RunFile run, Trajectory.Report r, int steps, int testImages, string? png) => new()
    {
        ["command"] = "drift",
        ["run"] = o.Run,
        ["network"] = run.Config.LayersText,
        ["from"] = r.From,
        ["steps"] = steps,
        ["every"] = o.Every,
        ["test_images"] = testImages,
        ["rule"] = Api.Evaluation.DriftRule,
        ["samples"] = new JsonArray(r.Samples.Select(s => (JsonNode)new JsonObject
        {
            ["step"] = s.Step,
            ["t"] = s.T,
            ["bound"] = Api.Evaluation.DriftBound(s.T),
            ["loss32"] = Finite(s.Loss32),
            ["loss64"] = Finite(s.Loss64),
            ["test_agreement"] = Finite(s.Agreement),
            ["layers"] = new JsonArray(s.Layers.Select(d => (JsonNode)new JsonObject
            {
                ["layer"] = d.Layer + 1,
                ["tensors"] = $"layers.{d.Layer}",
                ["weight_rel"] = Finite(d.WeightRel),
                ["beyond_rounding"] = d.WeightRel > Api.Evaluation.DriftBound(s.T),
                ["grad_rel"] = Finite(d.GradRel),
                ["grad_cosine"] = Finite(d.GradCosine),
                ["entries"] = d.Entries,
            }).ToArray()),
        }).ToArray()),
        ["first_beyond_rounding"] = r.FirstBeyondStep < 0 ? null : new JsonObject
        {
            ["step"] = r.FirstBeyondStep,
            ["layer"] = r.FirstBeyondLayer + 1,
            ["tensors"] = $"layers.{r.FirstBeyondLayer}",
        },
        ["sound"] = r.Problem == "",
        ["problem"] = r.Problem == "" ? null : r.Problem,
        ["values_compared"] = r.Measured,
        ["verdict"] = r.Verdict,
        ["png"] = png,
    };

    static double? Finite(double x) => double.IsFinite(x) ? x : null;

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
