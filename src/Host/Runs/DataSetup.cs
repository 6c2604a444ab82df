using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host.Runs;

/// <summary>
/// What train does with its data before the first epoch: read the files as the options say, fit the network's
/// ends to a table (--layers with a hidden size alone), check the labels, and fit the input transform.
/// </summary>
public static class DataSetup
{
    public static (LabeledImages train, LabeledImages test) Load(DataOptions d, int trainCount)
    {
        string[]? names = d.Classes is { } file ? ClassNames.Read(file) : null;
        var table = new TableOptions(d.Header, d.LabelColumn);
        var resize = Inputs.SizeOf(d.Resize);
        var train = LoadTrain(d, trainCount, names);
        // An image folder's test set is labelled by the training set's class names, whatever classes it holds.
        var test = DataFiles.Load(
            d.Test ?? DataFiles.ShippedPath(Inputs.TestImages), d.TestLabels, table, names ?? train.ClassNames, resize);
        if (test.Features != train.Features)
        {
            throw new DataError(test.ImagesPath, $"has {test.Features} features per row but the training set {train.ImagesPath} has {train.Features}");
        }
        return (train, test);
    }

    static LabeledImages LoadTrain(DataOptions d, int trainCount, string[]? names) => Subset.First(
        DataFiles.Load(d.Train ?? DataFiles.ShippedPath(Inputs.TrainImages), d.TrainLabels,
            new TableOptions(d.Header, d.LabelColumn), names, Inputs.SizeOf(d.Resize)), trainCount);

    /// <summary>The training data alone, as train reads and transforms it, and the configuration fitted to it: for
    /// the probes that need no test set (gradcheck, lr-find).</summary>
    public static (LabeledImages train, Config config) TrainOnly(DataOptions d, int trainCount, Config config)
    {
        var train = LoadTrain(d, trainCount, d.Classes is { } file ? ClassNames.Read(file) : null);
        var (fitted, info) = Fit(d, config, train, train);
        Inputs.CheckFits(train, fitted);
        return (FitScale(info, train).Apply(train), fitted);
    }

    /// <summary>A table's transform when --scale is not given: z-scores over the training rows. A table's columns are
    /// measurements in their own units (not pixels of a known range), and the default network's init and rate assume
    /// inputs of about unit size.</summary>
    public const string DefaultTableScale = "standard";

    /// <summary>The transform a table's rows get: --scale as given, else <see cref="DefaultTableScale"/>.</summary>
    public static string TableScale(DataOptions d) => d.FeatureScale ?? DefaultTableScale;

    /// <summary>The scaling applied, for the configuration lines of train, doctor and gradcheck: a table's
    /// transform (its targets are unit's 0/1 unless --scale book or offset set them), or the images' scale.</summary>
    public static string ScaleText(Config config, bool isTable, string tableScale) =>
        !isTable ? config.ScaleName
        : config.ScaleName == "unit" ? tableScale
        : $"{tableScale} (targets as {config.ScaleName})";

    /// <summary>The schedule a run follows: as given, else the preset's; a table without --schedule trains at a
    /// constant rate. The presets' cosine was chosen on 54,000 images (1,688 updates an epoch); over a table of a few
    /// hundred rows it decays to zero within a few hundred updates, and a 120-row table trained with it for 100 epochs
    /// ended 20 points below the same run at a constant rate.</summary>
    public static Schedule.Request ScheduleFor(TrainOptions o, LabeledImages train) =>
        train.IsTable && !o.ScheduleGiven ? Api.Training.ConstantSchedule : o.Schedule;

    /// <summary>The configuration with the network's ends taken from (or checked against) the data, and the data
    /// info to record; augmentation is turned off for tables, which are not images. Unless the network was given in
    /// full (--layers with its ends, or --arch), a dense network takes a table's features and classes, and an image
    /// folder's pixels and class folders.</summary>
    public static (Config config, DataInfo info) Fit(DataOptions d, Config config, LabeledImages train, LabeledImages test)
    {
        int maxLabel = train.Labels.Concat(test.Labels).DefaultIfEmpty((byte)0).Max();
        string[]? names = train.ClassNames ?? test.ClassNames;
        int classes = Math.Max(names?.Length ?? 0, maxLabel + 1);
        if (!train.IsTable)
        {
            if (d.FeatureScale is "none" or "standard")
            {
                throw new UsageError($"--scale {d.FeatureScale} is for tables; {train.ImagesPath} holds images: give unit, book or offset");
            }
            // An image folder's classes are its class folders. Other image files keep the network's outputs (MNIST's
            // 10 digits), so a subset that lacks a digit does not drop its output.
            bool folder = Directory.Exists(train.ImagesPath);
            if (!(folder && d.LayersFromData))
            {
                classes = Math.Max(classes, config.Classes);
            }
        }
        bool fits = config.Inputs == train.Features && config.Classes == classes;
        if (train.IsTable && !fits)
        {
            if (!d.LayersFromData)
            {
                throw new DataError(train.ImagesPath,
                    $"the network ({config.ArchText}) takes {config.Inputs} inputs and has {config.Classes} outputs, but the table "
                    + $"has {train.Features} features and {classes} classes: give --layers {train.Features},…,{classes}, or the hidden size alone (--layers 5)");
            }
            var arch = Api.Models.DenseWithEnds(config.Arch, train.Features, classes);
            if (!arch.Ok)
            {
                throw new UsageError($"{train.ImagesPath} is a table: its network must be dense (--layers), not {config.ArchText}");
            }
            config = config.WithArch(arch.Value);
        }
        else if (!train.IsTable && d.LayersFromData && !fits)
        {
            // A network that is not dense (a convolutional preset) keeps its own ends.
            var arch = Api.Models.DenseWithEnds(config.Arch, train.Features, classes);
            config = arch.Ok ? config.WithArch(arch.Value) : config;
        }
        if (train.IsTable && Api.Training.Augments(config))
        {
            config = Api.Training.WithoutAugment(config);
        }
        string scale = train.IsTable ? TableScale(d) : "none";
        var info = new DataInfo(train.Features, config.Classes, names, train.IsTable, d.Header, d.LabelColumn, scale, [], [],
            train.IsTable ? null : Inputs.SizeOf(d.Resize));
        return (config, info);
    }

    /// <summary>The info with its transform fitted on <paramref name="train"/> (the training part, without the
    /// validation rows, so nothing of them leaks into training).</summary>
    public static DataInfo FitScale(DataInfo info, LabeledImages train)
    {
        if (!train.IsTable || info.Scale == "none")
        {
            return info;
        }
        var t = Api.Data.FitFeatureScale(info.Scale, train.Features, train.Values!);
        return info with { Shift = t.Shift, Spread = t.Spread };
    }
}
