namespace Functional.Host.Report;

/// <summary>A path in a command the page offers to copy: quoted for a POSIX shell when it needs to be.</summary>
public static class Shell
{
    public static string Quote(string path) =>
        path.Length > 0 && path.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:@,".Contains(c))
            ? path
            : "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
