using System.Runtime.InteropServices;

namespace Functional.Host;

/// <summary>What a path is on disk, beyond what <see cref="FileInfo"/> tells: .NET calls a device "Normal".</summary>
public static class FileKind
{
    /// <summary>True when <paramref name="path"/> (links followed) exists and is a character or block device, a
    /// FIFO or a socket: something to write into, never to rename over (rename would turn /dev/null into a file).
    /// Linux only (statx); elsewhere false, and writers rename as before.</summary>
    public static bool IsSpecial(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            // struct statx is the same on every Linux architecture; stx_mode is the u16 at byte 28.
            var buffer = new byte[256];
            if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0)
            {
                return false;
            }
            int type = BitConverter.ToUInt16(buffer, 28) & 0xF000;
            return type is 0x2000 or 0x6000 or 0x1000 or 0xC000; // S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    const int AtFdCwd = -100;
    const uint StatxType = 1;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
