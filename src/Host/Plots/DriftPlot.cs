using ScottPlot;

namespace Functional.Host;

/// <summary>drift.png: per layer, log10 of ‖W32 − W64‖/‖W64‖ against the step with the bound rounding explains
/// (4·t·2⁻²⁴); below it, the gradients' relative difference and the test agreement.</summary>
public static class DriftPlot
{
    public const int Width = 1000, Height = 900;

    public static string Write(string path, Trajectory.Report r, string title)
    {
        var panels = Panels(r, title);
        Png.Write(path, Width, Height, canvas => Png.Grid(canvas, Width, Height, 1, 0, panels));
        return path;
    }

    /// <summary>The three panels, top to bottom, each with both axes titled.</summary>
    public static Plot[] Panels(Trajectory.Report r, string title)
    {
        double[] steps = [.. r.Samples.Select(s => (double)s.Step)];
        int[] layers = [.. r.Samples[0].Layers.Select(d => d.Layer)];

        var weights = new Plot();
        weights.Title(title, 14);
        weights.XLabel("step", 12);
        weights.YLabel("‖W32 − W64‖ / ‖W64‖ (log10)", 12);
        var gradients = new Plot();
        gradients.XLabel("step", 12);
        gradients.YLabel("‖g32 − g64‖ / ‖g64‖ (log10)", 12);
        for (int i = 0; i < layers.Length; i++)
        {
            Line(weights, steps, r.Samples.Select(s => s.Layers[i].WeightRel), Api.Display.LayerName(layers[i]));
            Line(gradients, steps, r.Samples.Select(s => s.Layers[i].GradRel), Api.Display.LayerName(layers[i]));
        }
        var bound = Line(weights, steps, r.Samples.Select(s => Api.Evaluation.DriftBound(s.T)), "rounding bound 4·t·2⁻²⁴");
        bound.Color = Colors.Black;
        bound.LinePattern = LinePattern.Dashed;
        if (r.FirstBeyondStep >= 0)
        {
            var v = weights.Add.VerticalLine(r.FirstBeyondStep);
            v.Color = Colors.DarkRed;
            v.LegendText = $"beyond rounding from step {r.FirstBeyondStep} ({Api.Display.LayerName(r.FirstBeyondLayer)})";
        }
        weights.ShowLegend(Alignment.LowerRight);
        gradients.ShowLegend(Alignment.LowerRight);

        var agreement = new Plot();
        agreement.XLabel("step", 12);
        agreement.YLabel("test images where the two agree (%)", 12);
        var a = agreement.Add.ScatterLine(steps, r.Samples.Select(s => 100 * s.Agreement).ToArray());
        a.LegendText = "agreement";
        return [weights, gradients, agreement];
    }

    static ScottPlot.Plottables.Scatter Line(Plot p, double[] steps, IEnumerable<double> values, string label)
    {
        // log10 of 0 (identical weights at the split) has no place on a log axis: leave those points out.
        var pts = steps.Zip(values).Where(x => x.Second > 0 && double.IsFinite(x.Second)).ToArray();
        var line = p.Add.ScatterLine(pts.Select(x => x.First).ToArray(), pts.Select(x => Math.Log10(x.Second)).ToArray());
        line.LegendText = label;
        line.MarkerSize = pts.Length <= 30 ? 5 : 0;
        return line;
    }
}
