/// replay --dump holds a whole step (recomputed here by code of the test's own), and inspect reads any
/// safetensors file, through the real binary.
module Functional.Tests.DumpTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

let private tensorsOf path =
    let struct (tensors, _) = Safetensors.Read path
    tensors |> Seq.map (fun t -> t.Name, t) |> Map.ofSeq

let private valuesOf (t: Safetensors.Tensor) =
    if t.Dtype = "F32" then
        t.ToFloats() |> Array.map float
    else
        t.ToDoubles()

/// ‖a − b‖ / ‖b‖.
let private relativeError (a: float[]) (b: float[]) =
    let d = Array.map2 (fun x y -> (x - y) * (x - y)) a b |> Array.sum
    sqrt d / max (sqrt (Array.sumBy (fun y -> y * y) b)) 1e-300

/// A 62-step run (2,000 images, batch 32) and the dump of its step 40; returns the dump folder.
let private makeDump (options: string list) =
    let dir = tempDir ()
    let runDir = Path.Combine(dir, "run")

    let t =
        run
            repo
            ([
                "train"
                "--run"
                runDir
                "--quiet"
                "--layers"
                "784,16,10"
                "--epochs"
                "1"
                "--validation"
                "0"
             ]
             @ [
                 "--train-count"
                 "2000"
                 "--checkpoint-every"
                 "20"
                 "--l2"
                 "0.001"
                 "--clip-norm"
                 "0.5"
             ]
             @ options)

    Expect.equal t.Code 0 t.Err
    let dump = Path.Combine(dir, "dump")
    let r = run repo [ "replay"; runDir; "--step"; "40"; "--dump"; dump ]
    Expect.equal r.Code 0 r.Err
    dump

let private dumps =
    Collections.Concurrent.ConcurrentDictionary<string list, Lazy<string>>()

/// makeDump once per set of options (two tests read the same float64 Adam dump).
let private dumpOf (options: string list) =
    dumps.GetOrAdd(options, (fun o -> lazy (makeDump o))).Value

/// The update of step.json's optimiser, written from its equations (not from Core's Optim): for every tensor,
/// (weights, first moment or velocity, second moment) after the step, in float64 arithmetic.
let private recompute (dump: string) =
    let hyper = JsonNode.Parse(File.ReadAllText(Path.Combine(dump, "step.json")))
    let h (k: string) = hyper["hyper"].[k].GetValue<float>()
    let t = hyper["update"].GetValue<int64>()
    let optimizer = hyper["optimizer"].GetValue<string>()
    let clipScale = hyper["clip_scale"].GetValue<float>()
    let before = tensorsOf (Path.Combine(dump, "before.safetensors"))
    let grads = tensorsOf (Path.Combine(dump, "grads.safetensors"))
    let moments = tensorsOf (Path.Combine(dump, "optimizer-before.safetensors"))
    let lr = h "lr"

    // Clipping: the whole gradient scaled to norm clip_norm when longer; the dump says which factor it used.
    let norm =
        grads.Values
        |> Seq.sumBy (fun g -> valuesOf g |> Array.sumBy (fun x -> x * x))
        |> sqrt

    let expectedScale = if norm > h "clip_norm" then h "clip_norm" / norm else 1.0
    Expect.floatClose { absolute = 0.0; relative = 1e-6 } clipScale expectedScale "the clipping factor"

    [
        for KeyValue(name, w) in before ->
            let w = valuesOf w
            let g = valuesOf grads[name] |> Array.map (fun x -> x * clipScale)

            match optimizer with
            | "adam" ->
                let b1, b2, eps = h "beta1", h "beta2", h "eps"
                let m = valuesOf moments["optimizer.m." + name]
                let v = valuesOf moments["optimizer.v." + name]
                let m' = Array.map2 (fun m g -> b1 * m + (1.0 - b1) * g) m g
                let v' = Array.map2 (fun v g -> b2 * v + (1.0 - b2) * (g * g)) v g
                let c1, c2 = 1.0 - Math.Pow(b1, float t), 1.0 - Math.Pow(b2, float t)

                let w' =
                    Array.init w.Length (fun i -> w[i] - lr * ((m'[i] / c1) / (sqrt (v'[i] / c2) + eps)))

                name, [ "", w'; "optimizer.m.", m'; "optimizer.v.", v' ]
            | "momentum" ->
                let mu = h "momentum"

                let v' =
                    Array.map2 (fun v g -> v * mu + g) (valuesOf moments["optimizer.m." + name]) g

                name, [ "", Array.map2 (fun w v -> w + v * -lr) w v'; "optimizer.m.", v' ]
            | o -> failwithf "no recomputation for %s" o
    ]

/// The dumped result of the step: weights (prefix "") and moments ("optimizer.m.", "optimizer.v.").
let private dumped (dump: string) (prefix: string) (name: string) =
    let file =
        if prefix = "" then
            "after.safetensors"
        else
            "optimizer-after.safetensors"

    let tensors = tensorsOf (Path.Combine(dump, file))
    valuesOf tensors[prefix + name]

let private bits (a: float[]) =
    a |> Array.map BitConverter.DoubleToInt64Bits

[<Tests>]
let tests =
    testList
        "Dump"
        [
            test
                "an Adam step and a momentum step recomputed from the dump alone match it (1e-6 in float32, bit for bit in float64)" {
                for optimizer in [ [ "--optimizer"; "adam" ]; [ "--optimizer"; "momentum"; "--lr"; "0.05" ] ] do
                    for precision in [ "float32"; "float64" ] do
                        let dump = dumpOf (optimizer @ [ "--precision"; precision ])

                        for name, results in recompute dump do
                            for prefix, expected in results do
                                let actual = dumped dump prefix name
                                let what = sprintf "%s %s%s (%s)" optimizer[1] prefix name precision

                                if precision = "float64" then
                                    Expect.equal (bits expected) (bits actual) what
                                else
                                    Expect.isLessThanOrEqual (relativeError expected actual) 1e-6 what
            }

            test
                "the dump's activations are the step's forward pass: relu and softmax of its pre-activations, and its loss" {
                let dump = dumpOf [ "--optimizer"; "adam"; "--precision"; "float64" ]
                let acts = tensorsOf (Path.Combine(dump, "activations.safetensors"))
                let batch = tensorsOf (Path.Combine(dump, "batch.safetensors"))
                let targets = batch["targets"].ToDoubles()

                let z0, a0 =
                    acts["layers.0.preactivation"].ToDoubles(), acts["layers.0.activation"].ToDoubles()

                Expect.equal acts["layers.0.activation"].Shape [| 32L; 16L |] "[B, units]"
                Expect.equal a0 (Array.map (fun z -> max z 0.0) z0) "relu of the pre-activations"

                let z1, a1 =
                    acts["layers.1.preactivation"].ToDoubles(), acts["layers.1.activation"].ToDoubles()

                let softmax =
                    Array.chunkBySize 10 z1
                    |> Array.collect (fun z ->
                        let e = z |> Array.map (fun v -> exp (v - Array.max z))
                        e |> Array.map (fun v -> v / Array.sum e))

                Expect.isLessThanOrEqual (relativeError softmax a1) 1e-12 "softmax of the pre-activations"
                let before = tensorsOf (Path.Combine(dump, "before.safetensors"))
                let hyper = JsonNode.Parse(File.ReadAllText(Path.Combine(dump, "step.json")))

                let ce =
                    Array.map2 (fun y a -> if y > 0.0 then -y * log a else 0.0) targets a1
                    |> Array.sum
                    |> fun s -> s / 32.0

                let l2 =
                    0.5
                    * hyper["hyper"].["l2"].GetValue<float>()
                    * ([ "layers.0.weight"; "layers.1.weight" ]
                       |> List.sumBy (fun n -> before[n].ToDoubles() |> Array.sumBy (fun w -> w * w)))

                Expect.floatClose Accuracy.high (ce + l2) (hyper["loss"].GetValue<float>()) "the step's loss"
            }

            test
                "an adversarial step's dump holds the batch it trained on (clean beside attacked) and recomputes bit for bit" {
                let dump =
                    dumpOf [ "--optimizer"; "adam"; "--precision"; "float64"; "--adversarial"; "fgsm:0.1" ]

                for name, results in recompute dump do
                    for prefix, expected in results do
                        Expect.equal (bits expected) (bits (dumped dump prefix name)) (sprintf "%s%s" prefix name)

                let batch = tensorsOf (Path.Combine(dump, "batch.safetensors"))
                Expect.equal batch["inputs"].Shape [| 64L; 784L |] "32 clean examples, then their 32 attacked copies"
                Expect.equal batch["indices"].Shape [| 32L |] "the 32 examples of the step"
                let x = batch["inputs"].ToDoubles()
                let clean, attacked = x[.. 32 * 784 - 1], x[32 * 784 ..]
                let moved = Array.map2 (fun a c -> abs (a - c)) attacked clean

                // The unit scaling maps pixels to [0, 1]: ε = 0.1 of that range.
                Expect.isLessThanOrEqual (Array.max moved) (0.1 + 1e-12) "inside the ε-ball"
                Expect.isGreaterThan (Array.max moved) 0.05 "the attacked half was attacked"

                let targets = batch["targets"].ToDoubles()
                Expect.equal (Array.sum targets[.. 32 * 10 - 1]) 32.0 "clean targets scaled by 2(1 − 0.5) = 1"
                let acts = tensorsOf (Path.Combine(dump, "activations.safetensors"))
                Expect.equal acts["layers.1.activation"].Shape [| 64L; 10L |] "the forward pass saw both halves"
            }

            test "inspect prints every tensor's statistics and the metadata of any safetensors file, --json too" {
                let dir = tempDir ()
                let path = Path.Combine(dir, "foreign.safetensors")

                let values = [| 1.0; -2.0; nan; 4.0; infinity; 0.5 |]

                let half (v: float) =
                    BitConverter.GetBytes(Half.op_Explicit v)

                Safetensors.Write(
                    path,
                    [|
                        Safetensors.Tensor.FromDoubles("w", [| 2L; 3L |], values)
                        Safetensors.Tensor.FromInt64s("ids", [| 3L |], [| 7L; -1L; 3L |])
                        Safetensors.Tensor("h", "F16", [| 2L |], Array.collect half [| 1.5; -3.0 |])
                    |],
                    readOnlyDict [ "source", "a test" ]
                )

                let o = run repo [ "inspect"; path ]
                Expect.equal o.Code 0 o.Err
                Expect.stringContains o.Out "metadata        source = a test" "the metadata"

                Expect.isMatch
                    o.Out
                    @"w\s+F64\s+\[2,3\]\s+-2\.0e\+00\s+4\.0e\+00\s+8\.8e-01\s+\S+\s+2"
                    "w: min, max, mean (two significant digits, as every small figure), 2 non-finite"

                Expect.isMatch o.Out @"h\s+F16\s+\[2\]\s+-3\.0e\+00\s+1\.5e\+00" "half floats"

                let j = run repo [ "inspect"; path; "--json" ]
                Expect.equal j.Code 0 j.Err
                let node = JsonNode.Parse j.Out
                Expect.equal (node["metadata"].["source"].GetValue<string>()) "a test" "metadata"

                let w =
                    node["tensors"].AsArray()
                    |> Seq.find (fun t -> t["name"].GetValue<string>() = "w")

                let finite = values |> Array.filter Double.IsFinite
                let mean = Array.average finite
                let std = sqrt (finite |> Array.averageBy (fun v -> (v - mean) ** 2.0))
                Expect.equal (w["non_finite"].GetValue<int64>()) 2L "NaN and infinity counted"
                Expect.floatClose Accuracy.veryHigh (w["mean"].GetValue<float>()) mean "mean of the finite values"
                Expect.floatClose Accuracy.veryHigh (w["std"].GetValue<float>()) std "std of the finite values"

                let ids =
                    node["tensors"].AsArray()
                    |> Seq.find (fun t -> t["name"].GetValue<string>() = "ids")

                Expect.equal (ids["min"].GetValue<float>()) -1.0 "integers too"
            }

            test "inspect refuses a broken file in one line, and reports a checkpoint whose tensors changed" {
                let dir = tempDir ()
                // An Adam run's checkpoint, only read: the broken copies are written to this test's folder.
                let runDir = Fixtures.smallRun ()
                let checkpoint = Directory.GetFiles(Path.Combine(runDir, "checkpoints"))[0]
                let i = run repo [ "inspect"; checkpoint ]
                Expect.equal i.Code 0 i.Err
                Expect.stringContains i.Out "optimizer.v.layers.0.weight" "a checkpoint's moments"
                Expect.stringContains i.Out "(matches the tensors)" "its hash"
                let bytes = File.ReadAllBytes checkpoint
                let truncated = Path.Combine(dir, "truncated.safetensors")
                File.WriteAllBytes(truncated, bytes[.. bytes.Length - 5])
                expectOneLineError (run repo [ "inspect"; truncated ]) 3 [ truncated ]
                let flipped = Path.Combine(dir, "flipped.safetensors")
                bytes[bytes.Length - 1] <- bytes[bytes.Length - 1] ^^^ 0x40uy
                File.WriteAllBytes(flipped, bytes)
                let f = run repo [ "inspect"; flipped ]
                Expect.equal f.Code 1 "a failed check"
                Expect.stringContains f.Out "does NOT match" "the hash no longer matches"
            }
        ]
