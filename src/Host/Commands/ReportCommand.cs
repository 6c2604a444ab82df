using Functional.Cli;
using Functional.Host.Report;

namespace Functional.Host.Commands;

/// <summary><c>functional report RUN [RUN …|SWEEP]</c>: one self-contained HTML page, for one run or several.</summary>
public static class ReportCommand
{
    public static int Run(ReportOptions o)
    {
        Runs.RunFiles.CheckNotRunFile(o.Out, "--out");
        Threads.Choose(0, 500);
        string path = o.Out ?? (o.Runs.Length == 1 ? Path.Combine(o.Runs[0], ReportPage.FileName) : ReportPage.FileName);
        Console.Out.WriteLine($"report {ReportPage.Write(o.Runs, path)}");
        return ReturnCode.Ok;
    }
}
