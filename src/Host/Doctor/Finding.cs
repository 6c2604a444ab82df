using System.Text.Json.Nodes;

namespace Functional.Host.Doctor;

public enum Status
{
    Pass,
    Warn,
    Fail,
}

/// <summary>
/// One check's outcome: its status, the figure it measured, and for WARN/FAIL the cause and the fix in one
/// sentence each. <see cref="Data"/> carries the raw figures for <c>--json</c>.
/// </summary>
public sealed record Finding(string Check, Status Status, string Figure, string? Cause = null, string? Fix = null)
{
    public JsonObject Data { get; init; } = [];

    public static string Word(Status s) => s switch
    {
        Status.Pass => "PASS",
        Status.Warn => "WARN",
        _ => "FAIL",
    };

    /// <summary><c>FAIL  collapse    figure — cause Fix: fix</c>, one line.</summary>
    public string Line => Status == Status.Pass || Cause is null
        ? $"{Word(Status)}  {Check,-15} {Figure}"
        : $"{Word(Status)}  {Check,-15} {Figure} — {Cause}{(Fix is null ? "" : $" Fix: {Fix}")}";

    public JsonObject Json()
    {
        var o = new JsonObject
        {
            ["check"] = Check,
            ["status"] = Word(Status),
            ["figure"] = Figure,
            ["cause"] = Cause,
            ["fix"] = Fix,
            ["data"] = Data.DeepClone(),
        };
        return o;
    }
}
