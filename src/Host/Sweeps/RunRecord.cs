using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functional.Host.Runs;

namespace Functional.Host.Sweeps;

/// <summary>
/// A run folder read for listing and comparing: run.json as plain JSON, not bound to the fields of today's
/// config, so runs of older and newer versions list side by side. Settings are every field flattened to
/// "name: text" (config fields by their own name, others by their path); results are read where they are.
/// </summary>
public sealed record RunRecord(string Dir, string Label, JsonObject Json)
{
    /// <summary>Fields that are not settings: the format, a hash of the others, the results.</summary>
    static readonly HashSet<string> NotSettings = ["format", "config_sha256", "results"];

    public static RunRecord Read(string dir, string? label = null)
    {
        string path = Path.Combine(dir, RunFile.FileName);
        if (!File.Exists(path))
        {
            throw new DataError(path, Directory.Exists(dir) ? "file not found (not a run folder)" : "run folder not found");
        }
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataError(path, "not a JSON object");
            return new RunRecord(dir, label ?? dir, o);
        }
        catch (JsonException e)
        {
            throw new DataError(path, $"not valid JSON: {e.Message}");
        }
    }

    public JsonObject? Config => Json["config"] as JsonObject;

    JsonObject? Results => Json["results"] as JsonObject;

    /// <summary>Every setting as text, config fields first under their own names.</summary>
    public SortedDictionary<string, string> Settings()
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Json)
        {
            if (NotSettings.Contains(key))
            {
                continue;
            }
            Flatten(key == "config" ? "" : key, value, settings);
        }
        return settings;
    }

    static void Flatten(string prefix, JsonNode? node, IDictionary<string, string> into)
    {
        if (node is JsonObject o)
        {
            foreach (var (key, value) in o)
            {
                Flatten(prefix.Length == 0 ? key : $"{prefix}.{key}", value, into);
            }
        }
        else if (prefix.Length > 0)
        {
            into[prefix] = Text(node);
        }
    }

    /// <summary>A value as people write it: strings bare, arrays joined with '-' (layer sizes 784-200-10).</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray a => string.Join("-", a.Select(Text)),
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonValue v when v.TryGetValue(out double d) => d.ToString("G", CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };

    /// <summary>The network, whatever the config calls it.</summary>
    public string Architecture()
    {
        var c = Config;
        if (c == null)
        {
            return "?";
        }
        foreach (string key in new[] { "architecture", "arch", "layers", "network" })
        {
            if (c[key] is { } node)
            {
                return Text(node);
            }
        }
        string sizes = c["sizes"] is { } s ? Text(s) : "?";
        return c["hidden"] is { } hidden ? $"{sizes} {Text(hidden)}" : sizes;
    }

    public string Optimizer() => Config?["optimizer"] is { } o ? Text(o) : Config?["optimiser"] is { } p ? Text(p) : "?";

    public double? TestAccuracy => Results?["test_accuracy"] is JsonValue v && v.TryGetValue(out double a) ? a : null;

    /// <summary>(epoch, accuracy) for each finished epoch: on the validation set when the run has one (what a
    /// careful comparison chooses on), else on the test set, as older runs and --test-every-epoch record it.</summary>
    public List<(int Epoch, double TestAccuracy)> TestCurve()
    {
        var curve = Curve(HasValidation ? "val_accuracy" : "test_accuracy");
        // Without a validation set the test set is measured once, at the end (unless --test-every-epoch): that one
        // point, at the last epoch, rather than nothing.
        int done = (Results?["epochs"] as JsonArray ?? []).Count;
        if (curve.Count == 0 && !HasValidation && TestAccuracy is { } a && done > 0)
        {
            curve.Add((done, a));
        }
        return curve;
    }

    /// <summary>True when the run measured a validation set after each epoch.</summary>
    public bool HasValidation => (Results?["epochs"] as JsonArray ?? []).Any(e => e?["val_accuracy"] is JsonValue);

    List<(int Epoch, double TestAccuracy)> Curve(string key) =>
        [.. (Results?["epochs"] as JsonArray ?? [])
            .Select(e => (e?["epoch"] is JsonValue n && n.TryGetValue(out int k) ? k : 0,
                e?[key] is JsonValue a && a.TryGetValue(out double x) ? x : double.NaN))
            .Where(p => p.Item1 > 0 && double.IsFinite(p.Item2))];

    /// <summary>Epochs trained (of those asked for).</summary>
    public string Epochs()
    {
        int done = (Results?["epochs"] as JsonArray ?? []).Count;
        return Json["epochs"] is JsonValue v && v.TryGetValue(out int asked) ? $"{done}/{asked}" : $"{done}";
    }

    /// <summary>Training time: the sum of the epochs' seconds.</summary>
    public double Seconds => (Results?["epochs"] as JsonArray ?? [])
        .Sum(e => e?["seconds"] is JsonValue s && s.TryGetValue(out double x) ? x : 0);

    /// <summary>finished, running (a live process holds run.lock), or interrupted (with its newest checkpoint).</summary>
    public string Status()
    {
        if (Results != null && File.Exists(Path.Combine(Dir, ModelFile.FileName)))
        {
            return "finished";
        }
        string lockPath = Path.Combine(Dir, RunLock.FileName);
        if (File.Exists(lockPath))
        {
            try
            {
                string[] held = File.ReadAllText(lockPath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (held.Length > 0 && int.TryParse(held[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && Directory.Exists($"/proc/{pid}"))
                {
                    return "running";
                }
            }
            catch (IOException)
            {
                // released meanwhile
            }
        }
        string checkpoints = Path.Combine(Dir, "checkpoints");
        string? newest = Directory.Exists(checkpoints)
            ? Directory.GetFiles(checkpoints, "step-*.safetensors").Select(Path.GetFileNameWithoutExtension).Max()
            : null;
        return newest == null
            ? "interrupted"
            : $"interrupted at step {long.Parse(newest!["step-".Length..], CultureInfo.InvariantCulture)}";
    }
}
