/// What one training step's forward pass computed, layer by layer: z_l = layer_l(a_{l−1}) before the
/// activation and a_l = f_l(z_l) after it, with the step's own dropout masks (mode = training at update t).
/// Forward overwrites z with f(z) in place, so z is recomputed by the layer's linear twin (the same layer
/// with a Linear activation) on the same input: the same products in the same order, hence the same bits.
module Functional.Trace

open System
open System.Numerics
open Functional.Activations
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Step

/// The layer without its activation (kinds without one are their own twin).
let linearTwin (layer: ILayer) : ILayer =
    match layer with
    | :? Layers.Dense.Dense as d when d.Activation <> Linear -> { d with Activation = Linear } :> ILayer
    | :? Layers.Conv2d.Conv2d as c when c.Activation <> Linear -> { c with Activation = Linear } :> ILayer
    | l -> l

/// (pre-activations, activations) of every layer for this batch, [size_l × B] each, as the step that follows
/// t updates sees them.
let ofStep<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (hyper: Hyper)
    (batch: Batch<'T>)
    (net: Network<'T>)
    (t: int64)
    =
    let b = batch.X.ColumnCount
    let bound = Bound.create<'T> net.Arch b

    let twins =
        Bound.create<'T>
            { net.Arch with
                Layers = Array.map linearTwin net.Arch.Layers
            }
            b

    let acts = Bound.buffers bound
    let pre = Bound.buffers twins

    let mode =
        {
            Training = true
            Seed = hyper.Seed
            Step = t
            Layer = 0
        }

    forwardWith bound net { Input = batch.X; Activations = acts } mode

    for l in 0 .. acts.Length - 1 do
        let below = if l = 0 then batch.X else acts[l - 1]
        twins.Kernels[l].Forward(net.Params[l], below, pre[l], { mode with Layer = l })

    pre, acts
