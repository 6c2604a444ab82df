using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functional.Host.Runs;

/// <summary>One journal line: a step's figures and the hash of the weights after it.</summary>
public sealed record JournalStep(long Step, int Epoch, int Position, double Loss, double[] GradNorms, double[] UpdateRatios, string WeightsHash)
{
    /// <summary>Per layer, the fraction of saturated sigmoid/tanh units over the step's batch (NaN: not such a layer).</summary>
    public double[] Saturation { get; init; } = [];

    /// <summary>Per layer, the fraction of dead ReLU units (0 for every example of the batch; NaN: not a ReLU layer).</summary>
    public double[] Dead { get; init; } = [];

    /// <summary>The learning rate the step used (NaN: not recorded).</summary>
    public double Lr { get; init; } = double.NaN;

    /// <summary>The examples in the step's batch (0: not recorded): the last batch of an epoch may hold one.</summary>
    public int Examples { get; init; }

    /// <summary>The factor gradient clipping scaled the step's gradient by, 1 when it did not (NaN: the run does not clip).</summary>
    public double Clip { get; init; } = double.NaN;
}

/// <summary>
/// journal.jsonl: one JSON object per line, appended and flushed as training goes. Step lines carry
/// step, epoch, position (examples of the epoch done after the step), loss, per-layer gradient norms,
/// update/weight ratios, saturated (sigmoid/tanh) and dead (ReLU) fractions, and the SHA-256 of all weights after the step; epoch lines have "kind": "epoch".
/// </summary>
public sealed class Journal : IDisposable
{
    public const string FileName = "journal.jsonl";
    readonly FileStream stream;
    readonly string path;

    Journal(FileStream stream, string path)
    {
        this.stream = stream;
        this.path = path;
    }

    /// <summary>Opens the journal for appending, first dropping every line after step <paramref name="keepUpTo"/>
    /// (lines of steps a resumed run will take again) and a torn last line.</summary>
    public static Journal Open(string dir, long keepUpTo, TextWriter warnings)
    {
        string path = Path.Combine(dir, FileName);
        if (File.Exists(path))
        {
            var kept = new StringBuilder();
            foreach (var (line, node) in ReadLines(path, warnings))
            {
                if (node["step"] is JsonValue v && v.TryGetValue(out long s) && s <= keepUpTo)
                {
                    kept.Append(line).Append('\n');
                }
            }
            byte[] bytes = Encoding.UTF8.GetBytes(kept.ToString());
            AtomicFile.Write(path, s => s.Write(bytes));
        }
        return new Journal(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1), path);
    }

    public void Write(JsonObject line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line.ToJsonString() + "\n");
        try
        {
            stream.Write(bytes);
            stream.Flush();
        }
        catch (IOException e)
        {
            // A line cut short by a full disk is the torn last line resume already drops.
            throw AtomicFile.Failure(path, e, "the lines before are intact");
        }
    }

    public void Step(JournalStep s) => Write(new JsonObject
    {
        ["step"] = s.Step,
        ["epoch"] = s.Epoch,
        ["position"] = s.Position,
        ["loss"] = s.Loss,
        ["grad_norms"] = new JsonArray(s.GradNorms.Select(x => (JsonNode)x).ToArray()),
        ["update_ratios"] = new JsonArray(s.UpdateRatios.Select(x => (JsonNode)x).ToArray()),
        ["weights_sha256"] = s.WeightsHash,
        ["saturation"] = Nullable(s.Saturation),
        ["dead"] = Nullable(s.Dead),
        ["lr"] = double.IsFinite(s.Lr) ? s.Lr : null,
        ["clip"] = double.IsFinite(s.Clip) ? s.Clip : null,
        ["examples"] = s.Examples,
    });

    /// <summary>null for layers without the quantity (NaN): JSON has no NaN.</summary>
    static JsonArray Nullable(double[] values) => new(values.Select(x => double.IsFinite(x) ? (JsonNode)x : null).ToArray());

    public void Dispose() => stream.Dispose();

    /// <summary>Every parseable line; a torn or corrupt last line is dropped with a warning, a corrupt line
    /// elsewhere is an error.</summary>
    public static List<(string line, JsonObject node)> ReadLines(string path, TextWriter warnings)
    {
        var result = new List<(string, JsonObject)>();
        string[] lines = File.ReadAllText(path).Split('\n');
        int last = Array.FindLastIndex(lines, l => l.Trim().Length > 0);
        for (int i = 0; i <= last; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                var node = JsonNode.Parse(line)!.AsObject();
                _ = node.Count; // builds the property table now: a duplicate key throws here, not at first use
                result.Add((line, node));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or ArgumentException)
            {
                if (i == last)
                {
                    warnings.WriteLine($"warning: {path}: line {i + 1} is torn (the run was killed while writing it); ignoring it");
                }
                else
                {
                    throw new DataError(path, $"line {i + 1} is not valid JSON");
                }
            }
        }
        return result;
    }

    /// <summary>A per-layer fraction array as written by <see cref="Nullable"/> (null: NaN), empty when absent.</summary>
    static double[] Fractions(JsonNode? node) =>
        node is JsonArray a ? a.Select(n => n is null ? double.NaN : n.GetValue<double>()).ToArray() : [];

    /// <summary>The steps train --on-nonfinite skip left out (lines of kind "skip").</summary>
    public static SortedSet<long> Skips(string dir, TextWriter warnings)
    {
        string path = Path.Combine(dir, FileName);
        var skips = new SortedSet<long>();
        if (!File.Exists(path))
        {
            return skips;
        }
        foreach (var (_, o) in ReadLines(path, warnings))
        {
            if (o["kind"]?.GetValue<string>() == "skip")
            {
                skips.Add(o["step"] is JsonValue v && v.TryGetValue(out long s) ? s : throw new DataError(path, "a skip line has no step"));
            }
        }
        return skips;
    }

    /// <summary>The step lines of a run's journal, by step.</summary>
    public static SortedDictionary<long, JournalStep> Steps(string dir, TextWriter warnings)
    {
        string path = Path.Combine(dir, FileName);
        var steps = new SortedDictionary<long, JournalStep>();
        if (!File.Exists(path))
        {
            return steps;
        }
        foreach (var (_, o) in ReadLines(path, warnings))
        {
            if (o["step"] is null || o["kind"] is not null)
            {
                continue;
            }
            try
            {
                var s = new JournalStep(o["step"]!.GetValue<long>(), o["epoch"]!.GetValue<int>(), o["position"]!.GetValue<int>(),
                    o["loss"]!.GetValue<double>(), o["grad_norms"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray(),
                    o["update_ratios"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray(), o["weights_sha256"]!.GetValue<string>())
                {
                    Saturation = Fractions(o["saturation"]),
                    Dead = Fractions(o["dead"]),
                };
                steps[s.Step] = s;
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
            {
                throw new DataError(path, $"step line {o["step"]} lacks a field or has a wrong type: {e.Message}");
            }
        }
        return steps;
    }
}
