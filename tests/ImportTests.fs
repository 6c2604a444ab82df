/// `functional import`: a PyTorch nn.Sequential's state_dict, written here as PyTorch's safetensors writes it,
/// becomes a model file whose predictions are a forward pass computed in the test.
module Functional.Tests.ImportTests

open System
open System.IO
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

/// Tensors named as an nn.Sequential's state_dict, ordered by name as the safetensors library writes them,
/// with no __metadata__ of ours.
let private writeStateDict (path: string) (tensors: (string * int64[] * float32[]) list) =
    let ts =
        tensors
        |> List.sortBy (fun (n, _, _) -> n)
        |> List.map (fun (n, shape, v) -> Safetensors.Tensor.FromFloats(n, shape, v))
        |> Array.ofList

    Safetensors.Write(path, ts, Collections.Generic.Dictionary<string, string>())

let private random (rng: Random) n scale =
    Array.init n (fun _ -> float32 ((rng.NextDouble() * 2.0 - 1.0) * scale))

let private softmax (z: float[]) =
    let m = Array.max z
    let e = z |> Array.map (fun v -> exp (v - m))
    let s = Array.sum e
    e |> Array.map (fun v -> v / s)

/// y = W x + b for W [out, in] row-major.
let private linear (w: float32[]) (b: float32[]) (x: float[]) =
    Array.init b.Length (fun o ->
        float b[o]
        + Array.fold (+) 0.0 (Array.init x.Length (fun i -> float w[o * x.Length + i] * x[i])))

let private relu = Array.map (fun v -> max v 0.0)

let private imported (dir: string) (file: string) (arch: string) =
    let out = Path.Combine(dir, "imported.safetensors")
    let o = run dir [ "import"; file; "--arch"; arch; "--out"; out ]
    Expect.equal o.Code 0 (sprintf "import: %s" o.Err)
    out

let private testImages () =
    Inputs.Load(null, null, Inputs.TestImages)

let private pixels (data: Functional.Host.Data.LabeledImages) i =
    Array.init 784 (fun p -> float data.Pixels[i * 784 + p] / 255.0)

/// The imported model's outputs against `forward` on the first n test images.
let private agree (model: string) (forward: float[] -> float[]) n =
    let data = testImages ()
    let outputs = (ModelFile.Load model).OutputsAll(Inputs.ToCore data)

    for i in 0 .. n - 1 do
        let expected = forward (pixels data i)

        for c in 0..9 do
            Expect.floatClose
                { absolute = 1e-5; relative = 1e-5 }
                outputs[i * 10 + c]
                expected[c]
                (sprintf "image %d, class %d" i c)

[<Tests>]
let tests =
    testList
        "Import"
        [
            testCase "Linear, ReLU, Linear, Softmax: 0.* and 2.* become layers 0 and 1, predictions as computed here"
            <| fun () ->
                let dir = tempDir ()
                let rng = Random 7
                let w0, b0 = random rng (32 * 784) 0.05, random rng 32 0.1
                let w2, b2 = random rng (10 * 32) 0.3, random rng 10 0.1
                let file = Path.Combine(dir, "mlp.safetensors")

                writeStateDict
                    file
                    [
                        "0.weight", [| 32L; 784L |], w0
                        "0.bias", [| 32L |], b0
                        "2.weight", [| 10L; 32L |], w2
                        "2.bias", [| 10L |], b2
                    ]

                let model = imported dir file "dense 32 relu, dense 10 softmax"
                agree model (fun x -> x |> linear w0 b0 |> relu |> linear w2 b2 |> softmax) 50
                let e = run dir [ "eval"; "--model"; model ]
                Expect.equal e.Code 0 (sprintf "eval works on it: %s" e.Err)

                let g =
                    run dir [ "gradcheck"; "--model"; model; "--examples"; "5"; "--params"; "50" ]

                Expect.equal g.Code 0 (sprintf "gradcheck at its weights: %s%s" g.Out g.Err)
                Expect.stringContains g.Out (sprintf "model  the weights of %s" model) "at the imported weights"
                Expect.stringContains g.Out "dense 32 relu, dense 10 softmax" "its architecture"

            testCase
                "Conv2d, ReLU, MaxPool2d, Flatten, Linear under a prefix: 0.* and 4.*, predictions as computed here"
            <| fun () ->
                let dir = tempDir ()
                let rng = Random 11
                let wc, bc = random rng (4 * 9) 0.3, random rng 4 0.1
                let wl, bl = random rng (10 * 4 * 13 * 13) 0.05, random rng 10 0.1
                let file = Path.Combine(dir, "cnn.safetensors")

                writeStateDict
                    file
                    [
                        "net.0.weight", [| 4L; 1L; 3L; 3L |], wc
                        "net.0.bias", [| 4L |], bc
                        "net.4.weight", [| 10L; 676L |], wl
                        "net.4.bias", [| 10L |], bl
                    ]

                // conv 3x3 (26x26), relu, max over 2x2 windows (13x13), flatten in (channel, row, column) order.
                let forward (x: float[]) =
                    let conv c r q =
                        float bc[c]
                        + Array.sum (Array.init 9 (fun k -> float wc[c * 9 + k] * x[(r + k / 3) * 28 + q + k % 3]))

                    let pooled =
                        Array.init (4 * 13 * 13) (fun i ->
                            let c, r, q = i / 169, i % 169 / 13, i % 13

                            [
                                for dr in 0..1 do
                                    for dq in 0..1 do
                                        max 0.0 (conv c (2 * r + dr) (2 * q + dq))
                            ]
                            |> List.max)

                    pooled |> linear wl bl |> softmax

                let model =
                    imported dir file "conv 4 3x3 relu, maxpool 2, flatten, dense 10 softmax"

                agree model forward 20

            testCase "the first mismatch is named: a shape, a missing module; nothing is written"
            <| fun () ->
                let dir = tempDir ()
                let rng = Random 3
                let file = Path.Combine(dir, "bad.safetensors")

                writeStateDict
                    file
                    [
                        "0.weight", [| 32L; 784L |], random rng (32 * 784) 0.05
                        "0.bias", [| 32L |], random rng 32 0.1
                        "2.weight", [| 10L; 16L |], random rng 160 0.3
                        "2.bias", [| 10L |], random rng 10 0.1
                    ]

                let out = Path.Combine(dir, "m.safetensors")

                let shape =
                    run dir [ "import"; file; "--arch"; "dense 32 relu, dense 10 softmax"; "--out"; out ]

                expectOneLineError
                    shape
                    3
                    [
                        file
                        "'2.weight'"
                        "[10,16]"
                        "layer 2 (layers.1, dense 10 softmax)"
                        "[10,32]"
                    ]

                let count =
                    run
                        dir
                        [
                            "import"
                            file
                            "--arch"
                            "dense 32 relu, dense 16 relu, dense 10 softmax"
                            "--out"
                            out
                        ]

                expectOneLineError count 3 [ file; "2 modules with parameters"; "3 layers with parameters" ]
                Expect.isFalse (File.Exists out) "no model file written"
        ]
