using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functional.Host;

/// <summary>One epoch's summary, from run.json's "epochs" or a journal line of kind "epoch".</summary>
public sealed record EpochPoint(int Epoch, double Loss, double TrainAccuracy, double TestAccuracy, double Seconds)
{
    /// <summary>The validation set's loss and accuracy (NaN: the run has no validation set).</summary>
    public double ValidationLoss { get; init; } = double.NaN;

    public double ValidationAccuracy { get; init; } = double.NaN;

    /// <summary>The learning rate of the epoch's last step (NaN: not recorded).</summary>
    public double Lr { get; init; } = double.NaN;
}

/// <summary>One journal line of a step: its loss and, per layer, what the journal holds (empty when absent;
/// <paramref name="Saturation"/> and <paramref name="Dead"/> null when absent, NaN for a layer without the quantity).</summary>
public sealed record StepPoint(long Step, int Epoch, double Loss, double[] GradNorms, double[] UpdateRatios, double[]? Saturation,
    double[]? Dead = null)
{
    /// <summary>The learning rate of the step (NaN: not recorded).</summary>
    public double Lr { get; init; } = double.NaN;

    /// <summary>The examples of the step's batch (0: not recorded, an older journal).</summary>
    public int Examples { get; init; }
}

/// <summary>
/// What a run folder says about its training: run.json (config, per-epoch summaries) and, when present,
/// journal.jsonl (one JSON object per line; unknown fields are ignored and a torn last line is skipped).
/// </summary>
public sealed record RunHistory(string Dir, string Title, IReadOnlyList<EpochPoint> Epochs, IReadOnlyList<StepPoint> Steps, bool HasJournal)
{
    /// <summary>The loss reduction of run.json's config, "mean" or "sum" (null when run.json does not say).</summary>
    public string? Reduction { get; init; }

    /// <summary>The epoch model.safetensors holds, when run.json says (a finished run).</summary>
    public int? KeptEpoch { get; init; }

    /// <summary>"best" when the model is the best validation epoch's, "last" otherwise (null: not said).</summary>
    public string? Kept { get; init; }

    /// <summary>The epoch after which early stopping ended the run, if it did.</summary>
    public int? StoppedEarlyAfter { get; init; }

    /// <summary>The run's configuration, when run.json has one this version reads (its schedule gives every
    /// step's learning rate).</summary>
    public Config? Config { get; init; }

    /// <summary>The last step the journal or run.json mentions (0: none).</summary>
    public long LastStep { get; init; }

    public const string RunFile = "run.json";
    public const string JournalFile = "journal.jsonl";

    /// <summary>Reads the run folder; without <paramref name="readRun"/> or <paramref name="readJournal"/> the file is
    /// passed over as if absent (the report still draws what the other one holds when one is corrupt).</summary>
    public static RunHistory Load(string dir, bool readRun = true, bool readJournal = true)
    {
        if (!Directory.Exists(dir))
        {
            throw new DataError(dir, "not a run folder (no such directory)");
        }
        string runPath = Path.Combine(dir, RunFile);
        string journalPath = Path.Combine(dir, JournalFile);
        if (!File.Exists(runPath) && !File.Exists(journalPath))
        {
            throw new DataError(dir, $"not a run folder: neither {RunFile} nor {JournalFile} is there");
        }
        JsonObject? run = readRun && File.Exists(runPath) ? ParseObject(runPath, File.ReadAllText(runPath), 0) : null;
        var epochs = new SortedDictionary<int, EpochPoint>();
        // run.json keeps the epochs under "results" (older runs: at the top level).
        foreach (var e in (run?["results"] as JsonObject)?["epochs"] as JsonArray ?? run?["epochs"] as JsonArray ?? [])
        {
            if (e is JsonObject o && EpochOf(o) is { } p)
            {
                epochs[p.Epoch] = p;
            }
        }
        var steps = new List<StepPoint>();
        long lastEpochStep = (long)((run?["results"] as JsonObject) is { } r0 ? Num(r0, "steps") ?? 0 : 0);
        bool hasJournal = readJournal && File.Exists(journalPath);
        if (hasJournal)
        {
            var journalEpochs = new SortedDictionary<int, EpochPoint>();
            string[] lines = File.ReadAllLines(journalPath);
            for (int i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i]))
                {
                    continue;
                }
                JsonObject o;
                try
                {
                    o = ParseObject(journalPath, lines[i], i + 1);
                }
                catch (DataError) when (i == lines.Length - 1)
                {
                    break; // a torn last line: the run was stopped while writing it
                }
                string? kind = Str(o, "kind");
                if (kind == "epoch" && EpochOf(o) is { } ep)
                {
                    lastEpochStep = Math.Max(lastEpochStep, (long)(Num(o, "step") ?? 0));
                    journalEpochs[ep.Epoch] = ep; // a resumed run may repeat an epoch: the last word counts
                }
                else if ((kind is null or "step") && StepOf(o) is { } st)
                {
                    steps.Add(st);
                }
            }
            if (journalEpochs.Count > 0)
            {
                epochs = journalEpochs;
            }
        }
        steps.Sort((a, b) => a.Step.CompareTo(b.Step));
        var config = run?["config"] as JsonObject ?? run?["network"] as JsonObject;
        var results = run?["results"] as JsonObject;
        return new RunHistory(dir, TitleOf(dir, run), [.. epochs.Values], steps, hasJournal)
        {
            Reduction = (config is null ? null : Str(config, "reduction")) ?? (run is null ? null : Str(run, "reduction")),
            KeptEpoch = results is null ? null : (int?)Num(results, "kept_epoch"),
            Kept = results is null ? null : Str(results, "kept"),
            StoppedEarlyAfter = results is null ? null : (int?)Num(results, "stopped_early_after"),
            Config = ConfigOrNull(config),
            LastStep = Math.Max(steps.Count == 0 ? 0 : steps[^1].Step, lastEpochStep),
        };
    }

    static Config? ConfigOrNull(JsonObject? config)
    {
        if (config is null)
        {
            return null;
        }
        try
        {
            return Runs.RunFile.ConfigOf(config);
        }
        catch (FormatException)
        {
            return null; // an older or foreign run.json: the plot draws what the journal has
        }
    }

    static JsonObject ParseObject(string path, string text, int line)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            throw new DataError(path, $"{(line > 0 ? $"line {line}: " : "")}not valid JSON ({e.Message})");
        }
    }

    static EpochPoint? EpochOf(JsonObject o) =>
        Num(o, "epoch") is { } epoch
            ? new EpochPoint((int)epoch, Num(o, "loss") ?? double.NaN, Num(o, "train_accuracy") ?? double.NaN,
                Num(o, "test_accuracy") ?? double.NaN, Num(o, "seconds") ?? double.NaN)
            {
                ValidationLoss = Num(o, "val_loss") ?? double.NaN,
                ValidationAccuracy = Num(o, "val_accuracy") ?? double.NaN,
                Lr = Num(o, "lr") ?? double.NaN,
            }
            : null;

    static StepPoint? StepOf(JsonObject o) =>
        Num(o, "step") is { } step && Num(o, "loss") is { } loss
            ? new StepPoint((long)step, (int)(Num(o, "epoch") ?? 0), loss, Nums(o, "grad_norms") ?? [],
                Nums(o, "update_ratios") ?? [], Nums(o, "saturation"), Nums(o, "dead"))
            { Lr = Num(o, "lr") ?? double.NaN, Examples = (int)(Num(o, "examples") ?? 0) }
            : null;

    /// <summary>"name: 784-32-10 relu/softmax ce, adam lr 0.001, batch 32", from run.json's "config"
    /// (older runs: "network" and "optimizer" objects).</summary>
    static string TitleOf(string dir, JsonObject? run)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        var c = run?["config"] as JsonObject ?? run?["network"] as JsonObject;
        if (run is null || c is null)
        {
            return name;
        }
        var opt = run["optimizer"] as JsonObject ?? c;
        string sizes = c["sizes"] is JsonArray a ? string.Join("-", a.Select(x => x?.ToString())) + $" {Str(c, "hidden")}/{Str(c, "output")}"
            : Str(c, "arch") is { } arch ? string.Join(", ", arch.Split(", ").Where(l => !l.StartsWith("input ", StringComparison.Ordinal)))
            : "?";
        string optimizer = Str(opt, "name") ?? Str(opt, "optimizer") ?? "?";
        string lr = Num(opt, "lr")?.ToString(CultureInfo.InvariantCulture) ?? "?";
        double? b = Num(c, "batch") ?? Num(run, "batch");
        string batch = b is null ? "" : b <= 0 ? ", full batch" : $", batch {b}";
        return $"{name}: {sizes}; {Str(c, "loss") ?? Str(run, "loss")}, {optimizer} lr {lr}{batch}";
    }

    static string? Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    static double? Num(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;

    /// <summary>An array of numbers, or a single number as a one-element array; null when absent.</summary>
    static double[]? Nums(JsonObject o, string key) => o[key] switch
    {
        JsonArray a => [.. a.Select(x => x is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN)],
        JsonValue v when v.TryGetValue(out double d) => [d],
        _ => null,
    };
}
