/// `functional export --onnx`: every preset's model, exported and run by ONNX Runtime, gives eval's outputs on
/// the shipped test images; the refusals are one line each.
module Functional.Tests.OnnxExportTests

open System
open System.IO
open System.Numerics
open Expecto
open Microsoft.ML.OnnxRuntime
open Microsoft.ML.OnnxRuntime.Tensors
open Functional
open Functional.Activations
open Functional.Layers.Layer
open Functional.Layers.Dense
open Functional.Host
open Functional.Tests.EndToEndTests

let testImages () =
    Inputs.Load(null, null, Inputs.TestImages)

/// ONNX Runtime's outputs for raw pixels (0..255 as float32), [count, classes] row-major.
let onnxOutputs (onnx: string) (data: Functional.Host.Data.LabeledImages) =
    use session = new InferenceSession(onnx)
    let input = session.InputMetadata["pixels"]
    // The graph's own input shape, batch dimension first: [N, 784] or [N, 1, 28, 28].
    let dims = Array.append [| data.Count |] input.Dimensions[1..]
    let pixels = data.Pixels |> Array.map float32
    let tensor = DenseTensor<float32>(Memory<float32>(pixels), ReadOnlySpan<int>(dims))
    use results = session.Run([ NamedOnnxValue.CreateFromTensor("pixels", tensor) ])
    let scores = results |> Seq.find (fun r -> r.Name = "scores")
    scores.AsEnumerable<float32>() |> Array.ofSeq, session.ModelMetadata.CustomMetadataMap, dims

let argmaxRows (classes: int) (values: float[]) =
    Array.init (values.Length / classes) (fun i ->
        let row = values[i * classes .. (i + 1) * classes - 1]
        Array.IndexOf(row, Array.max row))

/// A kind that has no ONNX export: a dense layer under another name.
type Opaque =
    | Opaque of Dense

    interface ILayer with
        member _.Text = "opaque"
        member l.Activation = let (Opaque d) = l in (d :> ILayer).Activation

        member l.OutShape input =
            let (Opaque d) = l in (d :> ILayer).OutShape input

        member l.Params input =
            let (Opaque d) = l in (d :> ILayer).Params input

        member l.Flops input =
            let (Opaque d) = l in (d :> ILayer).Flops input

        member l.Bind<'T
            when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
            (input: Shape, batch: int)
            =
            let (Opaque d) = l in (d :> ILayer).Bind<'T>(input, batch)

/// Exports the model of RUN, runs it in ONNX Runtime on the 2,000 test images and checks every output against
/// eval's within 1e-5, and the prediction wherever it is clear; gives the metadata and the input's dimensions.
let exportMatchesEval (dir: string) (run: string) (name: string) (tiesExpected: bool) =
    let onnx = Path.Combine(dir, name + ".onnx")
    let o = EndToEndTests.run dir [ "export"; run; "--onnx"; onnx ]
    Expect.equal o.Code 0 (sprintf "export: %s" o.Err)
    let model = ModelFile.Load run
    let data = testImages ()
    let ours = model.OutputsAll(Inputs.ToCore data)
    let theirs, metadata, dims = onnxOutputs onnx data
    let classes = model.Spec.Classes
    Expect.equal theirs.Length ours.Length "one score per image and class"

    let worst =
        Seq.zip ours theirs |> Seq.map (fun (a, b) -> abs (a - float b)) |> Seq.max

    Expect.isLessThan worst 1e-5 (sprintf "largest difference from eval's outputs (%g)" worst)
    let predictions = model.Evaluate(Inputs.ToCore data).Predictions
    let onnxPredictions = argmaxRows classes (Array.map float theirs)

    let clear =
        [| 0 .. data.Count - 1 |]
        |> Array.filter (fun i ->
            let row = [| i * classes .. (i + 1) * classes - 1 |]
            let top = row |> Array.map (fun j -> ours[j]) |> Array.sortDescending
            let err = row |> Array.map (fun j -> abs (ours[j] - float theirs[j])) |> Array.max
            top[0] - top[1] > 2.0 * err)

    if not tiesExpected then
        Expect.isGreaterThan clear.Length 1990 "nearly every image has a clear prediction"

    for i in clear do
        Expect.equal onnxPredictions[i] predictions[i] (sprintf "image %d: ONNX Runtime's argmax is eval's" i)

    Expect.equal metadata["architecture"] model.Spec.ArchText "the architecture in the metadata"
    metadata, dims

[<Tests>]
let tests =
    testList
        "OnnxExport"
        [
            for preset in [ "modern"; "book"; "seed"; "lenet5"; "cnn"; "rnn"; "lstm"; "rbf" ] do
                testCase (sprintf "preset %s: ONNX Runtime gives eval's outputs on all 2,000 test images" preset)
                <| fun () ->
                    let dir = tempDir ()
                    let run = Fixtures.tinyRun preset
                    // The seed preset collapses within an epoch: every output is below 1e-10, where ONNX Runtime's
                    // float32 Sigmoid gives exactly 0 (ours 2.7e-11), so its rows are ties and no argmax is clear.
                    let metadata, dims = exportMatchesEval dir run preset (preset = "seed")
                    let dense = List.contains preset [ "modern"; "book"; "seed"; "rbf" ]
                    Expect.equal dims (if dense then [| 2000; 784 |] else [| 2000; 1; 28; 28 |]) "input shape"
                    Expect.equal metadata["classes"] "0,1,2,3,4,5,6,7,8,9" "class names in the metadata"

                    Expect.equal
                        metadata["input_transform"]
                        (if preset = "book" then "x/255*0.99+0.01"
                         elif preset = "seed" then "x/255*0.99+0.1"
                         else "x/255")
                        "the input formula in the metadata"

            // Every state handed on (a relu RNN into an LSTM), a TxF input, and the states flattened for the dense layer.
            testCase "stacked recurrent layers on a 28x28 sequence: ONNX Runtime gives eval's outputs"
            <| fun () ->
                let dir = tempDir ()
                let run = Path.Combine(dir, "stacked")

                let o =
                    EndToEndTests.run
                        dir
                        [
                            "train"
                            "--arch"
                            "input 28x28, rnn 12 relu sequence, lstm 8 sequence, flatten, dense 10 softmax"
                            "--augment"
                            "none"
                            "--train-count"
                            "200"
                            "--epochs"
                            "1"
                            "--validation"
                            "0"
                            "--run"
                            run
                            "--quiet"
                        ]

                Expect.equal o.Code 0 (sprintf "train: %s" o.Err)
                let _, dims = exportMatchesEval dir run "stacked" false
                Expect.equal dims [| 2000; 28; 28 |] "input shape"

            testCase "a model path that does not exist: one line naming it, exit 3"
            <| fun () ->
                let dir = tempDir ()
                let o = EndToEndTests.run dir [ "export"; "no-such-run"; "--onnx"; "m.onnx" ]
                expectOneLineError o 3 [ "no-such-run" ]
                Expect.isFalse (File.Exists(Path.Combine(dir, "m.onnx"))) "nothing written"

            testCase "a read-only destination: one line naming it, exit 4, nothing left behind"
            <| fun () ->
                let dir = tempDir ()
                let run = Fixtures.tinyRun "modern"
                // procfs refuses new files even to root, so this holds however the tests run.
                let o =
                    EndToEndTests.run dir [ "export"; run; "--onnx"; "/proc/functional-test.onnx" ]

                expectOneLineError o 4 [ "/proc/functional-test.onnx"; "cannot write" ]

            testCase "a layer kind without an ONNX export: named with its position"
            <| fun () ->
                let dense units act =
                    {
                        Units = units
                        Activation = act
                        Bias = true
                    }

                let arch: Arch.Arch =
                    {
                        Input = [| 784 |]
                        Layers = [| dense 16 Relu; Opaque(dense 10 Softmax) |]
                    }

                let tensors =
                    Arch.Arch.parameters arch
                    |> Array.mapi (fun l ps ->
                        ps
                        |> Array.map (fun p ->
                            {
                                Name = sprintf "layers.%d.%s" l p.Name
                                Shape = p.Shape
                                Float32 = Array.zeroCreate (Array.fold (*) 1 p.Shape)
                                Float64 = null
                            }))
                    |> Array.concat

                let model =
                    Api.Models.LoadModel(
                        {
                            Arch = arch
                            Scale = Data.Unit
                            Precision = Float32
                        },
                        tensors
                    )

                let message =
                    try
                        Onnx.OnnxFile.Build("m.safetensors", model, ModelFile.Describe model) |> ignore
                        "no error"
                    with :? DataError as e ->
                        e.Message

                Expect.equal
                    message
                    "m.safetensors: layer 2 (layers.1, opaque) cannot be exported to ONNX yet"
                    "the message"
        ]
