using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Data;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional gradcheck</c>: analytic against numeric gradients of the configured network at initialisation,
/// per layer, in float64. Exit 0 when every layer passes, 1 otherwise.
/// </summary>
public static class GradcheckCommand
{
    /// <summary>How the numeric gradient is taken, in words (GradCheck.fs is the definition).</summary>
    public const string EpsilonRule =
        "central differences in float64, (L(θ+ε) − L(θ−ε)) / 2ε with ε = ∛(machine ε)·max(1, |θ|) ≈ 6.06e-6·max(1, |θ|)";

    public static int Run(GradcheckOptions g)
    {
        var o = g.Train;
        var model = g.Model is { } path ? ModelFile.Load(path) : null;
        Config config;
        LabeledImages train;
        string tableScale;
        if (model == null)
        {
            (train, config) = DataSetup.TrainOnly(o.Data, o.TrainCount, o.Config);
            tableScale = DataSetup.TableScale(o.Data);
        }
        else
        {
            // At a model's weights: its data read and transformed as it was in training.
            config = Api.Training.ConfigOfModel(o.Config, model.Spec);
            var info = ModelFile.ReadDataInfo(g.Model!);
            train = Subset.First(Inputs.LoadFor(o.Data.Train ?? DataFiles.ShippedPath(Inputs.TrainImages), o.Data.TrainLabels, info), o.TrainCount);
            tableScale = info?.Scale ?? "none";
            Inputs.CheckFits(train, config);
        }
        Threads.Choose(o.Threads, g.Examples);
        int examples = Math.Min(g.Examples, train.Count);
        if (g.Directional > 0)
        {
            return Directional(g, config, model, train, examples, tableScale);
        }
        var layers = model == null
            ? Api.Evaluation.CheckGradients(config, Inputs.ToCore(train), examples, g.Params, config.Seed)
            : Api.Evaluation.CheckGradientsAt(config, model, Inputs.ToCore(train), examples, g.Params, config.Seed);
        bool pass = layers.All(Api.Evaluation.GradCheckPassed);

        if (g.Json)
        {
            Console.Out.WriteLine(Report(config, o, examples, layers, pass).ToJsonString());
            return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
        }

        var log = Console.Out;
        log.WriteLine($"gradcheck {Describe(config, DataSetup.ScaleText(config, train.IsTable, tableScale))}{(o.Preset == "modern" ? "" : $" (preset {o.Preset})")}");
        if (g.Model is { } m)
        {
            log.WriteLine($"model  the weights of {ModelFile.Resolve(m)}");
        }
        log.WriteLine($"data   the first {examples:N0} images of {train.ImagesPath}");
        log.WriteLine($"rule   {EpsilonRule}");
        log.WriteLine(Inv($"       an entry fails at relative error |a − n| / max(|a|, |n|) ≥ {Api.Display.Small(Api.Evaluation.GradCheckThreshold)}; entries below the noise floor 1e-6·max(1, |L|), where rounding swamps a 1e-4 error, are not judged"));
        log.WriteLine("layer                params  checked  measured  below noise  kinks  max rel err  mean rel err  signs agree  ‖num‖/‖ana‖  result");
        foreach (var r in layers)
        {
            log.WriteLine(Inv(
                $"{Api.Display.LayerName(r.Layer),-19}  {Parameters(config, r.Layer),7:N0}  {r.Checked,7:N0}  {r.Measured,8:N0}  {r.BelowNoise,11:N0}  {r.Kinks,5:N0}  {Figure(r, r.MaxRelError),11}  {Figure(r, r.MeanRelError),12}  {(r.Measured == 0 ? "–" : (100 * r.SignAgreement).ToString("F1", CultureInfo.InvariantCulture) + "%"),11}  {(r.Measured == 0 ? "–" : r.NormRatio.ToString("F3", CultureInfo.InvariantCulture)),11}  {(Api.Evaluation.GradCheckPassed(r) ? "PASS" : "FAIL")}  {Api.Evaluation.GradCheckVerdict(r)}"));
        }
        log.WriteLine(Summary(layers, pass));
        return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
    }

    /// <summary>gradcheck --directional K: the whole network along K random directions, each one number.</summary>
    static int Directional(GradcheckOptions g, Config config, Model? model, LabeledImages train, int examples, string tableScale)
    {
        var o = g.Train;
        var c = Api.Evaluation.CheckDirections(config, model!, Inputs.ToCore(train), examples, g.Directional, config.Seed);
        bool pass = Api.Evaluation.DirectionalPassed(c);
        if (g.Json)
        {
            Console.Out.WriteLine(new JsonObject
            {
                ["command"] = "gradcheck",
                ["mode"] = "directional",
                ["pass"] = pass,
                ["tolerance"] = c.Tolerance,
                ["noise"] = c.Noise,
                ["epsilon"] = c.Epsilon,
                ["parameters"] = c.Parameters,
                ["moved_off_zero"] = c.Moved,
                ["loss"] = c.Loss,
                ["examples"] = examples,
                ["preset"] = o.Preset,
                ["network"] = Describe(config),
                ["problem"] = c.Problem == "" ? null : c.Problem,
                ["directions"] = new JsonArray(c.Directions.Select(d => (JsonNode)new JsonObject
                {
                    ["direction"] = d.Direction + 1,
                    ["analytic"] = d.Analytic,
                    ["numeric"] = double.IsFinite(d.Numeric) ? d.Numeric : null,
                    ["rel_error"] = double.IsFinite(d.RelError) ? d.RelError : null,
                    ["kink"] = d.Kink,
                    ["below_noise"] = d.BelowNoise,
                    ["pass"] = d.Passed,
                }).ToArray()),
            }.ToJsonString());
            return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
        }
        var log = Console.Out;
        log.WriteLine($"gradcheck --directional {g.Directional} {Describe(config, DataSetup.ScaleText(config, train.IsTable, tableScale))}{(o.Preset == "modern" ? "" : $" (preset {o.Preset})")}");
        if (g.Model is { } m)
        {
            log.WriteLine($"model  the weights of {ModelFile.Resolve(m)}");
        }
        log.WriteLine($"data   the first {examples:N0} images of {train.ImagesPath}");
        log.WriteLine(Inv($"rule   all {c.Parameters:N0} parameters at once, float64: g·u against (L(θ+εu) − L(θ−εu)) / 2ε along random unit directions u (seed {config.Seed}), ε = {c.Epsilon:G3}"));
        log.WriteLine(Inv($"       a direction fails when |g·u − diff| ≥ {Api.Display.Small(c.Tolerance)}·max(|g·u|, |diff|) + {Api.Display.Small(c.Noise)}"));
        log.WriteLine(Inv($"       (the rounding of L = {c.Loss:G6} over ε); one whose difference at 2ε disagrees crosses a kink and is not judged"));
        if (c.Moved > 0)
        {
            log.WriteLine(Inv($"point  {c.Moved:N0} parameters that were exactly 0 (zero biases) moved to ±1e-3..2e-3 first: a ReLU after a zero bias on a blank patch sits on its kink"));
        }
        log.WriteLine("direction          g·u                 difference    rel error  result");
        foreach (var d in c.Directions)
        {
            string result = d.Kink ? "kink, not judged" : d.BelowNoise ? "below noise, not judged" : d.Passed ? "PASS" : "FAIL";
            log.WriteLine(Inv($"{d.Direction + 1,9}  {d.Analytic,19:E10}  {d.Numeric,19:E10}  {(double.IsFinite(d.RelError) ? Api.Display.Small(d.RelError) : "–"),11}  {result}"));
        }
        int judged = c.Directions.Count(d => double.IsFinite(d.RelError));
        log.WriteLine(c.Problem != ""
            ? $"gradcheck: FAIL: {c.Problem}"
            : Inv($"gradcheck: {(pass ? "PASS" : "FAIL")} ({judged} of {c.Directions.Length} directions judged, max relative error {Api.Display.Small(c.Directions.Where(d => double.IsFinite(d.RelError)).Max(d => d.RelError))}){(pass ? "" : "; the element-wise check (without --directional) names the layer and whether it is a sign flip or a factor of two")}"));
        return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
    }

    /// <summary>The parameters of layer <paramref name="l"/> (0-based): all its tensors.</summary>
    public static int Parameters(Config c, int l) => Api.Models.ParameterCounts(c.Arch)[l];

    /// <param name="scale">The scaling applied (a table's transform, <see cref="DataSetup.ScaleText"/>); null: the config's.</param>
    public static string Describe(Config c, string? scale = null) => Inv(
        $"{c.LayersText}; {c.LossName}, init {c.InitName}, scale {scale ?? c.ScaleName}, reduction {c.ReductionName}, l2 {c.L2}, seed {c.Seed}");

    /// <summary>An error figure, or "–" where nothing was measured (a 0 there would read as a pass).</summary>
    public static string Figure(GradCheck.LayerCheck r, double x) => r.Measured == 0 ? "–" : Api.Display.Small(x);

    /// <summary>The closing line: PASS with how many entries were measured, or FAIL naming the first layer's
    /// reason (a check that measured nothing, or met a NaN, never passes).</summary>
    public static string Summary(GradCheck.LayerCheck[] layers, bool pass)
    {
        int measured = layers.Sum(r => r.Measured), taken = layers.Sum(r => r.Checked);
        if (pass)
        {
            return Inv($"gradcheck: PASS ({measured:N0} of {taken:N0} entries measured, relative error < {Api.Display.Small(Api.Evaluation.GradCheckThreshold)} on every one)");
        }
        var bad = layers.First(r => !Api.Evaluation.GradCheckPassed(r));
        return Inv($"gradcheck: FAIL ({measured:N0} of {taken:N0} entries measured): {Api.Display.LayerName(bad.Layer)}: {Api.Evaluation.GradCheckVerdict(bad)}");
    }

    /// <summary>One layer's figures as JSON ("layer" is 1-based, "tensors" the prefix of its tensor names).</summary>
    public static JsonObject LayerJson(Config c, GradCheck.LayerCheck r) => new()
    {
        ["layer"] = r.Layer + 1,
        ["tensors"] = $"layers.{r.Layer}",
        ["kind"] = Api.Models.LayerText(c.Arch, r.Layer),
        ["parameters"] = Parameters(c, r.Layer),
        ["checked"] = r.Checked,
        ["measured"] = r.Measured,
        ["kinks"] = r.Kinks,
        ["below_noise"] = r.BelowNoise,
        ["problem"] = r.Problem == "" ? null : r.Problem,
        ["max_rel_error"] = double.IsFinite(r.MaxRelError) ? r.MaxRelError : null,
        ["mean_rel_error"] = double.IsFinite(r.MeanRelError) ? r.MeanRelError : null,
        ["sign_agreement"] = r.SignAgreement,
        ["norm_ratio"] = double.IsFinite(r.NormRatio) ? r.NormRatio : null,
        ["factor"] = double.IsFinite(r.Factor) ? r.Factor : null,
        ["pass"] = Api.Evaluation.GradCheckPassed(r),
        ["verdict"] = Api.Evaluation.GradCheckVerdict(r),
    };

    static JsonObject Report(Config c, TrainOptions o, int examples, GradCheck.LayerCheck[] layers, bool pass) => new()
    {
        ["command"] = "gradcheck",
        ["pass"] = pass,
        ["threshold"] = Api.Evaluation.GradCheckThreshold,
        ["rule"] = EpsilonRule,
        ["examples"] = examples,
        ["preset"] = o.Preset,
        ["network"] = Describe(c),
        ["layers"] = new JsonArray(layers.Select(r => (JsonNode)LayerJson(c, r)).ToArray()),
    };

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
