using Functional.Cli;


namespace Functional.Host.Commands;

/// <summary><c>functional plot RUN</c>: the run's training curves as a PNG.</summary>
public static class PlotCommand
{
    public static int Run(PlotOptions o)
    {
        Console.Out.WriteLine($"plot  {Plots.Curves(o.Run, o.Out)}");
        return ReturnCode.Ok;
    }
}
