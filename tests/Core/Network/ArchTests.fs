module Functional.Tests.Core.ArchTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step
open Functional.Tests.Core.Helpers

let private flatten = Layers.Flatten.Flatten :> ILayer

let private layer units act bias : ILayer =
    {
        Layers.Dense.Units = units
        Layers.Dense.Activation = act
        Layers.Dense.Bias = bias
    }

/// Dense and flatten architectures: an input (flat or an image), optional flattens, dense layers.
let private archCases =
    gen {
        let! image = Gen.elements [ true; false ]
        let! c = Gen.choose (1, 3)
        let! h = Gen.choose (1, 28)
        let! w = Gen.choose (1, 28)
        let! flat = Gen.choose (1, 1000)
        let! count = Gen.choose (1, 4)
        let! units = Gen.arrayOfLength count (Gen.choose (1, 600))
        let! acts = Gen.arrayOfLength count (Gen.elements Activation.all)
        let! biases = Gen.arrayOfLength count (Gen.elements [ true; false ])
        let! middle = Gen.arrayOfLength count (Gen.elements [ true; false; false ])

        let dense =
            [|
                for i in 0 .. count - 1 do
                    yield layer units[i] acts[i] biases[i]

                    if middle[i] then
                        yield flatten
            |]

        return
            ({
                Input = (if image then [| c; h; w |] else [| flat |])
                Layers = (if image then Array.append [| flatten |] dense else dense)
            }
            : Arch)
    }
    |> Arb.fromGen

let private problem text =
    match Arch.parse [| 784 |] text with
    | Ok a -> Arch.problem a
    | Error e -> failtestf "'%s' does not parse: %s" text e

let archTests =
    testList
        "Arch"
        [
            testPropertyWithConfig (config 200) "parse (text a) = a for dense and flatten architectures"
            <| Prop.forAll archCases (fun a ->
                let text = Arch.text a
                let back = ok text (Arch.parse [| 5 |] text)
                Expect.equal back a text
                Expect.equal (Arch.text back) text "the same text again"
                // Without the input, the layers alone parse with the input they are given.
                let layers = ok "layers" (Arch.parse a.Input (Arch.layersText a))
                Expect.equal layers a "layersText with the input given")

            test "text reads like the --arch syntax" {
                let a =
                    withFlatten [| 1; 28; 28 |] [| layer 120 Relu true; layer 10 Softmax false |]

                Expect.equal (Arch.text a) "input 1x28x28, flatten, dense 120 relu, dense 10 softmax no-bias" "text"
                Expect.equal (Arch.layersText a) "flatten, dense 120 relu, dense 10 softmax no-bias" "layers"

                Expect.equal
                    (ok "spaces and case" (Arch.parse [| 784 |] "  Dense 30   RELU ;dense 10 softmax "))
                    {
                        Input = [| 784 |]
                        Layers = [| layer 30 Relu true; layer 10 Softmax true |]
                    }
                    "commas or semicolons, any case and spacing"
            }

            test "parse errors name the layer" {
                let e =
                    error "kind" (Arch.parse [| 784 |] "dense 30 relu, conv2 6, dense 10 softmax")

                Expect.stringContains e "layer 2" "which layer"
                Expect.stringContains e "'conv2'" "the word"
                Expect.stringContains e "dense" "the kinds it knows"
                Expect.stringContains (error "empty" (Arch.parse [| 784 |] "dense 30, , dense 10")) "empty" "two commas"

                Expect.stringContains
                    (error "input" (Arch.parse [| 784 |] "input 1x0x28, dense 10"))
                    "input"
                    "bad input"

                Expect.stringContains
                    (error "input" (Arch.parse [| 784 |] "input 2x3x4x5, dense 10"))
                    "1x28x28"
                    "4-d input"
            }

            test "a dense layer after an image input without flatten is refused, naming the layer and both shapes" {
                let p = problem "input 1x28x28, dense 120 relu, dense 10 softmax"
                Expect.isSome p "refused"
                let p = p.Value
                Expect.stringContains p "layer 1" "the layer's position"
                Expect.stringContains p "dense 120 relu" "the layer"
                Expect.stringContains p "1x28x28" "the shape it gets"
                Expect.stringContains p "flat" "the shape it needs"
                Expect.stringContains p "flatten" "the fix"
                Expect.isFalse (p.Contains '\n') "one line"
                Expect.isNone (problem "input 1x28x28, flatten, dense 120 relu, dense 10 softmax") "with flatten"

                Expect.isTrue
                    (Result.isError (Arch.shapes (ok "" (Arch.parse [| 1 |] "input 3x4x4, dense 2 softmax"))))
                    "shapes"
            }

            test "softmax in a hidden layer is refused, naming the layer" {
                let p = problem "dense 30 softmax, dense 10 softmax"
                Expect.isSome p "refused"
                Expect.stringContains p.Value "layer 1" "position"
                Expect.stringContains p.Value "dense 30 softmax" "the layer"
                Expect.stringContains p.Value "hidden" "why"
            }

            test "the last layer must end in softmax or sigmoid" {
                for last in [ "dense 10 relu"; "dense 10 tanh"; "dense 10"; "flatten" ] do
                    let p = problem ("dense 30 relu, " + last)
                    Expect.isSome p last
                    Expect.stringContains p.Value "softmax or sigmoid" last

                Expect.isNone (problem "dense 30 relu, dense 10 sigmoid") "sigmoid output"
                Expect.isNone (problem "dense 10 softmax") "one layer"
                Expect.isSome (Arch.problem { Input = [| 784 |]; Layers = [||] }) "no layers"
            }

            test "shapes, classes, inputs, output, counts and FLOPs" {
                let a = withFlatten [| 2; 3; 4 |] [| layer 5 Relu true; layer 3 Softmax false |]

                Expect.equal (ok "shapes" (Arch.shapes a)) [| [| 2; 3; 4 |]; [| 24 |]; [| 5 |]; [| 3 |] |] "every shape"

                Expect.equal (Arch.inputs a, Arch.classes a, Arch.output a) (24, 3, Softmax) "sizes"
                Expect.equal (Arch.parameterCount a) (24 * 5 + 5 + 5 * 3) "parameters"
                Expect.equal (Arch.forwardFlops a) (2.0 * 24.0 * 5.0 + 2.0 * 5.0 * 3.0) "forward"
                // The first dense layer needs no ∂L/∂x: 2× its forward cost; the second 3×.
                Expect.equal (Arch.trainingFlops a) (2.0 * 240.0 + 3.0 * 30.0) "training"
                Expect.isFalse (Arch.wantsImage a.Layers) "flatten takes an image or a vector alike"
                Expect.isFalse (Arch.wantsImage a.Layers[1..]) "dense first wants a vector"
            }

            test "denseParts: the --layers description of a dense network, or None" {
                let d = dense [| 784; 30; 20; 10 |] Tanh Sigmoid false
                Expect.equal (Arch.denseParts d) (Some([| 784; 30; 20; 10 |], Tanh, Sigmoid, false)) "dense"

                Expect.equal
                    (Arch.denseParts (dense [| 4; 2 |] Relu Softmax true))
                    (Some([| 4; 2 |], Relu, Softmax, true))
                    "one layer"

                Expect.isNone
                    (Arch.denseParts (withFlatten [| 1; 2; 2 |] (dense [| 4; 2 |] Relu Softmax true).Layers))
                    "flatten"

                let mixed: Arch =
                    {
                        Input = [| 4 |]
                        Layers = [| layer 3 Relu true; layer 3 Tanh true; layer 2 Softmax true |]
                    }

                Expect.isNone (Arch.denseParts mixed) "two hidden activations"

                let biases: Arch =
                    {
                        Input = [| 4 |]
                        Layers = [| layer 3 Relu true; layer 2 Softmax false |]
                    }

                Expect.isNone (Arch.denseParts biases) "mixed biases"
            }

            test "every message that names a layer gives its number for people and its tensor prefix" {
                let says (expected: string) (message: string option) =
                    match message with
                    | Some m -> Expect.stringContains m expected "the layer as people and files name it"
                    | None -> failtestf "no message, expected one naming %s" expected

                let parseError text =
                    match Arch.parse [| 784 |] text with
                    | Error e -> Some e
                    | Ok _ -> None

                parseError "dense 30 relu, dense ten softmax"
                |> says "layer 2 (layers.1, 'dense ten softmax'): "

                problem "dense 30 softmax, dense 10 softmax"
                |> says "layer 1 (layers.0, dense 30 softmax): softmax is an output activation"

                match Arch.parse [| 784 |] "input 1x28x28, conv 6 5x5 relu, dense 10 softmax" with
                | Ok a ->
                    match Arch.shapes a with
                    | Error e -> Some e
                    | Ok _ -> None
                    |> says "layer 2 (layers.1, dense 10 softmax): "
                | Error e -> failtestf "does not parse: %s" e

                let arch = ok "" (Arch.parse [| 4 |] "dense 3 relu, dense 2 softmax")

                let tensor name shape : NamedArray =
                    {
                        Name = name
                        Shape = shape
                        Float32 = Array.zeroCreate (Array.reduce (*) shape)
                        Float64 = null
                    }

                let mismatch tensors =
                    Api.Models.TensorsProblem(arch, tensors, "") |> Option.ofObj

                mismatch [| tensor "layers.0.weight" [| 3; 4 |]; tensor "layers.0.bias" [| 3 |] |]
                |> says "tensor 'layers.1.weight' is missing (layer 2 (layers.1, dense 2 softmax))"

                mismatch
                    [|
                        tensor "layers.0.weight" [| 3; 4 |]
                        tensor "layers.0.bias" [| 3 |]
                        tensor "layers.1.weight" [| 2; 4 |]
                        tensor "layers.1.bias" [| 2 |]
                    |]
                |> says "has shape [2,4], but layer 2 (layers.1, dense 2 softmax) needs [2,3]"
            }

            test "small figures print one way: two significant digits in exponent form" {
                Expect.equal (Display.small 2.41e-7) "2.4e-07" "a small number"
                Expect.equal (Display.small -132.0) "-1.3e+02" "a large negative one"
                Expect.equal (Display.small 0.0) "0.0e+00" "zero"
                Expect.equal (Display.small nan) "NaN" "NaN in words"
                Expect.equal (Display.small infinity) "inf" "infinity"
                Expect.equal (Display.layer 0) "layer 1 (layers.0)" "the first layer"
            }
        ]

[<Tests>]
let tests = testList "Core" [ archTests ]
