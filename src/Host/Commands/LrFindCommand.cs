using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Data;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional lr-find</c>: the learning-rate range test (LrFinder.fs is the definition): a table of the smoothed
/// loss against the rate, a PNG, and a suggested rate with the rule that chose it.
/// </summary>
public static class LrFindCommand
{
    public const string Rule =
        "where the smoothed loss (EMA, β = 0.98) falls fastest against log(rate), over ±5% of the curve, before its minimum";

    public static int Run(LrFindOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Png, "--png");
        var t = o.Train;
        var (train, config) = DataSetup.TrainOnly(t.Data, t.TrainCount, t.Config);
        Threads.Choose(t.Threads, config.Batch <= 0 ? train.Count : config.Batch);
        string png = Path.GetFullPath(o.Png);
        if (!Directory.Exists(Path.GetDirectoryName(png)))
        {
            throw new DataError(png, "its folder does not exist");
        }
        var f = Api.Training.LrFind(config, Inputs.ToCore(train), o.From, o.To, o.Steps);
        Plots.LrFind(png, f, $"lr-find: {config.LayersText}; {config.OptimizerName}, batch {(config.Batch <= 0 ? "full" : config.Batch)}");
        if (o.Json)
        {
            Console.Out.WriteLine(new JsonObject
            {
                ["optimizer"] = config.OptimizerName,
                ["batch"] = config.Batch,
                ["rates"] = new JsonArray([.. f.Rates.Select(x => (JsonNode)x)]),
                ["losses"] = new JsonArray([.. f.Losses.Select(x => double.IsFinite(x) ? (JsonNode)x : null)]),
                ["smoothed"] = new JsonArray([.. f.Smoothed.Select(x => double.IsFinite(x) ? (JsonNode)x : null)]),
                ["suggested"] = Finite(f.Suggested),
                ["at_minimum"] = Finite(f.AtMinimum),
                ["rule"] = Rule,
                ["stopped"] = f.Stopped,
                ["png"] = png,
            }.ToJsonString());
            return ReturnCode.Ok;
        }
        var log = Console.Out;
        log.WriteLine(Inv($"lr-find {config.LayersText}; {config.OptimizerName}, batch {(config.Batch <= 0 ? "full" : config.Batch.ToString(CultureInfo.InvariantCulture))}, seed {config.Seed}: {o.Steps} steps from {Api.Display.Small(o.From)} to {Api.Display.Small(o.To)} on {train.Count:N0} images"));
        log.WriteLine("      rate  smoothed loss");
        int every = Math.Max(1, f.Rates.Length / 12);
        for (int i = 0; i < f.Rates.Length; i += every)
        {
            log.WriteLine(Inv($"{Api.Display.Small(f.Rates[i]),10}  {f.Smoothed[i],13:F4}"));
        }
        if (f.Stopped != "")
        {
            log.WriteLine($"stopped: {f.Stopped}");
        }
        log.WriteLine($"plot  {png}");
        if (!double.IsFinite(f.Suggested))
        {
            log.WriteLine("no suggestion: the loss was not finite from the first step; lower --from");
            return ReturnCode.CheckFailed;
        }
        log.WriteLine(Inv($"minimum of the smoothed loss at rate {Api.Display.Small(f.AtMinimum)}; a tenth of it: {Api.Display.Small(f.AtMinimum / 10)}"));
        log.WriteLine(Inv($"suggested lr: {Api.Display.Small(f.Suggested)} ({Rule})"));
        return ReturnCode.Ok;
    }

    static JsonNode? Finite(double x) => double.IsFinite(x) ? x : null;

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
