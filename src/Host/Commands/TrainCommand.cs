using System.Globalization;
using Functional.Cli;
using Functional.Host.Data;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary><c>functional train</c>: epochs of steps over a batch schedule, one line per epoch, a model at the end.</summary>
public static class TrainCommand
{
    public static int Run(TrainOptions o)
    {
        var config = o.Config;
        var resize = Inputs.SizeOf(o.Data.Resize);
        var train = Subset.First(Inputs.Load(o.Data.Train, o.Data.TrainLabels, Inputs.TrainImages, resize), o.TrainCount);
        // An image folder's test set is labelled by the training set's class names, whatever classes it holds.
        var test = Inputs.Load(o.Data.Test, o.Data.TestLabels, Inputs.TestImages, resize, train.ClassNames);
        Inputs.CheckFits(train, config);
        Inputs.CheckFits(test, config);
        // The validation set: a separate file, or a stratified part of the training set held out from training.
        LabeledImages? validation = null;
        ValidationRef? validationRef = null;
        if (o.ValidationFile != null)
        {
            validation = DataFiles.Load(o.ValidationFile, o.ValidationLabels, resize, train.ClassNames);
            Inputs.CheckFits(validation, config);
            validationRef = new ValidationRef(0, RunFile.Ref(validation.ImagesPath), RunFile.Ref(validation.LabelsPath), validation.Count);
        }
        else if (o.Validation > 0)
        {
            (train, validation) = ValidationSet.Split(train, o.Validation, config.Seed);
            validationRef = new ValidationRef(o.Validation, null, null, validation.Count);
        }

        int batch = config.Batch <= 0 || config.Batch >= train.Count ? train.Count : config.Batch;
        // The schedule was given in epochs; the run stores it in steps, so replay needs nothing else.
        config = config.WithSchedule(Api.ResolveSchedule(o.Schedule, (train.Count + batch - 1) / batch, o.Epochs));
        if (Api.Problem(config) is { } problem)
        {
            throw new UsageError(problem);
        }
        Threads.Choose(o.Threads, batch);
        string dir = RunFolder.Create(o.Run);
        // The lock first, then the check: two trains into one new folder cannot both pass it.
        using var runLock = RunLock.Acquire(dir, Console.Error);
        if (o.Run != null && File.Exists(Path.Combine(o.Run, RunFile.FileName)))
        {
            throw new UsageError($"{o.Run} already holds a run: continue it with 'functional resume {o.Run}', or choose another --run");
        }
        // --quiet: no header, no epoch lines, no bar; the result lines (and a warning) only.
        var log = o.Quiet ? TextWriter.Null : Console.Out;

        log.WriteLine($"train {Api.Describe(config)}, {(config.Batch <= 0 ? "full batch" : $"batch {config.Batch}")}, {o.Epochs} epochs, {config.PrecisionName}, seed {config.Seed}{(o.Preset == "modern" ? "" : $", preset {o.Preset}")}");
        string held = validationRef switch
        {
            null => "",
            { IsFile: true } => $", validation {validation!.Count:N0} ({validation.ImagesPath})",
            _ => $", validation {validation!.Count:N0} held out of them",
        };
        log.WriteLine($"data  train {train.Count:N0} images ({train.ImagesPath}){held}, test {test.Count:N0} ({test.ImagesPath})");
        log.WriteLine($"blas  {Api.BlasDescription()}");
        log.WriteLine($"run   {dir}");

        // A journal line costs about as much as 20 per-example steps (a hash of every weight, gradient norms):
        // every 1,000 steps keeps per-example runs' overhead small, every 100 is cheap for mini-batches.
        int journalEvery = o.JournalEvery > 0 ? o.JournalEvery : batch < 32 ? 1000 : 100;
        var run = RunFile.Of(config, o.Epochs, o.CheckpointEvery, journalEvery, train, test) with
        {
            TrainCount = o.TrainCount,
            Preset = o.Preset,
            Validation = validationRef,
            EarlyStop = o.EarlyStop,
            Monitor = o.Monitor,
            Keep = o.Keep,
            TestEveryEpoch = o.TestEveryEpoch,
            ScheduleRequest = Schedule.RequestModule.describe(o.Schedule),
            Resize = resize,
        };
        run.Write(dir);
        var trainer = Api.CreateTrainer(config, Inputs.ToCore(train));
        return TrainLoop.Run(run, dir, trainer, train, validation, test, new Position(0, 0, 0), "", o.Quiet);
    }
}
