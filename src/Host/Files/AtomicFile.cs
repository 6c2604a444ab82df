using System.Security.Cryptography;

namespace Functional.Host;

/// <summary>Writes files so that a reader never sees a half-written file under the real name.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Creates the parent folder, lets <paramref name="write"/> fill a temporary file in the same folder
    /// (<c>path + ".tmp-PID-RANDOM"</c>), flushes it to disk and renames it over <paramref name="path"/>.
    /// On any failure the temporary file is deleted and the previous content of <paramref name="path"/> is intact.
    /// A symbolic link is followed: its final target is replaced (atomically, beside it) and the link kept. A
    /// device, FIFO or socket (<c>/dev/null</c>, <c>/dev/stdout</c>) is written into directly, as a shell's
    /// <c>&gt;</c> does: renaming over it would replace the device by a plain file.
    /// I/O failures (disk full, file too large, access denied) become an <see cref="IOException"/> whose one-line
    /// message names the file (exit code 4, <c>ReturnCode.IoError</c>); exceptions thrown by
    /// <paramref name="write"/> itself are rethrown unchanged.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full;
        try
        {
            full = Target(Path.GetFullPath(path));
        }
        catch (IOException e)
        {
            throw Failure(path, e, "nothing was written");
        }
        if (FileKind.IsSpecial(full))
        {
            WriteInto(path, full, write);
            return;
        }
        string? dir = Path.GetDirectoryName(full);
        string temp = $"{full}.tmp-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        try
        {
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (IsWriteFailure(e))
            {
                throw Failure(path, e, "the previous file, if any, is intact");
            }
            throw;
        }
    }

    /// <summary>Where a write of <paramref name="full"/> lands: the final target of a link (a chain of links
    /// followed; a loop is an IOException), else the path itself.</summary>
    public static string Target(string full) =>
        new FileInfo(full) is { LinkTarget: not null } link && link.ResolveLinkTarget(returnFinalTarget: true) is { } target
            ? target.FullName
            : full;

    /// <summary>Writes straight into a device or FIFO: there is no previous content to keep.</summary>
    static void WriteInto(string path, string device, Action<Stream> write)
    {
        try
        {
            using var stream = new FileStream(device, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16);
            write(stream);
            stream.Flush();
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            throw Failure(path, e, "a device, written directly");
        }
    }

    // A file over RLIMIT_FSIZE (EFBIG) surfaces from FileStream as ArgumentOutOfRangeException("value").
    static bool IsWriteFailure(Exception e) =>
        e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException { ParamName: "value" };

    /// <summary>The one-line IOException for a failed write of <paramref name="path"/>. A full disk is said in
    /// words: the runtime's message names our temporary file, not the one the user asked for.</summary>
    public static IOException Failure(string path, Exception e, string consequence)
    {
        ArgumentNullException.ThrowIfNull(e);
        return IsDiskFull(e)
            ? new IOException($"{path}: cannot write: no space left on the device ({consequence})", e)
            : new IOException($"{path}: cannot write ({consequence}): {OneLine(e.Message)}", e);
    }

    /// <summary>ENOSPC on Linux and macOS (the runtime's HResult is the errno there); ERROR_HANDLE_DISK_FULL and
    /// ERROR_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception e) =>
        e is IOException { HResult: 28 or unchecked((int)0x80070027) or unchecked((int)0x80070070) };

    static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original exception matters more.
        }
    }
}
