using Functional.Cli;
using Functional.Host.Commands;

namespace Functional.Host;

/// <summary>Entry point: parse the command line, run one command, map every failure to one line and a code.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Terminal.Install();
        if (!Sweeps.ParentDeath.Arm())
        {
            return ReturnCode.Interrupted; // the sweep that started us is gone: nobody would see this run
        }
        try
        {
            // The backend is the host's choice (the core reads no environment); run.json records it.
            if (Environment.GetEnvironmentVariable("FUNCTIONAL_BLAS") == "managed")
            {
                Api.Performance.UseManagedBlas();
            }
            return CommandLine.Parse(args) switch
            {
                Parsed.Help h => PrintHelp(h.text),
                Parsed.NoCommand n => NoCommand(n.text),
                { IsVersion: true } => PrintVersion(),
                Parsed.Invalid i => Fail(i.message, ReturnCode.Usage),
                Parsed.Run r => Dispatch(r.Item, args),
                _ => Fail("unrecognised command line", ReturnCode.Usage),
            };
        }
        catch (DataError e)
        {
            return Fail(e.Message, ReturnCode.BadData);
        }
        catch (UsageError e)
        {
            return Fail(e.Message, ReturnCode.Usage);
        }
        catch (BusyError e)
        {
            return Fail(e.Message, ReturnCode.Busy);
        }
        catch (IOException e)
        {
            return Fail(e.Message, ReturnCode.IoError);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(e.Message, ReturnCode.IoError);
        }
        catch (Exception e)
        {
            string detail = Environment.GetEnvironmentVariable("FUNCTIONAL_DEBUG") == "1"
                ? e.ToString()
                : $"{e.GetType().Name}: {e.Message} (set FUNCTIONAL_DEBUG=1 for the stack trace)";
            return Fail($"internal error, please report it: {detail}", ReturnCode.Internal);
        }
    }

    static int Dispatch(Command command, string[] args)
    {
        ChooseKernels(command);
        return Run(command, args);
    }

    /// <summary>OpenBLAS reads its kernels once, at load: chosen here, before any command multiplies a matrix. A run's
    /// own commands use the kernels it recorded; everything else the ones asked for, by default Haswell.</summary>
    static void ChooseKernels(Command command)
    {
        switch (command)
        {
            case Command.Train t: Kernels.Use(t.Item.Kernels); break;
            case Command.Bench b: Kernels.Use(b.Item.Kernels); break;
            case Command.Resume r: Kernels.ForRun(r.Item.Run, Runs.RunFile.Read(r.Item.Run), other: false, "resume"); break;
            case Command.Replay r: Kernels.ForRun(r.Item.Run, Runs.RunFile.Read(r.Item.Run), r.Item.OtherKernels, "replay"); break;
            case Command.Drift d: Kernels.ForRun(d.Item.Run, Runs.RunFile.Read(d.Item.Run), d.Item.OtherKernels, "drift"); break;
            case Command.Bisect b: Kernels.ForRun(b.Item.Run, Runs.RunFile.Read(b.Item.Run), b.Item.OtherKernels, "bisect"); break;
            case Command.Verify v: Kernels.ForRun(v.Item.Run, Runs.RunFile.Read(v.Item.Run), other: false, "verify"); break;
            default: Kernels.Use(null); break;
        }
    }

    static int Run(Command command, string[] args) => command switch
    {
        Command.Drift d => DriftCommand.Run(d.Item),
        Command.Train { Item.From: not null } t => TrainFromCommand.Run(t.Item, args),
        Command.Train t => TrainCommand.Run(t.Item),
        Command.Eval e => EvalCommand.Run(e.Item),
        Command.Predict p => PredictCommand.Run(p.Item),
        Command.Bench b => BenchCommand.Run(b.Item),
        Command.Resume r => ResumeCommand.Run(r.Item),
        Command.Replay r => ReplayCommand.Run(r.Item),
        Command.Bisect b => BisectCommand.Run(b.Item),
        Command.Verify v => VerifyCommand.Run(v.Item),
        Command.Gradcheck g => GradcheckCommand.Run(g.Item),
        Command.Doctor d => DoctorCommand.Run(d.Item),
        Command.Plot p => PlotCommand.Run(p.Item),
        Command.Show s => ShowCommand.Run(s.Item),
        Command.Sweep s => SweepCommand.Run(s.Item),
        Command.Runs r => RunsCommand.Run(r.Item),
        Command.Compare c => CompareCommand.Run(c.Item),
        Command.Report r => ReportCommand.Run(r.Item),
        Command.Export e => ExportCommand.Run(e.Item),
        Command.Inspect i => InspectCommand.Run(i.Item),
        Command.Import i => ImportCommand.Run(i.Item),
        Command.Attack a => AttackCommand.Run(a.Item),
        Command.LrFind l => LrFindCommand.Run(l.Item),
        _ => Fail("unknown command", ReturnCode.Usage),
    };

    /// <summary>The package version (Host.csproj's <c>Version</c>), without the source revision suffix.</summary>
    public static string Version
    {
        get
        {
            string v = typeof(Program).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
            int plus = v.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? v : v[..plus];
        }
    }

    static int PrintVersion()
    {
        Console.Out.WriteLine($"functional {Version}");
        return ReturnCode.Ok;
    }

    /// <summary>Bare <c>functional</c>: the command list on stderr, and the usage exit code (nothing was run).</summary>
    static int NoCommand(string usage)
    {
        Console.Error.WriteLine(usage);
        return ReturnCode.Usage;
    }

    static int PrintHelp(string text)
    {
        Console.Out.WriteLine(text.TrimEnd());
        return ReturnCode.Ok;
    }

    /// <summary>Errors are one line: a multi-line message (Argu's usage hint) is joined.</summary>
    static string OneLine(string message) =>
        string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    static int Fail(string message, int code)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"functional: {OneLine(message)}");
        return code;
    }
}
