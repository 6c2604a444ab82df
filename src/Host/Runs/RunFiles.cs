namespace Functional.Host.Runs;

/// <summary>The files a run is made of, which no other command may write over.</summary>
public static class RunFiles
{
    /// <summary>True when <paramref name="path"/> (links followed) is one of a run folder's own files: run.json,
    /// the journal, the lock, the model files, the curves, or a checkpoint. Other files beside them (an exported
    /// model.onnx) are the user's.</summary>
    public static bool Holds(string path)
    {
        if (Resolved(path) is not { } full)
        {
            return false;
        }
        string name = Path.GetFileName(full);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null)
        {
            return false;
        }
        bool IsRun(string folder) => File.Exists(Path.Combine(folder, RunFile.FileName));
        if (Path.GetFileName(dir) == Checkpoints.Folder && Path.GetDirectoryName(dir) is { } run && IsRun(run))
        {
            return true;
        }
        return IsRun(dir) && name is RunFile.FileName or Journal.FileName or RunLock.FileName or ModelFile.FileName
            or KeepBest.FileName or CurvesPlot.FileName;
    }

    /// <summary>Where a write of <paramref name="path"/> lands (links followed); null for a link that loops, which
    /// the writer reports.</summary>
    static string? Resolved(string path)
    {
        try
        {
            return AtomicFile.Target(Path.GetFullPath(path));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Refuses an output a user gave (<c>--out</c>, <c>--png</c>, ...) that is one of a run's own files,
    /// links followed: every command that writes a picture, table or page checks its option here before any work.
    /// Null (the option not given) passes.</summary>
    public static void CheckNotRunFile(string? path, string option)
    {
        if (path is not null && Holds(path))
        {
            throw new UsageError($"{option} {path} is a file of a run: give another file (a run's own files are never written over)");
        }
    }

    /// <summary>Refuses to write <paramref name="path"/> when it is a run's file (whatever <paramref name="force"/>
    /// says), or an existing file without <paramref name="force"/>. A device (/dev/null) is written into, never
    /// replaced, so it is never refused.</summary>
    public static void CheckOutput(string path, string option, bool force)
    {
        CheckNotRunFile(path, option);
        if (!force && Resolved(path) is { } target && File.Exists(target) && !FileKind.IsSpecial(target))
        {
            throw new UsageError($"{option} {path} exists: give --force to replace it, or another file");
        }
    }
}
