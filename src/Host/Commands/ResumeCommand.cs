using Functional.Cli;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary><c>functional resume</c>: continue a run from its newest valid checkpoint, ending bit-identical
/// to the run that was never interrupted.</summary>
public static class ResumeCommand
{
    public static int Run(ResumeOptions o)
    {
        var run = RunFile.Read(o.Run);
        run.CheckUnedited(o.Run, Checkpoints.NewestFields(o.Run));
        using var runLock = RunLock.Acquire(o.Run, Console.Error);
        // The journal is read only once training starts, after run.json is rewritten: a damaged line found then
        // would leave run.json changed (its results gone) by a resume that never ran.
        Journal.Steps(o.Run, TextWriter.Null);
        if (o.Epochs > 0)
        {
            // A cosine or one-cycle schedule was laid out for the run's length; past it the rate stays at its end.
            long laidOut = Api.Training.ScheduleLength(run.Config);
            if (o.Epochs > run.Epochs && laidOut >= 0)
            {
                throw new UsageError($"{o.Run} has a learning-rate schedule laid out for its {run.Epochs} epochs ({run.Config.ScheduleText}, {laidOut:N0} steps); after them it would train at the schedule's end rate, {Api.Display.Small(Api.Training.LrAt(run.Config, laidOut))}. Train a new run with --epochs {o.Epochs} instead");
            }
            run = run with { Epochs = o.Epochs };
        }
        // The run's own thread count by default (its bits do not depend on it: Gang.fs; its speed does).
        Threads.Choose(o.Threads > 0 ? o.Threads : run.Threads, run.Config.Batch);
        var (train, validation, test) = run.LoadSplit(Console.Error);
        Inputs.CheckFits(train, run.Config);
        Inputs.CheckFits(test, run.Config);
        var checkpoint = Checkpoints.NewestValid(o.Run, run, long.MaxValue, Console.Error);
        Trainer trainer;
        Position start;
        bool fromParent = checkpoint == null && run.Parent != null;
        if (checkpoint == null && run.Parent is { } parent)
        {
            // A run started --from another, stopped before its own first checkpoint: it starts again from the parent's.
            (trainer, checkpoint) = ParentRun.Start(run, Inputs.ToCore(train));
            var next = Api.Data.BatchOfStep(train.Count, run.BatchSize(train.Count), parent.Step + 1);
            start = new Position(parent.Step, next.Epoch, next.Offset);
        }
        else
        {
            trainer = Checkpoints.Restore(run, Inputs.ToCore(train), checkpoint);
            start = checkpoint?.At ?? new Position(0, 0, 0);
        }
        long lastStep = (long)run.Epochs * ((train.Count + run.BatchSize(train.Count) - 1) / run.BatchSize(train.Count));
        if (run.Parent == null && Api.Training.ScheduleLength(run.Config) is var laid and >= 0 && lastStep > laid)
        {
            // What --epochs refuses above, reached by an edit of run.json's "epochs".
            throw new DataError(Path.Combine(o.Run, RunFile.FileName), $"field 'epochs' is {run.Epochs} ({lastStep:N0} steps), but its learning-rate schedule is laid out for {laid:N0} steps ({run.Config.ScheduleText}); after them it would train at the schedule's end rate: undo the edit, or train a new run with more --epochs");
        }
        var keepBest = fromParent ? KeepBest.None : KeepBest.Of(checkpoint?.Metadata);
        bool done = start.Step >= lastStep || keepBest.ShouldStop(run.EarlyStop);
        if (done && File.Exists(Path.Combine(o.Run, ModelFile.FileName)))
        {
            throw new UsageError(keepBest.ShouldStop(run.EarlyStop)
                ? $"{o.Run} is finished: it stopped early after epoch {start.Epoch} ({run.EarlyStop} epochs without a better validation {run.Monitor}); its model holds epoch {(run.Keep == "best" ? keepBest.BestEpoch : start.Epoch)}"
                : Api.Training.ScheduleLength(run.Config) >= 0
                    ? $"{o.Run} is finished: all {run.Epochs} epochs ({start.Step:N0} steps) are done, and its learning-rate schedule with them; to train longer, start a new run with more --epochs"
                    : $"{o.Run} is finished: all {run.Epochs} epochs ({start.Step:N0} steps) are done; to train it further: functional resume {o.Run} --epochs {run.Epochs + 5}");
        }
        ReplayCommand.WarnIfEnvironmentDiffers(run);
        // Kept under --quiet: which checkpoint the run continues from is part of the result.
        Console.Out.WriteLine(checkpoint == null
            ? $"resume {o.Run}: no valid checkpoint, starting from step 0"
            : done
                ? $"resume {o.Run} from {checkpoint.Path}: training is done; writing the model"
                : $"resume {o.Run} from {checkpoint.Path}: step {start.Step}, epoch {start.Epoch + 1}, example {start.Offset} of the epoch");
        run.Write(o.Run);
        return TrainLoop.Run(run, o.Run, trainer, train, validation, test, start, checkpoint?.TensorHash ?? "", o.Quiet, keepBest,
            start == checkpoint?.At ? EpochSoFar.Of(checkpoint.Metadata, start) : EpochSoFar.None);
    }
}
