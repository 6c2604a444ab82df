using System.Globalization;
using System.Runtime.InteropServices;

namespace Functional.Host.Sweeps;

/// <summary>
/// A sweep's child dies with its sweep. Ctrl+C and SIGTERM reach the children through the sweep, but a sweep killed
/// with SIGKILL (or by the OOM killer) cannot pass anything on: its children would go on training, unseen, holding
/// their run locks and the cores. So the sweep names itself in <see cref="Variable"/>, and the child asks Linux
/// (prctl PR_SET_PDEATHSIG) for a SIGTERM when its parent goes: it then checkpoints and stops as on Ctrl+C, and
/// running the sweep again resumes it.
/// </summary>
public static class ParentDeath
{
    /// <summary>The sweep's process id, set in each child's environment.</summary>
    public const string Variable = "FUNCTIONAL_SWEEP_PID";

    const int PrSetPdeathsig = 1;
    const int Sigterm = 15;

    /// <summary>In a sweep's child: asks for SIGTERM when the sweep dies; false when it is dead already (the child
    /// should not start). Elsewhere, or on systems without prctl, does nothing and returns true.</summary>
    public static bool Arm()
    {
        string? text = Environment.GetEnvironmentVariable(Variable);
        // Not passed on to anything this process starts: its children are not the sweep's.
        Environment.SetEnvironmentVariable(Variable, null);
        if (text is null || !OperatingSystem.IsLinux()
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int sweep))
        {
            return true;
        }
        try
        {
            if (Prctl(PrSetPdeathsig, Sigterm, 0, 0, 0) != 0)
            {
                return true;
            }
            // The signal is only sent for a death after the call: a sweep that died between our start and
            // here has already handed us to another parent.
            return GetParentId() == sweep;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
    }

    [DllImport("libc", EntryPoint = "prctl")]
    static extern int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [DllImport("libc", EntryPoint = "getppid")]
    static extern int GetParentId();
}
