#:package Functional.Host@0.1.0
// A plain JIT build: the default of file-based apps, native AOT, would first fetch the AOT compiler (~100 MB).
#:property PublishAot=false
// Functional from C#, in one file (.NET 10): load the shipped digits, build a network, train one epoch,
// evaluate, save the model and the state before the last step, then replay that step from the saved state and
// say whether it came out bit for bit the same. Needs only the .NET SDK and a feed that holds the packages
// (docs/packages.md). Run: dotnet run train.cs [OUT_DIR]   (Functional.Core comes with Functional.Host.)
using Functional;
using Functional.Host;
using Functional.Host.Data;
using Api = Functional.Api;

string outDir = args.Length > 0 ? args[0] : "train-cs";
Directory.CreateDirectory(outDir);

var train = ToCore(DataFiles.Load(DataFiles.ShippedPath("train-images-idx3-ubyte.gz"), null));
var test = ToCore(DataFiles.Load(DataFiles.ShippedPath("test-images-idx3-ubyte.gz"), null));

var arch = Api.Models.ParseArch("dense 64 relu, dense 10 softmax", [784]);
if (!arch.Ok)
{
    Console.Error.WriteLine(arch.Error);
    return 2;
}
var config = Api.Training.DefaultConfig.WithArch(arch.Value).WithSeed(1);
var trainer = Api.Training.CreateTrainer(config, train);

// One epoch: the batches of Api.Data.BatchOfStep over the epoch's shuffled order; the state before the last step is saved.
long last = Api.Data.StepsPerEpoch(train.Count, config.Batch);
int[] order = Api.Data.Permutation(config.Seed, 0, train.Count);
string statePath = Path.Combine(outDir, $"state-{last - 1}.safetensors");
for (long step = 1; step <= last; step++)
{
    if (step == last)
    {
        Safetensors.Write(statePath, ModelFile.ToSafetensors(trainer.State()), new Dictionary<string, string>());
    }
    var batch = Api.Data.BatchOfStep(train.Count, config.Batch, step);
    trainer.Step(order, batch.Offset, batch.Count);
}
string trained = trainer.WeightsHash();

var result = trainer.Model.Evaluate(test);
string modelPath = Path.Combine(outDir, ModelFile.FileName);
ModelFile.Save(modelPath, trainer.Model);
Console.WriteLine($"after one epoch ({trainer.StepCount} steps): test accuracy {100 * result.Accuracy:F2}%, saved {modelPath}");

// Replay: the saved state, one step on the same batch, and the weights compared by hash.
var (tensors, _) = Safetensors.Read(statePath);
var replayer = Api.Training.RestoreTrainer(config, train, ModelFile.ToNamedArrays(statePath, tensors), last - 1);
var again = Api.Data.BatchOfStep(train.Count, config.Batch, last);
replayer.Step(order, again.Offset, again.Count);
bool same = replayer.WeightsHash() == trained;
Console.WriteLine($"replayed step {last} from {statePath}: {(same ? "matched bit for bit" : "DIFFERS")}");
return same ? 0 : 1;

static Functional.Data.Images ToCore(LabeledImages images) =>
    new(images.Pixels, images.Labels, images.Count, images.Features, images.Values ?? []);
