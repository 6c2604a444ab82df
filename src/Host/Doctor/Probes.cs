namespace Functional.Host.Doctor;

/// <summary>The training the doctor does to measure a configuration: a short run, an overfit test, a rate sweep.</summary>
public static class Probes
{
    /// <summary>A short run is the configured run, stopped after max(1 epoch, this many updates).</summary>
    public const int ShortRunUpdates = 300;

    /// <summary>Examples the overfit test must learn, and the steps it has to do it.</summary>
    public const int OverfitExamples = 32;

    public const int OverfitSteps = 3000;

    /// <summary>Updates per rate in the learning-rate sweep, and the examples a rate may cost at most
    /// (large full batches take fewer updates, never fewer than 20).</summary>
    public const int SweepSteps = 300, SweepExamples = 30_000;

    public static int SweepStepsAt(int batch) => Math.Clamp(SweepExamples / Math.Max(batch, 1), 20, SweepSteps);

    /// <summary>Examples the health figures and losses are measured on.</summary>
    public const int HealthExamples = 256;

    public const int LossExamples = 1000;

    public sealed record ShortRun(
        Diagnostics.LayerHealth[] HealthAtInit,
        Step.StepReport StepAtInit,
        Diagnostics.LayerHealth[] HealthAfter,
        Step.StepReport StepAfter,
        Diagnostics.PredictionSummary Real,
        Diagnostics.PredictionSummary Zeroed,
        long Updates,
        long DivergedAt,
        Diagnostics.LayerSample[] ValuesAfter,
        Diagnostics.ThroughTime[] TimeAtInit,
        (long Update, Diagnostics.ThroughTime[] Layers) TimeWorst,
        (long Update, Diagnostics.ThroughTime[] Layers) TimeLast);

    /// <summary>Updates between measurements of the gradient through time during the short run.</summary>
    public const int ThroughTimeEvery = 25;

    /// <summary>The larger growth of the gradient through time, backwards (‖∂L/∂h_1‖/‖∂L/∂h_T‖), over the layers; +∞ when not finite.</summary>
    public static double Growth(Diagnostics.ThroughTime[] layers) =>
        layers.Length == 0 ? 0 : layers.Max(t => double.IsFinite(t.FirstOverLast) ? t.FirstOverLast : double.PositiveInfinity);

    public static ShortRun Short(Subject s)
    {
        var probe = Api.Evaluation.CreateProbe(s.Config, s.Start);
        int[] sample = s.Sample(HealthExamples);
        var atInit = probe.Health(s.TrainCore, sample);
        var timeAtInit = probe.ThroughTime(s.TrainCore, sample);
        var timeWorst = (Update: 0L, Layers: timeAtInit);
        var timeLast = timeWorst;
        long limit = Math.Min(s.TotalUpdates, Math.Max(s.UpdatesPerEpoch, ShortRunUpdates));
        Step.StepReport first = default, last = default;
        long k = 0, diverged = -1;
        foreach (var (order, offset, count) in Subject.Schedule(s.Config.Seed, s.Train.Count, s.Batch))
        {
            var r = probe.Step(s.TrainCore, order, offset, count, k == 0 || k == limit - 1);
            if (k == 0)
            {
                first = r;
            }
            last = r;
            k++;
            if (timeAtInit.Length > 0 && k % ThroughTimeEvery == 0)
            {
                // The worst moment, not the end: a run that explodes ends in NaN, which says nothing of the way there.
                var t = probe.ThroughTime(s.TrainCore, sample);
                if (double.IsFinite(Growth(t)))
                {
                    timeLast = (k, t);
                }
                if (Growth(t) > Growth(timeWorst.Layers) && double.IsFinite(Growth(timeWorst.Layers)))
                {
                    timeWorst = (k, t);
                }
            }
            if (!double.IsFinite(r.Loss))
            {
                diverged = k;
                break;
            }
            if (k >= limit)
            {
                break;
            }
        }
        return new ShortRun(
            atInit, first, probe.Health(s.TrainCore, sample), last,
            probe.Predict(s.TestCore, false), probe.Predict(s.TestCore, true), k, diverged,
            probe.Values(s.TrainCore, sample), timeAtInit, timeWorst, timeLast);
    }

    /// <summary>Trains on the first 32 examples with the configured optimiser and batch (capped at 32) until it
    /// classifies all of them, or the step bound is reached. Returns (reached, steps, best accuracy).</summary>
    public static (bool Reached, long Steps, double Best) Overfit(Subject s)
    {
        var few = Inputs.ToCore(Subset.First(s.Train, OverfitExamples));
        int batch = Math.Min(s.Batch, few.Count);
        var probe = Api.Evaluation.CreateProbe(s.Config, s.Start);
        double best = 0;
        long steps = 0;
        for (int pass = 0; steps < OverfitSteps; pass++)
        {
            int[] order = Api.Data.Permutation(s.Config.Seed, pass, few.Count);
            for (int offset = 0; offset < few.Count && steps < OverfitSteps; offset += batch)
            {
                double loss = probe.Step(few, order, offset, Math.Min(batch, few.Count - offset), false).Loss;
                steps++;
                if (!double.IsFinite(loss))
                {
                    return (false, steps, best);
                }
            }
            best = Math.Max(best, probe.Predict(few, false).Accuracy);
            if (best >= 1.0)
            {
                return (true, steps, best);
            }
        }
        return (false, steps, best);
    }

    /// <summary>The rates a sweep tries for this optimiser.</summary>
    public static double[] SweepRates(Optim.OptimizerSpec optimizer) => optimizer.IsAdam
        ? [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
        : [0.01, 0.03, 0.1, 0.3, 1.0];

    /// <summary>Mean training loss per example after <paramref name="steps"/> updates at this rate (+∞ if it diverged).</summary>
    public static double SweepLoss(Subject s, Config config, int batch, int steps)
    {
        var probe = Api.Evaluation.CreateProbe(config, s.Start);
        long k = 0;
        foreach (var (order, offset, count) in Subject.Schedule(s.Config.Seed, s.Train.Count, batch))
        {
            if (!double.IsFinite(probe.Step(s.TrainCore, order, offset, count, false).Loss))
            {
                return double.PositiveInfinity;
            }
            if (++k >= steps)
            {
                break;
            }
        }
        double loss = probe.Loss(s.TrainCore, s.Sample(LossExamples));
        return double.IsFinite(loss) ? loss : double.PositiveInfinity;
    }
}
