using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functional.Host.Data;

namespace Functional.Host.Runs;

/// <summary>A data file a run used: where it was and what it held.</summary>
public sealed record DataRef(string Path, string Sha256);

/// <summary>
/// run.json: everything needed to rebuild a run (config, data files and their sha256, batch, epochs,
/// checkpoint and journal cadence, BLAS backend and threads, code version), plus its results so far.
/// </summary>
public sealed record RunFile(
    TrainConfig Config,
    int Epochs,
    int CheckpointEvery,
    int JournalEvery,
    DataRef TrainImages,
    DataRef TrainLabels,
    DataRef TestImages,
    DataRef TestLabels,
    string Blas,
    int Threads,
    string CodeVersion)
{
    /// <summary>Only the first N training images were used (--train-count); 0 = all.</summary>
    public int TrainCount { get; init; }

    /// <summary>The preset the options started from (informational).</summary>
    public string Preset { get; init; } = "modern";

    public const string Format = "functional.run/1";
    public const string FileName = "run.json";

    public static DataRef Ref(string path) => new(System.IO.Path.GetFullPath(path), RunFolder.Sha256(path));

    public static RunFile Of(TrainConfig config, int epochs, int checkpointEvery, int journalEvery,
        LabeledImages train, LabeledImages test) => new(
        config, epochs, checkpointEvery, journalEvery,
        Ref(train.ImagesPath), Ref(train.LabelsPath), Ref(test.ImagesPath), Ref(test.LabelsPath),
        Api.BlasDescription(), Functional.Host.Threads.Current, RunFolder.CodeVersion);

    /// <summary>A stable hash of the maths of the run (config, batch and data), stored in each checkpoint.</summary>
    public string ConfigHash()
    {
        var c = Config;
        string text = string.Join("|", string.Join(",", c.Sizes), c.Hidden, c.Output, c.Loss, c.Init, c.Bias,
            c.Optimizer, c.Lr.ToString("R", CultureInfo.InvariantCulture), c.L2.ToString("R", CultureInfo.InvariantCulture),
            c.Momentum.ToString("R", CultureInfo.InvariantCulture), c.Reduction, c.Scale, c.Seed, c.Precision, c.Batch,
            TrainImages.Sha256, TrainLabels.Sha256, TrainCount);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    public JsonObject ToJson(JsonObject? results = null)
    {
        var c = Config;
        var o = new JsonObject
        {
            ["format"] = Format,
            ["code_version"] = CodeVersion,
            ["config"] = new JsonObject
            {
                ["sizes"] = new JsonArray(c.Sizes.Select(s => (JsonNode)s).ToArray()),
                ["hidden"] = c.Hidden,
                ["output"] = c.Output,
                ["loss"] = c.Loss,
                ["init"] = c.Init,
                ["bias"] = c.Bias,
                ["optimizer"] = c.Optimizer,
                ["lr"] = c.Lr,
                ["l2"] = c.L2,
                ["momentum"] = c.Momentum,
                ["reduction"] = c.Reduction,
                ["scale"] = c.Scale,
                ["seed"] = c.Seed,
                ["precision"] = c.Precision,
                ["batch"] = c.Batch,
            },
            ["epochs"] = Epochs,
            ["train_count"] = TrainCount,
            ["preset"] = Preset,
            ["checkpoint_every"] = CheckpointEvery,
            ["journal_every"] = JournalEvery,
            ["data"] = new JsonObject
            {
                ["train_images"] = RefJson(TrainImages),
                ["train_labels"] = RefJson(TrainLabels),
                ["test_images"] = RefJson(TestImages),
                ["test_labels"] = RefJson(TestLabels),
            },
            ["blas"] = Blas,
            ["threads"] = Threads,
            ["config_sha256"] = ConfigHash(),
        };
        if (results != null)
        {
            o["results"] = results;
        }
        return o;
    }

    static JsonObject RefJson(DataRef r) => new() { ["path"] = r.Path, ["sha256"] = r.Sha256 };

    public void Write(string dir, JsonObject? results = null) =>
        RunFolder.WriteJson(System.IO.Path.Combine(dir, FileName), ToJson(results));

    /// <summary>Reads a run folder's run.json, checking its format and every field it needs.</summary>
    public static RunFile Read(string dir)
    {
        string path = System.IO.Path.Combine(dir, FileName);
        if (!Directory.Exists(dir))
        {
            throw new DataError(dir, "run folder not found");
        }
        if (!File.Exists(path))
        {
            throw new DataError(path, "file not found (is this a run folder written by 'functional train'?)");
        }
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
                ?? throw new DataError(path, "empty file");
            string format = Str(o, "format");
            if (format != Format)
            {
                throw new DataError(path, $"format is '{format}', expected '{Format}'");
            }
            var c = o["config"]?.AsObject() ?? throw new DataError(path, "no 'config' object");
            var config = new TrainConfig(
                (c["sizes"] as JsonArray ?? throw new KeyNotFoundException("missing field 'sizes'")).Select(n => n!.GetValue<int>()).ToArray(),
                Str(c, "hidden"), Str(c, "output"), Str(c, "loss"), Str(c, "init"), Get<bool>(c, "bias"),
                Str(c, "optimizer"), Get<double>(c, "lr"), Get<double>(c, "l2"),
                Get<double>(c, "momentum"), Str(c, "reduction"), Str(c, "scale"), Get<int>(c, "seed"),
                Str(c, "precision"), Get<int>(c, "batch"));
            var d = o["data"]?.AsObject() ?? throw new DataError(path, "no 'data' object");
            JsonObject Obj(string key) => d[key] as JsonObject ?? throw new KeyNotFoundException($"missing field 'data.{key}'");
            DataRef R(string key) => new(Str(Obj(key), "path"), Str(Obj(key), "sha256"));
            var run = new RunFile(config, Get<int>(o, "epochs"), Get<int>(o, "checkpoint_every"),
                Get<int>(o, "journal_every"), R("train_images"), R("train_labels"), R("test_images"),
                R("test_labels"), Str(o, "blas"), Get<int>(o, "threads"), Str(o, "code_version"))
            {
                TrainCount = o["train_count"]?.GetValue<int>() ?? 0,
                Preset = o["preset"]?.GetValue<string>() ?? "modern",
            };
            if (Api.Problem(config) is { } problem)
            {
                throw new DataError(path, $"config is not valid: {problem}");
            }
            return run;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or KeyNotFoundException or ArgumentException)
        {
            throw new DataError(path, $"not a valid run.json: {e.Message}");
        }
    }

    static T Get<T>(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out T? value) && value is not null
            ? value
            : throw new KeyNotFoundException($"missing or mistyped field '{key}' ({typeof(T).Name.ToLowerInvariant()} expected)");

    static string Str(JsonObject o, string key) =>
        o[key]?.GetValue<string>() ?? throw new KeyNotFoundException($"missing field '{key}'");

    /// <summary>Loads the training data a run used, warning when a file changed since.</summary>
    public (LabeledImages train, LabeledImages test) LoadData(TextWriter warnings)
    {
        var train = Subset.First(DataFiles.Load(TrainImages.Path, TrainLabels.Path), TrainCount);
        var test = DataFiles.Load(TestImages.Path, TestLabels.Path);
        foreach (var r in new[] { TrainImages, TrainLabels })
        {
            if (RunFolder.Sha256(r.Path) != r.Sha256)
            {
                throw new DataError(r.Path, $"contents changed since the run (sha256 {r.Sha256[..12]}… expected): the steps cannot be reproduced");
            }
        }
        foreach (var r in new[] { TestImages, TestLabels })
        {
            if (RunFolder.Sha256(r.Path) != r.Sha256)
            {
                warnings.WriteLine($"warning: {r.Path} changed since the run; test accuracies will differ");
            }
        }
        return (train, test);
    }

    /// <summary>Steps in one epoch of this run over n examples.</summary>
    public int BatchSize(int n) => Config.Batch <= 0 || Config.Batch >= n ? n : Config.Batch;
}
