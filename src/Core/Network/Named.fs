/// Tensors as the C# host sees them: a name, a shape, and row-major values in float32 or float64.
namespace Functional

open System
open System.Numerics
open Functional.Arch
open Functional.Network
open Functional.Step
open Functional.Data

/// One tensor: row-major values in the model's precision (the other array is null).
type NamedArray =
    {
        Name: string
        Shape: int[]
        Float32: float32[]
        Float64: float[]
    }

module internal Named =
    let ofValues (name: string) (shape: int[]) (values: 'T[]) : NamedArray =
        match box values with
        | :? (float32[]) as f ->
            {
                Name = name
                Shape = shape
                Float32 = f
                Float64 = null
            }
        | :? (float[]) as d ->
            {
                Name = name
                Shape = shape
                Float32 = null
                Float64 = d
            }
        | _ -> invalidArg "values" "float32 or float64 values expected"

    let ofParams prefix (arch: Arch) (ps: 'T[][][]) =
        Snapshot.named prefix arch ps
        |> Array.map (fun (n, shape, v) -> ofValues n shape v)

    /// The values of a tensor in precision 'T (converted when stored in the other precision).
    let values<'T when 'T :> IFloatingPointIeee754<'T>> (t: NamedArray) : 'T[] =
        if not (isNull t.Float32) then
            t.Float32 |> Array.map 'T.CreateTruncating
        else
            t.Float64 |> Array.map 'T.CreateTruncating

    /// A fresh batch of examples order[offset .. offset+count−1] in precision 'U.
    let batch<'U when 'U :> IFloatingPointIeee754<'U> and 'U: (new: unit -> 'U) and 'U: struct and 'U :> ValueType>
        (scale: Scale)
        (images: Images)
        (classes: int)
        (order: int[])
        offset
        count
        : Batch<'U> =
        let b =
            {
                X = Tensor.zeros<'U> images.Features count
                Y = Tensor.zeros<'U> classes count
            }

        gatherInto scale images order offset b.X b.Y
        b

    /// Why these tensors cannot fill `arch`'s parameters, or None: a missing tensor, a wrong shape.
    let mismatch (prefix: string) (arch: Arch) (tensors: NamedArray[]) =
        let infos = Arch.parameters arch

        [
            for l in 0 .. infos.Length - 1 do
                for info in infos[l] do
                    let name = sprintf "%slayers.%d.%s" prefix l info.Name

                    match tensors |> Array.tryFind (fun t -> t.Name = name) with
                    | None -> yield sprintf "tensor '%s' is missing (%s)" name (Display.layerWith l arch.Layers[l].Text)
                    | Some t when t.Shape <> info.Shape ->
                        yield
                            sprintf
                                "tensor '%s' has shape [%s], but %s needs [%s]"
                                name
                                (String.Join(",", t.Shape))
                                (Display.layerWith l arch.Layers[l].Text)
                                (String.Join(",", info.Shape))
                    | Some _ -> ()
        ]
        |> List.tryHead

    /// A finder over `tensors` for Snapshot.load (call `mismatch` first: this one assumes they fit).
    let finder<'T when 'T :> IFloatingPointIeee754<'T>> (tensors: NamedArray[]) (name: string) (_shape: int[]) : 'T[] =
        match tensors |> Array.tryFind (fun t -> t.Name = name) with
        | Some t -> values<'T> t
        | None -> invalidArg "tensors" (sprintf "tensor '%s' is missing" name)

    /// A network of `arch` with the tensors' values, in precision 'T.
    let network<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (arch: Arch)
        (tensors: NamedArray[])
        : Network<'T> =
        let net = Network.zeros<'T> arch
        Snapshot.load "" (finder<'T> tensors) arch net.Params
        net
