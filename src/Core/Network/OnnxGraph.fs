/// A model as one ONNX graph, as plain data: raw pixels in (0..255, [N, 784] or [N, C, H, W]), the model's input
/// scaling as the first nodes (the same float operations `Data.gatherInto` does), then every layer's nodes
/// (Layers/Onnx.fs), class scores out ([N, classes]). Parameters become float32 initializers under their
/// model-file names. The host writes it as protobuf.
module Functional.OnnxGraph

open Functional.Layers.Layer
open Functional.Layers.Onnx
open Functional.Arch
open Functional.Data

/// Opset 17, the first with every operator here in its current form; ONNX Runtime 1.31 runs it.
[<Literal>]
let Opset = 17L

type Initializer =
    {
        Name: string
        Shape: int64[]
        Values: float32[]
    }

type Graph =
    {
        Input: string
        /// -1 for the batch dimension.
        InputShape: int64[]
        Output: string
        OutputShape: int64[]
        Nodes: Node[]
        Initializers: Initializer[]
    }

[<Literal>]
let InputName = "pixels"

[<Literal>]
let OutputName = "scores"

/// x ← x/255, then ·0.99 + lift for the book's and the offset scaling: the float32 operations of gatherInto.
let private scaling (scale: Scale) (x: string) (y: string) =
    let constant name (v: float32) =
        {
            Name = "scale." + name
            Shape = [||]
            Values = [| v |]
        }

    let lift v =
        [
            node "Div" [ x; "scale.max" ] [ "scale.unit" ] []
            node "Mul" [ "scale.unit"; "scale.squeeze" ] [ "scale.squeezed" ] []
            node "Add" [ "scale.squeezed"; "scale.lift" ] [ y ] []
        ],
        [ constant "max" 255.0f; constant "squeeze" 0.99f; constant "lift" v ]

    match scale with
    | Unit -> [ node "Div" [ x; "scale.max" ] [ y ] [] ], [ constant "max" 255.0f ]
    | Book -> lift 0.01f
    | Offset -> lift 0.1f

/// The graph of `arch` read with `scale`, its parameters from `tensor name` (float32 values), or the first
/// layer that cannot be exported yet.
let build (arch: Arch) (scale: Scale) (tensor: string -> float32[]) : Result<Graph, string> =
    match Arch.shapes arch with
    | Error e -> Error e
    | Ok shapes ->
        let params' = Arch.parameters arch
        let last = arch.Layers.Length - 1

        let rec layers l (x: string) acc =
            if l > last then
                Ok(List.rev acc |> List.concat)
            else
                let layer = arch.Layers[l]

                match layer with
                | :? IOnnx as e ->
                    let y =
                        if l = last then
                            OutputName
                        else
                            sprintf "layers.%d.output" l

                    let names =
                        {
                            Param = fun p -> sprintf "layers.%d.%s" l p
                            Temp = fun t -> sprintf "layers.%d.%s" l t
                        }

                    layers (l + 1) y (e.Nodes(shapes[l], x, y, names) :: acc)
                | _ -> Error(sprintf "%s cannot be exported to ONNX yet" (Display.layerWith l layer.Text))

        let scaleNodes, scaleInits = scaling scale InputName "input"

        layers 0 "input" []
        |> Result.map (fun nodes ->
            let initializers =
                [|
                    yield! scaleInits

                    for l in 0..last do
                        for p in params'[l] do
                            let name = sprintf "layers.%d.%s" l p.Name

                            {
                                Name = name
                                Shape = p.Shape |> Array.map int64
                                Values = tensor name
                            }
                |]

            {
                Input = InputName
                InputShape = Array.append [| -1L |] (arch.Input |> Array.map int64)
                Output = OutputName
                OutputShape = Array.append [| -1L |] (shapes[shapes.Length - 1] |> Array.map int64)
                Nodes = Array.ofList (scaleNodes @ nodes)
                Initializers = initializers
            })
