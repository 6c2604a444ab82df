using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// Early stopping and keep-best: the best validation figure so far, the epoch that reached it and the epochs
/// since. Kept in every checkpoint's metadata, so a resumed run stops and keeps exactly as the uninterrupted one;
/// the best epoch's weights are in <c>best.safetensors</c> beside the run's model.
/// </summary>
public sealed record KeepBest(int BestEpoch, double BestValue, int BadEpochs)
{
    public const string FileName = "best.safetensors";

    public static readonly KeepBest None = new(0, double.NaN, 0);

    /// <summary>The state after an epoch whose validation figure was <paramref name="value"/>: lower is better
    /// for the loss, higher for an accuracy; the first finite figure is always an improvement.</summary>
    public KeepBest After(int epoch, double value, string monitor)
    {
        bool better = double.IsFinite(value) && (BestEpoch == 0 || !double.IsFinite(BestValue)
            || (HigherIsBetter(monitor) ? value > BestValue : value < BestValue));
        return better ? new KeepBest(epoch, value, 0) : this with { BadEpochs = BadEpochs + 1 };
    }

    /// <summary>The accuracies (clean, or under attack for "robust"), not the loss.</summary>
    public static bool HigherIsBetter(string monitor) => monitor is "accuracy" or "robust";

    /// <summary>True when <paramref name="patience"/> epochs (0: never) have passed without improvement.</summary>
    public bool ShouldStop(int patience) => patience > 0 && BestEpoch > 0 && BadEpochs >= patience;

    public Dictionary<string, string> Metadata() => new()
    {
        ["best_epoch"] = BestEpoch.ToString(CultureInfo.InvariantCulture),
        ["best_value"] = BestValue.ToString("R", CultureInfo.InvariantCulture),
        ["bad_epochs"] = BadEpochs.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The state a checkpoint recorded (checkpoints written before keep-best existed: none).</summary>
    public static KeepBest Of(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata == null || !metadata.TryGetValue("best_epoch", out string? e)
            || !int.TryParse(e, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch)
            || !metadata.TryGetValue("best_value", out string? v)
            || !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || !metadata.TryGetValue("bad_epochs", out string? b)
            || !int.TryParse(b, NumberStyles.Integer, CultureInfo.InvariantCulture, out int bad))
        {
            return None;
        }
        return new KeepBest(epoch, value, bad);
    }
}
