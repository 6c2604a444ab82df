using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;
using Functional.Host.Data;

namespace Functional.Host.Commands;

/// <summary><c>functional train</c>: epochs of steps over a batch schedule, one line per epoch, a model at the end.</summary>
public static class TrainCommand
{
    public static int Run(TrainOptions o)
    {
        var config = ConfigOf(o);
        if (Api.Problem(config) is { } problem)
        {
            throw new UsageError(problem);
        }
        var train = Inputs.Load(o.Data.Train, o.Data.TrainLabels, Inputs.TrainImages);
        var test = Inputs.Load(o.Data.Test, o.Data.TestLabels, Inputs.TestImages);
        Inputs.CheckFits(train, config.Sizes);
        Inputs.CheckFits(test, config.Sizes);

        int batch = o.Batch <= 0 || o.Batch >= train.Count ? train.Count : o.Batch;
        Threads.Choose(o.Threads, batch);
        string dir = RunFolder.Create(o.Run);
        var log = Console.Out;

        log.WriteLine($"train {Describe(config)}, {(o.Batch <= 0 ? "full batch" : $"batch {o.Batch}")}, {o.Epochs} epochs, {o.Precision}, seed {o.Seed}");
        log.WriteLine($"data  train {train.Count:N0} images ({train.ImagesPath}), test {test.Count:N0} ({test.ImagesPath})");
        log.WriteLine($"blas  {Api.BlasDescription()}");
        log.WriteLine($"run   {dir}");

        var runJson = RunJson(o, config, train, test);
        RunFolder.WriteJson(Path.Combine(dir, "run.json"), runJson);

        var trainer = Api.CreateTrainer(config, Inputs.ToCore(train));
        var coreTrain = Inputs.ToCore(train);
        var coreTest = Inputs.ToCore(test);
        int updatesPerEpoch = (train.Count + batch - 1) / batch;
        Evaluation? testEval = null;
        var epochs = new JsonArray();
        using var progress = Progress.Start("train", (long)o.Epochs * updatesPerEpoch, show: !o.Quiet);

        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            int[] order = Api.Permutation(o.Seed, epoch, train.Count);
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            for (int offset = 0; offset < train.Count; offset += batch)
            {
                int count = Math.Min(batch, train.Count - offset);
                double loss = trainer.Step(order, offset, count);
                if (!double.IsFinite(loss))
                {
                    throw new UsageError(
                        $"the loss became {loss} at step {trainer.StepCount} (epoch {epoch + 1}): the learning rate {o.Lr} is probably too high for {o.Optimizer}");
                }
                lossSum += loss * count;
                progress.Step(trainer.StepCount, epoch + 1, o.Epochs, loss, count);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var trainEval = trainer.Model.Evaluate(coreTrain);
            testEval = trainer.Model.Evaluate(coreTest);
            double meanLoss = lossSum / train.Count;
            if (!o.Quiet)
            {
                progress.Line(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1,3}/{o.Epochs}  loss {meanLoss:F4}  train {100 * trainEval.Accuracy:F2}%  test {100 * testEval.Accuracy:F2}%  {seconds:F1}s  {train.Count / seconds:N0} ex/s  ({updatesPerEpoch:N0} updates)"));
            }
            epochs.Add(new JsonObject
            {
                ["epoch"] = epoch + 1,
                ["loss"] = meanLoss,
                ["train_accuracy"] = trainEval.Accuracy,
                ["test_accuracy"] = testEval.Accuracy,
                ["seconds"] = seconds,
            });
        }

        progress.Dispose();
        ModelFile.Save(Path.Combine(dir, ModelFile.FileName), trainer.Model);
        runJson["epochs"] = epochs;
        runJson["steps"] = trainer.StepCount;
        runJson["test_accuracy"] = testEval?.Accuracy;
        RunFolder.WriteJson(Path.Combine(dir, "run.json"), runJson);

        log.WriteLine($"model {Path.Combine(dir, ModelFile.FileName)}");
        log.WriteLine($"plot  {Plots.TryCurves(dir)}");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {100 * (testEval?.Accuracy ?? 0):F2}%"));
        return ReturnCode.Ok;
    }

    public static TrainConfig ConfigOf(TrainOptions o) => new(
        o.Network.Layers, o.Network.Activation, o.Network.Output, o.Network.Loss, o.Network.Init, o.Network.Bias,
        o.Optimizer, o.Lr, o.L2, o.Momentum, o.Reduction, o.Data.Scale, o.Seed, o.Precision, o.Batch);

    static string Describe(TrainConfig c) => string.Create(CultureInfo.InvariantCulture,
        $"{string.Join("-", c.Sizes)} {c.Hidden}/{c.Output} {c.Loss}{(c.Bias ? "" : " no-bias")}, init {c.Init}, {c.Optimizer} lr {c.Lr}{(c.L2 > 0 ? $" l2 {c.L2}" : "")}, scale {c.Scale}, reduction {c.Reduction}");

    static JsonObject RunJson(TrainOptions o, TrainConfig c, LabeledImages train, LabeledImages test) => new()
    {
        ["format"] = "functional.run/1",
        ["code_version"] = RunFolder.CodeVersion,
        ["created"] = DateTime.UtcNow.ToString("O"),
        ["data"] = new JsonObject
        {
            ["train_images"] = RunFolder.FileEntry(train.ImagesPath),
            ["train_labels"] = RunFolder.FileEntry(train.LabelsPath),
            ["test_images"] = RunFolder.FileEntry(test.ImagesPath),
            ["test_labels"] = RunFolder.FileEntry(test.LabelsPath),
            ["train_count"] = train.Count,
            ["test_count"] = test.Count,
        },
        ["network"] = new JsonObject
        {
            ["sizes"] = new JsonArray(c.Sizes.Select(s => (JsonNode)s).ToArray()),
            ["hidden"] = c.Hidden,
            ["output"] = c.Output,
            ["bias"] = c.Bias,
            ["init"] = c.Init,
        },
        ["loss"] = c.Loss,
        ["reduction"] = c.Reduction,
        ["optimizer"] = new JsonObject { ["name"] = c.Optimizer, ["lr"] = c.Lr, ["momentum"] = c.Momentum, ["l2"] = c.L2 },
        ["scale"] = c.Scale,
        ["batch"] = o.Batch,
        ["epochs"] = o.Epochs,
        ["seed"] = c.Seed,
        ["precision"] = c.Precision,
        ["blas"] = Api.BlasDescription(),
        ["threads"] = Threads.Current,
    };
}
