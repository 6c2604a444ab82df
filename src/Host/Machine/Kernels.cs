using System.Runtime.InteropServices;
using Functional.Host.Runs;

namespace Functional.Host;

/// <summary>
/// Which OpenBLAS kernels multiply matrices. OpenBLAS picks them per CPU at load, and different kernels round
/// differently (Haswell's and Cooperlake's split a run at epoch 9), so a run names its kernels and every replay
/// uses the same ones. The default, Haswell, runs on every AVX2 CPU, so a default run prints the same figures on
/// every such machine. OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads: this must run before the
/// first matrix product, and through libc's setenv (.NET's own environment does not reach native getenv).
/// </summary>
public static class Kernels
{
    /// <summary>The default: OpenBLAS's Haswell kernels need only AVX2 and FMA.</summary>
    public const string Default = "Haswell";

    /// <summary>"auto": OpenBLAS's own choice for this CPU (fastest here, not reproducible elsewhere).</summary>
    public const string Auto = "auto";

    /// <summary>The x86-64 kernel families a run may name, with the /proc/cpuinfo flags each needs.</summary>
    static readonly (string name, string[] flags)[] Known =
    [
        ("Prescott", ["pni"]),
        ("Core2", ["ssse3"]),
        ("Nehalem", ["sse4_2"]),
        ("Sandybridge", ["avx"]),
        ("Haswell", ["avx2", "fma"]),
        ("Zen", ["avx2", "fma"]),
        ("SkylakeX", ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]),
        ("Cooperlake", ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512_bf16"]),
        ("SapphireRapids", ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512_bf16", "amx_tile", "amx_bf16"]),
    ];

    /// <summary>What was asked for ("Haswell", "auto", ...), once <see cref="Use"/> ran.</summary>
    public static string Requested { get; private set; } = Default;

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "unsetenv")]
    static extern int UnsetEnv(string name);

    /// <summary>The canonical name of a kernel family ("haswell" → "Haswell"), or null when unknown.</summary>
    public static string? Canonical(string name) =>
        name.Equals(Auto, StringComparison.OrdinalIgnoreCase) ? Auto
            : Known.Where(k => k.name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(k => k.name).FirstOrDefault();

    /// <summary>The flags kernels <paramref name="name"/> need that <paramref name="cpuFlags"/> lacks (empty: it can run
    /// them); null when the family is unknown.</summary>
    public static string[]? Missing(string name, IReadOnlySet<string> cpuFlags) =>
        Known.Where(k => k.name.Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(k => k.flags.Where(f => !cpuFlags.Contains(f)).ToArray()).FirstOrDefault();

    /// <summary>This CPU's flags (empty off Linux: then nothing can be checked and nothing is refused).</summary>
    public static IReadOnlySet<string> CpuFlags() => CpuInfo("flags") is { } f
        ? f.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet()
        : new HashSet<string>();

    /// <summary>The CPU's model name ("AMD EPYC 9654 96-Core Processor"), or "unknown".</summary>
    public static string CpuModel() => CpuInfo("model name") ?? "unknown";

    static string? CpuInfo(string key)
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .Where(l => l.StartsWith(key, StringComparison.Ordinal) && l.Contains(':', StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()).FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Chooses the kernels for this process (<paramref name="requested"/>: a family, "auto", or null for the
    /// default), refusing in one line a family this CPU cannot run or this OpenBLAS does not have.</summary>
    public static void Use(string? requested, string option = "--kernels")
    {
        string name = Canonical(requested ?? Default)
            ?? throw new UsageError($"{option} {requested}: unknown kernels; expected auto or one of {string.Join(", ", Known.Select(k => k.name))}");
        if (Missing(name, CpuFlags()) is { Length: > 0 } missing)
        {
            throw new UsageError($"{option} {name}: this CPU ({CpuModel()}) cannot run OpenBLAS's {name} kernels: it lacks {string.Join(", ", missing)}");
        }
        Load(name);
        if (Problem(name) is { } p)
        {
            throw new UsageError($"{option} {name}: {p}");
        }
    }

    /// <summary>Chooses the kernels a run recorded (for replay, resume, drift). Where this CPU cannot run them, or this
    /// OpenBLAS lacks them, refuses in one line naming what differs, unless <paramref name="other"/> (then this
    /// machine's own choice, with a warning that the steps may differ in the last bits).</summary>
    public static void ForRun(string dir, RunFile run, bool other, string command)
    {
        string hint = command switch
        {
            "resume" => "resume it where they run, or replay it with --other-kernels (the steps may then differ in the last bits)",
            // verify certifies the run's own arithmetic: with other kernels there is nothing to certify.
            "verify" => "verify it on a machine that runs them (replay --other-kernels shows what this one's own kernels do)",
            _ => "--other-kernels runs with this machine's own kernels (the steps may then differ in the last bits)",
        };
        string? recorded = run.BlasCore;
        if (recorded == null || run.Backend == "managed")
        {
            return; // an older run (or the managed provider): nothing to match; the replay's own warnings say so
        }
        string path = Path.Combine(dir, RunFile.FileName);
        string? why = Canonical(recorded) == null ? $"this functional does not know the kernels '{recorded}'"
            : Missing(recorded, CpuFlags()) is { Length: > 0 } missing
                ? $"this CPU ({CpuModel()}) lacks {string.Join(", ", missing)}, which OpenBLAS's {recorded} kernels need (the run's CPU: {run.Cpu ?? "unknown"})"
                : null;
        if (why == null)
        {
            Load(recorded);
            why = Problem(recorded);
            if (why != null && !other)
            {
                throw new UsageError($"{path}: the run used OpenBLAS's {recorded} kernels, but {why}; {hint}");
            }
        }
        else if (!other)
        {
            throw new UsageError($"{path}: the run used OpenBLAS's {recorded} kernels, but {why}; {hint}");
        }
        else
        {
            Load(Auto);
        }
        if (why != null)
        {
            Console.Error.WriteLine($"warning: the run used OpenBLAS's {recorded} kernels; this uses {Api.Performance.BlasCore()} (--other-kernels): steps may differ in the last bits");
        }
    }

    /// <summary>The kernels this process loaded OpenBLAS with, once <see cref="Load"/> ran.</summary>
    static string? loaded;

    static void Load(string name)
    {
        // OpenBLAS reads the variable once: a second choice (a script that chose the default, then opens a run of
        // other kernels) would go unheard and the steps would round differently, so it is refused.
        if (loaded != null && !loaded.Equals(name, StringComparison.OrdinalIgnoreCase) && !Api.Performance.BlasCore().Equals(name, StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageError($"OpenBLAS is already loaded in this process with its {Api.Performance.BlasCore()} kernels, and it reads its kernels only when it loads; {name} must be chosen before the first matrix product (in a script: read the run and call Kernels.ForRun first, as scripts/replay.fsx does)");
        }
        loaded = name;
        Requested = name;
        // Before the library loads; a no-op for the managed provider, which reads nothing.
        _ = name == Auto ? UnsetEnv("OPENBLAS_CORETYPE") : SetEnv("OPENBLAS_CORETYPE", name, 1);
        _ = Api.Performance.BlasDescription(); // loads OpenBLAS now, so that it reads the variable just set
    }

    /// <summary>Null when OpenBLAS runs the kernels asked for (or OpenBLAS is not in use); else what it did instead.</summary>
    static string? Problem(string name)
    {
        string core = Api.Performance.BlasCore();
        return name == Auto || core == "" || core.Equals(name, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"{Api.Performance.BlasBackend()} has no {name} kernels (it chose {core})";
    }
}
