/// Model files that explain themselves: the metadata a reader needs without this project, files written with the
/// old scale names, and tensors changed after the file was written (refused, named, accepted with inspect --rehash).
module Functional.Tests.ModelMetadataTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Functional.Host
open Functional.Tests.EndToEndTests

let private trained =
    lazy (Path.Combine(Fixtures.tinyRun "book", "model.safetensors"))

let private metadataOf (path: string) =
    let struct (_, metadata) = Safetensors.Read path
    metadata

/// A copy of the trained model with `change` applied to its tensors and metadata (the hash left as it was).
let private rewritten
    (into: string)
    (change: Safetensors.Tensor[] -> Collections.Generic.Dictionary<string, string> -> unit)
    =
    let struct (tensors, metadata) = Safetensors.Read trained.Value
    let tensors = Array.ofSeq tensors
    let meta = Collections.Generic.Dictionary<string, string>(metadata)
    change tensors meta
    Safetensors.Write(into, tensors, meta)
    into

[<Tests>]
let tests =
    // One at a time within the list, as before, but alongside the other lists: testSequenced would hold the whole
    // list back until every other test has finished, and then run it on one worker.
    testSequencedGroup "ModelMetadata"
    <| testList
        "ModelMetadata"
        [
            testCase "a model file carries its architecture, input formula, classes, outputs, format and hash"
            <| fun () ->
                let m = metadataOf trained.Value
                Expect.equal m["format"] "functional.model/2" "format version"
                Expect.equal m["architecture"] "input 784, dense 200 sigmoid, dense 10 sigmoid" "architecture"
                Expect.equal m["input_shape"] "784" "input shape"
                Expect.equal m["input_transform"] "x/255*0.99+0.01" "the book's scaling as a formula"
                Expect.equal m["classes"] "0,1,2,3,4,5,6,7,8,9" "class names"
                Expect.stringContains m["outputs"] "do not sum to 1" "sigmoid outputs are not called probabilities"
                let spec = JsonNode.Parse(m["spec"]).AsObject()
                Expect.equal (string spec["scale"]) "book" "the scale's new name"
                let struct (tensors, _) = Safetensors.Read trained.Value
                Expect.equal m["tensor_sha256"] (Safetensors.TensorHash tensors) "the hash of the tensors"

            testCase "a file written with the old scale name 'seed' still loads, as the book's scaling"
            <| fun () ->
                let dir = tempDir ()

                let old =
                    rewritten (Path.Combine(dir, "old.safetensors")) (fun _ meta ->
                        meta["format"] <- "functional.model/1"
                        meta["spec"] <- meta["spec"].Replace("\"book\"", "\"seed\"")

                        for k in [ "architecture"; "input_shape"; "input_transform"; "classes"; "outputs" ] do
                            meta.Remove k |> ignore)

                let oldSpec = (metadataOf old)["spec"]
                Expect.stringContains oldSpec "\"seed\"" "the old name is in the file"
                let e = run dir [ "eval"; "--model"; old ]
                Expect.equal e.Code 0 e.Err
                Expect.stringContains e.Out "scale book" "read as book"
                let i = run dir [ "inspect"; old ]
                Expect.equal i.Code 0 i.Err
                Expect.stringContains i.Out "x/255*0.99+0.01" "its formula"

            testCase "tensors changed after writing are refused with how to accept them; inspect --rehash accepts them"
            <| fun () ->
                let dir = tempDir ()

                let edited =
                    rewritten (Path.Combine(dir, "edited.safetensors")) (fun tensors _ ->
                        let i = tensors |> Array.findIndex (fun t -> t.Name = "layers.1.bias")
                        let values = tensors[i].ToFloats()
                        values[3] <- values[3] + 0.5f
                        tensors[i] <- Safetensors.Tensor.FromFloats(tensors[i].Name, tensors[i].Shape, values))

                let e = run dir [ "eval"; "--model"; edited ]
                expectOneLineError e 3 [ edited; "do not match the tensor_sha256"; "inspect"; "--rehash" ]
                Expect.isFalse (e.Err.Contains "corrupted") "not called corrupted"
                let i = run dir [ "inspect"; edited ]
                Expect.equal i.Code 1 "inspect says the hash does not match"
                Expect.stringContains i.Out "does NOT match" "named"
                let r = run dir [ "inspect"; edited; "--rehash" ]
                Expect.equal r.Code 0 r.Err
                let after = run dir [ "eval"; "--model"; edited ]
                Expect.equal after.Code 0 after.Err
                // The edit survives: the accepted file holds the changed value.
                let struct (tensors, _) = Safetensors.Read edited
                let struct (original, _) = Safetensors.Read trained.Value

                let bias (ts: Collections.Generic.IReadOnlyList<Safetensors.Tensor>) =
                    (ts |> Seq.find (fun t -> t.Name = "layers.1.bias")).ToFloats()

                let now, before = bias tensors, bias original
                Expect.floatClose Accuracy.high (float now[3] - float before[3]) 0.5 "edited value kept"
                Expect.equal (run dir [ "inspect"; edited ]).Code 0 "the hash now matches"

            testCase "docs/models.md's PyTorch snippet is bench/from_metadata.py's, verbatim"
            <| fun () ->
                let between (text: string) (first: string) (last: string) =
                    let a = text.IndexOf first
                    let b = text.IndexOf(last, a + 1)
                    Expect.isGreaterThan a -1 (sprintf "'%s' found" first)
                    text[a .. b - 1].Replace("\r\n", "\n").Trim()

                let py = File.ReadAllText(Path.Combine(repo, "bench", "from_metadata.py"))
                let readme = File.ReadAllText(Path.Combine(repo, "docs", "models.md"))

                let snippet =
                    between py "import json, struct, torch" "# --- end of README snippet ---"

                let block = between readme "import json, struct, torch" "```"
                Expect.equal block snippet "the same lines"
        ]
