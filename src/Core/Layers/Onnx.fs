/// A layer kind as ONNX operators (opset 17), written as plain data: the host turns these nodes into the
/// protobuf graph. A kind exports by implementing IOnnx in its own file; a kind without it cannot be exported
/// yet, and the exporter says so. Tensors are [N, ...shape] (NCHW for images), as in PyTorch.
module Functional.Layers.Onnx

open Functional.Activations
open Functional.Layers.Layer

type Attribute =
    | Int of int64
    | Ints of int64 list
    | Float of float32
    | Strings of string list

/// One operator: `Y = Op(X, ...)`, inputs and outputs by tensor name.
type Node =
    {
        Op: string
        Inputs: string list
        Outputs: string list
        Attributes: (string * Attribute) list
    }

/// The names one layer's nodes may use: its parameters as initializers, fresh names for what is in between.
type Names =
    {
        /// "weight" -> the initializer holding layers.{i}.weight (laid out as saved, PyTorch's layout).
        Param: string -> string
        /// A name no other layer uses, for a tensor between this layer's nodes.
        Temp: string -> string
    }

type IOnnx =
    /// Nodes computing this layer's output `y` from its input `x` (of shape [N, ...input]).
    abstract Nodes: input: Shape * x: string * y: string * names: Names -> Node list

let node op inputs outputs attributes =
    {
        Op = op
        Inputs = inputs
        Outputs = outputs
        Attributes = attributes
    }

/// y = f(z): softmax over the classes of an [N, classes] tensor (axis 1), like ours over a column.
let activation (act: Activation) (z: string) (y: string) =
    match act with
    | Linear -> [ node "Identity" [ z ] [ y ] [] ]
    | Sigmoid -> [ node "Sigmoid" [ z ] [ y ] [] ]
    | Tanh -> [ node "Tanh" [ z ] [ y ] [] ]
    | Relu -> [ node "Relu" [ z ] [ y ] [] ]
    | Softmax -> [ node "Softmax" [ z ] [ y ] [ "axis", Int 1L ] ]

/// A layer's own op into `z`, then its activation into `y` (no Identity when there is no activation).
let thenActivate (act: Activation) (op: string -> Node) (y: string) (names: Names) =
    match act with
    | Linear -> [ op y ]
    | a ->
        let z = names.Temp "z"
        op z :: activation a z y

/// A 1-D int64 constant (axes, shapes), which opset 13 and later take as inputs rather than attributes.
let ints (names: Names) (name: string) (values: int64 list) =
    let out = names.Temp name
    out, node "Constant" [] [ out ] [ "value_ints", Ints values ]
