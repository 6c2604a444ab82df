using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Functional.Cli;

namespace Functional.Host.Sweeps;

/// <summary>
/// What a sweep varies: train options, each with its alternatives (one value = fixed, several = an axis).
/// Options are plain command-line strings ("--lr", "0.1"): the sweep knows train's option names (from its
/// Argu union) and whether they take a value, nothing of their meaning, so a new train option sweeps as is.
/// A flag's alternatives are "true" (given) and "false" (left out).
/// </summary>
public sealed partial class SweepSpec
{
    /// <summary>The options in the order they were first given, each with its alternatives.</summary>
    public List<(string Name, List<string> Values)> Options { get; } = [];

    /// <summary>The sweep's name from the spec file ("name"), or null.</summary>
    public string? Name { get; private set; }

    static readonly Dictionary<string, TrainOption> Known =
        CommandLine.TrainOptions().ToDictionary(o => o.Name, StringComparer.Ordinal);

    public static bool TakesValue(string name) => Known[name].TakesValue;

    /// <summary>Sets an option's alternatives, replacing earlier ones (the command line overrides the file).</summary>
    void Set(string name, List<string> values)
    {
        int i = Options.FindIndex(o => o.Name == name);
        if (i >= 0)
        {
            Options[i] = (name, values);
        }
        else
        {
            Options.Add((name, values));
        }
    }

    /// <summary>Reads a JSON spec: <c>{"name": "lr", "options": {"preset": "book", "lr": [0.03, 0.1], "seed": "1..3"}}</c>.</summary>
    public static SweepSpec FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataError(path, Directory.Exists(path) ? "a folder without sweep.json (not a sweep folder)" : "file not found");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new DataError(path, $"not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var spec = new SweepSpec();
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new DataError(path, "a sweep spec is a JSON object: {\"name\": ..., \"options\": {...}}");
            }
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "name" when p.Value.ValueKind == JsonValueKind.String:
                        spec.Name = p.Value.GetString();
                        break;
                    case "options" when p.Value.ValueKind == JsonValueKind.Object:
                        foreach (var o in p.Value.EnumerateObject())
                        {
                            string name = o.Name.StartsWith("--", StringComparison.Ordinal) ? o.Name : "--" + o.Name;
                            Check(name, m => new DataError(path, m));
                            spec.Set(name, Alternatives(name, o.Value, m => new DataError(path, m)));
                        }
                        break;
                    case "name" or "options":
                        throw new DataError(path, $"'{p.Name}' must be {(p.Name == "name" ? "a string" : "an object of train options")}");
                    default:
                        throw new DataError(path, $"unknown key '{p.Name}' (a spec has \"name\" and \"options\")");
                }
            }
            return spec;
        }
    }

    /// <summary>Adds the train options typed after <c>functional sweep</c>: <c>--lr 1e-3,3e-3 --seed 1..5 --no-bias</c>.
    /// An option given twice adds alternatives.</summary>
    public void AddCommandLine(IReadOnlyList<string> args)
    {
        var given = new Dictionary<string, List<string>>();
        for (int i = 0; i < args.Count; i++)
        {
            string token = args[i];
            if (!token.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageError($"'{token}' is not an option: sweep takes a spec first, then options (--lr 0.1,0.3 --seed 1..3)");
            }
            string name = token;
            string? value = null;
            int eq = token.IndexOf('=');
            if (eq > 0)
            {
                name = token[..eq];
                value = token[(eq + 1)..];
            }
            Check(name, m => new UsageError(m));
            List<string> values;
            if (TakesValue(name))
            {
                if (value == null)
                {
                    if (i + 1 >= args.Count)
                    {
                        throw new UsageError($"option '{name}' needs a value");
                    }
                    value = args[++i];
                }
                values = Split(name, value);
            }
            else
            {
                // A flag alone is given; "--no-bias true,false" (or "=true,false") sweeps it.
                if (value == null && i + 1 < args.Count && FlagValues().IsMatch(args[i + 1]))
                {
                    value = args[++i];
                }
                values = value == null ? ["true"] : [.. value.Split(',').Select(v => Flag(name, v, m => new UsageError(m)))];
            }
            if (given.TryGetValue(name, out var earlier))
            {
                earlier.AddRange(values);
            }
            else
            {
                given[name] = values;
            }
        }
        foreach (var (name, values) in given)
        {
            Set(name, values);
        }
    }

    /// <summary>An option the sweep may forward: one of train's, and not one the sweep sets itself.</summary>
    static void Check(string name, Func<string, Exception> error)
    {
        if (!Known.ContainsKey(name))
        {
            throw error($"unknown train option '{name}' (see 'functional train --help')");
        }
        if (name == "--run")
        {
            throw error("option '--run' is chosen by the sweep: each point runs in SWEEP/POINT");
        }
        if (name == "--threads")
        {
            throw error("option '--threads' is the sweep's own: 'functional sweep --threads N' sets it for every point");
        }
    }

    /// <summary>
    /// The alternatives of a value typed on the command line. A value train accepts as it is is one value
    /// (--layers 784,200,10); otherwise commas separate alternatives (--lr 0.01,0.1). "A..B" is the integers A to B.
    /// </summary>
    static List<string> Split(string name, string text)
    {
        bool whole = !text.Contains(',') || CommandLine.Parse(["train", name, text]) is Parsed.Run;
        var pieces = whole ? [text] : text.Split(',').Select(p => p.Trim()).ToList();
        var values = new List<string>();
        foreach (string piece in pieces)
        {
            if (piece.Length == 0)
            {
                throw new UsageError($"option '{name}' has an empty value in '{text}'");
            }
            values.AddRange(Range(name, piece, m => new UsageError(m)));
        }
        return values;
    }

    [GeneratedRegex(@"^(true|false)(,(true|false))*$", RegexOptions.IgnoreCase)]
    private static partial Regex FlagValues();

    [GeneratedRegex(@"^(-?\d+)\.\.(-?\d+)$")]
    private static partial Regex RangePattern();

    static IEnumerable<string> Range(string name, string text, Func<string, Exception> error)
    {
        var m = RangePattern().Match(text);
        if (!m.Success)
        {
            return [text];
        }
        long a = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        long b = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        if (b < a || b - a >= 10_000)
        {
            throw error($"option '{name}': the range '{text}' must go up, by at most 10,000 values");
        }
        return Enumerable.Range(0, (int)(b - a + 1)).Select(k => (a + k).ToString(CultureInfo.InvariantCulture));
    }

    static string Flag(string name, string text, Func<string, Exception> error) => text.Trim().ToLowerInvariant() switch
    {
        "true" => "true",
        "false" => "false",
        _ => throw error($"option '{name}' is a flag: its values are true and false, not '{text}'"),
    };

    /// <summary>A JSON value's alternatives: an array lists them; numbers keep their text (1e-3 stays 1e-3).</summary>
    static List<string> Alternatives(string name, JsonElement value, Func<string, Exception> error)
    {
        var items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
        if (items.Count == 0)
        {
            throw error($"option '{name}' has an empty list");
        }
        var values = new List<string>();
        foreach (var item in items)
        {
            switch (item.ValueKind)
            {
                case JsonValueKind.True or JsonValueKind.False when !TakesValue(name):
                    values.Add(item.ValueKind == JsonValueKind.True ? "true" : "false");
                    break;
                case JsonValueKind.Number when TakesValue(name):
                    values.Add(item.GetRawText());
                    break;
                case JsonValueKind.String when TakesValue(name):
                    values.AddRange(Range(name, item.GetString()!, error));
                    break;
                default:
                    throw error(TakesValue(name)
                        ? $"option '{name}' needs a number or a string (or a list of them), not {item.ValueKind.ToString().ToLowerInvariant()}"
                        : $"option '{name}' is a flag: true or false (or [true, false])");
            }
        }
        return values;
    }

    /// <summary>The options with several alternatives, in order.</summary>
    public IEnumerable<(string Name, List<string> Values)> Axes => Options.Where(o => o.Values.Distinct().Count() > 1);

    /// <summary>How many points the cross product has, counted without building it (saturating at long.MaxValue):
    /// four ranges of 10,000 values would otherwise be built before being refused.</summary>
    public long PointCount()
    {
        long count = 1;
        foreach (var (_, values) in Options)
        {
            long n = values.Distinct().Count();
            count = n == 0 ? 0 : count > long.MaxValue / n ? long.MaxValue : count * n;
        }
        return count;
    }

    /// <summary>Every point of the cross product, the first axis varying slowest.</summary>
    public List<SweepPoint> Points()
    {
        var combos = new List<List<(string Name, string Value)>> { new() };
        foreach (var (name, values) in Options)
        {
            combos = [.. combos.SelectMany(c => values.Distinct().Select(v => new List<(string, string)>(c) { (name, v) }))];
        }
        var axes = Axes.Select(a => a.Name).ToHashSet();
        var points = new List<SweepPoint>();
        var used = new HashSet<string>();
        foreach (var combo in combos)
        {
            string name = axes.Count == 0
                ? "point"
                : string.Join("_", combo.Where(o => axes.Contains(o.Name)).Select(o => $"{o.Name[2..]}={Safe(o.Value)}"));
            string unique = name;
            for (int k = 2; !used.Add(unique); k++)
            {
                unique = $"{name}-{k}";
            }
            var args = new List<string>();
            foreach (var (option, value) in combo)
            {
                if (TakesValue(option))
                {
                    args.Add(option);
                    args.Add(value);
                }
                else if (value == "true")
                {
                    args.Add(option);
                }
            }
            points.Add(new SweepPoint(points.Count, unique, [.. combo.Select(o => (o.Name[2..], o.Value))], [.. args]));
        }
        return points;
    }

    /// <summary>A value as part of a folder name: letters, digits and . + - only.</summary>
    static string Safe(string value) =>
        string.Concat(value.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '-' ? c : '-'));
}

/// <summary>One point of a sweep: its folder name, its options (name without dashes, value), and the
/// arguments of its <c>functional train</c> (without --run and --threads, which the sweep adds).</summary>
public sealed record SweepPoint(int Index, string Name, (string Option, string Value)[] Options, string[] Args);
