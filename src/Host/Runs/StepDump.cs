using System.Globalization;
using System.Text.Json.Nodes;

namespace Functional.Host.Runs;

/// <summary>
/// <c>replay --dump DIR</c>: everything step N read and wrote, so that another program can recompute the step
/// from these files alone: the batch, the weights and the optimiser's moments before and after, every layer's
/// pre-activations and activations, the gradient, and step.json with every number the update used.
/// </summary>
public static class StepDump
{
    public const string HyperFile = "step.json";

    /// <summary>Writes the dump of the step that follows <paramref name="trainer"/>'s state (step
    /// <paramref name="step"/>, in 0-based epoch <paramref name="epoch"/>); the trainer is left untouched.</summary>
    public static void Write(string dir, RunFile run, Functional.Data.Images images, Trainer trainer,
        int[] order, int offset, int count, long step, int epoch)
    {
        Directory.CreateDirectory(dir);
        long updates = trainer.StepCount;
        long[] indices = Enumerable.Range(offset, count).Select(i => (long)order[i]).ToArray();
        var meta = new Dictionary<string, string> { ["step"] = Text(step) };
        var batch = new List<Safetensors.Tensor> { Safetensors.Tensor.FromInt64s("indices", [count], indices) };
        batch.AddRange(ModelFile.ToSafetensors(trainer.Batch(order, offset, count)));
        Safetensors.Write(Path.Combine(dir, "batch.safetensors"), batch, meta);
        Safetensors.Write(Path.Combine(dir, "before.safetensors"), ModelFile.ToSafetensors(trainer.Model.Tensors()), meta);
        WriteOptimizer(Path.Combine(dir, "optimizer-before.safetensors"), trainer.State(), step, updates);
        Safetensors.Write(Path.Combine(dir, "activations.safetensors"), ModelFile.ToSafetensors(trainer.Activations(order, offset, count)), meta);
        var (loss, grads) = trainer.StepGradients(order, offset, count);
        Safetensors.Write(Path.Combine(dir, "grads.safetensors"), ModelFile.ToSafetensors(grads), meta);
        // "after" needs the step itself: take it on a copy, so the replay's own state is untouched.
        var copy = Api.Training.RestoreTrainer(run.Config, images, trainer.State(), updates);
        var taken = copy.StepMeasured(order, offset, count);
        Safetensors.Write(Path.Combine(dir, "after.safetensors"), ModelFile.ToSafetensors(copy.Model.Tensors()), meta);
        WriteOptimizer(Path.Combine(dir, "optimizer-after.safetensors"), copy.State(), step, updates + 1);
        RunFolder.WriteJson(Path.Combine(dir, HyperFile), Hyper(run, step, epoch, updates, offset, indices, loss, taken));
    }

    /// <summary>The moments alone (optimizer.m.*, optimizer.v.*; none for plain SGD) and the update count.</summary>
    static void WriteOptimizer(string path, NamedArray[] state, long step, long updates)
    {
        var moments = state.Where(t => t.Name.StartsWith("optimizer.", StringComparison.Ordinal));
        Safetensors.Write(path, ModelFile.ToSafetensors(moments), new Dictionary<string, string>
        {
            ["step"] = Text(step),
            ["update_count"] = Text(updates),
        });
    }

    static JsonObject Hyper(RunFile run, long step, int epoch, long updates, int offset, long[] indices, double loss, StepSummary taken)
    {
        var numbers = new JsonObject();
        foreach (var (k, v) in Api.Training.StepNumbers(run.Config, updates))
        {
            numbers[k] = v;
        }
        var config = RunFile.ConfigJson(run.Config);
        return new JsonObject
        {
            ["format"] = "functional.step-dump/1",
            ["step"] = step,
            ["epoch"] = epoch + 1,
            // Adam's bias correction uses this t: 1 − β₁ᵗ, 1 − β₂ᵗ.
            ["update"] = updates + 1,
            ["update_count_before"] = updates,
            ["optimizer"] = config["optimizer"]?.DeepClone(),
            ["hyper"] = numbers,
            ["schedule"] = run.Config.ScheduleText,
            ["loss_function"] = config["loss"]?.DeepClone(),
            ["reduction"] = config["reduction"]?.DeepClone(),
            ["precision"] = run.Config.PrecisionName,
            ["seed"] = run.Config.Seed,
            ["augment"] = config["augment"]?.DeepClone(),
            // JSON has no NaN or infinity: a dump of a step that went non-finite says so in words.
            ["loss"] = double.IsFinite(loss) ? loss : loss.ToString(CultureInfo.InvariantCulture),
            // The update used grads × clip_scale (1 = not clipped); grads.safetensors holds them before clipping.
            ["clip_scale"] = double.IsFinite(taken.Clip) ? taken.Clip : taken.Clip.ToString(CultureInfo.InvariantCulture),
            ["batch"] = new JsonObject
            {
                ["size"] = indices.Length,
                ["offset_in_epoch"] = offset,
                ["indices"] = new JsonArray(indices.Select(i => (JsonNode)JsonValue.Create(i)).ToArray()),
            },
            ["files"] = new JsonObject
            {
                ["batch.safetensors"] = !Api.Training.IsAdversarial(run.Config)
                    ? "indices (into the training set), inputs [B, features] and targets [B, classes] as the network saw them"
                    : "indices (into the training set), inputs [2B, features] and targets [2B, classes] as the network saw them: the B clean examples, then their attacked copies; targets scaled by 2(1 - w) and 2w (w = adversarial_weight; only the attacked half, unscaled, when w = 1)",
                ["before.safetensors"] = "weights before the step",
                ["optimizer-before.safetensors"] = "optimizer.m.* (momentum's velocity, Adam's first moment), optimizer.v.* (Adam's second moment) before the step; __metadata__ update_count",
                ["activations.safetensors"] = "layers.{l}.preactivation and layers.{l}.activation of the step's forward pass, [B, output shape]",
                ["grads.safetensors"] = "dL/dtheta of the batch at the weights before (L2 term included, before clipping)",
                ["after.safetensors"] = "weights after the step",
                ["optimizer-after.safetensors"] = "the moments after the step; __metadata__ update_count",
            },
            ["config"] = config,
        };
    }

    static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);
}
