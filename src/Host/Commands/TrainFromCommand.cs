using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary>A parent run's checkpoint a new run starts from.</summary>
public sealed record ParentStart(string Dir, RunFile Parent, Checkpoint Checkpoint)
{
    /// <summary>The data files: those given, else the parent's; a parent's table is read and transformed as the
    /// parent read it unless --header, --label-column or --scale say otherwise (its weights learnt those inputs).</summary>
    public DataOptions Data(DataOptions given)
    {
        var table = Parent.Data is { IsTable: true } d ? d : null;
        return new(
            given.Train ?? Parent.TrainImages.Path,
            given.Train == null ? Parent.TrainLabels.Path : given.TrainLabels,
            given.Test ?? Parent.TestImages.Path,
            given.Test == null ? Parent.TestLabels.Path : given.TestLabels,
            given.Header ?? table?.Header, given.LabelColumn ?? table?.LabelColumn, given.FeatureScale ?? table?.Scale,
            given.Classes, given.AllowOneClass, given.LayersFromData, given.Resize);
    }
}

/// <summary><c>functional train --from RUN[@STEP] ...</c>: the command line is read again with the parent run's
/// settings as the defaults, so only the options given change; then train starts from the parent's checkpoint.</summary>
public static class TrainFromCommand
{
    public static int Run(TrainOptions first, string[] argv)
    {
        var (dir, step) = ParentRun.ParseFrom(first.From!);
        var parent = RunFile.Read(dir);
        var checkpoint = ParentRun.CheckpointOf(dir, parent, step);
        var parsed = CommandLine.ParseFrom(argv, parent.Preset, parent.Config, parent.Epochs, parent.TrainCount,
            parent.Validation is { IsFile: false } v ? v.Fraction : 0);
        var o = parsed switch
        {
            Parsed.Run { Item: Command.Train t } => t.Item,
            Parsed.Invalid i => throw new UsageError(i.message),
            _ => throw new UsageError("--from: the command line could not be read again"),
        };
        return TrainCommand.Run(o, new ParentStart(dir, parent, checkpoint));
    }
}
