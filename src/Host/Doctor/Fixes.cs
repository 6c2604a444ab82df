using Functional.Cli;

namespace Functional.Host.Doctor;

/// <summary>
/// The train options the doctor's findings change, as command-line flags; applied by rewriting the command
/// line and parsing it again, so the printed command is exactly the configuration that was checked.
/// </summary>
public sealed class Fixes
{
    readonly List<(string Flag, string Value)> overrides = [];

    static readonly HashSet<string> Switches = ["--no-bias", "--quiet"];

    public bool Any => overrides.Count > 0;

    public void Set(string flag, string value)
    {
        overrides.RemoveAll(f => f.Flag == flag);
        overrides.Add((flag, value));
    }

    public bool Has(string flag) => overrides.Exists(f => f.Flag == flag);

    /// <summary>The overrides as flags, in the order they were found.</summary>
    public string Flags => string.Join(" ", overrides.Select(f => $"{f.Flag} {f.Value}"));

    /// <summary>The options with every override applied.</summary>
    public TrainOptions Apply(TrainOptions o)
    {
        string[] argv = Argv.Train(o);
        var kept = new List<string> { "train" };
        for (int i = 0; i < argv.Length; i++)
        {
            bool hasValue = argv[i].StartsWith("--", StringComparison.Ordinal) && !Switches.Contains(argv[i]);
            if (!Has(argv[i]))
            {
                kept.Add(argv[i]);
                if (hasValue)
                {
                    kept.Add(argv[i + 1]);
                }
            }
            if (hasValue)
            {
                i++;
            }
        }
        foreach (var (flag, value) in overrides)
        {
            kept.Add(flag);
            kept.Add(value);
        }
        return CommandLine.Parse([.. kept]) switch
        {
            Parsed.Run { Item: Command.Train t } => t.Item,
            Parsed.Invalid i => throw new InvalidOperationException($"the doctor's fixed command line does not parse: {i.message}"),
            _ => throw new InvalidOperationException("the doctor's fixed command line does not parse"),
        };
    }

    /// <summary><c>functional train …</c> for these options, quoted for a POSIX shell where needed.</summary>
    public static string Command(TrainOptions o, bool withRun = false)
    {
        var args = Argv.Train(o).ToList();
        int run = args.IndexOf("--run");
        if (!withRun && run >= 0)
        {
            args.RemoveRange(run, 2);
        }
        return "functional train " + string.Join(" ", args.Select(a =>
            a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_.,/:=+".Contains(c)) ? a : $"'{a.Replace("'", "'\\''")}'"));
    }
}
