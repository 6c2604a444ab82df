/// A network's state as named row-major tensors, and what can be said about two such states.
/// Names and layouts are PyTorch's: "layers.{i}.weight" ([out, in] for dense layers, [out, in, kh, kw] for
/// convolutions), "layers.{i}.bias" [out]; optimiser moments carry a prefix ("optimizer.m.", "optimizer.v.").
module Functional.Snapshot

open System
open System.Numerics
open System.Security.Cryptography
open System.Runtime.InteropServices
open MathNet.Numerics.LinearAlgebra
open Functional.Arch
open Functional.Network

/// (name, shape, row-major values) for every tensor of these parameters (or gradients, or moments), which
/// have the architecture's shapes: "layers.{l}.{name}" with l the layer's 0-based position.
/// An optimiser without moments (SGD) has no arrays at all: nothing to name.
let named (prefix: string) (arch: Arch) (ps: 'T[][][]) : (string * int[] * 'T[])[] =
    let infos = if ps.Length = 0 then [||] else Arch.parameters arch

    [|
        for l in 0 .. infos.Length - 1 do
            for p in 0 .. infos[l].Length - 1 do
                let info = infos[l].[p]
                sprintf "%slayers.%d.%s" prefix l info.Name, info.Shape, Array.copy ps[l].[p]
    |]

/// Fills these parameters from `find name shape`, which returns row-major values (or fails).
let load (prefix: string) (find: string -> int[] -> 'T[]) (arch: Arch) (ps: 'T[][][]) =
    let infos = if ps.Length = 0 then [||] else Arch.parameters arch

    for l in 0 .. infos.Length - 1 do
        for p in 0 .. infos[l].Length - 1 do
            let info = infos[l].[p]
            let src = find (sprintf "%slayers.%d.%s" prefix l info.Name) info.Shape
            Array.blit src 0 ps[l].[p] 0 ps[l].[p].Length

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
    let target = Network.zeros<'U> net.Arch

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

/// Per layer with parameters, how far gradients a are from the reference.
let drift (a: 'T[][][]) (reference: float[][][]) : Drift[] =
    [|
        for l in 0 .. a.Length - 1 do
            if a[l].Length > 0 then
                let xs = a[l] |> Array.collect (Array.map Double.CreateTruncating)
                let ys = reference[l] |> Array.concat
                let diff = Array.map2 (-) xs ys
                let norm v = sqrt (Array.sumBy (fun x -> x * x) v)
                let dot = Array.fold2 (fun s x y -> s + x * y) 0.0 xs ys

                {
                    Layer = l
                    RelativeL2 = norm diff / max (norm ys) 1e-300
                    MaxAbs = diff |> Array.map abs |> Array.max
                    Cosine = dot / max (norm xs * norm ys) 1e-300
                }
    |]
