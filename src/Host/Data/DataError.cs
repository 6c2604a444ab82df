namespace Functional.Host;

/// <summary>
/// A problem with an input (or output) file that the user can fix: a missing file, a wrong format,
/// a truncated or corrupt file. Its <see cref="Exception.Message"/> is one line, <c>"PATH: what is wrong"</c>,
/// meant to be printed as is, without a stack trace.
/// </summary>
public sealed class DataError(string path, string message) : Exception(Format(path, message))
{
    /// <summary>The file the problem is about.</summary>
    public string FilePath { get; } = path;

    /// <summary>What is wrong, without the path.</summary>
    public string Reason { get; } = OneLine(message);

    static string Format(string path, string message) => $"{OneLine(path)}: {OneLine(message)}";

    static string OneLine(string text) =>
        text.Contains('\n') || text.Contains('\r')
            ? string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            : text;
}
