using System.Diagnostics;

namespace Functional.Host.Sweeps;

/// <summary>
/// Starting this same <c>functional</c> again as a child process: the apphost when we run as one, else
/// <c>dotnet functional.dll</c> with the very dotnet that runs us (so the child is the same build, whatever the PATH).
/// </summary>
public static class SelfCommand
{
    /// <summary>The program and the arguments that come before a command's own.</summary>
    public static (string Program, string[] Prefix) Get()
    {
        string dll = typeof(SelfCommand).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process == null || string.Equals(Path.GetFileNameWithoutExtension(process), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return (process ?? "dotnet", [dll]);
        }
        return (process, []);
    }

    /// <summary>A start info for <c>functional ARGS</c>, output redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var (program, prefix) = Get();
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in prefix.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    /// <summary>The command line as a POSIX shell reads it (for sbatch scripts and messages).</summary>
    public static string Shell(IEnumerable<string> words) => string.Join(" ", words.Select(Quote));

    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>Asks a child to stop as Ctrl+C would (SIGTERM: train writes a checkpoint and exits).</summary>
    public static void Terminate(Process p)
    {
        try
        {
            if (p.HasExited)
            {
                return;
            }
            if (OperatingSystem.IsWindows())
            {
                p.Kill();
                return;
            }
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // gone already, or no kill command: nothing to stop
        }
    }
}
