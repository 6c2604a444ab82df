using System.Globalization;

namespace Functional.Host.Runs;

/// <summary>
/// The part of an epoch done before a checkpoint taken inside it: the sum of its steps' losses (each weighted by
/// its batch's examples), the examples seen and the seconds spent. Kept in the checkpoint's metadata, so the epoch
/// a resume splits reports its loss over the whole epoch, as the uninterrupted run does.
/// </summary>
public sealed record EpochSoFar(double LossSum, int Seen, double Seconds)
{
    public static readonly EpochSoFar None = new(0, 0, 0);

    public Dictionary<string, string> Metadata() => new()
    {
        ["epoch_loss_sum"] = LossSum.ToString("R", CultureInfo.InvariantCulture),
        ["epoch_examples"] = Seen.ToString(CultureInfo.InvariantCulture),
        ["epoch_seconds"] = Seconds.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>What a checkpoint recorded; None at an epoch's start or in checkpoints written before this existed.</summary>
    public static EpochSoFar Of(IReadOnlyDictionary<string, string>? metadata, Position at)
    {
        if (at.Offset == 0 || metadata == null
            || !metadata.TryGetValue("epoch_loss_sum", out string? l)
            || !double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out double loss)
            || !metadata.TryGetValue("epoch_examples", out string? n)
            || !int.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out int seen))
        {
            return None;
        }
        double seconds = metadata.TryGetValue("epoch_seconds", out string? s)
            && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : 0;
        return new EpochSoFar(loss, seen, seconds);
    }
}
