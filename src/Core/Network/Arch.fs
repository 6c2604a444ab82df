/// An architecture: the shape of one input example and a sequence of layers, each of a kind. It is one value,
/// written and read the same way everywhere (the command line's --arch, run.json, model files, F#):
/// "input 1x28x28, conv 6 5x5 pad 2 relu, maxpool 2, flatten, dense 10 softmax".
module Functional.Arch

open System
open Functional.Activations
open Functional.Layers.Layer

type Arch = { Input: Shape; Layers: ILayer[] }

/// Every kind the --arch syntax knows: adding a kind adds its line here.
let kinds: Syntax list =
    [
        Layers.Dense.syntax
        Layers.Conv2d.syntax
        Layers.MaxPool2d.syntax
        Layers.Flatten.syntax
        Layers.Dropout.syntax
        Layers.Rnn.syntax
        Layers.Lstm.syntax
        Layers.Rbf.syntax
    ]

module Arch =
    /// The multilayer perceptron of sizes [inputs; hidden…; outputs].
    let dense (sizes: int[]) (hidden: Activation) (output: Activation) (bias: bool) : Arch =
        {
            Input = [| sizes[0] |]
            Layers =
                [|
                    for l in 1 .. sizes.Length - 1 ->
                        {
                            Layers.Dense.Units = sizes[l]
                            Layers.Dense.Activation = (if l = sizes.Length - 1 then output else hidden)
                            Layers.Dense.Bias = bias
                        }
                        :> ILayer
                |]
        }

    /// The --arch text, input first.
    let text (arch: Arch) =
        String.Join(
            ", ",
            Array.append [| "input " + Shape.text arch.Input |] (arch.Layers |> Array.map (fun l -> l.Text))
        )

    /// The layers alone, as a user writes them on the command line.
    let layersText (arch: Arch) =
        String.Join(", ", arch.Layers |> Array.map (fun l -> l.Text))

    /// The shape entering each layer, then the output's (Layers.Length + 1 shapes), or the first layer that
    /// cannot take its input: "layer 3 (layers.2, dense 120 relu): dense needs a flat input but gets 16x5x5: …".
    let shapes (arch: Arch) : Result<Shape[], string> =
        let out = Array.zeroCreate (arch.Layers.Length + 1)
        out[0] <- arch.Input

        let rec go l =
            if l = arch.Layers.Length then
                Ok out
            else
                match arch.Layers[l].OutShape out[l] with
                | Ok s when Array.forall (fun d -> d >= 1) s ->
                    out[l + 1] <- s
                    go (l + 1)
                | Ok s ->
                    Error(
                        sprintf
                            "%s turns its input %s into an empty output %s"
                            (Display.layerWith l arch.Layers[l].Text)
                            (Shape.text out[l])
                            (Shape.text s)
                    )
                | Error e -> Error(sprintf "%s: %s" (Display.layerWith l arch.Layers[l].Text) e)

        go 0

    let private shapesOrFail arch =
        match shapes arch with
        | Ok s -> s
        | Error e -> invalidArg "arch" e

    /// The activation of the last layer (the one the loss sees).
    let output (arch: Arch) =
        if arch.Layers.Length = 0 then
            Linear
        else
            arch.Layers[arch.Layers.Length - 1].Activation

    let inputs (arch: Arch) = Shape.size arch.Input

    let classes (arch: Arch) =
        let s = shapesOrFail arch
        Shape.size s[s.Length - 1]

    /// The most values one tensor may hold: .NET's largest array (Array.MaxLength), which parameters,
    /// gradients and optimiser moments each live in.
    let maxTensorValues = 2_147_483_591L

    /// "3.1 TB": a byte count for people, in powers of 1000.
    let bytesText (bytes: float) =
        let units = [| "bytes"; "kB"; "MB"; "GB"; "TB"; "PB"; "EB" |]
        let mutable v = bytes
        let mutable u = 0

        while v >= 1000.0 && u < units.Length - 1 do
            v <- v / 1000.0
            u <- u + 1

        if u = 0 then
            sprintf "%.0f %s" v units[u]
        else
            sprintf "%.1f %s" v units[u]

    /// A layer whose parameters or output hold more values than an array can, counted in 64 bits: an edited
    /// run.json or a typo (dense 1000000000) must be refused by its size, not by an int overflow when allocating.
    let private sizeProblem (arch: Arch) (shapes: Shape[]) =
        // In floating point: the product of a few ints cannot overflow it, and its rounding is far below 2^31.
        let count (s: int[]) =
            s |> Array.fold (fun n d -> n * float d) 1.0

        let over (s: int[]) = count s > float maxTensorValues

        let describe l what (s: int[]) =
            let n = count s

            sprintf
                "%s: %s [%s] would hold %s values (%s as float32); one tensor holds at most %s"
                (Display.layerWith l arch.Layers[l].Text)
                what
                (Shape.text s)
                (n.ToString("N0", Globalization.CultureInfo.InvariantCulture))
                (bytesText (4.0 * n))
                (maxTensorValues.ToString("N0", Globalization.CultureInfo.InvariantCulture))

        arch.Layers
        |> Array.indexed
        |> Array.tryPick (fun (l, layer) ->
            match layer.Params shapes[l] |> Array.tryFind (fun p -> over p.Shape) with
            | Some p -> Some(describe l (sprintf "its %s" p.Name) p.Shape)
            | None when over shapes[l + 1] -> Some(describe l "its output" shapes[l + 1])
            | None -> None)

    /// Why an architecture cannot be trained, or None: a layer that cannot take its input, a tensor larger than
    /// an array, or an output that is not a probability.
    let problem (arch: Arch) =
        if arch.Layers.Length = 0 then
            Some "a network needs at least one layer"
        else
            match shapes arch with
            | Error e -> Some e
            | Ok shapes when (sizeProblem arch shapes).IsSome -> sizeProblem arch shapes
            | Ok shapes ->
                let last = arch.Layers.Length - 1

                let hiddenSoftmax =
                    arch.Layers[.. last - 1] |> Array.tryFindIndex (fun l -> l.Activation = Softmax)

                match hiddenSoftmax with
                | Some l ->
                    Some(
                        sprintf
                            "%s: softmax is an output activation; hidden layers take sigmoid, tanh or relu"
                            (Display.layerWith l arch.Layers[l].Text)
                    )
                | None when output arch <> Sigmoid && output arch <> Softmax ->
                    Some(
                        sprintf
                            "the last layer (%s) must end in softmax or sigmoid, e.g. 'dense %d softmax'"
                            arch.Layers[last].Text
                            (Shape.size shapes[shapes.Length - 1])
                    )
                | None when shapes[shapes.Length - 1].Length <> 1 ->
                    Some(
                        sprintf
                            "the output must be flat, but the last layer (%s) gives %s"
                            arch.Layers[last].Text
                            (Shape.text shapes[shapes.Length - 1])
                    )
                | None -> None

    /// Reads one layer, "conv 6 5x5 relu", with the kinds' syntaxes.
    let parseLayer (text: string) : Result<ILayer, string> =
        let words =
            text.Trim().ToLowerInvariant().Split([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries)
            |> List.ofArray

        match words with
        | [] -> Error "an empty layer (two commas in a row?)"
        | keyword :: rest ->
            match kinds |> List.tryFind (fun k -> k.Keyword = keyword) with
            | Some k -> k.Parse rest
            | None ->
                Error(
                    sprintf
                        "unknown layer kind '%s' (known: %s)"
                        keyword
                        (String.Join(", ", kinds |> List.map (fun k -> k.Keyword)))
                )

    /// Reads an architecture: comma-separated layers, optionally led by "input SHAPE" (else `input`).
    /// Checks only the syntax; `problem` checks that the shapes work.
    let parse (defaultInput: Shape) (text: string) : Result<Arch, string> =
        let parts = text.Split([| ','; ';' |]) |> Array.map (fun p -> p.Trim())

        let input, layerParts =
            match parts with
            | [||] -> Ok defaultInput, [||]
            | _ when parts[0].StartsWith("input", StringComparison.OrdinalIgnoreCase) ->
                let shape = parts[0].Substring(5).Trim()

                match Shape.tryParse shape with
                | Some s -> Ok s, parts[1..]
                | None -> Error(sprintf "'%s': the input shape must be like 784 or 1x28x28" parts[0]), parts[1..]
            | _ -> Ok defaultInput, parts

        match input with
        | Error e -> Error e
        | Ok input ->
            let layers = layerParts |> Array.map parseLayer

            match layers |> Array.tryFindIndex Result.isError with
            | Some i ->
                match layers[i] with
                | Error e -> Error(sprintf "%s: %s" (Display.layerWith i (sprintf "'%s'" layerParts[i])) e)
                | Ok _ -> Error "unreachable"
            | None ->
                Ok
                    {
                        Input = input
                        Layers =
                            layers
                            |> Array.map (function
                                | Ok l -> l
                                | Error e -> invalidOp e)
                    }

    /// True when the first layer works on images ([C;H;W] input) rather than flat vectors: it refuses a flat one.
    let wantsImage (layers: ILayer[]) =
        layers.Length > 0
        && (match layers[0].OutShape [| 784 |] with
            | Error _ -> true
            | Ok _ -> false)

    /// Reads an --arch text for data of `imageShape` ([C; H; W]) and checks it: a network whose first layer works
    /// on images takes that shape, one that starts with a dense layer its flat size, unless the text leads with
    /// "input SHAPE"; then the shapes through every layer (`problem`).
    let parseChecked (imageShape: Shape) (text: string) : Result<Arch, string> =
        parse [| Shape.size imageShape |] text
        |> Result.map (fun a ->
            if
                not (text.TrimStart().StartsWith("input", StringComparison.OrdinalIgnoreCase))
                && wantsImage a.Layers
            then
                { a with Input = imageShape }
            else
                a)
        |> Result.bind (fun a ->
            match problem a with
            | Some p -> Error p
            | None -> Ok a)

    /// Roughly the bytes training takes, per layer: its parameters eight times (weights, gradient, two optimiser
    /// moments, and the copies the destination-passing step is donated) and its output three times per example of
    /// a batch (activation, its gradient, the layer's cache). Enough to refuse a network that cannot fit before
    /// allocating it, not a measurement.
    let trainingBytes (arch: Arch) (elementBytes: int) (batch: int) : float[] =
        let s = shapesOrFail arch

        let count (shape: int[]) =
            shape |> Array.fold (fun n d -> n * float d) 1.0

        arch.Layers
        |> Array.mapi (fun l layer ->
            let parameters = layer.Params s[l] |> Array.sumBy (fun p -> count p.Shape)
            float elementBytes * (8.0 * parameters + 3.0 * count s[l + 1] * float batch))

    /// Parameters per layer: (info, the layer's input shape).
    let parameters (arch: Arch) : ParamInfo[][] =
        let s = shapesOrFail arch
        arch.Layers |> Array.mapi (fun l layer -> layer.Params s[l])

    let parameterCount (arch: Arch) =
        parameters arch |> Array.sumBy (Array.sumBy (fun p -> Array.fold (*) 1 p.Shape))

    /// FLOPs of one training step per example: forward, ∂L/∂θ (the forward's cost again, for layers with
    /// parameters) and ∂L/∂x (again, for every layer after the first that has parameters).
    let trainingFlops (arch: Arch) =
        let s = shapesOrFail arch
        let ps = parameters arch
        let mutable total = 0.0
        let mutable seenParams = false

        for l in 0 .. arch.Layers.Length - 1 do
            let f = arch.Layers[l].Flops s[l]
            total <- total + f

            if ps[l].Length > 0 then
                total <- total + f

                if seenParams then
                    total <- total + f

                seenParams <- true

        total

    /// FLOPs of one forward pass per example.
    let forwardFlops (arch: Arch) =
        let s = shapesOrFail arch
        arch.Layers |> Array.mapi (fun l layer -> layer.Flops s[l]) |> Array.sum

    /// (sizes, hidden activation, output activation, bias) when every layer is dense with one hidden
    /// activation and one bias setting: the networks --layers describes.
    let denseParts (arch: Arch) =
        let dense =
            arch.Layers
            |> Array.choose (function
                | :? Layers.Dense.Dense as d -> Some d
                | _ -> None)

        if arch.Input.Length <> 1 || dense.Length <> arch.Layers.Length || dense.Length = 0 then
            None
        else
            let hidden =
                dense[.. dense.Length - 2]
                |> Array.map (fun d -> d.Activation)
                |> Array.distinct

            let biases = dense |> Array.map (fun d -> d.Bias) |> Array.distinct

            match hidden, biases with
            | ([||] | [| _ |]), [| bias |] ->
                let sizes = Array.append arch.Input (dense |> Array.map (fun d -> d.Units))
                let h = if hidden.Length = 1 then hidden[0] else Activations.Relu
                Some(sizes, h, dense[dense.Length - 1].Activation, bias)
            | _ -> None
