using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional attack</c>: FGSM, PGD, APGD-CE, APGD-T, Square and AutoAttack against a saved model at each ε, a table of accuracy and confidence, the
/// robustness curve and a grid of adversarial digits, and the signs of robustness that is only apparent.
/// </summary>
public static class AttackCommand
{
    const int Shown = 8;

    public static int Run(AttackOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Png, "--png");
        Runs.RunFiles.CheckNotRunFile(o.Grid, "--grid");
        var model = ModelFile.Load(o.Model);
        if (ModelFile.ReadDataInfo(o.Model) is { IsTable: true })
        {
            throw new DataError(ModelFile.Resolve(o.Model), NotImages("was trained on a table"));
        }
        var data = Inputs.Load(o.Data, o.DataLabels, Inputs.TestImages);
        if (data.IsTable)
        {
            throw new DataError(data.ImagesPath, NotImages("is a table"));
        }
        Inputs.CheckFits(data, model.Spec);
        // Convolutions unfold every example's patches: smaller chunks keep that scratch small.
        int chunk = Api.Models.IsConvolutional(model.Spec.Arch) ? 100 : 500;
        Threads.Choose(o.Threads, chunk);
        var images = Inputs.ToCore(data);
        int count = o.Count == 0 ? data.Count : Math.Min(o.Count, data.Count);
        var range = Api.Attacks.Range(model.Spec.Scale);
        // Input units per unit of --eps.
        double unit = o.Pixels ? range.Width / 255 : range.Width;
        string units = o.Pixels ? "grey levels (0..255)" : "[0, 1] units of the pixel range";
        string EpsText(double inputEps) => (inputEps / unit).ToString("0.####", CultureInfo.InvariantCulture);

        var attacks = new List<Attacks.Attack>();
        // APGD-T targets the top other classes: all nine on ten classes, as the AutoAttack protocol does.
        int targets = Math.Min(9, Api.Models.Classes(model.Spec.Arch) - 1);
        foreach (var method in o.Methods)
        {
            // The parser refuses --target, --start and --alpha for the others.
            bool classic = method.IsFgsm || method.IsPgd;
            foreach (double e in o.Eps)
            {
                double eps = e * unit;
                int steps = o.Steps > 0 ? o.Steps : method.IsPgd ? 40 : 100;
                var a = method.Tag switch
                {
                    Attacks.Method.Tags.Fgsm => Api.Attacks.Fgsm(eps, o.RandomStart?.Value ?? false, o.Seed),
                    Attacks.Method.Tags.Pgd => Api.Attacks.Pgd(eps, steps, o.Restarts, o.Seed),
                    Attacks.Method.Tags.ApgdCe => Api.Attacks.ApgdCe(eps, steps, o.Restarts, o.Seed),
                    Attacks.Method.Tags.ApgdT => Api.Attacks.ApgdT(eps, steps, o.Restarts, targets, o.Seed),
                    Attacks.Method.Tags.Square => Api.Attacks.Square(eps, o.Queries, o.Restarts, o.Seed),
                    _ => Api.Attacks.AutoAttack(eps, steps, o.Queries, o.Restarts, targets, o.Seed),
                };
                if (classic)
                {
                    a = new Attacks.Attack(a.Method, a.Eps, double.IsNaN(o.Alpha) ? a.Alpha : o.Alpha * unit, a.Steps, a.Restarts,
                        a.Targets, a.Queries, o.RandomStart?.Value ?? a.RandomStart, o.Target, a.Seed);
                }
                if (Api.Attacks.Problem(a, range) is { } problem)
                {
                    Console.Error.WriteLine($"functional: {problem}. Run 'functional attack --help' for usage.");
                    return ReturnCode.Usage;
                }
                attacks.Add(a);
            }
        }

        var clean = model.Evaluate(images);
        double zero = Api.Attacks.ZeroGradients(model, images, count, chunk);
        // The cost column: each attack's time over that of one forward pass on the same examples, timed just before
        // and just after it (the faster of the two), so a machine whose load changes still compares like with like.
        double Forward()
        {
            var w = Stopwatch.StartNew();
            model.Evaluate(images);
            return w.Elapsed.TotalSeconds * count / data.Count;
        }
        var outcomes = new List<Attacks.Outcome>();
        var seconds = new List<double>();
        var forwards = new List<double>();
        foreach (var a in attacks)
        {
            double before = Forward();
            var w = Stopwatch.StartNew();
            outcomes.Add(Api.Attacks.Run(model, images, count, chunk, Shown, a));
            seconds.Add(w.Elapsed.TotalSeconds);
            forwards.Add(Math.Min(before, Forward()));
        }

        string command = "functional attack " + o.Model + (o.Pixels ? " --pixels" : "");
        string[] warnings = Api.Attacks.MaskingWarnings(command, EpsText, zero, [.. outcomes]);
        string dir = Directory.Exists(o.Model) ? o.Model : ".";
        string curvePath = o.Png ?? Path.Combine(dir, "robustness.png");
        string gridPath = o.Grid ?? Path.Combine(dir, "adversarial.png");
        string target = o.Target >= 0 ? string.Create(CultureInfo.InvariantCulture, $", targeted at {o.Target}") : "";
        string modelName = ModelFile.Resolve(o.Model);

        var curves = outcomes.Select((x, i) => (x, i)).GroupBy(p => Label(p.x.Attack))
            .Select(g => new AttackPlot.Curve(g.Key, [.. g.Select(p => p.x.Attack.Eps / unit)], [.. g.Select(p => p.x.Accuracy)]))
            .ToList();
        AttackPlot.Robustness(curvePath, $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(modelName)))}: accuracy on {count:N0} images{target}",
            $"ε ({units})", curves);
        var shown = outcomes[^1];
        int k = Math.Min(Shown, shown.Examples.Length);
        double[][] cleanUnits = [.. Enumerable.Range(0, k).Select(n => data.Pixels.AsSpan(n * data.Features, data.Features).ToArray().Select(p => p / 255.0).ToArray())];
        double[][] advUnits = [.. shown.Examples.Take(k).Select(x => x.Select(v => (v - range.Lo) / range.Width).ToArray())];
        AttackPlot.Grid(gridPath, string.Create(CultureInfo.InvariantCulture, $"{Label(shown.Attack)} at ε = {EpsText(shown.Attack.Eps)}: label → prediction"),
            data.Rows, data.Cols, cleanUnits, advUnits, [.. data.Labels.Take(k).Select(b => (int)b)], [.. clean.Predictions.Take(k)],
            [.. shown.Predictions.Take(k)], shown.Attack.Eps / range.Width);

        if (o.Json)
        {
            var results = new JsonArray();
            for (int i = 0; i < outcomes.Count; i++)
            {
                var x = outcomes[i];
                var a = x.Attack;
                results.Add(new JsonObject
                {
                    ["method"] = Api.Attacks.MethodName(a.Method),
                    ["eps"] = a.Eps / unit,
                    ["eps_input"] = a.Eps,
                    ["alpha"] = a.Alpha / unit,
                    ["steps"] = StepsRun(a),
                    ["queries"] = a.Queries > 0 ? a.Queries : null,
                    ["targets"] = a.Targets > 0 ? a.Targets : null,
                    ["restarts"] = a.Eps == 0 ? 1 : a.Restarts,
                    ["random_start"] = a.RandomStart,
                    ["target"] = a.Target >= 0 ? a.Target : null,
                    ["accuracy"] = x.Accuracy,
                    ["accuracy_first_step"] = Finite(x.AccuracyFirstStep),
                    ["target_hits"] = Finite(x.TargetHits),
                    ["confidence"] = x.Confidence,
                    ["seconds"] = seconds[i],
                    ["forward_passes_per_example"] = seconds[i] / forwards[i],
                    ["forward_passes"] = x.Forwards,
                    ["backward_passes"] = x.Backwards,
                    ["stages"] = new JsonArray([.. x.Stages.Select(st => (JsonNode?)new JsonObject
                    {
                        ["method"] = Api.Attacks.MethodName(st.Method),
                        ["broken"] = st.Broken,
                        ["forward_passes"] = st.Forwards,
                        ["backward_passes"] = st.Backwards,
                    })]),
                });
            }
            var doc = new JsonObject
            {
                ["model"] = modelName,
                ["data"] = data.ImagesPath,
                ["count"] = count,
                ["eps_units"] = o.Pixels ? "pixels" : "unit",
                ["input_range"] = new JsonArray(range.Lo, range.Hi),
                ["clean_accuracy"] = Accuracy(clean, count, data.Labels),
                ["zero_gradient_fraction"] = zero,
                ["results"] = results,
                ["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode?)JsonValue.Create(w))]),
                ["robustness_png"] = curvePath,
                ["grid_png"] = gridPath,
            };
            Console.Out.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return ReturnCode.Ok;
        }

        var log = Console.Out;
        log.WriteLine(Inv($"model {modelName}: {model.Spec.LayersText}, {model.Spec.PrecisionName}, scale {model.Spec.ScaleName} (inputs {range.Lo:0.###}..{range.Hi:0.###})"));
        log.WriteLine(Inv($"data  {data.ImagesPath}: the first {count:N0} images; clean accuracy {100 * Accuracy(clean, count, data.Labels):F2}%"));
        log.WriteLine(o.Pixels
            ? "eps   in grey levels 0..255 (L∞), inputs clipped to the valid range"
            : Inv($"eps   in [0, 1] units of the pixel range (0.1 = 25.5 grey levels; L∞), inputs clipped to the valid range"));
        log.WriteLine(Inv($"{"method",-16} {"eps",6} {"alpha",7} {"steps",5} {"restarts",8} {"accuracy",9} {"confidence",10} {"seconds",8} {"× forward",9} {"fwd/ex",7} {"bwd/ex",7}"));
        for (int i = 0; i < outcomes.Count; i++)
        {
            var x = outcomes[i];
            var a = x.Attack;
            string acc = Inv($"{100 * x.Accuracy:F2} %");
            log.WriteLine(Inv($"{Label(a),-16} {EpsText(a.Eps),6} {EpsText(a.Alpha),7} {StepsRun(a),5} {(a.Eps == 0 ? 1 : a.Restarts),8} {acc,9} {x.Confidence,10:F3} {seconds[i],8:F2} {seconds[i] / forwards[i],9:F0} {x.Forwards / (double)count,7:F0} {x.Backwards / (double)count,7:F0}")
                + (a.Target >= 0 ? Inv($"  target hit {100 * x.TargetHits:F1}%") : ""));
            if (x.Stages.Length > 0)
            {
                log.WriteLine("  broke " + string.Join(", ", x.Stages.Select(st =>
                    Inv($"{Api.Attacks.MethodName(st.Method)} {st.Broken} ({st.Forwards / (double)count:F0} fwd, {st.Backwards / (double)count:F0} bwd per example)"))));
            }
        }
        if (outcomes.Any(x => x.Attack.Eps == 0))
        {
            log.WriteLine("eps 0 is the clean input: one forward pass gives its accuracy, no attack steps are run");
        }
        log.WriteLine(Inv($"input gradient exactly zero on {100 * zero:F1}% of the examples"));
        foreach (var w in warnings)
        {
            log.WriteLine("warning: " + w);
        }
        log.WriteLine($"plot  {curvePath}");
        log.WriteLine($"grid  {gridPath}");
        return ReturnCode.Ok;
    }

    static string Label(Attacks.Attack a) => a.Method.Tag switch
    {
        Attacks.Method.Tags.Fgsm => a.RandomStart ? "fgsm-rs" : "fgsm",
        Attacks.Method.Tags.Square => Inv($"square-{a.Queries}"),
        Attacks.Method.Tags.AutoAttack => Inv($"autoattack-{a.Steps}"),
        _ => Inv($"{Api.Attacks.MethodName(a.Method)}-{a.Steps}"),
    };

    /// <summary>FGSM and PGD take no step at ε = 0 (Attacks.attackBatch): the clean input is the whole ball.</summary>
    static int StepsRun(Attacks.Attack a) =>
        a.Eps == 0 && (a.Method.IsFgsm || a.Method.IsPgd) ? 0 : a.Steps;

    static double Accuracy(Evaluation e, int count, byte[] labels) =>
        Enumerable.Range(0, count).Count(i => e.Predictions[i] == labels[i]) / (double)count;

    static JsonNode? Finite(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string NotImages(string what) =>
        $"{what}, and attack perturbs image pixels within their 0..255 range: a table's features have no such range";
}
