using System.Text.Json;
using System.Text.Json.Nodes;
using Functional.Host.Runs;

namespace Functional.Host.Sweeps;

/// <summary>
/// sweep.json: the sweep's name, its axes and every point with its options and train arguments. It is the
/// definition the executors run from (a Slurm task reads point i from it) and what compare groups by; the
/// results live in the points' run folders, so nothing here depends on which executor ran a point.
/// </summary>
public sealed record SweepFile(string Name, (string Option, string[] Values)[] Axes, List<SweepPoint> Points)
{
    public const string FileName = "sweep.json";
    public const string Format = "functional.sweep/1";

    public static bool IsSweep(string dir) => File.Exists(Path.Combine(dir, FileName));

    public string PointDir(string sweepDir, SweepPoint p) => Path.Combine(sweepDir, p.Name);

    public JsonObject ToJson()
    {
        var axes = new JsonObject();
        foreach (var (option, values) in Axes)
        {
            axes[option] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        }
        var points = new JsonArray();
        foreach (var p in Points)
        {
            var options = new JsonObject();
            foreach (var (option, value) in p.Options)
            {
                options[option] = value;
            }
            points.Add(new JsonObject
            {
                ["index"] = p.Index,
                ["name"] = p.Name,
                ["options"] = options,
                ["args"] = new JsonArray([.. p.Args.Select(a => (JsonNode)a)]),
            });
        }
        return new JsonObject { ["format"] = Format, ["name"] = Name, ["axes"] = axes, ["points"] = points };
    }

    public void Write(string sweepDir)
    {
        Directory.CreateDirectory(sweepDir);
        RunFolder.WriteJson(Path.Combine(sweepDir, FileName), ToJson());
    }

    /// <summary>The same points with the same arguments (what decides whether a sweep folder can be continued).</summary>
    public bool SamePoints(SweepFile other) =>
        Points.Count == other.Points.Count
        && Points.Zip(other.Points).All(z => z.First.Name == z.Second.Name && z.First.Args.SequenceEqual(z.Second.Args));

    public static SweepFile Read(string sweepDir)
    {
        string path = Path.Combine(sweepDir, FileName);
        if (!File.Exists(path))
        {
            throw new DataError(path, Directory.Exists(sweepDir) ? "file not found (not a sweep folder)" : "sweep folder not found");
        }
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new DataError(path, "empty file");
            string format = o["format"]?.GetValue<string>() ?? "";
            if (format != Format)
            {
                throw new DataError(path, $"format is '{format}', expected '{Format}'");
            }
            var axes = (o["axes"]?.AsObject() ?? [])
                .Select(a => (a.Key, a.Value!.AsArray().Select(v => v!.GetValue<string>()).ToArray())).ToArray();
            var points = (o["points"]?.AsArray() ?? throw new KeyNotFoundException("missing field 'points'"))
                .Select((n, i) =>
                {
                    var p = n!.AsObject();
                    string name = p["name"]!.GetValue<string>();
                    if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name is "." or "..")
                    {
                        throw new FormatException($"point {i} has an unusable name '{name}'");
                    }
                    return new SweepPoint(i, name,
                        [.. p["options"]!.AsObject().Select(kv => (kv.Key, kv.Value!.GetValue<string>()))],
                        [.. p["args"]!.AsArray().Select(a => a!.GetValue<string>())]);
                }).ToList();
            return new SweepFile(o["name"]?.GetValue<string>() ?? Path.GetFileName(Path.GetFullPath(sweepDir)), axes, points);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or KeyNotFoundException or ArgumentException)
        {
            throw new DataError(path, $"not a valid sweep.json: {e.Message}");
        }
    }
}
