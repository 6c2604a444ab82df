using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Host.Data;
using Functional.Host.Report;

namespace Functional.Host.Runs;

/// <summary>
/// The loop shared by <c>train</c> and <c>resume</c>: epochs of steps in the order Api.Data.Permutation(seed, epoch)
/// gives, a journal line every k steps, checkpoints every K steps and at each epoch's end, a checkpoint
/// and a way back on Ctrl+C or SIGTERM. Which step runs where is a function of (run, step number) only,
/// so a resumed run takes exactly the steps the uninterrupted one would have. With a validation set, each epoch
/// is measured on it (the test set only at the end, unless asked), the best epoch's weights are kept in
/// best.safetensors, and early stopping ends the run after its patience; that state rides in the checkpoints.
/// </summary>
public static class TrainLoop
{
    public static int Run(RunFile run, string dir, Trainer trainer, LabeledImages train, LabeledImages? validation,
        LabeledImages test, Position start, string parent, bool quiet, KeepBest? keepBest = null, EpochSoFar? soFar = null,
        bool report = false)
    {
        var log = Console.Out;
        int n = train.Count;
        int batch = run.BatchSize(n);
        var coreTrain = Inputs.ToCore(train);
        var coreTest = Inputs.ToCore(test);
        var coreValidation = validation is null ? null : Inputs.ToCore(validation);
        int updatesPerEpoch = (n + batch - 1) / batch;
        // The epochs before a resumed run's start stay in its history (the journal holds them).
        var epochs = new JsonArray(EpochLinesUpTo(dir, start.Step).ToArray());
        using var journal = Journal.Open(dir, start.Step, Console.Error);
        // The skips before a resumed run's start count against --on-nonfinite skip:K as they did then.
        int skips = Journal.Skips(dir, TextWriter.Null).Count;
        var rewind = new Rewind(run, coreTrain, trainer);
        using var stop = new StopSignal();
        long lastCheckpoint = start.Step;
        var best = keepBest ?? KeepBest.None;
        string bestPath = Path.Combine(dir, KeepBest.FileName);
        int? stoppedEarly = best.ShouldStop(run.EarlyStop) ? start.Epoch : null;
        using var progress = Progress.Start(start.Step > 0 ? "resume" : "train", (long)run.Epochs * updatesPerEpoch, !quiet, start.Step);

        long lastStep = stoppedEarly is null ? (long)run.Epochs * updatesPerEpoch : trainer.StepCount;
        // A run resumed inside an epoch carries on that epoch's sums (EpochSoFar), as if it had never stopped.
        var partial = soFar ?? EpochSoFar.None;
        int epoch = partial.Seen > 0 ? start.Epoch : -1;
        int[] order = partial.Seen > 0 ? Api.Data.Permutation(run.Config.Seed, epoch, n) : [];
        var clock = Stopwatch.StartNew();
        double lossSum = partial.LossSum;
        int seen = partial.Seen;
        double secondsBefore = partial.Seconds;
        // Step after step, each taking the batch Api.Data.BatchOfStep names: the schedule is a function of the step alone.
        for (long step = trainer.StepCount + 1; step <= lastStep; step++)
        {
            var at = Api.Data.BatchOfStep(n, batch, step);
            if (at.Epoch != epoch)
            {
                epoch = at.Epoch;
                order = Api.Data.Permutation(run.Config.Seed, epoch, n);
                clock.Restart();
                lossSum = 0;
                seen = 0;
                secondsBefore = 0;
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
            // Every step is checked before anything is written: the loss, the measured norms, and the weights (one
            // vectorised pass). A bad step is taken back: the state before it is rebuilt from the last good one.
            string? bad = !double.IsFinite(loss) ? $"the loss became {loss.ToString(CultureInfo.InvariantCulture)}"
                : measured != null && (Divergence.FirstNonFiniteLayer(measured.GradNorms) ?? Divergence.FirstNonFiniteLayer(measured.UpdateRatios)) is int layer
                    ? $"the gradient norm or update ratio of {Api.Display.LayerName(layer)} is not finite"
                    : !trainer.WeightsFinite() ? "a weight became NaN or infinite" : null;
            bool skippedNow = false;
            if (bad != null)
            {
                var after = trainer.State();
                (trainer, _) = rewind.To(step - 1);
                var (_, culprit) = Divergence.InStep(trainer, after, run.Config, order, offset, count);
                string examples = Examples(order, offset, count);
                if (skips >= run.MaxSkips)
                {
                    if (step - 1 > lastCheckpoint)
                    {
                        // The state before the bad step, as the checkpoint resume and replay start from.
                        Checkpoints.Write(dir, run, trainer, trainer.State(), new Position(step - 1, epoch, offset), parent,
                            Metadata(best, false, lossSum, seen, secondsBefore + clock.Elapsed.TotalSeconds));
                        lastCheckpoint = step - 1;
                    }
                    string limit = run.MaxSkips > 0 ? $" ({skips} step(s) skipped already, the most --on-nonfinite {NonFinitePolicy.Text(run.MaxSkips)} allows)" : "";
                    return Divergence.Stop(dir, run, step, epoch, bad + limit, $"{culprit}; the batch: examples {examples}", lastCheckpoint);
                }
                skips++;
                rewind.Skipped(step);
                trainer.Skip();
                skippedNow = true;
                measured = null;
                journal.Write(new JsonObject
                {
                    ["kind"] = "skip",
                    ["step"] = step,
                    ["epoch"] = epoch,
                    ["position"] = offset + count,
                    ["reason"] = bad,
                    ["culprit"] = culprit,
                    ["examples"] = new JsonArray(order[offset..(offset + count)].Select(i => (JsonNode)i).ToArray()),
                });
                progress.Line($"skipped step {step} (epoch {epoch + 1}, skip {skips} of {run.MaxSkips}): {bad}; {culprit}; examples {examples}", "");
            }
            var next = endOfEpoch ? new Position(step, epoch + 1, 0) : new Position(step, epoch, offset + count);
            bool stopping = stop.Requested; // read once: the signal may arrive in between
            NamedArray[]? state = checkpointNow || stopping ? trainer.State() : null;
            if (state != null && Divergence.FirstNonFinite(state) != null)
            {
                // The weights are checked every step; this catches the optimiser's moments, so no checkpoint holds a NaN.
                return Divergence.Stop(dir, run, step, epoch, "the optimiser state became NaN or infinite",
                    Divergence.Culprit(trainer, order, offset, count), lastCheckpoint);
            }
            if (measured != null)
            {
                journal.Step(new JournalStep(step, epoch, offset + count, measured.Loss, measured.GradNorms, measured.UpdateRatios, trainer.WeightsHash())
                {
                    Saturation = measured.Saturation,
                    Dead = measured.Dead,
                    Lr = Api.Training.LrAt(run.Config, step - 1),
                    Clip = run.Config.ClipNorm > 0 ? measured.Clip : double.NaN,
                    Examples = count,
                });
            }
            if (!skippedNow)
            {
                lossSum += loss * count;
                seen += count;
                progress.Step(step, epoch + 1, run.Epochs, loss, count);
            }
            if (endOfEpoch)
            {
                best = EndOfEpoch(run, dir, trainer, journal, epochs, progress, best, bestPath, coreTrain, coreValidation, coreTest,
                    epoch, lossSum, seen, secondsBefore + clock.Elapsed.TotalSeconds, updatesPerEpoch, quiet);
                if (report)
                {
                    LiveReport.Epoch(dir, progress);
                }
            }
            if (checkpointNow)
            {
                parent = Checkpoints.Write(dir, run, trainer, state!, next, parent, Metadata(best, endOfEpoch, lossSum, seen, secondsBefore + clock.Elapsed.TotalSeconds));
                lastCheckpoint = step;
                rewind.Good(state!, step);
            }
            if (endOfEpoch && best.ShouldStop(run.EarlyStop) && step < lastStep)
            {
                stoppedEarly = epoch + 1;
                progress.Line(string.Create(CultureInfo.InvariantCulture,
                    $"early stop after epoch {epoch + 1}: validation {run.Monitor} has not improved for {best.BadEpochs} epochs (best {Figure(run.Monitor, best.BestValue)} at epoch {best.BestEpoch})"), "");
                break;
            }
            if (stopping)
            {
                if (lastCheckpoint != step)
                {
                    Checkpoints.Write(dir, run, trainer, state!, next, parent, Metadata(best, endOfEpoch, lossSum, seen, secondsBefore + clock.Elapsed.TotalSeconds));
                }
                progress.Dispose();
                Console.Out.Flush();
                Console.Error.WriteLine($"interrupted after step {step}: wrote {Checkpoints.PathFor(dir, step)}");
                Console.Error.WriteLine($"continue with: functional resume {dir}");
                return ReturnCode.Interrupted;
            }
        }

        progress.Dispose();
        // The model: the best validation epoch's weights (--keep best), else the last epoch's.
        bool keptBest = run.Keep == "best" && best.BestEpoch > 0 && File.Exists(bestPath);
        var model = keptBest ? ModelFile.Load(bestPath) : trainer.Model;
        int lastEpoch = epochs.Count > 0 ? (int)(epochs[^1]?["epoch"]?.GetValue<int>() ?? 0) : 0;
        int keptEpoch = keptBest ? best.BestEpoch : lastEpoch;
        var final = model.Evaluate(coreTest);
        string modelPath = Path.Combine(dir, ModelFile.FileName);
        var metadata = run.Data?.ModelMetadata() ?? [];
        metadata["epoch"] = keptEpoch.ToString(CultureInfo.InvariantCulture);
        metadata["kept"] = keptBest ? "best" : "last";
        ModelFile.Save(modelPath, model, metadata);
        var results = new JsonObject
        {
            ["steps"] = trainer.StepCount,
            ["test_accuracy"] = final.Accuracy,
            ["test_loss"] = Finite(final.Loss),
            ["kept_epoch"] = keptEpoch,
            ["kept"] = keptBest ? "best" : "last",
            ["epochs"] = epochs,
        };
        if (best.BestEpoch > 0)
        {
            results["best_validation_" + run.Monitor] = best.BestValue;
        }
        if (stoppedEarly is int e)
        {
            results["stopped_early_after"] = e;
        }
        run.Write(dir, results);
        if (keptBest && keptEpoch != lastEpoch)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kept  epoch {keptEpoch} (best validation {run.Monitor} {Figure(run.Monitor, best.BestValue)}), not the last epoch {lastEpoch}"));
        }
        log.WriteLine($"model {modelPath}");
        log.WriteLine($"predicted classes on test: {Histogram.Line(Histogram.Of(final.Predictions, run.Config.Classes), run.Data?.ClassNames)}");
        log.WriteLine($"plot  {Plots.TryCurves(dir)}");
        if (report)
        {
            log.WriteLine($"report {LiveReport.Final(dir)}");
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {100 * final.Accuracy:F2}%"));
        RunWarning.Print(log, dir, run, Histogram.Of(final.Predictions, run.Config.Classes), final.Accuracy);
        return ReturnCode.Ok;
    }

    /// <summary>A batch's example indices, the first eight and the count of the others when there are more.</summary>
    static string Examples(int[] order, int offset, int count) =>
        string.Join(", ", order[offset..(offset + Math.Min(count, 8))]) + (count > 8 ? $" and {count - 8} more" : "");

    /// <summary>A checkpoint's extra metadata: keep-best's state, and inside an epoch the epoch's sums so far.</summary>
    static Dictionary<string, string> Metadata(KeepBest best, bool endOfEpoch, double lossSum, int seen, double seconds)
    {
        var m = best.Metadata();
        if (!endOfEpoch)
        {
            foreach (var (k, v) in new EpochSoFar(lossSum, seen, seconds).Metadata())
            {
                m[k] = v;
            }
        }
        return m;
    }

    /// <summary>JSON has no infinity: an epoch's loss that overflowed (float32 outputs near their limit after a run
    /// skipped non-finite steps) is written as null, which the readers take as "not measured".</summary>
    static JsonNode? Finite(double x) => double.IsFinite(x) ? x : null;

    /// <summary>How many validation images <c>--monitor robust</c> attacks each epoch (PGD-10: about half an epoch
    /// of the shipped 8,000 images' cost).</summary>
    const int RobustExamples = 500;

    static string Figure(string monitor, double value) => KeepBest.HigherIsBetter(monitor)
        ? string.Create(CultureInfo.InvariantCulture, $"{100 * value:F2}%")
        : value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>An epoch's end: its figures on the training, validation and (when asked) test sets, one journal
    /// line and one printed line; the best weights saved when the validation figure improved.</summary>
    static KeepBest EndOfEpoch(RunFile run, string dir, Trainer trainer, Journal journal, JsonArray epochs, Progress progress,
        KeepBest best, string bestPath, Functional.Data.Images coreTrain, Functional.Data.Images? coreValidation,
        Functional.Data.Images coreTest, int epoch, double lossSum, int seen, double seconds, int updatesPerEpoch, bool quiet)
    {
        var trainEval = trainer.Model.Evaluate(coreTrain);
        var validationEval = coreValidation is null ? null : trainer.Model.Evaluate(coreValidation);
        var testEval = run.TestEveryEpoch ? trainer.Model.Evaluate(coreTest) : null;
        double meanLoss = seen > 0 ? lossSum / seen : double.NaN;
        var line = new JsonObject
        {
            ["kind"] = "epoch",
            ["step"] = trainer.StepCount,
            ["epoch"] = epoch + 1,
            ["loss"] = Finite(meanLoss),
            ["train_accuracy"] = trainEval.Accuracy,
            ["lr"] = Api.Training.LrAt(run.Config, trainer.StepCount - 1),
            ["seconds"] = seconds,
        };
        bool improved = false;
        if (validationEval != null)
        {
            line["val_loss"] = Finite(validationEval.Loss);
            line["val_accuracy"] = validationEval.Accuracy;
            double? robust = null;
            if (run.Monitor == "robust" && Api.Training.IsAdversarial(run.Config))
            {
                robust = Api.Attacks.RobustAccuracy(trainer.Model, coreValidation!, RobustExamples,
                    Api.Training.Adversarial(run.Config), run.Config.Seed);
                line["val_robust_accuracy"] = robust.Value;
            }
            double watched = run.Monitor switch
            {
                "accuracy" => validationEval.Accuracy,
                "robust" => robust ?? double.NaN,
                _ => validationEval.Loss,
            };
            var after = best.After(epoch + 1, watched, run.Monitor);
            if (robust is double r && best.BestEpoch > 0 && r < best.BestValue / 2)
            {
                progress.Line(string.Create(CultureInfo.InvariantCulture,
                    $"warning: PGD accuracy on the validation images fell from {100 * best.BestValue:F2}% (epoch {best.BestEpoch}) to {100 * r:F2}%: catastrophic overfitting (Wong et al. 2020); --keep best keeps epoch {best.BestEpoch}, --early-stop N stops after N such epochs"), "");
            }
            improved = after.BestEpoch == epoch + 1;
            best = after;
            line["best"] = improved;
            if (improved && run.Keep == "best")
            {
                ModelFile.Save(bestPath, trainer.Model, new Dictionary<string, string>
                {
                    ["epoch"] = (epoch + 1).ToString(CultureInfo.InvariantCulture),
                    ["kept"] = "best",
                });
            }
        }
        if (testEval != null)
        {
            line["test_accuracy"] = testEval.Accuracy;
        }
        journal.Write(line);
        epochs.Add(line.DeepClone());
        if (!quiet)
        {
            var inv = CultureInfo.InvariantCulture;
            string val = validationEval is null ? "" : string.Create(inv,
                $"  val {validationEval.Loss:F4} {100 * validationEval.Accuracy:F2}%{(improved && run.Monitor != "robust" ? "*" : " ")}");
            string test = testEval is null ? "" : string.Create(inv, $"  test {100 * testEval.Accuracy:F2}%");
            string pgd = line["val_robust_accuracy"] is JsonNode r ? string.Create(inv, $"pgd {100 * r.GetValue<double>():F2}%{(improved ? "*" : " ")}") : "";
            // On a terminal too narrow for the whole line, the updates per epoch (the same every epoch) go first.
            progress.Line(string.Create(inv,
                $"epoch {epoch + 1,3}/{run.Epochs}  loss {meanLoss:F4}  train {100 * trainEval.Accuracy:F2}%{val}{pgd}{test}  {seconds:F1}s  {seen / seconds:N0} ex/s"),
                string.Create(inv, $"  ({updatesPerEpoch:N0} updates)"));
        }
        return best;
    }

    /// <summary>The journal's epoch lines up to step <paramref name="step"/>: a resumed run's history so far.</summary>
    static IEnumerable<JsonNode?> EpochLinesUpTo(string dir, long step)
    {
        string path = Path.Combine(dir, Journal.FileName);
        if (step <= 0 || !File.Exists(path))
        {
            yield break;
        }
        foreach (var (_, node) in Journal.ReadLines(path, TextWriter.Null))
        {
            if (node["kind"]?.GetValue<string>() == "epoch" && node["step"] is JsonValue v && v.TryGetValue(out long s) && s <= step)
            {
                yield return node.DeepClone();
            }
        }
    }
}
