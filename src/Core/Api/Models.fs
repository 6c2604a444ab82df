/// The facade's models: architectures (read, built, asked about), model files' specs and tensors, and ONNX export.
namespace Functional.Api

open System
open Functional
open Functional.Layers.Layer
open Functional.Arch

/// How an ONNX attribute's value is held (which of OnnxAttribute's value fields is set).
type OnnxAttributeKind =
    | Int = 0
    | Ints = 1
    | Float = 2
    | Strings = 3

type OnnxAttribute =
    {
        Name: string
        Kind: OnnxAttributeKind
        Int: int64
        Ints: int64[]
        Float: float32
        Strings: string[]
    }

/// One operator: `Outputs = Op(Inputs)`, tensors by name.
type OnnxNode =
    {
        Op: string
        Inputs: string[]
        Outputs: string[]
        Attributes: OnnxAttribute[]
    }

/// A model as one ONNX graph (OnnxGraph.fs): raw pixels in, the model's scaling inside, class scores out.
type OnnxModelGraph =
    {
        Opset: int64
        Input: string
        /// -1 for the batch dimension.
        InputShape: int64[]
        Output: string
        OutputShape: int64[]
        Nodes: OnnxNode[]
        Initializers: OnnxGraph.Initializer[]
    }

module internal OnnxModelGraph =
    let private attribute (name: string, value: Layers.Onnx.Attribute) =
        let a =
            {
                Name = name
                Kind = OnnxAttributeKind.Int
                Int = 0L
                Ints = [||]
                Float = 0.0f
                Strings = [||]
            }

        match value with
        | Layers.Onnx.Int i -> { a with Int = i }
        | Layers.Onnx.Ints xs ->
            { a with
                Kind = OnnxAttributeKind.Ints
                Ints = Array.ofList xs
            }
        | Layers.Onnx.Float f ->
            { a with
                Kind = OnnxAttributeKind.Float
                Float = f
            }
        | Layers.Onnx.Strings xs ->
            { a with
                Kind = OnnxAttributeKind.Strings
                Strings = Array.ofList xs
            }

    let ofGraph (g: OnnxGraph.Graph) =
        {
            Opset = OnnxGraph.Opset
            Input = g.Input
            InputShape = g.InputShape
            Output = g.Output
            OutputShape = g.OutputShape
            Nodes =
                g.Nodes
                |> Array.map (fun n ->
                    {
                        Op = n.Op
                        Inputs = Array.ofList n.Inputs
                        Outputs = Array.ofList n.Outputs
                        Attributes = n.Attributes |> List.map attribute |> Array.ofList
                    })
            Initializers = g.Initializers
        }

[<AbstractClass; Sealed>]
type Models =
    /// Reads an --arch description; `imageShape` ([C; H; W] of the data) is the input of a network whose first
    /// layer works on images, and its flat size the input of one that starts with a dense layer.
    static member ParseArch(text: string, imageShape: int[]) : Checked<Arch> =
        Arch.parseChecked imageShape text |> Checked.ofResult

    /// The dense network of these sizes (--layers).
    static member DenseArch(sizes: int[], hidden: Activations.Activation, output: Activations.Activation, bias: bool) =
        Arch.dense sizes hidden output bias

    /// The same dense network with `inputs` inputs and `classes` outputs (hidden layers kept); an error when the
    /// network is not one --layers describes.
    static member DenseWithEnds(arch: Arch, inputs: int, classes: int) : Checked<Arch> =
        match Arch.denseParts arch with
        | Some(sizes, hidden, output, bias) ->
            let sizes = Array.copy sizes
            sizes[0] <- inputs
            sizes[sizes.Length - 1] <- classes
            Checked.ofResult (Ok(Arch.dense sizes hidden output bias))
        | None -> Checked.ofResult (Error "not a dense network")

    /// Each layer's kind, in layer order.
    static member LayerKinds(arch: Arch) : LayerKind[] =
        arch.Layers
        |> Array.map (fun l ->
            match l with
            | :? Layers.Dense.Dense -> LayerKind.Dense
            | :? Layers.Conv2d.Conv2d -> LayerKind.Conv2d
            | :? Layers.MaxPool2d.MaxPool2d -> LayerKind.MaxPool2d
            | :? Layers.Flatten.Flatten -> LayerKind.Flatten
            | :? Layers.Dropout.Dropout -> LayerKind.Dropout
            | :? Layers.Rnn.Rnn -> LayerKind.Rnn
            | :? Layers.Lstm.Lstm -> LayerKind.Lstm
            | :? Layers.Rbf.Rbf -> LayerKind.Rbf
            | _ -> LayerKind.Other)

    /// Layer l's (0-based) kind.
    static member LayerKind(arch: Arch, l: int) = (Models.LayerKinds arch)[l]

    /// Whether any layer is a convolution (the expensive kind per example).
    static member IsConvolutional(arch: Arch) =
        Models.LayerKinds arch |> Array.contains LayerKind.Conv2d

    /// Layer l's text in the --arch syntax.
    static member LayerText(arch: Arch, l: int) = arch.Layers[l].Text

    /// The activation of the last layer (what the outputs are).
    static member OutputActivation(arch: Arch) = Arch.output arch

    static member ActivationName(a: Activations.Activation) = Activations.Activation.name a

    /// How many classes the network tells apart.
    static member Classes(arch: Arch) = Arch.classes arch

    /// Parameters per layer (0 for layers without any).
    static member ParameterCounts(arch: Arch) =
        Arch.parameters arch
        |> Array.map (Array.sumBy (fun p -> Array.fold (*) 1 p.Shape))

    /// Each layer's parameter tensors (names and shapes as saved), in layer order.
    static member ParameterInfos(arch: Arch) = Arch.parameters arch

    /// Why these tensors cannot be this architecture's parameters (a missing tensor, a wrong shape), or null.
    static member TensorsProblem(arch: Arch, tensors: NamedArray[], prefix: string) : string | null =
        Named.mismatch prefix arch tensors |> Checked.ofOption

    /// A model file's spec as (key, text) pairs: "arch", "scale", "precision".
    static member ModelSpecFields(spec: ModelSpec) : Collections.Generic.KeyValuePair<string, string>[] =
        [|
            Collections.Generic.KeyValuePair("arch", Arch.text spec.Arch)
            Collections.Generic.KeyValuePair("scale", Functional.Data.Scale.name spec.Scale)
            Collections.Generic.KeyValuePair("precision", Precision.name spec.Precision)
        |]

    /// Reads a model file's spec (also the pre-architecture form with "sizes", "hidden", "output", "bias").
    static member ModelSpecOfFields(get: Func<string, string | null>) : Checked<ModelSpec> =
        let get k =
            match get.Invoke k with
            | null -> None
            | v -> Some v

        let need key f expected = Config.field get key f expected
        let arch = Config.archOfFields get

        arch
        |> Result.bind (fun a ->
            match Arch.problem a with
            | Some p -> Error p
            | None -> Ok a)
        |> Result.bind (fun a ->
            need "scale" Functional.Data.Scale.tryParse "unit, book or offset"
            |> Result.bind (fun s ->
                need "precision" Precision.tryParse "float32 or float64"
                |> Result.map (fun p -> { Arch = a; Scale = s; Precision = p })))
        |> Checked.ofResult

    /// Rebuilds a model from its spec and tensors (row-major, layers.{i}.{name}); check TensorsProblem first.
    static member LoadModel(spec: ModelSpec, tensors: NamedArray[]) : Model =
        match Named.mismatch "" spec.Arch tensors with
        | Some p -> invalidArg "tensors" p
        | None ->
            match spec.Precision with
            | Float64 -> ModelOf<float>(Named.network spec.Arch tensors, spec.Scale, Float64) :> Model
            | Float32 -> ModelOf<float32>(Named.network spec.Arch tensors, spec.Scale, Float32) :> Model

    /// The model as an ONNX graph (raw pixels in, the model's scaling inside, class scores out), or the
    /// first layer that cannot be exported yet.
    static member OnnxGraph(model: Model) : Checked<OnnxModelGraph> =
        let tensors =
            model.Tensors() |> Array.map (fun t -> t.Name, Named.values<float32> t) |> dict

        OnnxGraph.build model.Spec.Arch model.Spec.Scale (fun n -> tensors[n])
        |> Result.map OnnxModelGraph.ofGraph
        |> Checked.ofResult
