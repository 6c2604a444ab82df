namespace Functional.Host.Report;

/// <summary>A run's curves as charts: what curves.png draws, per epoch and per journalled step.</summary>
public static class Curves
{
    public static List<SvgChart> PerEpoch(RunHistory h, string prefix)
    {
        double[] xs = [.. h.Epochs.Select(e => (double)e.Epoch)];
        bool validation = h.Epochs.Any(e => double.IsFinite(e.ValidationLoss));
        var (marker, label) = Kept(h);
        var loss = new SvgChart
        {
            Id = prefix + "-loss",
            Title = validation ? "loss per epoch" : "training loss per epoch",
            XLabel = "epoch",
            YLabel = CurvesPlot.EpochLossLabel(h.Reduction),
            Marker = marker,
            MarkerLabel = label,
            NoData = "run.json has no epochs yet",
            Series = [new("training (mean over the epoch's steps)", xs, [.. h.Epochs.Select(e => e.Loss)], 0)],
        };
        if (validation)
        {
            loss.Series.Add(new("validation (after the epoch)", xs, [.. h.Epochs.Select(e => e.ValidationLoss)], 1, Dashed: true));
        }
        var accuracy = new SvgChart
        {
            Id = prefix + "-acc",
            Title = "accuracy per epoch (%)",
            XLabel = "epoch",
            YLabel = "accuracy (%)",
            Marker = marker,
            MarkerLabel = label,
            NoData = "run.json has no epochs yet",
            Series = [new("train", xs, [.. h.Epochs.Select(e => 100 * e.TrainAccuracy)], 0)],
        };
        if (validation || h.Epochs.Any(e => double.IsFinite(e.ValidationAccuracy)))
        {
            accuracy.Series.Add(new("validation", xs, [.. h.Epochs.Select(e => 100 * e.ValidationAccuracy)], 1, Dashed: true));
        }
        if (h.Epochs.Any(e => double.IsFinite(e.TestAccuracy)))
        {
            accuracy.Series.Add(new("test", xs, [.. h.Epochs.Select(e => 100 * e.TestAccuracy)], 2));
        }
        return [loss, accuracy];
    }

    /// <summary>The epoch the model holds, marked when it is not simply the last (as curves.png marks it).</summary>
    static (double?, string?) Kept(RunHistory h) =>
        h.KeptEpoch is int kept && kept > 0
            ? (kept, $"kept: epoch {kept}" + (h.StoppedEarlyAfter is int e ? $" (stopped after {e})" : h.Kept == "best" ? " (best)" : ""))
            : (null, null);

    /// <summary>The step charts; <paramref name="journalUnread"/>: the journal is there but could not be read.</summary>
    public static List<SvgChart> PerStep(RunHistory h, string dir, string prefix, bool journalUnread = false)
    {
        string none = journalUnread ? "journal.jsonl could not be read (see above)"
            : h.HasJournal ? "journal.jsonl has no step lines" : "no journal.jsonl in the run folder";
        double[] xs = [.. h.Steps.Select(s => (double)s.Step)];
        double[] losses = [.. h.Steps.Select(s => s.Loss)];
        var loss = new SvgChart
        {
            Id = prefix + "-loss",
            Title = "loss per step",
            XLabel = "step",
            YLabel = CurvesPlot.StepLossLabel(h.Reduction),
            ReplayRun = dir,
            NoData = none,
            Series = [new("loss", xs, losses, 0, Faint: losses.Length > 30)],
        };
        if (losses.Length > 30)
        {
            loss.Series.Add(new("smoothed (EMA)", xs, CurvesPlot.Smoothed(losses), 0));
        }
        var charts = new List<SvgChart> { loss };
        var lr = h.Steps.Where(s => double.IsFinite(s.Lr)).ToArray();
        charts.Add(new SvgChart
        {
            Id = prefix + "-lr",
            Title = "learning rate per step",
            XLabel = "step",
            YLabel = "learning rate",
            ReplayRun = dir,
            NoData = h.Steps.Count == 0 ? none : "the journal records no learning rate",
            Series = lr.Length == 0 ? [] : [new("learning rate", [.. lr.Select(s => (double)s.Step)], [.. lr.Select(s => s.Lr)], 1)],
        });
        charts.Add(PerLayer(h, prefix + "-grad", "gradient norm per layer", s => s.GradNorms, dir, none));
        charts.Add(PerLayer(h, prefix + "-upd", "update / weight ratio per layer", s => s.UpdateRatios, dir, none));
        var units = CurvesPlot.Units(h);
        charts.Add(new SvgChart
        {
            Id = prefix + "-units",
            Title = "saturated (sigmoid/tanh) or dead (ReLU) units per layer",
            XLabel = "step",
            YLabel = "fraction of units",
            ReplayRun = dir,
            NoData = h.Steps.Count == 0 ? none : units.Notes.Count > 0 ? string.Join("; ", units.Notes) : "the journal has no \"saturation\" or \"dead\" field",
            Series = [.. units.Series.Select((u, i) => new Series(u.Label, u.Steps, u.Fractions, i))],
        });
        return charts;
    }

    static SvgChart PerLayer(RunHistory h, string id, string title, Func<StepPoint, double[]> values, string dir, string none)
    {
        int layers = h.Steps.Count == 0 ? 0 : h.Steps.Max(s => values(s).Length);
        var series = new List<Series>();
        for (int l = 0; l < layers; l++)
        {
            var points = h.Steps.Where(s => values(s).Length > l && values(s)[l] > 0 && double.IsFinite(values(s)[l])).ToArray();
            if (points.Length > 0)
            {
                // A layer without parameters (pooling, flattening) has nothing to draw.
                series.Add(new(Api.Display.LayerName(l), [.. points.Select(s => (double)s.Step)], [.. points.Select(s => values(s)[l])], series.Count));
            }
        }
        return new SvgChart
        {
            Id = id,
            Title = title,
            XLabel = "step",
            YLabel = title.Split(' ')[0] == "gradient" ? "gradient norm" : "update / weight",
            ReplayRun = dir,
            StartLog = true,
            NoData = h.Steps.Count == 0 ? none : "the journal's step lines have no such field",
            Series = series,
        };
    }
}
