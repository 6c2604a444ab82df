using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host.Doctor;

/// <summary>The configuration under examination and its data, with the schedule train would follow.</summary>
public sealed class Subject
{
    public Subject(TrainOptions options, LabeledImages train, LabeledImages test)
    {
        Options = options;
        Config = Commands.TrainCommand.ConfigOf(options);
        Train = train;
        Test = test;
        TrainCore = Inputs.ToCore(train);
        TestCore = Inputs.ToCore(test);
        Batch = BatchOf(options.Batch, train.Count);
    }

    public TrainOptions Options { get; }
    public TrainConfig Config { get; }
    public LabeledImages Train { get; }
    public LabeledImages Test { get; }
    public global::Functional.Data.Images TrainCore { get; }
    public global::Functional.Data.Images TestCore { get; }

    /// <summary>Examples per update (the training set's size for full batch).</summary>
    public int Batch { get; }

    public int Classes => Config.Sizes[^1];
    public int UpdatesPerEpoch => (Train.Count + Batch - 1) / Batch;
    public long TotalUpdates => (long)UpdatesPerEpoch * Options.Epochs;

    public static int BatchOf(int batch, int count) => batch <= 0 || batch >= count ? Math.Max(count, 1) : batch;

    /// <summary>The first <paramref name="n"/> training examples' indices.</summary>
    public int[] Sample(int n) => Enumerable.Range(0, Math.Min(n, Train.Count)).ToArray();

    /// <summary>The batches train would visit, epoch after epoch, without end: (order, offset, count).</summary>
    public static IEnumerable<(int[] Order, int Offset, int Count)> Schedule(int seed, int n, int batch)
    {
        for (int epoch = 0; ; epoch++)
        {
            int[] order = Api.Permutation(seed, epoch, n);
            for (int offset = 0; offset < n; offset += batch)
            {
                yield return (order, offset, Math.Min(batch, n - offset));
            }
        }
    }

    /// <summary>The same configuration with another learning rate.</summary>
    public static TrainConfig WithLr(TrainConfig c, double lr) => new(
        c.Sizes, c.Hidden, c.Output, c.Loss, c.Init, c.Bias, c.Optimizer, lr, c.L2, c.Momentum, c.Reduction, c.Scale,
        c.Seed, c.Precision, c.Batch);
}
