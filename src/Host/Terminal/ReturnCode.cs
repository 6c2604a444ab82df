namespace Functional.Host;

/// <summary>The exit codes of <c>functional</c>, in one place.</summary>
public static class ReturnCode
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command ran but its check failed (a gradient check, a doctor finding).</summary>
    public const int CheckFailed = 1;

    /// <summary>The command line is wrong: unknown option, bad value, impossible configuration.</summary>
    public const int Usage = 2;

    /// <summary>An input file is missing, malformed or does not fit the network (IDX, CSV, safetensors, run.json,
    /// journal.jsonl): one line names the file and the rule it breaks, and nothing is written.</summary>
    public const int BadData = 3;

    /// <summary>Writing failed (disk full, file too large, permission denied); the previous file is intact.</summary>
    public const int IoError = 4;

    /// <summary>Training stopped because the loss, a weight or a gradient became NaN or infinite; the last
    /// good checkpoint is kept and nothing of the bad state is written.</summary>
    public const int Diverged = 5;

    /// <summary>The run folder is in use: another live <c>functional</c> process holds its <c>run.lock</c>.</summary>
    public const int Busy = 6;

    /// <summary>Interrupted by the user.</summary>
    public const int Interrupted = 130;

    /// <summary>A bug in functional itself.</summary>
    public const int Internal = 70;
}

/// <summary>A mistake in what the user asked for; reported as one line with exit code 2.</summary>
public sealed class UsageError(string message) : Exception(message);

/// <summary>A run folder held by another live process (exit code 6).</summary>
public sealed class BusyError(string message) : Exception(message);
