// Functional from packages, outside a clone: the digits that ship in Functional.Host, a small network, one
// epoch, the test accuracy. Needs only the .NET SDK and a feed that holds the packages (docs/packages.md):
// a nuget.config beside this script naming it, or a first line #i "nuget: /path/to/artifacts/feed".
// Run: dotnet fsi train.fsx
#r "nuget: Functional.Core, 0.1.0"
#r "nuget: Functional.Host, 0.1.0"

open Functional
open Functional.Host.Data

let shipped name = DataFiles.ShippedPath name

/// Images and labels from a file the CLI reads, as the core's value.
let load (path: string) : Data.Images =
    let images = DataFiles.Load(path, null)
    Data.Images.ofBytes images.Pixels images.Labels images.Count images.Features

let train = load (shipped "train-images-idx3-ubyte.gz")
let test = load (shipped "test-images-idx3-ubyte.gz")

let arch =
    let parsed = Api.Models.ParseArch("dense 64 relu, dense 10 softmax", [| 784 |])

    if not parsed.Ok then
        failwith parsed.Error

    parsed.Value

let config = Api.Training.DefaultConfig.WithArch(arch).WithSeed(1)
let trainer = Api.Training.CreateTrainer(config, train)
let order = Api.Data.Permutation(config.Seed, 0, train.Count)

for offset, count in Data.batches train.Count config.Batch do
    trainer.Step(order, offset, count) |> ignore

let result = trainer.Model.Evaluate test

printfn "Functional.Core from %s" typeof<Api.Models>.Assembly.Location
printfn "after one epoch (%d steps): test accuracy %.2f%%" trainer.StepCount (100.0 * result.Accuracy)
