using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>Where a checkpoint stands in its run: steps done, and where the next step starts.</summary>
public sealed record Position(long Step, int Epoch, int Offset);

/// <summary>A checkpoint read back and verified.</summary>
public sealed record Checkpoint(string Path, Position At, NamedArray[] State, string TensorHash)
{
    /// <summary>The checkpoint's __metadata__ (early stopping's state among it).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// checkpoints/step-NNNNNNNNN.safetensors: the weights (named as in model.safetensors), the optimiser's
/// moments (optimizer.m.*, optimizer.v.*) and in __metadata__ the step, epoch, offset of the next step,
/// seed, config hash, the parent checkpoint's tensor hash, the format version, the network spec and a
/// hash of the tensor bytes, verified on load. Written to a temporary file and renamed (AtomicFile).
/// </summary>
public static class Checkpoints
{
    public const string Format = "functional.checkpoint/1";
    public const string Folder = "checkpoints";

    public static string PathFor(string runDir, long step) =>
        System.IO.Path.Combine(runDir, Folder, $"step-{step:D9}.safetensors");

    /// <summary>Writes the trainer's state at <paramref name="at"/>; returns the tensor hash (the next one's parent).</summary>
    public static string Write(string runDir, RunFile run, Trainer trainer, Position at, string parent) =>
        Write(runDir, run, trainer, trainer.State(), at, parent);

    /// <summary>The same, with the trainer's <paramref name="state"/> already copied out (and checked), and
    /// <paramref name="extra"/> metadata (early stopping's state).</summary>
    public static string Write(string runDir, RunFile run, Trainer trainer, NamedArray[] state, Position at, string parent,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var tensors = ModelFile.ToSafetensors(state);
        string hash = Safetensors.TensorHash(tensors);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["step"] = at.Step.ToString(CultureInfo.InvariantCulture),
            ["epoch"] = at.Epoch.ToString(CultureInfo.InvariantCulture),
            ["offset"] = at.Offset.ToString(CultureInfo.InvariantCulture),
            ["seed"] = run.Config.Seed.ToString(CultureInfo.InvariantCulture),
            ["config_sha256"] = run.ConfigHash(),
            ["config"] = run.HashedFields().ToJsonString(),
            ["parent_sha256"] = parent,
            ["spec"] = ModelFile.SpecJson(trainer.Model.Spec).ToJsonString(),
            ["tensor_sha256"] = hash,
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            metadata[k] = v;
        }
        Safetensors.Write(PathFor(runDir, at.Step), tensors, metadata);
        return hash;
    }

    /// <summary>Checkpoint files of a run, newest first (by the step in the name).</summary>
    public static List<(long step, string path)> List(string runDir)
    {
        string dir = System.IO.Path.Combine(runDir, Folder);
        if (!Directory.Exists(dir))
        {
            return [];
        }
        var found = new List<(long, string)>();
        foreach (string f in Directory.GetFiles(dir, "step-*.safetensors"))
        {
            string digits = System.IO.Path.GetFileNameWithoutExtension(f)["step-".Length..];
            if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            {
                found.Add((step, f));
            }
        }
        return found.OrderByDescending(x => x.Item1).ToList();
    }

    /// <summary>Reads and verifies one checkpoint against its run; any problem is a DataError naming the file.</summary>
    public static Checkpoint Read(string path, RunFile run)
    {
        var (tensors, metadata) = Safetensors.Read(path);
        string Meta(string key) => metadata.TryGetValue(key, out string? v)
            ? v
            : throw new DataError(path, $"__metadata__ has no '{key}' (not a functional checkpoint)");
        if (Meta("format") != Format)
        {
            throw new DataError(path, $"format is '{Meta("format")}', expected '{Format}'");
        }
        string hash = Safetensors.TensorHash(tensors);
        if (hash != Meta("tensor_sha256"))
        {
            throw new DataError(path, "tensor bytes do not match the tensor_sha256 in __metadata__ (corrupted)");
        }
        if (Meta("config_sha256") != run.ConfigHash())
        {
            throw new DataError(path, "written by a run with another configuration or other training data (config_sha256 differs)");
        }
        long Long(string key) => long.TryParse(Meta(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= 0
            ? v
            : throw new DataError(path, $"__metadata__ '{key}' is not a non-negative integer");
        // Epoch and offset are ints in training: a hand-edited 4294967297 must not come back as 1.
        int Int(string key) => Long(key) is var v && v <= int.MaxValue
            ? (int)v
            : throw new DataError(path, $"__metadata__ '{key}' is {Meta(key)}, more than {int.MaxValue} (2^31 - 1), the most a run counts");
        var at = new Position(Long("step"), Int("epoch"), Int("offset"));
        var state = ModelFile.ToNamedArrays(path, tensors);
        return new Checkpoint(path, at, state, hash) { Metadata = metadata };
    }

    /// <summary>The newest checkpoint that reads and verifies, with step ≤ <paramref name="maxStep"/>; a bad one
    /// is reported on <paramref name="warnings"/> and the previous one tried. Null when none is usable.</summary>
    public static Checkpoint? NewestValid(string runDir, RunFile run, long maxStep, TextWriter warnings)
    {
        foreach (var (step, path) in List(runDir).Where(c => c.step <= maxStep))
        {
            try
            {
                return Read(path, run);
            }
            catch (DataError e)
            {
                warnings.WriteLine($"warning: {e.Message}; falling back to the previous checkpoint");
            }
        }
        return null;
    }

    /// <summary>The hashed fields the newest checkpoint that has them was written with (null: none has), to name
    /// what an edit of run.json changed.</summary>
    public static System.Text.Json.Nodes.JsonObject? NewestFields(string runDir)
    {
        foreach (var (_, path) in List(runDir))
        {
            try
            {
                var (_, metadata) = Safetensors.Read(path);
                if (metadata.TryGetValue("config", out string? text) && System.Text.Json.Nodes.JsonNode.Parse(text) is System.Text.Json.Nodes.JsonObject o)
                {
                    return o;
                }
            }
            catch (Exception e) when (e is DataError or System.Text.Json.JsonException)
            {
                // An unreadable checkpoint only loses the detail of the message.
            }
        }
        return null;
    }

    /// <summary>A trainer in the state of <paramref name="checkpoint"/> (or the run's initial state when null).</summary>
    public static Trainer Restore(RunFile run, Functional.Data.Images train, Checkpoint? checkpoint)
    {
        if (Memory.Problem(run.Config, train.Count) is { } tooLarge)
        {
            throw new UsageError($"the run's network: {tooLarge}");
        }
        if (checkpoint == null)
        {
            return Api.Training.CreateTrainer(run.Config, train);
        }
        try
        {
            return Api.Training.RestoreTrainer(run.Config, train, checkpoint.State, checkpoint.At.Step);
        }
        catch (ArgumentException e)
        {
            throw new DataError(checkpoint.Path, e.Message);
        }
    }
}
