/// A network's state as named row-major tensors, and what can be said about two such states.
/// Names and layout are PyTorch's nn.Linear and our safetensors files': "layers.{i}.weight" [out, in],
/// "layers.{i}.bias" [out]; optimiser moments carry a prefix ("optimizer.m.", "optimizer.v.").
/// Row-major ↔ column-major is a permutation, so a state survives the round trip bit for bit.
module Functional.Snapshot

open System
open System.Numerics
open System.Security.Cryptography
open System.Runtime.InteropServices
open MathNet.Numerics.LinearAlgebra
open Functional.Network

/// W's entries in row-major order (W is stored column-major).
let toRowMajor (w: Matrix<'T>) : 'T[] =
    let rows, cols, d = w.RowCount, w.ColumnCount, Tensor.data w
    Array.init (rows * cols) (fun k -> d[(k % cols) * rows + k / cols])

/// Writes row-major values into W.
let fromRowMajor (src: 'T[]) (w: Matrix<'T>) =
    let rows, cols, d = w.RowCount, w.ColumnCount, Tensor.data w

    for k in 0 .. src.Length - 1 do
        d[(k % cols) * rows + k / cols] <- src[k]

/// (name, shape, row-major values) for every tensor of these layers.
let named (prefix: string) (layers: Layer<'T>[]) : (string * int[] * 'T[])[] =
    layers
    |> Array.mapi (fun l layer ->
        [|
            yield
                sprintf "%slayers.%d.weight" prefix l, [| layer.W.RowCount; layer.W.ColumnCount |], toRowMajor layer.W
            match layer.B with
            | Some b -> yield sprintf "%slayers.%d.bias" prefix l, [| b.Count |], Array.copy (Tensor.vdata b)
            | None -> ()
        |])
    |> Array.concat

/// Fills these layers from `find name shape`, which returns row-major values (or fails).
let load (prefix: string) (find: string -> int[] -> 'T[]) (layers: Layer<'T>[]) =
    layers
    |> Array.iteri (fun l layer ->
        fromRowMajor (find (sprintf "%slayers.%d.weight" prefix l) [| layer.W.RowCount; layer.W.ColumnCount |]) layer.W

        match layer.B with
        | Some b ->
            let src = find (sprintf "%slayers.%d.bias" prefix l) [| b.Count |]
            Array.blit src 0 (Tensor.vdata b) 0 b.Count
        | None -> ())

/// Lower-case hex SHA-256 of the arrays' bytes, in order (the journal's weights hash).
let hash<'T when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (arrays: 'T[][]) : string =
    use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256

    for a in arrays do
        h.AppendData(MemoryMarshal.AsBytes(ReadOnlySpan<'T>(a)))

    Convert.ToHexStringLower(h.GetHashAndReset())

/// The same network in another precision (each value rounded, or widened exactly).
let convert<'T, 'U
    when 'T :> IFloatingPointIeee754<'T>
    and 'T: (new: unit -> 'T)
    and 'T: struct
    and 'T :> ValueType
    and 'U :> IFloatingPointIeee754<'U>
    and 'U: (new: unit -> 'U)
    and 'U: struct
    and 'U :> ValueType>
    (net: Network<'T>)
    : Network<'U> =
    let target = Network.zeros<'U> net.Spec

    Array.iter2
        (fun (src: 'T[]) (dst: 'U[]) ->
            for i in 0 .. src.Length - 1 do
                dst[i] <- 'U.CreateTruncating src[i])
        (Network.arrays net)
        (Network.arrays target)

    target

/// How far one layer's gradients (a) are from a reference (r): ‖a − r‖/‖r‖, max |a − r|, cos(a, r).
type Drift =
    {
        Layer: int
        RelativeL2: float
        MaxAbs: float
        Cosine: float
    }

let drift (a: Layer<'T>[]) (reference: Layer<float>[]) : Drift[] =
    Array.map2
        (fun (l: int) (ga: Layer<'T>, gr: Layer<float>) ->
            let xs = Layer.arrays ga |> Array.collect (Array.map Double.CreateTruncating)
            let ys = Layer.arrays gr |> Array.concat
            let diff = Array.map2 (-) xs ys
            let norm v = sqrt (Array.sumBy (fun x -> x * x) v)
            let dot = Array.fold2 (fun s x y -> s + x * y) 0.0 xs ys

            {
                Layer = l
                RelativeL2 = norm diff / max (norm ys) 1e-300
                MaxAbs = diff |> Array.map abs |> Array.max
                Cosine = dot / max (norm xs * norm ys) 1e-300
            })
        (Array.init a.Length id)
        (Array.zip a reference)
