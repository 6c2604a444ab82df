/// A run's first network: the seed's weights (Network.init), then every layer that starts from data (IFromData,
/// RBF centres by k-means) given the training images as they reach it, unaugmented. Training, resume and replay,
/// the doctor's probes, gradcheck and the scripts all start here, so the first weights are one pure function of
/// (configuration, training images) and a replay rebuilds them bit for bit.
module Functional.Start

open System
open System.Numerics
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Data

/// The generator layer l's start draws from: a stream of the seed that no layer's initialisation uses.
let rngFor (seed: int) (layer: int) = Init.Rng.For(seed, -1 - layer)

/// True when some layer starts from the training inputs.
let needsData (arch: Arch) =
    arch.Layers |> Array.exists (fun l -> l :? IFromData)

/// The first network of a run of `arch` under (scheme, seed, scale), trained on `train`.
let networkOf<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (scheme: Init.Init)
    (seed: int)
    (scale: Scale)
    (arch: Arch)
    (train: Images)
    : Network<'T> =
    let net = Network.init<'T> scheme seed arch

    if needsData arch then
        if train.Count = 0 then
            invalidArg "train" (sprintf "%s starts from the training images, but there are none" (Arch.layersText arch))

        let shapes =
            match Arch.shapes arch with
            | Ok s -> s
            | Error e -> invalidArg "arch" e

        let all = Array.init train.Count id
        let x = Named.batch<'T> scale train (Arch.classes arch) all 0 train.Count

        for l in 0 .. arch.Layers.Length - 1 do
            match arch.Layers[l] with
            | :? IFromData as d ->
                // The layer's input: the images through the layers before it, as they start.
                let input =
                    if l = 0 then
                        x.X
                    else
                        let below =
                            {
                                Arch =
                                    { arch with
                                        Layers = arch.Layers[.. l - 1]
                                    }
                                Params = net.Params[.. l - 1]
                            }

                        (forward below x.X).Output

                let values =
                    Tensor.data input |> Array.map (fun v -> Single.CreateTruncating(v: 'T))

                let start = d.Start(shapes[l], values, train.Count, rngFor seed l)

                for p in 0 .. start.Length - 1 do
                    net.Params[l].[p] <- start[p] |> Array.map 'T.CreateTruncating
            | _ -> ()

    net

/// networkOf a configuration.
let network<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (config: Config)
    (train: Images)
    : Network<'T> =
    networkOf<'T> config.Init config.Seed config.Scale config.Arch train
