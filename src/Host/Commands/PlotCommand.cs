using Functional.Cli;


namespace Functional.Host.Commands;

/// <summary><c>functional plot RUN</c>: the run's training curves as a PNG.</summary>
public static class PlotCommand
{
    public static int Run(PlotOptions o)
    {
        // Redrawing the run's own curves.png is what plot is for; any other file of a run is not its to write.
        if (o.Out is { } path && Path.GetFullPath(path) != Path.GetFullPath(Path.Combine(o.Run, CurvesPlot.FileName)))
        {
            Runs.RunFiles.CheckNotRunFile(path, "--out");
        }
        Console.Out.WriteLine($"plot  {Plots.Curves(o.Run, o.Out)}");
        return ReturnCode.Ok;
    }
}
