using System.Globalization;
using Functional.Cli;
using Functional.Host.Data;
using Functional.Host.Runs;

namespace Functional.Host.Commands;

/// <summary><c>functional train</c>: epochs of steps over a batch schedule, one line per epoch, a model at the end.</summary>
public static class TrainCommand
{
    /// <param name="from">The parent run's checkpoint to start from (train --from), or null: from the seed.</param>
    public static int Run(TrainOptions o, ParentStart? from = null)
    {
        var files = from?.Data(o.Data) ?? o.Data;
        var (train, test) = DataSetup.Load(files, o.TrainCount);
        var (config, info) = DataSetup.Fit(files, o.Config, train, test);
        // Before anything is created or trained: a refusal leaves nothing behind.
        var labelWarnings = LabelChecks.Run(train, test, config.Classes, files.AllowOneClass);
        var resize = Inputs.SizeOf(files.Resize);
        int maxSkips = NonFinitePolicy.Parse(o.OnNonFinite, why => new UsageError($"--on-nonfinite {why}"));
        Inputs.CheckFits(train, config);
        Inputs.CheckFits(test, config);
        // The validation set: a separate file, or a stratified part of the training set held out from training.
        LabeledImages? validation = null;
        ValidationRef? validationRef = null;
        if (o.ValidationFile != null)
        {
            validation = DataFiles.Load(o.ValidationFile, o.ValidationLabels, info.TableOptions, info.ClassNames, resize);
            Inputs.CheckFits(validation, config);
            validationRef = new ValidationRef(0, RunFile.Ref(validation.ImagesPath), RunFile.Ref(validation.LabelsPath), validation.Count);
        }
        else if (o.Validation > 0)
        {
            (train, validation) = ValidationSet.Split(train, o.Validation, config.Seed);
            validationRef = new ValidationRef(o.Validation, null, null, validation.Count);
        }

        info = DataSetup.FitScale(info, train);
        train = info.Apply(train);
        test = info.Apply(test);
        validation = validation is null ? null : info.Apply(validation);

        var schedule = DataSetup.ScheduleFor(o, train);
        int batch = config.Batch <= 0 || config.Batch >= train.Count ? train.Count : config.Batch;
        // The schedule was given in epochs; the run stores it in steps, so replay needs nothing else.
        config = from != null && !o.ScheduleGiven
            ? config.WithSchedule(from.Parent.Config.Schedule)
            : config.WithSchedule(Api.Training.ResolveSchedule(schedule, (train.Count + batch - 1) / batch, o.Epochs));
        if (Api.Training.Problem(config) is { } problem)
        {
            throw new UsageError(problem);
        }
        // Checked before a folder is made: a refused start leaves nothing behind.
        if (Memory.Problem(config, train.Count) is { } tooLarge)
        {
            throw new UsageError(tooLarge);
        }
        var state = from == null ? null : ParentRun.StartState(from.Checkpoint, from.Parent, config);
        long startStep = from?.Checkpoint.At.Step ?? 0;
        long lastStep = (long)o.Epochs * ((train.Count + batch - 1) / batch);
        if (from != null && startStep >= lastStep)
        {
            throw new UsageError($"--from {from.Dir}@{startStep}: --epochs {o.Epochs} ends at step {lastStep}, not after the start; --epochs counts from the parent's start, so ask for more");
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

        var header = TrainHeader.Lines(config, o.Epochs, o.Preset, train, validationRef, validation, test, info, Api.Performance.BlasDescription());
        foreach (string line in header[..^1])
        {
            log.WriteLine(line);
        }
        foreach (string warning in labelWarnings)
        {
            Console.Error.WriteLine(warning);
        }
        log.WriteLine(header[^1]);
        log.WriteLine($"run   {dir}");
        if (from != null)
        {
            bool kept = ParentRun.KeepsOptimizer(from.Parent.Config, config);
            string parentOpt = Api.Training.ConfigFields(from.Parent.Config).First(f => f.Key == "optimizer").Value;
            string opt = Api.Training.ConfigFields(config).First(f => f.Key == "optimizer").Value;
            log.WriteLine($"from  {from.Checkpoint.Path}: step {startStep}; optimizer state {(kept ? $"kept ({opt})" : $"reset ({parentOpt} -> {opt}: moments start at zero)")}");
        }

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
            MaxSkips = maxSkips,
            Keep = o.Keep,
            TestEveryEpoch = o.TestEveryEpoch,
            ScheduleRequest = from != null && !o.ScheduleGiven ? from.Parent.ScheduleRequest : Api.Training.ScheduleText(schedule),
            Parent = from == null ? null : new ParentRef(Path.GetFullPath(from.Dir), startStep),
            Data = info,
            Resize = resize,
        };
        run.Write(dir);
        if (from == null)
        {
            var trainer = Api.Training.CreateTrainer(config, Inputs.ToCore(train));
            return TrainLoop.Run(run, dir, trainer, train, validation, test, new Position(0, 0, 0), "", o.Quiet, report: o.Report);
        }
        Trainer child;
        try
        {
            child = Api.Training.RestoreTrainer(config, Inputs.ToCore(train), state, startStep);
        }
        catch (ArgumentException e)
        {
            throw new DataError(from.Checkpoint.Path, e.Message);
        }
        var next = Api.Data.BatchOfStep(train.Count, batch, startStep + 1);
        var start = new Position(startStep, next.Epoch, next.Offset);
        // The parent's sums of a split epoch carry over when the child's epoch is the same one (same batching).
        var soFar = start == from.Checkpoint.At ? EpochSoFar.Of(from.Checkpoint.Metadata, start) : EpochSoFar.None;
        return TrainLoop.Run(run, dir, child, train, validation, test, start, from.Checkpoint.TensorHash, o.Quiet, null, soFar, o.Report);
    }
}
