using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functional.Host.Runs;

/// <summary>A training run's folder: run.json (the whole config), model.safetensors, and later journal and checkpoints.</summary>
public static class RunFolder
{
    /// <summary>The folder to use: the one asked for, or runs/&lt;timestamp&gt; (never an existing one).</summary>
    public static string Create(string? requested)
    {
        string dir = requested ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss"));
        if (requested == null)
        {
            string basis = dir;
            for (int k = 2; Directory.Exists(dir); k++)
            {
                dir = $"{basis}-{k}";
            }
        }
        if (File.Exists(dir))
        {
            throw new UsageError($"--run {dir} is a file, not a folder: give a new or empty folder for the run");
        }
        if (Directory.Exists(dir) && !File.Exists(Path.Combine(dir, RunFile.FileName))
            && Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).FirstOrDefault(n => !IsRunEntry(n!)) is { } other)
        {
            // Training writes run.json, checkpoints/ and model files into the folder: a mistyped --run (/, a project
            // folder) would scatter them among someone's files.
            throw new UsageError($"--run {dir} is a folder that holds other files ({other}), not a run: give a new or empty folder");
        }
        MakeFolder(dir);
        return dir;
    }

    /// <summary>Creates the run folder; the runtime's message for a folder it cannot make names neither the folder
    /// nor why ("Could not find file '/proc/self/x'").</summary>
    static void MakeFolder(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string? above = Path.GetDirectoryName(Path.GetFullPath(dir));
            while (above != null && !Path.Exists(above))
            {
                above = Path.GetDirectoryName(above);
            }
            if (above != null && File.Exists(above))
            {
                throw new UsageError($"--run {dir}: {above} is a file, not a folder: give a new or empty folder for the run");
            }
            throw new IOException(e is UnauthorizedAccessException
                ? $"--run {dir}: cannot create the folder: permission denied in {above}"
                : $"--run {dir}: cannot create the folder: {above} does not take new folders (a system or read-only file system)", e);
        }
    }

    /// <summary>What a run folder holds before or without run.json: a lock, a sweep point's log, what a killed run
    /// left, a system's hidden files.</summary>
    static bool IsRunEntry(string name) =>
        name is RunLock.FileName or RunFile.FileName or Journal.FileName or Checkpoints.Folder or ModelFile.FileName
            or KeepBest.FileName or CurvesPlot.FileName or Sweeps.PointRunner.LogName
        || name.StartsWith('.')
        || name.Contains(".tmp-", StringComparison.Ordinal);

    /// <summary>A path as people typed it: relative to the current folder when it lies below it (run.json records
    /// a parent run's absolute path, which would otherwise leak into every message).</summary>
    public static string Shown(string path)
    {
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative.Replace('\\', '/');
    }

    /// <summary>A file's sha256; for an image folder, the sha256 of its listing: each image's path below the folder
    /// and sha256, one per line, so renaming, moving between classes or editing an image changes it.</summary>
    public static string Sha256(string path)
    {
        if (Directory.Exists(path))
        {
            var listing = new System.Text.StringBuilder();
            foreach (var (_, file) in Data.ImageFolder.List(path))
            {
                listing.Append(Path.GetRelativePath(path, file).Replace('\\', '/')).Append(' ').Append(Sha256(file)).Append('\n');
            }
            return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(listing.ToString())));
        }
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    public static string CodeVersion =>
        typeof(RunFolder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static JsonObject FileEntry(string path) => new()
    {
        ["path"] = Path.GetFullPath(path),
        ["sha256"] = Sha256(path),
    };

    public static void WriteJson(string path, JsonNode node)
    {
        string text = node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        AtomicFile.Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
    }
}
