using System.Buffers.Binary;

namespace Functional.Host.Data;

/// <summary>Why a PNG that SkiaSharp cannot decode is broken, from its chunks: SkiaSharp says "incomplete input" for
/// a bad checksum or an impossible bit depth as much as for a file cut short.</summary>
public static class PngCheck
{
    /// <summary>The first broken rule of <paramref name="path"/>'s chunk structure, or null when none is found.</summary>
    public static string? Problem(string path)
    {
        using var file = FileInput.Open(path, bufferSize: 1 << 16);
        Span<byte> head = stackalloc byte[8];
        if (file.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8 || !head.SequenceEqual(Signature))
        {
            return null;
        }
        var data = new byte[1 << 16];
        for (long at = 8; ;)
        {
            if (file.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8)
            {
                return $"truncated: the file ends at byte {file.Position} before its IEND chunk";
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
            string type = System.Text.Encoding.ASCII.GetString(head[4..8]);
            if (length > int.MaxValue)
            {
                return $"corrupt: chunk '{type}' at byte {at} claims {length:N0} bytes";
            }
            if (at + 12 + length > file.Length)
            {
                return $"truncated: chunk '{type}' at byte {at} claims {length:N0} bytes, {Math.Max(0, file.Length - at - 12):N0} are left";
            }
            uint crc = Update(0xFFFFFFFFu, head[4..8]);
            byte[]? ihdr = type == "IHDR" ? new byte[Math.Min(length, 13u)] : null;
            for (long left = length; left > 0;)
            {
                int n = file.Read(data, 0, (int)Math.Min(left, data.Length));
                if (ihdr != null && left == length)
                {
                    data.AsSpan(0, Math.Min(n, ihdr.Length)).CopyTo(ihdr);
                }
                crc = Update(crc, data.AsSpan(0, n));
                left -= n;
            }
            file.ReadExactly(head[..4]);
            if ((crc ^ 0xFFFFFFFFu) != BinaryPrimitives.ReadUInt32BigEndian(head))
            {
                return $"corrupt: chunk '{type}' at byte {at} fails its CRC checksum";
            }
            if (ihdr is { Length: 13 } && BitDepthProblem(ihdr[8], ihdr[9]) is { } bad)
            {
                return bad;
            }
            if (type == "IEND")
            {
                return null;
            }
            at += 12 + length;
        }
    }

    static string? BitDepthProblem(byte depth, byte colour)
    {
        byte[]? allowed = colour switch
        {
            0 => [1, 2, 4, 8, 16],
            3 => [1, 2, 4, 8],
            2 or 4 or 6 => [8, 16],
            _ => null,
        };
        return allowed is null ? $"corrupt: IHDR colour type {colour} is not one PNG defines (0, 2, 3, 4 or 6)"
            : !allowed.Contains(depth) ? $"corrupt: IHDR bit depth {depth} is not valid for colour type {colour} (allowed: {string.Join(", ", allowed)})"
            : null;
    }

    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    static readonly uint[] Table = MakeTable();

    static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }

    static uint Update(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }
}
