using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;

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
        var config = model == null ? o.Config : Api.ConfigOfModel(o.Config, model.Spec);
        var train = Subset.First(Inputs.Load(o.Data.Train, o.Data.TrainLabels, Inputs.TrainImages, Inputs.SizeOf(o.Data.Resize)), o.TrainCount);
        Inputs.CheckFits(train, config);
        Threads.Choose(o.Threads, g.Examples);
        int examples = Math.Min(g.Examples, train.Count);
        var layers = model == null
            ? Api.CheckGradients(config, Inputs.ToCore(train), examples, g.Params, config.Seed)
            : Api.CheckGradientsAt(config, model, Inputs.ToCore(train), examples, g.Params, config.Seed);
        bool pass = layers.All(Api.GradCheckPassed);

        if (g.Json)
        {
            Console.Out.WriteLine(Report(config, o, examples, layers, pass).ToJsonString());
            return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
        }

        var log = Console.Out;
        log.WriteLine($"gradcheck {Describe(config)}{(o.Preset == "modern" ? "" : $" (preset {o.Preset})")}");
        if (g.Model is { } m)
        {
            log.WriteLine($"model  the weights of {ModelFile.Resolve(m)}");
        }
        log.WriteLine($"data   the first {examples:N0} images of {train.ImagesPath}");
        log.WriteLine($"rule   {EpsilonRule}");
        log.WriteLine(Inv($"       an entry fails at relative error |a − n| / max(|a|, |n|) ≥ {Api.GradCheckThreshold:0e0}; entries below the noise floor 1e-6·max(1, |L|), where rounding swamps a 1e-4 error, are not judged"));
        log.WriteLine("layer   params  checked  measured  max rel err  mean rel err  signs agree  ‖num‖/‖ana‖  result");
        foreach (var r in layers)
        {
            log.WriteLine(Inv(
                $"{r.Layer + 1,5}  {Parameters(config, r.Layer),7:N0}  {r.Checked,7:N0}  {r.Measured,8:N0}  {r.MaxRelError,11:0.0e+00}  {r.MeanRelError,12:0.0e+00}  {(100 * (r.SignAgreement)).ToString("F1", CultureInfo.InvariantCulture) + "%",11}  {r.NormRatio,11:F3}  {(Api.GradCheckPassed(r) ? "PASS" : "FAIL")}  {Api.GradCheckVerdict(r)}"));
        }
        log.WriteLine(Inv($"gradcheck: {(pass ? "PASS" : "FAIL")} (threshold: relative error < {Api.GradCheckThreshold:0e0} on every entry checked)"));
        return pass ? ReturnCode.Ok : ReturnCode.CheckFailed;
    }

    /// <summary>The parameters of layer <paramref name="l"/> (0-based): all its tensors.</summary>
    public static int Parameters(Config c, int l) => Api.ParameterCounts(c.Arch)[l];

    public static string Describe(Config c) => Inv(
        $"{c.LayersText}; {c.LossName}, init {c.InitName}, scale {c.ScaleName}, reduction {c.ReductionName}, l2 {c.L2}, seed {c.Seed}");

    /// <summary>One layer's figures as JSON (layers numbered from 1, as printed).</summary>
    public static JsonObject LayerJson(Config c, GradCheck.LayerCheck r) => new()
    {
        ["layer"] = r.Layer + 1,
        ["kind"] = Api.LayerText(c.Arch, r.Layer),
        ["parameters"] = Parameters(c, r.Layer),
        ["checked"] = r.Checked,
        ["measured"] = r.Measured,
        ["kinks"] = r.Kinks,
        ["max_rel_error"] = r.MaxRelError,
        ["mean_rel_error"] = r.MeanRelError,
        ["sign_agreement"] = r.SignAgreement,
        ["norm_ratio"] = double.IsFinite(r.NormRatio) ? r.NormRatio : null,
        ["factor"] = double.IsFinite(r.Factor) ? r.Factor : null,
        ["pass"] = Api.GradCheckPassed(r),
        ["verdict"] = Api.GradCheckVerdict(r),
    };

    static JsonObject Report(Config c, TrainOptions o, int examples, GradCheck.LayerCheck[] layers, bool pass) => new()
    {
        ["command"] = "gradcheck",
        ["pass"] = pass,
        ["threshold"] = Api.GradCheckThreshold,
        ["rule"] = EpsilonRule,
        ["examples"] = examples,
        ["preset"] = o.Preset,
        ["network"] = Describe(c),
        ["layers"] = new JsonArray(layers.Select(r => (JsonNode)LayerJson(c, r)).ToArray()),
    };

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
