/// The facade's data: image sets, batch order, augmentation, feature scaling and data summaries.
namespace Functional.Api

open System
open Functional

[<AbstractClass; Sealed>]
type Data =
    /// `count` images of `features` bytes each (row-major pixels) with their labels, as the core holds them.
    static member Images(pixels: byte[], labels: byte[], count: int, features: int) : Functional.Data.Images =
        Functional.Data.Images.ofBytes pixels labels count features

    /// A stratified hold-out of `fraction` of these labels, chosen by the seed: (training, held-out) indices.
    static member StratifiedSplit(seed: int, fraction: float, labels: byte[]) : struct (int[] * int[]) =
        let t, v = Functional.Data.stratifiedSplit seed fraction labels
        struct (t, v)

    /// The order in which epoch `epoch` (0-based) visits n examples under `seed`.
    static member Permutation(seed: int, epoch: int, n: int) =
        Functional.Data.permutation seed epoch n

    /// The batch of step `step` (1-based) over n examples in batches of `batch` (0 = full).
    static member BatchOfStep(n: int, batch: int, step: int64) =
        Functional.Data.batchOfStep n batch step

    static member StepsPerEpoch(n: int, batch: int) = Functional.Data.stepsPerEpoch n batch

    /// What the model's input scaling computes from a pixel x in 0..255 ("x/255*0.99+0.01").
    static member ScaleFormula(scale: Functional.Data.Scale) = Functional.Data.Scale.formula scale

    /// Image `index` of `pixels` (rows × cols bytes each) as training distorts it in epoch `epoch` under `seed`,
    /// back in bytes (for pictures).
    static member Augmented
        (augment: Augment.Augment, seed: int, epoch: int, index: int, pixels: byte[], rows: int, cols: int)
        =
        let n = rows * cols
        let x = Array.init n (fun i -> float32 pixels[index * n + i] / 255.0f)
        Augment.Augmenter(augment, rows, cols).Apply(x, 0, 0.0f, seed, epoch, index)

        x
        |> Array.map (fun v -> byte (Math.Round(float (max 0.0f (min 1.0f v)) * 255.0)))

    /// The distortions in the --augment syntax ("shift 2, rotate 10").
    static member AugmentText(augment: Augment.Augment) = Augment.Augment.text augment

    /// The per-feature input transform of kind `kind` (none, unit or standard) fitted on rows of `features` values.
    static member FitFeatureScale(kind: string, features: int, values: float32[]) =
        match FeatureScale.tryParse kind with
        | Some k -> FeatureScale.fit k features values
        | None -> invalidArg "kind" $"no feature scaling '%s{kind}'"

    static member ApplyFeatureScale(t: FeatureScale.Transform, values: float32[]) = FeatureScale.apply t values

    static member FeatureScaleName(t: FeatureScale.Transform) = FeatureScale.name t.Kind

    static member FeatureScaleOf(kind: string, shift: float32[], spread: float32[]) : FeatureScale.Transform =
        {
            Kind = FeatureScale.tryParse kind |> Option.defaultValue FeatureScale.NoScaling
            Shift = shift
            Spread = spread
        }

    /// Labels, scaled value range and non-finite values of an image set.
    static member Summarize(images: Functional.Data.Images, scale: Functional.Data.Scale, classes: int) =
        Diagnostics.summarize scale classes images

    /// How many test images are byte for byte equal to a training image.
    static member SharedImages(train: Functional.Data.Images, test: Functional.Data.Images) =
        Diagnostics.shared train test
