using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional bench</c>: training speed of the seed network (784-200-10, sigmoid hidden, softmax + CE, SGD)
/// in float32 and float64 at batch 1, 32, 128 and full, of the LeNet-5 and cnn presets (Adam, float32) at
/// batch 32 and 64, and of the rnn, lstm and rbf presets at their batch, each beside the roofline of the same
/// run's matrix products.
/// </summary>
public static class BenchCommand
{
    /// <summary>The seed network as the bench runs it: softmax + CE, plain SGD, no L2 (the fused SGD path).</summary>
    static Config Seed => Presets.seed.Config.WithArch(Api.Models.DenseArch([784, 200, 10], Activations.Activation.Sigmoid, Activations.Activation.Softmax, true))
        .WithInit(Init.Init.NormalFanIn).WithReduction(Losses.Reduction.Mean).WithL2(0).WithScale(Functional.Data.Scale.Unit);

    public static int Run(BenchOptions o)
    {
        var train = Inputs.Load(o.Train, o.TrainLabels, Inputs.TrainImages);
        var images = Inputs.ToCore(train);
        var cases = new List<(string Name, Config Config)>();
        foreach (var precision in new[] { Precision.Float32, Precision.Float64 })
        {
            foreach (int batch in new[] { 1, 32, 128, train.Count })
            {
                cases.Add(("seed", Seed.WithPrecision(precision).WithBatch(batch)));
            }
        }
        foreach (string preset in new[] { "lenet5", "cnn" })
        {
            foreach (int batch in new[] { 32, 64 })
            {
                cases.Add((preset, Presets.find(preset).Config.WithBatch(batch)));
            }
        }
        foreach (string preset in new[] { "rnn", "lstm", "rbf" })
        {
            cases.Add((preset, Presets.find(preset).Config));
        }
        cases.RemoveAll(c => o.Network is { } only && c.Name != only);
        if (o.Preset is { } only)
        {
            cases.Clear();
            cases.Add((only, Presets.find(only).Config));
        }
        foreach (var (_, c) in cases)
        {
            Inputs.CheckFits(train, c);
        }
        var log = Console.Out;
        if (o.Profile)
        {
            return Profile(cases, train.Count, o, log);
        }
        if (!o.Json)
        {
            log.WriteLine($"bench on {train.Count:N0} images ({train.ImagesPath}), {o.Seconds:F1} s per case");
            log.WriteLine($"  seed   = {Api.Training.Describe(Seed)}");
            log.WriteLine($"  lenet5 = {Api.Training.Describe(Presets.find("lenet5").Config)}");
            log.WriteLine($"  cnn    = {Api.Training.Describe(Presets.find("cnn").Config)}");
            log.WriteLine($"  rnn    = {Api.Training.Describe(Presets.find("rnn").Config)}");
            log.WriteLine($"  lstm   = {Api.Training.Describe(Presets.find("lstm").Config)}");
            log.WriteLine($"  rbf    = {Api.Training.Describe(Presets.find("rbf").Config)}");
            log.WriteLine($"blas  {Api.Performance.BlasDescription()}");
            log.WriteLine("network  precision  batch  examples/s  s/epoch  GFLOPS  roofline  fraction  bytes/step  peak MB");
        }
        using var progress = Progress.Start("bench", cases.Count, show: !o.Json);
        foreach (var (name, config) in cases)
        {
            int batch = config.Batch;
            progress.Next($"{name} {config.PrecisionName} batch {(batch == train.Count ? "full" : batch)}");
            var r = Case(images, name, config, o.Threads, o.Seconds);
            progress.Line(o.Json ? r.ToJsonString() : Inv(
                $"{name,-7}  {config.PrecisionName,-9}  {(batch == train.Count ? "full" : batch.ToString(CultureInfo.InvariantCulture)),5}  {(double)r["examples_per_s"]!,10:N0}  {(double)r["seconds_per_epoch"]!,7:F2}  {(double)r["gflops"]!,6:F1}  {(double)r["roofline_gflops"]!,8:F1}  {(double)r["roofline_fraction"]!,8:P0}  {(double)r["bytes_per_step"]!,10:N0}  {(double)r["peak_working_set_mb"]!,7:F0}"));
        }
        return ReturnCode.Ok;
    }

    static JsonObject Case(Functional.Data.Images images, string name, Config config, int threads, double seconds)
    {
        int batch = config.Batch;
        Threads.Choose(threads, batch);
        var trainer = Api.Training.CreateTrainer(config, images);
        int n = images.Count;
        // The run's own schedule: step k takes the batch Api.Data.BatchOfStep names. Every epoch reuses the first
        // epoch's order, so that timing never pays for drawing a permutation.
        int[] order = Api.Data.Permutation(config.Seed, 0, n);
        long k = 0;
        void Step()
        {
            var at = Api.Data.BatchOfStep(n, batch, ++k);
            trainer.Step(order, at.Offset, at.Count);
        }

        // Warm up (JIT, buffers: the short last batch of an epoch has its own), then time steps until the
        // budget is spent.
        if (n % batch != 0)
        {
            trainer.Step(order, n - n % batch, n % batch);
        }
        for (int i = 0; i < Math.Max(3, 200 / batch); i++)
        {
            Step();
        }
        long steps = 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds || steps < 3)
        {
            Step();
            steps++;
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;

        double flopsPerExample = Api.Performance.FlopsPerExample(config.Arch);
        double examplesPerSecond = steps * (double)batch / elapsed;
        double gflops = examplesPerSecond * flopsPerExample / 1e9;
        double roofline = Roofline(config, seconds / 2) * flopsPerExample * batch / 1e9;

        return new JsonObject
        {
            ["network"] = name,
            ["arch"] = config.LayersText,
            ["batch"] = batch,
            ["precision"] = config.PrecisionName,
            ["examples_per_s"] = examplesPerSecond,
            ["seconds_per_epoch"] = n / examplesPerSecond,
            ["gflops"] = gflops,
            ["roofline_gflops"] = roofline,
            ["roofline_fraction"] = gflops / roofline,
            ["bytes_per_step"] = (double)bytes / steps,
            ["peak_working_set_mb"] = Process.GetCurrentProcess().PeakWorkingSet64 / 1e6,
            ["threads"] = Threads.Current,
            ["blas"] = Api.Performance.BlasDescription(),
            ["examples"] = n,
        };
    }

    /// <summary>
    /// <c>bench --profile</c>: each case's layers, forward and backward, as Profile.layers times them: where a step's
    /// time goes and how close each layer's kernels come to the speed of its own matrix products.
    /// </summary>
    static int Profile(List<(string Name, Config Config)> cases, int examples, BenchOptions o, TextWriter log)
    {
        foreach (var (name, preset) in cases)
        {
            // Batch 0 is the full batch: the training set's size.
            var config = preset.Batch == 0 ? preset.WithBatch(examples) : preset;
            Threads.Choose(o.Threads, config.Batch);
            if (!o.Json && name == cases[0].Name)
            {
                log.WriteLine($"blas  {Api.Performance.BlasDescription()}");
            }
            var rows = Api.Performance.ProfileLayers(config, o.Seconds);
            double step = rows.Sum(r => r.ForwardSeconds + r.BackwardSeconds);
            if (o.Json)
            {
                foreach (var r in rows)
                {
                    log.WriteLine(new JsonObject
                    {
                        ["network"] = name,
                        ["batch"] = config.Batch,
                        ["threads"] = Threads.Current,
                        ["layer"] = r.Layer,
                        ["text"] = r.Text,
                        ["forward_ms"] = r.ForwardSeconds * 1e3,
                        ["backward_ms"] = r.BackwardSeconds * 1e3,
                        ["gflops"] = Gflops(r),
                        ["roofline_gflops"] = r.RooflineGflops,
                    }.ToJsonString());
                }
                continue;
            }
            log.WriteLine();
            log.WriteLine(Inv($"{name}, batch {config.Batch}, {config.PrecisionName}, {Threads.Current} thread(s): {step * 1e3:F2} ms per step, {config.Batch / step:N0} examples/s"));
            // 79 columns: the layer's text is cut to fit an 80-column terminal.
            log.WriteLine("layer                       fwd ms  bwd ms  share  GFLOP/s  roofline  fraction");
            foreach (var r in rows)
            {
                double t = r.ForwardSeconds + r.BackwardSeconds;
                string text = r.Text.Length > 24 ? r.Text[..23] + "…" : r.Text;
                string speed = r.RooflineGflops > 0 ? Inv($"{Gflops(r),7:F1}  {r.RooflineGflops,8:F1}  {Gflops(r) / r.RooflineGflops,8:P0}") : "";
                log.WriteLine(Inv($"{r.Layer,2} {text,-24}  {r.ForwardSeconds * 1e3,6:F3}  {r.BackwardSeconds * 1e3,6:F3}  {t / step,5:P0}  {speed}").TrimEnd());
            }
        }
        return ReturnCode.Ok;
    }

    static double Gflops(Profile.LayerTime r) =>
        (r.ForwardFlops + r.BackwardFlops) / Math.Max(1e-12, r.ForwardSeconds + r.BackwardSeconds) / 1e9;

    /// <summary>Matrix-product-only steps per second at this batch size (the ceiling a step can reach).</summary>
    static double Roofline(Config config, double seconds)
    {
        int batch = config.Batch;
        var products = Api.Performance.MatrixProducts(config.Arch, batch, config.Precision);
        for (int i = 0; i < Math.Max(3, 200 / batch); i++)
        {
            products();
        }
        long runs = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds || runs < 3)
        {
            products();
            runs++;
        }
        return runs / clock.Elapsed.TotalSeconds;
    }

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
