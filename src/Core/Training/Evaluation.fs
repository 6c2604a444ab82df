/// A trained or loaded network, evaluated on a data set in chunks that reuse their buffers: accuracy, mean
/// loss, confusion matrix, per-class accuracy, predictions.
namespace Functional

open System
open System.Collections.Generic
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.Activations
open Functional.Losses
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Data

/// What a saved model is, beside its tensors.
type ModelSpec =
    {
        Arch: Arch
        Scale: Scale
        Precision: Precision
    }

    member s.ArchText = Arch.text s.Arch
    member s.LayersText = Arch.layersText s.Arch
    member s.Inputs = Arch.inputs s.Arch
    member s.Classes = Arch.classes s.Arch
    member s.ScaleName = Scale.name s.Scale
    member s.PrecisionName = Precision.name s.Precision
    member s.WithScale scale = { s with Scale = scale }

type Evaluation =
    {
        Count: int
        Accuracy: float
        /// Mean cross-entropy of the predicted distribution (softmax outputs) or mean MSE (sigmoid outputs).
        Loss: float
        /// Confusion[target][predicted].
        Confusion: int[][]
        PerClassAccuracy: float[]
        Predictions: int[]
    }

[<AbstractClass>]
type Model() =
    abstract Spec: ModelSpec
    abstract ParameterCount: int
    abstract Evaluate: images: Images -> Evaluation
    /// The output layer's values for image `index` (class probabilities for softmax outputs).
    abstract Outputs: images: Images * index: int -> float[]
    /// The output layer's values for every image, [count, classes] row-major, computed in chunks.
    abstract OutputsAll: images: Images -> float[]
    abstract Tensors: unit -> NamedArray[]

type internal ModelOf<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>, scale: Scale, precision: Precision) =
    inherit Model()
    let chunk = 500
    let arch = net.Arch
    let classes = Arch.classes arch
    // One set of buffers per chunk size (at most two), reused: a 60,000-image evaluation would otherwise
    // leave ~250 MB of large-object garbage behind.
    let buffers = Dictionary<int, Bound<'T> * Matrix<'T> * Trace<'T>>()

    let prepared count (features: int) =
        match buffers.TryGetValue count with
        | true, b -> b
        | _ ->
            let bound = Bound.create<'T> arch count

            let b =
                bound,
                Tensor.zeros<'T> classes count,
                {
                    Input = Tensor.zeros<'T> features count
                    Activations = Bound.buffers bound
                }

            buffers[count] <- b
            b

    /// The one pass every output of the model comes from: `visit offset count output targets` for each chunk of
    /// the examples order[0 ..], with products in fixed order (FixedOrder.fs), so an example's outputs have the
    /// same bits whether it is evaluated alone, among 7 or among 2,000, at any thread count.
    let pass (images: Images) (order: int[]) (visit: int -> int -> Matrix<'T> -> Matrix<'T> -> unit) =
        if images.Features <> Arch.inputs arch then
            invalidArg
                "images"
                (sprintf "images have %d values but the network takes %d inputs" images.Features (Arch.inputs arch))

        Tensor.Blas.WithFixedOrder(fun () ->
            for offset, count in Data.batches order.Length chunk do
                let bound, y, trace = prepared count images.Features
                gatherInto scale images order offset trace.Input y
                forwardWith bound net trace Mode.eval
                visit offset count trace.Output y)

    override _.Spec =
        {
            Arch = arch
            Scale = scale
            Precision = precision
        }

    override _.ParameterCount = Network.parameterCount net

    override _.Evaluate images =
        let predictions = Array.zeroCreate images.Count
        let confusion = Array.init classes (fun _ -> Array.zeroCreate classes)
        let output = Arch.output arch
        let loss = if output = Softmax then CrossEntropy else Mse
        let mutable total = 0.0

        pass images (Array.init images.Count id) (fun offset _ out y ->
            total <- total + Losses.value loss output Sum classes (Tensor.data out) (Tensor.data y)

            argmaxColumns out
            |> Array.iteri (fun j p ->
                let n = offset + j
                predictions[n] <- p
                let t = int images.Labels[n]

                if t < classes then
                    confusion[t][p] <- confusion[t][p] + 1))

        let correct = Array.init classes (fun c -> confusion[c][c]) |> Array.sum
        let n = max images.Count 1

        {
            Count = images.Count
            Accuracy = float correct / float n
            Loss = total / float n
            Confusion = confusion
            PerClassAccuracy =
                confusion
                |> Array.mapi (fun c row ->
                    let s = Array.sum row
                    if s = 0 then nan else float row[c] / float s)
            Predictions = predictions
        }

    override m.Outputs(images, index) =
        if index < 0 || index >= images.Count then
            invalidArg "index" (sprintf "image %d is outside 0..%d" index (images.Count - 1))

        m.OutputsOf(images, [| index |])

    override m.OutputsAll images =
        m.OutputsOf(images, Array.init images.Count id)

    /// The outputs of the examples order[..], [order.Length, classes] row-major.
    member _.OutputsOf(images: Images, order: int[]) =
        let all = Array.zeroCreate (order.Length * classes)

        pass images order (fun offset count out _ ->
            // [classes × count] column-major is [count, classes] row-major.
            let o = Tensor.data out

            for i in 0 .. count * classes - 1 do
                all[offset * classes + i] <- Double.CreateTruncating o[i])

        all

    override _.Tensors() = Named.ofParams "" arch net.Params
