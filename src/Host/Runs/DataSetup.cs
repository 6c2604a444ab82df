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

    /// <summary>The configuration with the network's ends taken from (or checked against) a table, and the data
    /// info to record; augmentation is turned off for tables, which are not images.</summary>
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
            classes = Math.Max(classes, config.Classes);
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
            var arch = Api.DenseWithEnds(config.Arch, train.Features, classes);
            if (!arch.Ok)
            {
                throw new UsageError($"{train.ImagesPath} is a table: its network must be dense (--layers), not {config.ArchText}");
            }
            config = config.WithArch(arch.Value);
        }
        else if (!train.IsTable && d.LayersFromData && config.Inputs != train.Features)
        {
            var arch = Api.DenseWithEnds(config.Arch, train.Features, config.Classes);
            config = arch.Ok ? config.WithArch(arch.Value) : config;
        }
        if (train.IsTable && Api.Augments(config))
        {
            config = Api.WithoutAugment(config);
        }
        string scale = train.IsTable ? d.FeatureScale ?? "none" : "none";
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
        var t = Api.FitFeatureScale(info.Scale, train.Features, train.Values!);
        return info with { Shift = t.Shift, Spread = t.Spread };
    }
}
