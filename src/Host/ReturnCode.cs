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

    /// <summary>An input file is missing, malformed or does not fit the network.</summary>
    public const int BadData = 3;

    /// <summary>Writing failed (disk full, permission denied).</summary>
    public const int IoError = 4;

    /// <summary>Interrupted by the user.</summary>
    public const int Interrupted = 130;

    /// <summary>A bug in functional itself.</summary>
    public const int Internal = 70;
}

/// <summary>A mistake in what the user asked for; reported as one line with exit code 2.</summary>
public sealed class UsageError(string message) : Exception(message);
