using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Host.Data;

namespace Functional.Host.Runs;

/// <summary>
/// The loop shared by <c>train</c> and <c>resume</c>: epochs of steps in the order Api.Permutation(seed, epoch)
/// gives, a journal line every k steps, checkpoints every K steps and at each epoch's end, a checkpoint
/// and a way back on Ctrl+C or SIGTERM. Which step runs where is a function of (run, step number) only,
/// so a resumed run takes exactly the steps the uninterrupted one would have.
/// </summary>
public static class TrainLoop
{
    public static int Run(RunFile run, string dir, Trainer trainer, LabeledImages train, LabeledImages test,
        Position start, string parent, bool quiet)
    {
        var log = Console.Out;
        int n = train.Count;
        int batch = run.BatchSize(n);
        var coreTrain = Inputs.ToCore(train);
        var coreTest = Inputs.ToCore(test);
        int updatesPerEpoch = (n + batch - 1) / batch;
        using var journal = Journal.Open(dir, start.Step, Console.Error);
        using var stop = new StopSignal();
        var epochs = new JsonArray();
        long lastCheckpoint = start.Step;
        using var progress = Progress.Start(start.Step > 0 ? "resume" : "train", (long)run.Epochs * updatesPerEpoch, !quiet, start.Step);

        long lastStep = (long)run.Epochs * updatesPerEpoch;
        int epoch = -1;
        int[] order = [];
        var clock = new Stopwatch();
        double lossSum = 0;
        int seen = 0;
        // Step after step, each taking the batch Api.BatchOfStep names: the schedule is a function of the step alone.
        for (long step = trainer.StepCount + 1; step <= lastStep; step++)
        {
            var at = Api.BatchOfStep(n, batch, step);
            if (at.Epoch != epoch)
            {
                epoch = at.Epoch;
                order = Api.Permutation(run.Config.Seed, epoch, n);
                clock.Restart();
                lossSum = 0;
                seen = 0;
            }
            int offset = at.Offset;
            int count = at.Count;
            bool endOfEpoch = offset + count >= n;
            bool checkpointNow = endOfEpoch || (run.CheckpointEvery > 0 && step % run.CheckpointEvery == 0);
            double loss;
            StepSummary? measured = null;
            if (checkpointNow || step % run.JournalEvery == 0)
            {
                measured = trainer.StepMeasured(order, offset, count);
                loss = measured.Loss;
            }
            else
            {
                loss = trainer.Step(order, offset, count);
            }
            // The fast path's only check: one comparison a step. The weights are checked below, where a
            // checkpoint copies them out anyway; a NaN weight makes the next step's loss NaN in any case.
            if (!double.IsFinite(loss))
            {
                return Divergence.Stop(dir, run, step, epoch, $"the loss became {loss.ToString(CultureInfo.InvariantCulture)}",
                    Divergence.Culprit(trainer, order, offset, count), lastCheckpoint);
            }
            if (measured != null && (Divergence.FirstNonFiniteLayer(measured.GradNorms) ?? Divergence.FirstNonFiniteLayer(measured.UpdateRatios)) is int layer)
            {
                return Divergence.Stop(dir, run, step, epoch, $"the gradient norm or update ratio of layer {layer} is not finite",
                    Divergence.Culprit(trainer, order, offset, count), lastCheckpoint);
            }
            var next = endOfEpoch ? new Position(step, epoch + 1, 0) : new Position(step, epoch, offset + count);
            bool stopping = stop.Requested; // read once: the signal may arrive in between
            NamedArray[]? state = checkpointNow || stopping ? trainer.State() : null;
            if (state != null && Divergence.FirstNonFinite(state) != null)
            {
                return Divergence.Stop(dir, run, step, epoch, "a weight became NaN or infinite",
                    Divergence.Culprit(trainer, order, offset, count), lastCheckpoint);
            }
            if (measured != null)
            {
                journal.Step(new JournalStep(step, epoch, offset + count, measured.Loss, measured.GradNorms, measured.UpdateRatios, trainer.WeightsHash()) { Saturation = measured.Saturation, Dead = measured.Dead });
            }
            lossSum += loss * count;
            seen += count;
            progress.Step(step, epoch + 1, run.Epochs, loss, count);
            if (checkpointNow)
            {
                parent = Checkpoints.Write(dir, run, trainer, state!, next, parent);
                lastCheckpoint = step;
            }
            if (stopping)
            {
                if (lastCheckpoint != step)
                {
                    Checkpoints.Write(dir, run, trainer, state!, next, parent);
                }
                progress.Dispose();
                Console.Out.Flush();
                Console.Error.WriteLine($"interrupted after step {step}: wrote {Checkpoints.PathFor(dir, step)}");
                Console.Error.WriteLine($"continue with: functional resume {dir}");
                return ReturnCode.Interrupted;
            }
            if (offset + count < n)
            {
                continue;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var trainEval = trainer.Model.Evaluate(coreTrain);
            var testEval = trainer.Model.Evaluate(coreTest);
            double meanLoss = seen > 0 ? lossSum / seen : double.NaN;
            var line = new JsonObject
            {
                ["kind"] = "epoch",
                ["step"] = trainer.StepCount,
                ["epoch"] = epoch + 1,
                ["loss"] = meanLoss,
                ["train_accuracy"] = trainEval.Accuracy,
                ["test_accuracy"] = testEval.Accuracy,
                ["seconds"] = seconds,
            };
            journal.Write(line);
            epochs.Add(line.DeepClone());
            if (!quiet)
            {
                // On a terminal too narrow for the whole line, the updates per epoch (the same every epoch) go first.
                progress.Line(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1,3}/{run.Epochs}  loss {meanLoss:F4}  train {100 * trainEval.Accuracy:F2}%  test {100 * testEval.Accuracy:F2}%  {seconds:F1}s  {seen / seconds:N0} ex/s"),
                    string.Create(CultureInfo.InvariantCulture, $"  ({updatesPerEpoch:N0} updates)"));
            }
        }

        progress.Dispose();
        var final = trainer.Model.Evaluate(coreTest);
        string modelPath = Path.Combine(dir, ModelFile.FileName);
        ModelFile.Save(modelPath, trainer.Model);
        run.Write(dir, new JsonObject
        {
            ["steps"] = trainer.StepCount,
            ["test_accuracy"] = final.Accuracy,
            ["epochs"] = epochs,
        });
        log.WriteLine($"model {modelPath}");
        log.WriteLine($"predicted classes on test: {Histogram.Line(Histogram.Of(final.Predictions, run.Config.Classes))}");
        log.WriteLine($"plot  {Plots.TryCurves(dir)}");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {100 * final.Accuracy:F2}%"));
        RunWarning.Print(log, dir, run, Histogram.Of(final.Predictions, run.Config.Classes), final.Accuracy);
        return ReturnCode.Ok;
    }
}
