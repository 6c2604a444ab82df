using System.Globalization;
using System.Text.Json.Nodes;

namespace Functional.Host.Doctor;

/// <summary>
/// The doctor's judgements: each check turns measured figures into PASS / WARN / FAIL, a cause and a fix,
/// and records the flags its fix changes. Thresholds are stated where they are used.
/// </summary>
public static class Checks
{
    /// <summary>Healthy update/weight ratios per step lie roughly in [1e-4, 1e-1].</summary>
    public const double MinUpdateRatio = 1e-4, MaxUpdateRatio = 1e-1;

    /// <summary>Saturated or dead units: WARN above 10% of a layer, FAIL above 50%.</summary>
    public const double WarnUnits = 0.10, FailUnits = 0.50;

    /// <summary>‖∂L/∂h_1‖/‖∂L/∂h_T‖ beyond which the gradient grows (WARN) or explodes (FAIL) on its way back
    /// through time, and below which it vanishes.</summary>
    public const double GrowingGrowth = 1, ExplodingGrowth = 10, VanishingGrowth = 1e-3;

    /// <summary>Largest |input| a table's features may have before the data check asks for --scale standard.</summary>
    const double TableLimit = 10;

    public static Finding Data(Subject s, Fixes fixes)
    {
        var train = Api.Data.Summarize(s.TrainCore, s.Config.Scale, s.Classes);
        var test = Api.Data.Summarize(s.TestCore, s.Config.Scale, s.Classes);
        int shared = Api.Data.SharedImages(s.TrainCore, s.TestCore);
        int least = train.LabelCounts.Min(), most = train.LabelCounts.Max();
        int missing = train.LabelCounts.Count(c => c == 0);
        long nonFinite = train.NonFinite + test.NonFinite;
        double lo = Math.Min(train.Min, test.Min), hi = Math.Max(train.Max, test.Max);
        string figure = Inv(
            $"train {train.Count:N0} / test {test.Count:N0} {(s.Train.IsTable ? "rows" : "images")} of {train.Features} = {s.Config.Inputs} inputs; labels {least}–{most} per class; inputs {lo:F3}..{hi:F3}, mean {train.Mean:F3} sd {train.Std:F3}; {nonFinite} NaN/Inf; {shared} test {(s.Train.IsTable ? "rows" : "images")} also in train");
        var data = new JsonObject
        {
            ["train_count"] = train.Count,
            ["test_count"] = test.Count,
            ["features"] = train.Features,
            ["train_label_counts"] = new JsonArray(train.LabelCounts.Select(c => (JsonNode)c).ToArray()),
            ["test_label_counts"] = new JsonArray(test.LabelCounts.Select(c => (JsonNode)c).ToArray()),
            ["min"] = lo,
            ["max"] = hi,
            ["mean"] = train.Mean,
            ["std"] = train.Std,
            ["non_finite"] = nonFinite,
            ["shared_images"] = shared,
        };
        if (nonFinite > 0)
        {
            return new Finding("data", Status.Fail, figure,
                $"{nonFinite} scaled input values are NaN or infinite, and one of them poisons every sum it enters.",
                "check the input files and the scaling.")
            { Data = data };
        }
        if (s.Train.IsTable && Math.Max(Math.Abs(lo), Math.Abs(hi)) > TableLimit)
        {
            // A table's features in their own units: large inputs saturate units and make one step's size
            // depend on the feature's unit.
            fixes.Set("--scale", "standard");
            return new Finding("data", Status.Warn, figure,
                Inv($"the table's inputs run {lo:G4}..{hi:G4}: features this large saturate units, and each feature's step size depends on its unit."),
                "--scale standard (each feature to mean 0, sd 1 over the training rows).")
            { Data = data };
        }
        if (!s.Train.IsTable && (lo < 0 || hi > 1))
        {
            string to = s.Config.Scale.IsOffset ? "book" : "unit";
            fixes.Set("--scale", to);
            return new Finding("data", Status.Warn, figure,
                Inv($"inputs run {lo:F3}..{hi:F3}, outside [0, 1]{(s.Config.Scale.IsOffset ? ": x/255·0.99+0.1 lifts the blank background to 0.1, so every one of the 784 inputs pushes on every hidden unit" : "")}."),
                $"--scale {to} ({(to == "book" ? "x/255·0.99+0.01, the book's formula" : "x/255")}).")
            { Data = data };
        }
        if (Math.Abs(train.Mean) > 2 * train.Std)
        {
            return new Finding("data", Status.Warn, figure,
                Inv($"the inputs' mean {train.Mean:F3} is far from zero compared with their spread {train.Std:F3}, which slows gradient descent."),
                s.Train.IsTable ? "--scale standard." : "centre the inputs, or use --scale unit.")
            { Data = data };
        }
        if (missing > 0 || most > 3 * Math.Max(least, 1))
        {
            return new Finding("data", Status.Warn, figure,
                missing > 0
                    ? $"{missing} class(es) have no training example, so the network cannot learn them."
                    : $"the classes are unbalanced ({least} to {most} examples), so predicting the common ones is rewarded.",
                "train on more images (--train-count) or a balanced subset.")
            { Data = data };
        }
        if (shared > 0)
        {
            return new Finding("data", Status.Warn, figure,
                s.Train.IsTable
                    ? $"{shared} test rows are also training rows, so the test accuracy overstates what was learnt."
                    : $"{shared} test images are also training images, so the test accuracy overstates what was learnt.",
                "remove them from the test set.")
            { Data = data };
        }
        return new Finding("data", Status.Pass, figure) { Data = data };
    }

    public static Finding InitialLoss(Subject s, Fixes fixes)
    {
        var probe = Api.Evaluation.CreateProbe(s.Config, s.Start);
        int[] sample = s.Sample(Probes.LossExamples);
        double measured = probe.Loss(s.TrainCore, sample);
        double expected = probe.UninformedLoss(s.TrainCore, sample);
        double ratio = measured / expected;
        bool softmax = s.Config.OutputActivation.IsSoftmax;
        string rule = (s.Config.LossName, softmax) switch
        {
            ("ce", true) => Inv($"ln {s.Classes} = {expected:F3}, cross-entropy of a uniform softmax"),
            ("mse", false) => Inv($"{expected:F3} = ½·Σ_k (½ − y_k)², MSE of sigmoid outputs at ½"),
            ("mse", true) => Inv($"{expected:F3} = ½·Σ_k (1/{s.Classes} − y_k)², MSE of a uniform softmax"),
            _ => Inv($"{expected:F3}, binary cross-entropy of sigmoid outputs at ½ ({s.Classes}·ln 2 for 0/1 targets)"),
        };
        string figure = Inv($"{measured:F3} per example at initialisation, expected {rule}; ratio {ratio:F2}");
        var data = new JsonObject { ["measured"] = measured, ["expected"] = expected, ["ratio"] = ratio };
        if (!double.IsFinite(measured))
        {
            return new Finding("loss at init", Status.Fail, figure, "the loss is not finite before any training.",
                "check the data and the initialisation.")
            { Data = data };
        }
        if (ratio >= 0.8 && ratio <= 1.5)
        {
            return new Finding("loss at init", Status.Pass, figure) { Data = data };
        }
        if (ratio < 0.8)
        {
            return new Finding("loss at init", Status.Warn, figure,
                "the untrained network scores better than chance, which suggests the targets leak into the inputs or the loss is mis-scaled.",
                "check --label-column (a label among the inputs?) and --loss.")
            { Data = data };
        }
        string init = s.Config.HasRelu ? "he" : "normal-fanin";
        bool canFix = s.Config.InitName != init;
        if (canFix)
        {
            fixes.Set("--init", init);
        }
        return new Finding("loss at init", ratio > 3 ? Status.Fail : Status.Warn, figure,
            "the initial outputs are already far from uninformed: the initial weights are too large for this network.",
            canFix ? $"--init {init}." : s.Config.InitName != "xavier" ? "--init xavier (smaller initial weights)." : "--scale unit (smaller inputs: 0..1).")
        { Data = data };
    }

    public static Finding Gradients(Subject s)
    {
        const int examples = 10, perLayer = 50;
        var layers = Api.Evaluation.CheckGradients(s.Config, s.TrainCore, examples, perLayer, s.Config.Seed);
        bool pass = layers.All(Api.Evaluation.GradCheckPassed);
        string figure = string.Join("; ", layers.Select(r => Inv(
            $"{Api.Display.LayerName(r.Layer)}: {r.Measured} of {r.Checked} entries measured, max rel err {Api.Display.Small(r.MaxRelError)}, signs {100 * (r.SignAgreement):F0}%, ‖num‖/‖ana‖ {r.NormRatio:F3}")))
            + Inv($" ({Math.Min(examples, s.Train.Count)} examples, float64, fail at ≥ {Api.Display.Small(Api.Evaluation.GradCheckThreshold)})");
        var data = new JsonObject
        {
            ["layers"] = new JsonArray(layers.Select(r => (JsonNode)Commands.GradcheckCommand.LayerJson(s.Config, r)).ToArray()),
        };
        if (pass)
        {
            return new Finding("gradient check", Status.Pass, figure) { Data = data };
        }
        var bad = layers.First(r => !Api.Evaluation.GradCheckPassed(r));
        return new Finding("gradient check", Status.Fail, figure,
            $"{Api.Display.LayerName(bad.Layer)}: {Api.Evaluation.GradCheckVerdict(bad)}.",
            "fix the backward pass of that layer until `functional gradcheck` passes.")
        { Data = data };
    }

    public static Finding Overfit(Subject s, Fixes fixes)
    {
        var (reached, steps, best) = Probes.Overfit(s);
        int n = Math.Min(Probes.OverfitExamples, s.Train.Count);
        int batch = Math.Min(s.Batch, n);
        var data = new JsonObject { ["examples"] = n, ["reached"] = reached, ["steps"] = steps, ["best_accuracy"] = best, ["bound"] = Probes.OverfitSteps };
        if (reached)
        {
            return new Finding("overfit", Status.Pass,
                Inv($"{n} training examples learnt to 100% in {steps} steps (bound {Probes.OverfitSteps}, batch {batch})"))
            { Data = data };
        }
        bool sum = s.Config.Reduction.IsSum && batch > 1;
        if (sum)
        {
            fixes.Set("--reduction", "mean");
        }
        return new Finding("overfit", Status.Fail,
            Inv($"{n} training examples: best {100 * (best):F0}% after {steps} steps (bound {Probes.OverfitSteps}, batch {batch})"),
            "the configuration cannot even memorise a handful of examples, so the optimisation itself is broken, not the data or the capacity.",
            sum
                ? Inv($"--reduction mean: with sum each update is {batch}× the mean gradient.")
                : "a smaller --lr (see the sweep below).")
        { Data = data };
    }

    public static Finding Baseline(Subject s, Probes.ShortRun run)
    {
        string figure = Inv(
            $"after {run.Updates:N0} updates: test accuracy {100 * (run.Real.Accuracy):F1}% on real inputs, {100 * (run.Zeroed.Accuracy):F1}% on zeroed inputs (loss {run.Real.Loss:F3} vs {run.Zeroed.Loss:F3})");
        var data = new JsonObject
        {
            ["updates"] = run.Updates,
            ["accuracy_real"] = run.Real.Accuracy,
            ["accuracy_zeroed"] = run.Zeroed.Accuracy,
            ["loss_real"] = run.Real.Loss,
            ["loss_zeroed"] = run.Zeroed.Loss,
        };
        if (run.DivergedAt > 0)
        {
            return new Finding("baseline", Status.Fail, figure + Inv($"; the loss diverged at update {run.DivergedAt}"),
                "the loss became NaN or infinite: the steps are far too large.", "a smaller --lr (see the sweep below).")
            { Data = data };
        }
        if (run.Real.Accuracy <= run.Zeroed.Accuracy + 0.05)
        {
            return new Finding("baseline", Status.Fail, figure,
                "the network does no better on real images than on blank ones, so its answer does not depend on its input.",
                "the saturation, collapse and schedule lines' fixes below (--reduction mean, --init, --lr, --batch).")
            { Data = data };
        }
        return new Finding("baseline", Status.Pass, figure) { Data = data };
    }

    public static Finding Health(Subject s, string when, Diagnostics.LayerHealth[] health, Step.StepReport step, Fixes fixes, bool atInit)
    {
        var parts = new List<string>();
        var data = new JsonArray();
        Status status = Status.Pass;
        string? cause = null, fix = null;
        bool sum = s.Config.Reduction.IsSum && s.Batch > 1;

        // The most severe finding speaks for the line; the first one at that severity wins.
        void Raise(Status st, string c, string f)
        {
            if (cause is null || st > status)
            {
                status = st;
                cause = c;
                fix = f;
            }
        }

        int[] parameters = Api.Models.ParameterCounts(s.Config.Arch);
        for (int l = 0; l < health.Length; l++)
        {
            var h = health[l];
            if (parameters[l] == 0 && !double.IsFinite(h.Saturated) && !double.IsFinite(h.Dead))
            {
                continue; // pooling, flattening: no weights to measure, no units that saturate or die
            }
            double grad = step.GradNorms.Length > l ? step.GradNorms[l] : double.NaN;
            double ratio = step.UpdateRatios.Length > l ? step.UpdateRatios[l] : double.NaN;
            string units = double.IsFinite(h.Saturated) ? Inv($"{100 * (h.Saturated):F0}% saturated")
                : double.IsFinite(h.Dead) ? Inv($"{100 * (h.Dead):F0}% dead") : "";
            parts.Add(Inv($"{Api.Display.LayerName(l)} {Api.Models.LayerText(s.Config.Arch, l).Split(' ')[0]} {h.Activation}: {(units == "" ? "" : units + ", ")}‖g‖ {Api.Display.Small(grad)}, update/weight {Api.Display.Small(ratio)}"));
            data.Add(new JsonObject
            {
                ["layer"] = l + 1,
                ["tensors"] = $"layers.{l}",
                ["kind"] = Api.Models.LayerText(s.Config.Arch, l),
                ["activation"] = h.Activation,
                ["saturated"] = double.IsFinite(h.Saturated) ? h.Saturated : null,
                ["saturated_entries"] = double.IsFinite(h.SaturatedEntries) ? h.SaturatedEntries : null,
                ["dead"] = double.IsFinite(h.Dead) ? h.Dead : null,
                ["grad_norm"] = double.IsFinite(grad) ? grad : null,
                ["update_ratio"] = double.IsFinite(ratio) ? ratio : null,
            });

            if (!double.IsFinite(grad))
            {
                Raise(Status.Fail, $"{Api.Display.LayerName(l)}'s gradient is not finite.", "a smaller --lr (see the sweep below).");
            }
            if (double.IsFinite(h.Saturated) && h.Saturated > WarnUnits)
            {
                var st = h.Saturated > FailUnits ? Status.Fail : Status.Warn;
                if (atInit)
                {
                    Raise(st, Inv($"{100 * (h.Saturated):F0}% of {Api.Display.LayerName(l)}'s {h.Activation} units are saturated (σ'(z) < 0.01) before any training: the initial weights are too large."),
                        "--init normal-fanin or xavier.");
                }
                else
                {
                    if (sum)
                    {
                        fixes.Set("--reduction", "mean");
                    }
                    Raise(st, Inv($"{100 * (h.Saturated):F0}% of {Api.Display.LayerName(l)}'s {h.Activation} units are saturated (σ'(z) < 0.01 over the batch), so their gradients vanish and they stop learning{(sum ? Inv($"; the summed gradient makes each update {s.Batch}× the mean one") : "")}."),
                        sum ? "--reduction mean, and more, smaller updates (see schedule)." : "a smaller --lr (see the sweep below).");
                }
            }
            if (double.IsFinite(h.Dead) && h.Dead > WarnUnits)
            {
                Raise(h.Dead > FailUnits ? Status.Fail : Status.Warn,
                    Inv($"{100 * (h.Dead):F0}% of {Api.Display.LayerName(l)}'s ReLUs output 0 for every example, so they never learn again."),
                    s.Config.Init.IsHe ? "a smaller --lr (see the sweep below)." : "--init he and a smaller --lr.");
            }
            if (double.IsFinite(ratio) && ratio > MaxUpdateRatio)
            {
                if (sum)
                {
                    fixes.Set("--reduction", "mean");
                }
                Raise(Status.Warn, Inv($"one update changes {Api.Display.LayerName(l)}'s weights by {100 * (ratio):F0}% of their size (healthy: 1e-4 … 1e-1)."),
                    sum ? "--reduction mean." : "a smaller --lr (see the sweep below).");
            }
            else if (double.IsFinite(ratio) && ratio < MinUpdateRatio && ratio > 0)
            {
                Raise(Status.Warn, Inv($"one update changes {Api.Display.LayerName(l)}'s weights by only {Api.Display.Small(ratio)} of their size (healthy: 1e-4 … 1e-1)."),
                    "a larger --lr (see the sweep below).");
            }
        }
        return new Finding(when, status, string.Join("; ", parts), cause, fix) { Data = new JsonObject { ["layers"] = data } };
    }

    /// <summary>The gradient through time of each recurrent layer, at init and at its worst during the short run:
    /// exploding when ‖∂L/∂h_1‖ grows past <see cref="ExplodingGrowth"/>× ‖∂L/∂h_T‖ on its way back, vanishing below
    /// <see cref="VanishingGrowth"/>×; and the share of saturated tanh or gate units. Null without a recurrent layer.</summary>
    public static Finding? ThroughTime(Subject s, Probes.ShortRun run, Fixes fixes)
    {
        if (run.TimeAtInit.Length == 0)
        {
            return null;
        }
        var (update, worst) = run.TimeWorst;
        var parts = new List<string>();
        var data = new JsonArray();
        Status status = Status.Pass;
        string? cause = null, fix = null;
        for (int i = 0; i < worst.Length; i++)
        {
            var init = run.TimeAtInit[i];
            var t = worst[i];
            var (lastUpdate, lastLayers) = run.TimeLast;
            var last = lastLayers[i];
            parts.Add(Inv($"{Api.Display.LayerName(t.Layer)} {t.Text}: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ {Api.Display.Small(init.FirstOverLast)} at init, {Api.Display.Small(t.FirstOverLast)} at most (update {update}), {Api.Display.Small(last.FirstOverLast)} at update {lastUpdate}{(double.IsFinite(last.Saturated) ? Inv($", {100 * last.Saturated:F0}% saturated") : "")}"));
            data.Add(new JsonObject
            {
                ["layer"] = t.Layer + 1,
                ["tensors"] = $"layers.{t.Layer}",
                ["kind"] = t.Text,
                ["first_over_last_at_init"] = Finite(init.FirstOverLast),
                ["first_over_last"] = Finite(t.FirstOverLast),
                ["update"] = update,
                ["step_norms_at_init"] = new JsonArray(init.StepNorms.Select(Finite).ToArray()),
                ["step_norms"] = new JsonArray(t.StepNorms.Select(Finite).ToArray()),
                ["last_update"] = lastUpdate,
                ["first_over_last_last"] = Finite(last.FirstOverLast),
                ["saturated"] = Finite(last.Saturated),
            });
            double growth = double.IsFinite(t.FirstOverLast) ? t.FirstOverLast : double.PositiveInfinity;
            if (growth > GrowingGrowth && status != Status.Fail)
            {
                status = growth > ExplodingGrowth ? Status.Fail : Status.Warn;
                cause = Inv($"the gradient {(growth > ExplodingGrowth ? "explodes" : "grows")} through time in {Api.Display.LayerName(t.Layer)}: at update {update} it reaches step 1 {(double.IsFinite(growth) ? Inv($"{growth:0.0}×") : "infinitely")} larger than it left step {t.StepNorms.Length} (from {Api.Display.Small(init.FirstOverLast)}× at init), so the recurrent weights amplify it.");
                if (s.Config.ClipNorm > 0)
                {
                    fixes.Set("--lr", (s.Config.Lr / 10).ToString("R", CultureInfo.InvariantCulture));
                    fix = "--clip-norm is on already: a 10× smaller --lr.";
                }
                else
                {
                    fixes.Set("--clip-norm", "1");
                    fix = "--clip-norm 1 (rescales any larger gradient to norm 1), and orthogonal recurrent weights (rnn H orthogonal).";
                }
            }
            else if (last.FirstOverLast < VanishingGrowth && status == Status.Pass)
            {
                status = Status.Warn;
                cause = Inv($"the gradient vanishes through time in {Api.Display.LayerName(t.Layer)}: by update {lastUpdate} step 1 gets {Api.Display.Small(last.FirstOverLast)} of what step {t.StepNorms.Length} gets, so the first rows barely teach it.");
                fix = "an LSTM (lstm H) or orthogonal recurrent weights (rnn H orthogonal) in --arch.";
            }
            if (double.IsFinite(last.Saturated) && last.Saturated > WarnUnits && status == Status.Pass)
            {
                status = Status.Warn;
                cause = Inv($"{100 * last.Saturated:F0}% of {Api.Display.LayerName(t.Layer)}'s {(Api.Models.LayerKind(s.Config.Arch, t.Layer) == Api.LayerKind.Lstm ? "gate" : "tanh")} units are saturated over every step and example, so their gradients vanish.");
                fix = "a smaller --lr, with --clip-norm 1.";
            }
        }
        return new Finding("through time", status, string.Join("; ", parts), cause, fix) { Data = new JsonObject { ["layers"] = data } };
    }

    /// <summary>A share of an rbf layer's units past which the doctor warns.</summary>
    public const double RbfWarnUnits = 0.5;

    /// <summary>Each rbf layer's units at the start, over every training image: silent (≈ 0 for every input: the
    /// width is too small), saturated (≈ 1 for every input: too large), centres that never win (no input is
    /// nearest to them). Null without an rbf layer.</summary>
    public static Finding? Rbf(Subject s, Fixes fixes)
    {
        var probe = Api.Evaluation.CreateProbe(s.Config, s.Start);
        var layers = probe.RbfUnits(s.TrainCore, s.Sample(s.Train.Count));
        if (layers.Length == 0)
        {
            return null;
        }
        var parts = new List<string>();
        var data = new JsonArray();
        Status status = Status.Pass;
        string? cause = null, fix = null;
        foreach (var r in layers)
        {
            parts.Add(Inv($"{Api.Display.LayerName(r.Layer, r.Text)}: {100 * r.Silent:F0}% of units < {Api.Evaluation.RbfLow} and {100 * r.Saturated:F0}% > {Api.Evaluation.RbfHigh} for every one of {r.Examples} training images, {100 * r.NeverWin:F0}% of centres never the most active"));
            data.Add(new JsonObject
            {
                ["layer"] = r.Layer + 1,
                ["tensors"] = $"layers.{r.Layer}",
                ["kind"] = r.Text,
                ["examples"] = r.Examples,
                ["silent"] = r.Silent,
                ["saturated"] = r.Saturated,
                ["never_win"] = r.NeverWin,
            });
            string? replace = null;
            if (r.Silent > RbfWarnUnits && status == Status.Pass)
            {
                cause = Inv($"{100 * r.Silent:F0}% of {Api.Display.LayerName(r.Layer)}'s units stay below {Api.Evaluation.RbfLow} for every input: their widths are too small, so they pass on almost nothing and their centres get almost no gradient.");
                fix = $"wider units: {r.Wider} in --arch.";
                replace = r.Wider;
            }
            else if (r.Saturated > RbfWarnUnits && status == Status.Pass)
            {
                cause = Inv($"{100 * r.Saturated:F0}% of {Api.Display.LayerName(r.Layer)}'s units stay above {Api.Evaluation.RbfHigh} for every input: their widths are so large that they answer alike to every input.");
                fix = $"narrower units: {r.Narrower} in --arch.";
                replace = r.Narrower;
            }
            else if (r.NeverWin > RbfWarnUnits && status == Status.Pass)
            {
                cause = Inv($"{100 * r.NeverWin:F0}% of {Api.Display.LayerName(r.Layer)}'s centres are never the most active unit of any training image: they sit where no input is.");
                fix = $"fewer centres: {r.Fewer} in --arch (k-means places every centre among the inputs).";
                replace = r.Fewer;
            }
            if (replace is not null)
            {
                status = Status.Warn;
                fixes.Set("--arch", s.Config.LayersText.Replace(r.Text, replace, StringComparison.Ordinal));
            }
        }
        return new Finding("rbf units", status, string.Join("; ", parts), cause, fix) { Data = new JsonObject { ["layers"] = data } };
    }

    static JsonNode? Finite(double x) => double.IsFinite(x) ? x : null;

    public static Finding Collapse(Subject s, Probes.ShortRun run, double labelEntropy)
    {
        var p = run.Real;
        string figure = Inv(
            $"{p.Distinct} distinct predicted classes on {p.Count:N0} test images, entropy {p.Entropy:F2} bits (labels: {labelEntropy:F2}); histogram {Histogram.Line(p.Histogram, s.Train.ClassNames)}");
        var data = new JsonObject
        {
            ["distinct"] = p.Distinct,
            ["entropy_bits"] = p.Entropy,
            ["label_entropy_bits"] = labelEntropy,
            ["histogram"] = new JsonArray(p.Histogram.Select(c => (JsonNode)c).ToArray()),
        };
        // Two distinct answers among ten classes is a collapse; among two classes it is every answer there is.
        int collapsedAt = Math.Min(2, s.Classes - 1);
        if (p.Distinct <= collapsedAt || p.Entropy < 0.5 * labelEntropy)
        {
            int top = Array.IndexOf(p.Histogram, p.Histogram.Max());
            return new Finding("output collapse", Status.Fail, figure,
                Inv($"the outputs have collapsed: {100 * ((double)p.Histogram[top] / Math.Max(p.Count, 1)):F0}% of test images are called {Histogram.ClassName(s.Train.ClassNames, top)}, whatever they show."),
                "the saturation and schedule lines' fixes above (--reduction mean, --init, --lr, --batch).")
            { Data = data };
        }
        if (p.Entropy < 0.85 * labelEntropy)
        {
            return new Finding("output collapse", Status.Warn, figure,
                "the predictions favour a few classes more than the labels do.",
                "more --epochs, or the saturation lines' fixes above.")
            { Data = data };
        }
        return new Finding("output collapse", Status.Pass, figure) { Data = data };
    }

    public static Finding Schedule(Subject s, Fixes fixes)
    {
        int n = s.Train.Count, b = s.Batch;
        bool full = b >= n && n > 1;
        bool sum = s.Config.Reduction.IsSum && b > 1;
        double stride = sum ? b * s.Config.Lr : s.Config.Lr;
        string figure = Inv(
            $"{(full ? $"full batch of {n:N0}" : $"batch {b}")}: {s.UpdatesPerEpoch:N0} update(s) per epoch, {s.TotalUpdates:N0} in {s.Options.Epochs} epochs; {(sum ? $"reduction sum: each update moves {b} × {s.Config.Lr} = {stride:G4} along the mean gradient" : $"reduction {s.Config.ReductionName}, step {s.Config.Lr} along the mean gradient")}");
        var data = new JsonObject
        {
            ["batch"] = b,
            ["updates_per_epoch"] = s.UpdatesPerEpoch,
            ["total_updates"] = s.TotalUpdates,
            ["reduction"] = s.Config.ReductionName,
            ["step_along_mean_gradient"] = stride,
        };
        if (full)
        {
            string to = n <= 1000 ? "1" : "32";
            fixes.Set("--batch", to);
            if (sum)
            {
                fixes.Set("--reduction", "mean");
            }
            return new Finding("schedule", Status.Warn, figure,
                Inv($"full batch means one update per pass over the data, so {s.Options.Epochs} epochs are only {s.TotalUpdates:N0} updates{(sum ? $", each {b}× the mean gradient" : "")}."),
                Inv($"--batch {to} ({(n + int.Parse(to, CultureInfo.InvariantCulture) - 1) / int.Parse(to, CultureInfo.InvariantCulture):N0} updates per epoch){(sum ? " and --reduction mean" : "")}."))
            { Data = data };
        }
        if (sum)
        {
            fixes.Set("--reduction", "mean");
            return new Finding("schedule", Status.Warn, figure,
                Inv($"with --reduction sum the step grows with the batch: lr {s.Config.Lr} acts like {stride:G4} on the mean gradient."),
                "--reduction mean.")
            { Data = data };
        }
        return new Finding("schedule", Status.Pass, figure) { Data = data };
    }

    /// <summary>The sweep runs on the configuration with the other fixes applied; it recommends the rate with
    /// the lowest training loss after <see cref="Probes.SweepSteps"/> updates.</summary>
    public static Finding Sweep(Subject s, Fixes fixes)
    {
        var fixedOptions = fixes.Apply(s.Options);
        var config = s.Fit(fixedOptions.Config);
        int batch = Subject.BatchOf(config.Batch, s.Train.Count);
        double[] rates = Probes.SweepRates(config.Optimizer);
        int steps = Probes.SweepStepsAt(batch);
        double[] losses = rates.Select(r => Probes.SweepLoss(s, config.WithLr(r), batch, steps)).ToArray();
        // Short sweeps favour large rates (they make fast early progress and pay later, and on a few hundred
        // images they memorise), so the recommendation is the smallest rate whose loss is within 10% (or 0.01)
        // of the lowest.
        double lowest = losses.Min();
        int best = Array.FindIndex(losses, l => l <= Math.Max(1.1 * lowest, lowest + 0.01));
        double rate = rates[best], current = config.Lr;
        string on = fixes.Any ? $" (with the fixes above: {fixes.Flags})" : "";
        string figure = Inv(
            $"{config.OptimizerName}, {steps} updates at batch {batch}, training loss: {string.Join(", ", rates.Select((r, i) => Inv($"{r:G3} → {(double.IsFinite(losses[i]) ? losses[i].ToString("F3", CultureInfo.InvariantCulture) : "diverged")}")))}; recommended {rate:G3}, the smallest within 10% (or 0.01) of the lowest{on}");
        var data = new JsonObject
        {
            ["optimizer"] = config.OptimizerName,
            ["steps"] = steps,
            ["batch"] = batch,
            ["rates"] = new JsonArray(rates.Select(r => (JsonNode)r).ToArray()),
            ["losses"] = new JsonArray(losses.Select(l => (JsonNode?)(double.IsFinite(l) ? l : null)).ToArray()),
            ["recommended"] = rate,
        };
        if (!double.IsFinite(losses[best]))
        {
            return new Finding("lr sweep", Status.Fail, figure, "every rate tried diverged.", "check --loss and --scale, then a far smaller --lr (--lr 1e-5).") { Data = data };
        }
        bool far = current > 3 * rate || current < rate / 3;
        if (rate != current && (far || fixes.Any))
        {
            fixes.Set("--lr", rate.ToString("R", CultureInfo.InvariantCulture));
        }
        if (far)
        {
            return new Finding("lr sweep", Status.Warn, figure,
                Inv($"the configured rate {current:G3} is more than 3× away from the sweep's best, {rate:G3}."),
                Inv($"--lr {rate:G3}."))
            { Data = data };
        }
        return new Finding("lr sweep", Status.Pass, figure + Inv($"; the configured {current:G3} is within 3× of it")) { Data = data };
    }

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
