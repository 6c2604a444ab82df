using Functional.Host.Data;

namespace Functional.Host.Runs;

/// <summary>Where a run's validation set came from: a stratified fraction of its training set (chosen by the
/// seed), or a separate file. <paramref name="Count"/> is the number of validation images.</summary>
public sealed record ValidationRef(double Fraction, DataRef? Images, DataRef? Labels, int Count)
{
    public bool IsFile => Images != null;
}

/// <summary>Holding out the validation set: the one definition train, resume, replay and doctor share.</summary>
public static class ValidationSet
{
    /// <summary>(training part, validation part) of <paramref name="train"/>: a stratified
    /// <paramref name="fraction"/> held out, a pure function of the seed and the labels.</summary>
    public static (LabeledImages train, LabeledImages validation) Split(LabeledImages train, double fraction, int seed)
    {
        var (kept, held) = Api.Data.StratifiedSplit(seed, fraction, train.Labels);
        if (held.Length == 0)
        {
            throw new UsageError($"--validation {fraction} holds out no image of the {train.Count:N0} training images: give a larger fraction, or --validation 0");
        }
        if (kept.Length == 0)
        {
            throw new UsageError($"--validation {fraction} leaves no training image");
        }
        return (Subset.Pick(train, kept), Subset.Pick(train, held));
    }
}
