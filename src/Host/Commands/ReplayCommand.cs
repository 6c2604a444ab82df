using System.Globalization;
using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional replay RUN --step N</c>: from the newest checkpoint before step N, regenerate the batches and
/// re-execute the steps up to N (or on to the next journaled step), checking every journaled step's weights
/// hash. Then, optionally, look into step N: its gradients in float64 against the run's precision, analytic
/// against numeric gradients, and its batch, weights and gradients written out as safetensors.
/// </summary>
public static class ReplayCommand
{
    public static int Run(ReplayOptions o)
    {
        var log = Console.Out;
        var run = RunFile.Read(o.Run);
        Threads.Choose(o.Threads > 0 ? o.Threads : run.Threads, run.Config.Batch);
        WarnIfEnvironmentDiffers(run);
        var (train, _) = run.LoadData(Console.Error);
        Inputs.CheckFits(train, run.Config);
        var journal = Journal.Steps(o.Run, Console.Error);
        var skipped = Journal.Skips(o.Run, TextWriter.Null);
        var checkpoint = Checkpoints.NewestValid(o.Run, run, o.Step - 1, Console.Error);
        var coreTrain = Inputs.ToCore(train);
        Trainer trainer;
        if (checkpoint == null && run.Parent is { } parent)
        {
            // A run started --from another: before its own first checkpoint, the chain leads to the parent's.
            if (o.Step <= parent.Step)
            {
                throw new UsageError($"step {o.Step} is the parent run's (this run starts after step {parent.Step}): functional replay {RunFolder.Shown(parent.Run)} --step {o.Step}");
            }
            (trainer, checkpoint) = ParentRun.Start(run, coreTrain);
        }
        else
        {
            trainer = Checkpoints.Restore(run, coreTrain, checkpoint);
        }
        long from = trainer.StepCount;
        int n = train.Count;
        int batch = run.BatchSize(n);
        long last = (long)Api.Data.StepsPerEpoch(n, batch) * run.Epochs;
        if (o.Step > last)
        {
            throw new UsageError($"--step {o.Step} is past the run's last step, {last}");
        }
        long until = journal.Keys.FirstOrDefault(s => s >= o.Step, o.Step);
        log.WriteLine($"replay {o.Run}: from {(checkpoint == null ? "the initial weights (seed)" : RunFolder.Shown(checkpoint.Path))}, steps {from + 1}..{until}");
        if (until > o.Step)
        {
            log.WriteLine(NotJournaled(o.Step, run.JournalEvery, from, until, checkpoint == null));
        }

        bool inspected = true;
        var steps = new StepReplay(run, n, trainer, journal, skipped);
        using var progress = Progress.Start("replay", until, done: from);
        for (long step = from + 1; step <= until; step++)
        {
            progress.Advance(step - 1, $"replay step {step:N0} of {from + 1:N0}..{until:N0}");
            if (step == o.Step)
            {
                var (order, offset, count, epoch) = steps.Batch(step);
                progress.Dispose();
                inspected = Inspect(o, run, coreTrain, trainer, order, offset, count, step, epoch);
            }
            if (steps.Take(step) is { } m)
            {
                progress.Dispose();
                log.WriteLine(Differs(o.Run, run, m, trainer, steps.LastChecked, checkpoint == null ? "the initial weights" : $"the checkpoint of step {from}"));
                return ReturnCode.CheckFailed;
            }
        }
        progress.Dispose();
        log.WriteLine(steps.Checked == 0
            ? $"re-executed steps {from + 1}..{until}; the journal has no line at or after step {o.Step} to check them against"
            : $"reproduced steps {from + 1}..{until} bit for bit at the journaled steps ({steps.Checked} checked, the last at step {steps.LastChecked})");
        return inspected ? ReturnCode.Ok : ReturnCode.CheckFailed;
    }

    /// <summary>Why the replay runs past the step asked for: it starts where weights were saved and goes on to
    /// where the journal can check it.</summary>
    static string NotJournaled(long step, int every, long from, long until, bool fromSeed)
    {
        string start = fromSeed ? "the initial weights" : $"the checkpoint of step {from}";
        string lines = every > 0 ? $" (the journal has a line every {every} steps and at checkpoints)" : "";
        return $"step {step} is not journaled{lines}: replayed {from + 1}..{until}, from {start} on to the next journaled step, {until}, to check them against it";
    }

    /// <summary>Names the first journaled step that differs: the layer whose gradient norm moved most, and the
    /// weights against the next checkpoint when there is one.</summary>
    static string Differs(string dir, RunFile run, StepMismatch m, Trainer trainer, long lastMatch, string start)
    {
        var (step, s, expected) = (m.Step, m.Measured, m.Expected);
        // Only journaled steps were compared: claim nothing about the steps in between.
        string since = lastMatch > 0 ? $"the last journaled match was step {lastMatch}" : $"no journaled step since {start} was compared before it";
        var lines = new List<string> { $"first difference found at journaled step {step}; {since}:" };
        lines.Add(Inv($"  loss {s.Loss:R} vs journal {expected.Loss:R}"));
        for (int l = 0; l < Math.Min(s.GradNorms.Length, expected.GradNorms.Length); l++)
        {
            double a = s.GradNorms[l], b = expected.GradNorms[l];
            if (a != b)
            {
                lines.Add(Inv($"  {Api.Display.LayerName(l)}: gradient norm {a:R} vs journal {b:R}: |Δ| {Api.Display.Small(Math.Abs(a - b))}, relative {Api.Display.Small(Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-300))}"));
            }
        }
        var saved = Checkpoints.List(dir).Where(c => c.step == step).Select(c => c.path).FirstOrDefault();
        if (saved != null)
        {
            var reference = Checkpoints.Read(saved, run).State;
            foreach (var (name, maxAbs, relative) in Compare(trainer.State(), reference).Where(d => d.maxAbs > 0))
            {
                lines.Add(Inv($"  {name}: max |Δ| {Api.Display.Small(maxAbs)}, relative L2 difference {Api.Display.Small(relative)} (against {saved})"));
            }
        }
        return string.Join("\n", lines);
    }

    static IEnumerable<(string name, double maxAbs, double relative)> Compare(NamedArray[] a, NamedArray[] b)
    {
        foreach (var x in a)
        {
            var y = b.FirstOrDefault(t => t.Name == x.Name);
            if (y == null)
            {
                continue;
            }
            double[] u = Values(x), v = Values(y);
            double max = 0, diff = 0, norm = 0;
            for (int i = 0; i < Math.Min(u.Length, v.Length); i++)
            {
                double d = u[i] - v[i];
                max = Math.Max(max, Math.Abs(d));
                diff += d * d;
                norm += v[i] * v[i];
            }
            yield return (x.Name, max, Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-300));
        }
    }

    static double[] Values(NamedArray t) => t.Float32 is { } f ? f.Select(x => (double)x).ToArray() : t.Float64;

    /// <summary>Step N seen from the state before it: drift, gradient check, dump. False when the gradient check
    /// failed (a check that measured nothing, or met a NaN, fails).</summary>
    static bool Inspect(ReplayOptions o, RunFile run, Functional.Data.Images images, Trainer trainer, int[] order, int offset, int count, long step, int epoch)
    {
        var log = Console.Out;
        bool ok = true;
        if (o.Precision is { } p && p.Value.IsFloat64)
        {
            log.WriteLine($"step {step} (epoch {epoch + 1}, examples {offset}..{offset + count - 1} of the epoch): gradients in {trainer.Model.Spec.PrecisionName} against float64");
            log.WriteLine("  layer                relative L2   max |Δ|       cosine");
            foreach (var d in trainer.Drift(order, offset, count))
            {
                log.WriteLine(Inv($"  {Api.Display.LayerName(d.Layer),-19}  {Api.Display.Small(d.RelativeL2),11}  {Api.Display.Small(d.MaxAbs),8}  {d.Cosine,11:F9}"));
            }
        }
        if (o.Gradcheck)
        {
            log.WriteLine($"step {step}: analytic against numeric gradients (float64 central differences, ε = ∛2⁻⁵²·max(1,|θ|)), {o.Params} parameters a layer");
            log.WriteLine("  layer                checked  measured  below noise  kinks  max rel error  mean rel error  signs agree  ‖numeric‖/‖analytic‖  result");
            var layers = trainer.CheckGradients(order, offset, count, o.Params, (int)step);
            foreach (var c in layers)
            {
                log.WriteLine(Inv($"  {Api.Display.LayerName(c.Layer),-19}  {c.Checked,7}  {c.Measured,8}  {c.BelowNoise,11}  {c.Kinks,5}  {GradcheckCommand.Figure(c, c.MaxRelError),13}  {GradcheckCommand.Figure(c, c.MeanRelError),14}  {(c.Measured == 0 ? "–" : Inv($"{c.SignAgreement:P0}")),11}  {(c.Measured == 0 ? "–" : Inv($"{c.NormRatio:F6}")),20}  {(Api.Evaluation.GradCheckPassed(c) ? "PASS" : "FAIL")}  {Api.Evaluation.GradCheckVerdict(c)}"));
            }
            bool pass = layers.All(Api.Evaluation.GradCheckPassed);
            log.WriteLine(GradcheckCommand.Summary(layers, pass).Replace("gradcheck:", $"step {step} gradcheck:", StringComparison.Ordinal));
            if (!pass)
            {
                ok = false;
            }
        }
        if (o.Dump is { } dir)
        {
            StepDump.Write(dir, run, images, trainer, order, offset, count, step, epoch);
            log.WriteLine($"step {step}: wrote batch, before, after, optimizer-before, optimizer-after, activations and grads .safetensors and {StepDump.HyperFile} to {dir}");
        }
        return ok;
    }

    /// <summary>Warns when the machine or code differs from the run's: a replay may then differ in the last bits.</summary>
    public static void WarnIfEnvironmentDiffers(RunFile run)
    {
        string blas = Api.Performance.BlasDescription();
        string BlasName(string d) => d.Split(' ')[0];
        if (BlasName(blas) != BlasName(run.Blas))
        {
            Console.Error.WriteLine($"warning: the run used {run.Blas}; this replay uses {blas}: results may differ in the last bits");
        }
        if (Threads.Current != run.Threads)
        {
            Console.Error.WriteLine($"warning: the run used {run.Threads} BLAS thread(s); this uses {Threads.Current}");
        }
        if (RunFolder.CodeVersion != run.CodeVersion)
        {
            Console.Error.WriteLine($"warning: the run was made by functional {run.CodeVersion}; this is {RunFolder.CodeVersion}");
        }
    }

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
