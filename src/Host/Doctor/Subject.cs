using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host.Doctor;

/// <summary>The configuration under examination and its data, with the schedule train would follow.</summary>
public sealed class Subject
{
    /// <param name="fit">The configuration fitted to the data, as train fits it (a table gives a dense network its
    /// ends); the doctor's fixed options are fitted the same way.</param>
    public Subject(TrainOptions options, LabeledImages train, LabeledImages test, Func<Config, Config> fit)
    {
        Options = options;
        Fit = fit;
        Config = fit(options.Config);
        Train = train;
        Test = test;
        TrainCore = Inputs.ToCore(train);
        TestCore = Inputs.ToCore(test);
        Batch = BatchOf(Config.Batch, train.Count);
    }

    public Func<Config, Config> Fit { get; }

    public TrainOptions Options { get; }
    public Config Config { get; }
    public LabeledImages Train { get; }
    public LabeledImages Test { get; }
    public Functional.Data.Images TrainCore { get; }
    public Functional.Data.Images TestCore { get; }

    /// <summary>The network train would start from (a start from data, such as k-means, runs once for every probe).</summary>
    public Api.StartingNetwork Start => start ??= Api.Evaluation.StartNetwork(Config, TrainCore);
    private Api.StartingNetwork? start;

    /// <summary>Examples per update (the training set's size for full batch).</summary>
    public int Batch { get; }

    public int Classes => Config.Classes;
    public int UpdatesPerEpoch => (Train.Count + Batch - 1) / Batch;
    public long TotalUpdates => (long)UpdatesPerEpoch * Options.Epochs;

    public static int BatchOf(int batch, int count) => batch <= 0 || batch >= count ? Math.Max(count, 1) : batch;

    /// <summary>The first <paramref name="n"/> training examples' indices.</summary>
    public int[] Sample(int n) => Enumerable.Range(0, Math.Min(n, Train.Count)).ToArray();

    /// <summary>The batches train would visit, step after step, without end: (order, offset, count).</summary>
    public static IEnumerable<(int[] Order, int Offset, int Count)> Schedule(int seed, int n, int batch)
    {
        int[] order = [];
        int epoch = -1;
        for (long step = 1; ; step++)
        {
            var b = Api.Data.BatchOfStep(n, batch, step);
            if (b.Epoch != epoch)
            {
                epoch = b.Epoch;
                order = Api.Data.Permutation(seed, epoch, n);
            }
            yield return (order, b.Offset, b.Count);
        }
    }
}
