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
    Config Config,
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

    /// <summary>The validation set held out of (or given beside) the training set; null = none.</summary>
    public ValidationRef? Validation { get; init; }

    /// <summary>Stop after this many epochs without a better validation figure; 0 = never.</summary>
    public int EarlyStop { get; init; }

    /// <summary>"loss", "accuracy" or "robust" (PGD-10 accuracy): the validation figure early stopping and keep-best watch.</summary>
    public string Monitor { get; init; } = "loss";

    /// <summary>The steps --on-nonfinite skip:K may leave out before the run stops; 0 = stop at the first (stop).</summary>
    public int MaxSkips { get; init; }

    /// <summary>"best" or "last": which epoch model.safetensors holds.</summary>
    public string Keep { get; init; } = "last";

    /// <summary>Evaluate the test set after every epoch, not only at the end.</summary>
    public bool TestEveryEpoch { get; init; }

    /// <summary>"OpenBLAS 0.3.21" or "managed"; null in runs written before it was recorded.</summary>
    public string? Backend { get; init; }

    /// <summary>OpenBLAS's kernel family the run used ("Haswell"): replay and resume use the same.</summary>
    public string? BlasCore { get; init; }

    /// <summary>The kernels asked for: a family, or "auto" (OpenBLAS's own choice for the CPU).</summary>
    public string? Kernels { get; init; }

    /// <summary>The CPU's model name, to say what differs when another machine cannot run the kernels.</summary>
    public string? Cpu { get; init; }

    /// <summary>The size image folders were resampled to (--resize); null = none asked for.</summary>
    public (int Rows, int Cols)? Resize { get; init; }

    /// <summary>The schedule as asked for, in epochs (informational: Config.Schedule is what runs).</summary>
    public string ScheduleRequest { get; init; } = "constant";

    /// <summary>The run and checkpoint step this run started from (train --from); null = from its seed.</summary>
    public ParentRef? Parent { get; init; }

    /// <summary>The config_sha256 run.json was written with (null in a file without one): a hand edit of the
    /// config changes <see cref="ConfigHash"/> but not this.</summary>
    public string? StoredConfigHash { get; init; }

    /// <summary>Features, classes and names, how a table was read and its input transform; null in runs written
    /// before tables (images, digits).</summary>
    public DataInfo? Data { get; init; }

    public const string Format = "functional.run/1";
    public const string FileName = "run.json";

    public static DataRef Ref(string path) => new(System.IO.Path.GetFullPath(path), RunFolder.Sha256(path));

    public static RunFile Of(Config config, int epochs, int checkpointEvery, int journalEvery,
        LabeledImages train, LabeledImages test) => new(
        config, epochs, checkpointEvery, journalEvery,
        Ref(train.ImagesPath), Ref(train.LabelsPath), Ref(test.ImagesPath), Ref(test.LabelsPath),
        Api.Performance.BlasDescription(), Functional.Host.Threads.Current, RunFolder.CodeVersion)
        {
            Backend = Api.Performance.BlasBackend(),
            BlasCore = Api.Performance.BlasCore() is { Length: > 0 } core ? core : null,
            Kernels = Functional.Host.Kernels.Requested,
            Cpu = Functional.Host.Kernels.CpuModel(),
        };

    /// <summary>A stable hash of the maths of the run (config, batch and data), stored in each checkpoint.</summary>
    public string ConfigHash()
    {
        string text = string.Join("|", Api.Training.ConfigFields(Config).Select(f => $"{f.Key}={f.Value}"))
            + $"|{TrainImages.Sha256}|{TrainLabels.Sha256}|{TrainCount}"
            // Runs without a validation set keep the hash they had before validation sets existed.
            + (Validation is { IsFile: false } v ? $"|validation={v.Fraction.ToString("R", CultureInfo.InvariantCulture)}" : "")
            // Resampling changes every pixel; runs without it keep their hash.
            + (Resize is { } size ? $"|resize={size.Cols}x{size.Rows}" : "");
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>What <see cref="ConfigHash"/> hashes, named: a checkpoint keeps them, so an edit of run.json can
    /// be said field by field.</summary>
    public JsonObject HashedFields()
    {
        var o = new JsonObject();
        foreach (var (key, value) in Api.Training.ConfigFields(Config))
        {
            o[key] = value;
        }
        o["train_count"] = TrainCount.ToString(CultureInfo.InvariantCulture);
        o["data.train_images.sha256"] = TrainImages.Sha256;
        o["data.train_labels.sha256"] = TrainLabels.Sha256;
        if (Validation is { IsFile: false } v)
        {
            o["validation.fraction"] = v.Fraction.ToString("R", CultureInfo.InvariantCulture);
        }
        if (Resize is { } size)
        {
            o["data.resize"] = $"{size.Cols}x{size.Rows}";
        }
        return o;
    }

    /// <summary>Refuses a run.json whose hashed fields were edited since it was written: resume would reject every
    /// checkpoint (their config_sha256 differs) and train again from step 0 over the model and journal. The fields
    /// that differ are named from <paramref name="checkpointFields"/> (a checkpoint's "config"), when there is one.</summary>
    public void CheckUnedited(string dir, JsonObject? checkpointFields)
    {
        if (StoredConfigHash is not { } stored || stored == ConfigHash())
        {
            return;
        }
        string path = System.IO.Path.Combine(dir, FileName);
        var now = HashedFields();
        var changed = checkpointFields is null
            ? []
            : now.Where(f => checkpointFields[f.Key]?.ToString() != f.Value?.ToString())
                .Select(f => $"'{f.Key}' is {Quoted(f.Value?.ToString())}, the run trained with {Quoted(checkpointFields[f.Key]?.ToString())}")
                .ToList();
        string what = changed.Count > 0
            ? string.Join("; ", changed)
            : "its config, train_count, data files or validation fraction no longer give its config_sha256";
        throw new DataError(path, $"edited since the run wrote it: {what}. Its checkpoints cannot continue another configuration: undo the edit, or start a new run from one with the change (functional train --from {RunFolder.Shown(dir)} ...)");
    }

    static string Quoted(string? value) => value is null ? "absent" : $"'{(value.Length > 60 ? value[..60] + "…" : value)}'";

    /// <summary>run.json's "config": the configuration's fields, numbers as JSON numbers.</summary>
    public static JsonObject ConfigJson(Config config)
    {
        var o = new JsonObject();
        foreach (var (key, value) in Api.Training.ConfigFields(config))
        {
            o[key] = key is "lr" or "l2" or "momentum" ? JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture))
                : key is "seed" or "batch" ? JsonValue.Create(int.Parse(value, CultureInfo.InvariantCulture))
                : JsonValue.Create(value);
        }
        return o;
    }

    /// <summary>Reads a "config" object back (also the pre-architecture form with "sizes", "hidden", "output", "bias").</summary>
    public static Config ConfigOf(JsonObject c)
    {
        string? Get(string key) => c[key] switch
        {
            null => null,
            JsonArray a => string.Join(",", a.Select(n => n?.ToString())),
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
            JsonValue v when v.TryGetValue(out double d) => d.ToString("R", CultureInfo.InvariantCulture),
            JsonNode n => n.ToJsonString(),
        };
        var parsed = Api.Training.ConfigOfFields(Get);
        return parsed.Ok ? parsed.Value : throw new FormatException(parsed.Error);
    }

    public JsonObject ToJson(JsonObject? results = null)
    {
        var o = new JsonObject
        {
            ["format"] = Format,
            ["code_version"] = CodeVersion,
            ["config"] = ConfigJson(Config),
            ["epochs"] = Epochs,
            ["train_count"] = TrainCount,
            ["preset"] = Preset,
            ["validation"] = Validation is { } v ? ValidationJson(v) : null,
            ["early_stop"] = EarlyStop,
            ["monitor"] = Monitor,
            ["on_nonfinite"] = NonFinitePolicy.Text(MaxSkips),
            ["keep"] = Keep,
            ["test_every_epoch"] = TestEveryEpoch,
            ["schedule_request"] = ScheduleRequest,
            ["checkpoint_every"] = CheckpointEvery,
            ["journal_every"] = JournalEvery,
            ["data"] = new JsonObject
            {
                ["train_images"] = RefJson(TrainImages),
                ["train_labels"] = RefJson(TrainLabels),
                ["test_images"] = RefJson(TestImages),
                ["test_labels"] = RefJson(TestLabels),
            },
            ["data_info"] = Data?.ToJson(),
            ["blas"] = Blas,
            ["backend"] = Backend,
            ["blas_core"] = BlasCore,
            ["kernels"] = Kernels,
            ["cpu"] = Cpu,
            ["threads"] = Threads,
            ["config_sha256"] = ConfigHash(),
        };
        if (Parent is { } p)
        {
            o["parent"] = new JsonObject { ["run"] = p.Run, ["step"] = p.Step };
        }
        if (Resize is { } size)
        {
            o["data"]!["resize"] = new JsonObject { ["rows"] = size.Rows, ["cols"] = size.Cols };
        }
        if (results != null)
        {
            o["results"] = results;
        }
        return o;
    }

    static JsonObject RefJson(DataRef r) => new() { ["path"] = r.Path, ["sha256"] = r.Sha256 };

    static JsonObject ValidationJson(ValidationRef v)
    {
        var o = new JsonObject { ["count"] = v.Count };
        if (v.IsFile)
        {
            o["images"] = RefJson(v.Images!);
            o["labels"] = RefJson(v.Labels!);
        }
        else
        {
            o["fraction"] = v.Fraction;
            o["stratified"] = true;
        }
        return o;
    }

    static ValidationRef? ValidationOf(JsonNode? node)
    {
        if (node is not JsonObject o)
        {
            return null;
        }
        DataRef? R(string key) => o[key] is JsonObject r ? new(Str(r, "path"), Str(r, "sha256")) : null;
        return new ValidationRef(o["fraction"] is null ? 0 : Get<double>(o, "fraction"), R("images"), R("labels"), Get<int>(o, "count"));
    }

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
            var o = JsonNode.Parse(File.ReadAllText(path)) switch
            {
                JsonObject root => root,
                null => throw new DataError(path, "empty file"),
                JsonNode other => throw new DataError(path, $"is {Kind(other)}, not a JSON object"),
            };
            string format = Str(o, "format");
            if (format != Format)
            {
                throw new DataError(path, $"format is '{format}', expected '{Format}'");
            }
            var config = ConfigOf(Object(path, o, "config"));
            var d = Object(path, o, "data");
            JsonObject Obj(string key) => d[key] as JsonObject ?? throw new KeyNotFoundException($"missing field 'data.{key}'");
            DataRef R(string key) => new(Str(Obj(key), "path"), Str(Obj(key), "sha256"));
            // The command line's limits: a run.json is as much the user's input as --epochs is.
            var run = new RunFile(config, Between(o, "epochs", 1, Functional.Cli.Parsing.MaxEpochs), AtLeast(o, "checkpoint_every", 0),
                AtLeast(o, "journal_every", 0), R("train_images"), R("train_labels"), R("test_images"),
                R("test_labels"), Str(o, "blas"), Between(o, "threads", 0, 64), Str(o, "code_version"))
            {
                TrainCount = o["train_count"] is null ? 0 : AtLeast(o, "train_count", 0),
                Preset = OptStr(o, "preset") ?? "modern",
                Validation = o["validation"] is null ? null : ValidationOf(Object(path, o, "validation")),
                EarlyStop = o["early_stop"] is null ? 0 : AtLeast(o, "early_stop", 0),
                Monitor = OneOf(o, "monitor", "loss", "accuracy", "robust"),
                MaxSkips = o["on_nonfinite"] is { } policy ? NonFinitePolicy.Parse(OptStr(o, "on_nonfinite")!, why => new DataError(path, $"on_nonfinite {why}")) : 0,
                Keep = OneOf(o, "keep", "last", "best"),
                TestEveryEpoch = o["test_every_epoch"] is null || Get<bool>(o, "test_every_epoch"),
                ScheduleRequest = OptStr(o, "schedule_request") ?? "constant",
                Backend = OptStr(o, "backend"),
                // Runs written before blas_core existed name their kernels in "blas": "OpenBLAS ... (Haswell, 1 thread(s))".
                BlasCore = OptStr(o, "blas_core") ?? CoreOf(Str(o, "blas")),
                Kernels = OptStr(o, "kernels"),
                Cpu = OptStr(o, "cpu"),
                StoredConfigHash = OptStr(o, "config_sha256"),
                Parent = o["parent"] is JsonObject p ? new ParentRef(Str(p, "run"), Get<long>(p, "step")) : null,
                Data = o["data_info"] is JsonObject info ? DataInfo.FromJson(info) : null,
                Resize = d["resize"] is JsonObject size ? (Get<int>(size, "rows"), Get<int>(size, "cols")) : null,
            };
            return run;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or KeyNotFoundException or ArgumentException)
        {
            throw new DataError(path, $"not a valid run.json: {e.Message}");
        }
    }

    static string? CoreOf(string blas) =>
        System.Text.RegularExpressions.Regex.Match(blas, @"^OpenBLAS .*\((\w+), \d+ thread") is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>An object field; a hand-edited file gets the field named, not "the node must be of type JsonObject".</summary>
    static JsonObject Object(string path, JsonObject o, string key) => o[key] switch
    {
        JsonObject value => value,
        null => throw new DataError(path, $"no '{key}' object"),
        JsonNode other => throw new DataError(path, $"field '{key}' is {Kind(other)}, expected an object"),
    };

    static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "not an object",
    };

    /// <summary>An integer field that must be at least <paramref name="min"/>: a negative epoch count would make a
    /// finished run of -1 epochs.</summary>
    static int AtLeast(JsonObject o, string key, int min) =>
        Get<int>(o, key) is var v && v >= min
            ? v
            : throw new KeyNotFoundException($"field '{key}' is {v}, expected an integer >= {min}");

    static int Between(JsonObject o, string key, int min, int max) =>
        Get<int>(o, key) is var v && v >= min && v <= max
            ? v
            : throw new KeyNotFoundException($"field '{key}' is {v}, expected an integer {min}..{max:N0}");

    /// <summary>A string field that may be absent (its default) or one of <paramref name="allowed"/>.</summary>
    static string OneOf(JsonObject o, string key, params string[] allowed)
    {
        string v = OptStr(o, key) ?? allowed[0];
        return allowed.Contains(v) ? v : throw new KeyNotFoundException($"field '{key}' is '{v}', expected {string.Join(" or ", allowed)}");
    }

    /// <summary>A string field that may be absent or null; any other type is an error naming it.</summary>
    static string? OptStr(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonNode other => throw new KeyNotFoundException($"field '{key}' is {Kind(other)}, expected a string"),
    };

    static T Get<T>(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out T? value) && value is not null
            ? value
            : throw new KeyNotFoundException($"missing or mistyped field '{key}' ({typeof(T).Name.ToLowerInvariant()} expected)");

    static string Str(JsonObject o, string key) =>
        OptStr(o, key) ?? throw new KeyNotFoundException($"missing field '{key}'");

    /// <summary>Loads the training data a run trained on (its validation part held out) and its test set, warning
    /// when a file changed since.</summary>
    public (LabeledImages train, LabeledImages test) LoadData(TextWriter warnings)
    {
        var (train, _, test) = LoadSplit(warnings);
        return (train, test);
    }

    /// <summary>Loads the training part, the validation set (null when the run has none) and the test set.</summary>
    public (LabeledImages train, LabeledImages? validation, LabeledImages test) LoadSplit(TextWriter warnings)
    {
        var table = Data?.TableOptions ?? TableOptions.Default;
        var all = Subset.First(DataFiles.Load(TrainImages.Path, TrainLabels.Path, table, Data?.ClassNames, Resize), TrainCount);
        var test = DataFiles.Load(TestImages.Path, TestLabels.Path, table, Data?.ClassNames ?? all.ClassNames, Resize);
        foreach (var r in new[] { TrainImages, TrainLabels })
        {
            // The training part (and so every step) depends on these bytes.
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
        var (train, validation) = Validation switch
        {
            null => (all, null),
            { IsFile: true } v => (all, DataFiles.Load(v.Images!.Path, v.Labels!.Path, table, Data?.ClassNames ?? all.ClassNames, Resize)),
            { } v => ValidationSet.Split(all, v.Fraction, Config.Seed),
        };
        return Data is { } d
            ? (d.Apply(train), validation is null ? null : d.Apply(validation), d.Apply(test))
            : (train, validation, test);
    }

    /// <summary>Steps in one epoch of this run over n examples.</summary>
    public int BatchSize(int n) => Config.Batch <= 0 || Config.Batch >= n ? n : Config.Batch;
}
