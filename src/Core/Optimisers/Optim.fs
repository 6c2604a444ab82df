/// Optimisers as pure {Init; Update} pairs over network-shaped state (after optax).
/// SGD: w ← w − η g.  Momentum (PyTorch's form): v ← μ v + g, w ← w − η v.
/// Adam (Kingma & Ba): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − η m̂ / (√v̂ + ε),
/// with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) and t the 1-based number of this update.
module Functional.Optim

open System
open System.Numerics
open System.Numerics.Tensors
open Functional.Network

type OptimizerSpec =
    | Sgd of lr: float
    | Momentum of lr: float * mu: float
    | Adam of lr: float * beta1: float * beta2: float * eps: float

module OptimizerSpec =
    let name =
        function
        | Sgd _ -> "sgd"
        | Momentum _ -> "momentum"
        | Adam _ -> "adam"

    let lr =
        function
        | Sgd lr
        | Momentum(lr, _)
        | Adam(lr, _, _, _) -> lr

    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    let adam lr = Adam(lr, 0.9, 0.999, 1e-8)

/// Moments shaped like the network's parameters: M holds momentum's velocity or Adam's first moment, V Adam's
/// second. Unused moments are empty arrays. The update count is the TrainState's Step, passed to Update.
type OptState<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    { M: 'T[][][]; V: 'T[][][] }

type Optimizer<'T
    when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'T :> IEquatable<'T> and 'T :> IFormattable> =
    {
        Init: Network<'T> -> OptState<'T>
        /// Update t grads state network: t is the 1-based number of this update.
        Update: int64 -> 'T[][][] -> OptState<'T> -> Network<'T> -> Network<'T> * OptState<'T>
    }

module OptState =
    let copy (s: OptState<'T>) =
        {
            M = Params.copy s.M
            V = Params.copy s.V
        }

    /// The state's arrays in the order of Network.arrays, M's then V's.
    let arrays (s: OptState<'T>) =
        Array.append (Array.concat s.M) (Array.concat s.V)

let init<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (net: Network<'T>)
    : OptState<'T> =
    let zeros () = Params.zeros<'T> net.Arch

    match spec with
    | Sgd _ -> { M = [||]; V = [||] }
    | Momentum _ -> { M = zeros (); V = [||] }
    | Adam _ -> { M = zeros (); V = zeros () }

/// Applies update t to one parameter array w in place at learning rate `lr` (a schedule's rate for this step;
/// the spec's own rate is its base), given its gradient g and moments m, v (null when the optimiser keeps none).
/// The caller donates w, m and v: they are overwritten.
let updateArrayAt<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (lr: float)
    (t: int64)
    (w: 'T[])
    (g: 'T[])
    (m: 'T[])
    (v: 'T[])
    =
    match spec with
    | Sgd _ ->
        // w + g·(−η) has the same bits as w − η·g; one vectorised pass.
        let negEta: 'T = 'T.CreateTruncating(-lr)
        TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(g), negEta, ReadOnlySpan<'T>(w), Span<'T>(w))
    | Momentum(_, mu) ->
        let negEta: 'T = 'T.CreateTruncating(-lr)
        let mu: 'T = 'T.CreateTruncating mu
        TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(m), mu, ReadOnlySpan<'T>(g), Span<'T>(m))
        TensorPrimitives.MultiplyAdd<'T>(ReadOnlySpan<'T>(m), negEta, ReadOnlySpan<'T>(w), Span<'T>(w))
    | Adam(_, b1, b2, eps) ->
        let c1 = 1.0 - Math.Pow(b1, float t)
        let c2 = 1.0 - Math.Pow(b2, float t)
        let eta: 'T = 'T.CreateTruncating lr
        let b1', b2' = 'T.CreateTruncating b1, 'T.CreateTruncating b2
        let k1: 'T = 'T.One - b1'
        let k2: 'T = 'T.One - b2'
        let c1', c2' = 'T.CreateTruncating c1, 'T.CreateTruncating c2
        let eps': 'T = 'T.CreateTruncating eps
        let lanes = Vector<'T>.Count
        let last = w.Length - w.Length % lanes

        let vb1, vb2, vk1, vk2 =
            Vector<'T>(b1'), Vector<'T>(b2'), Vector<'T>(k1), Vector<'T>(k2)

        let vc1, vc2, veps, veta =
            Vector<'T>(c1'), Vector<'T>(c2'), Vector<'T>(eps'), Vector<'T>(eta)

        // One fused pass, lanes first, then the same operations in the same order on the tail.
        for i in 0..lanes .. last - 1 do
            let gi = Vector<'T>(g, i)

            let mi =
                Vector.Add(Vector.Multiply(vb1, Vector<'T>(m, i)), Vector.Multiply(vk1, gi))

            let vi =
                Vector.Add(Vector.Multiply(vb2, Vector<'T>(v, i)), Vector.Multiply(vk2, Vector.Multiply(gi, gi)))

            mi.CopyTo(m, i)
            vi.CopyTo(v, i)
            let den = Vector.Add(Vector.SquareRoot(Vector.Divide(vi, vc2)), veps)
            let step = Vector.Multiply(veta, Vector.Divide(Vector.Divide(mi, vc1), den))
            Vector.Subtract(Vector<'T>(w, i), step).CopyTo(w, i)

        for i in last .. w.Length - 1 do
            let gi = g[i]
            let m1: 'T = b1' * m[i]
            let m2: 'T = k1 * gi
            m[i] <- m1 + m2
            let v1: 'T = b2' * v[i]
            let g2: 'T = gi * gi
            let v2: 'T = k2 * g2
            v[i] <- v1 + v2
            let mhat: 'T = m[i] / c1'
            let vhat: 'T = v[i] / c2'
            let den: 'T = 'T.Sqrt vhat + eps'
            let ratio: 'T = mhat / den
            let step: 'T = eta * ratio
            w[i] <- w[i] - step

/// Applies update t to one parameter array at the spec's own learning rate (see updateArrayAt).
let updateArray<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (t: int64)
    (w: 'T[])
    (g: 'T[])
    (m: 'T[])
    (v: 'T[])
    =
    updateArrayAt spec (OptimizerSpec.lr spec) t w g m v

/// Applies update t at rate `lr` to parameter arrays ws in place, given gradients gs and moment arrays ms, vs
/// (all in the order of Network.arrays; ms and vs empty when the optimiser keeps none). Arrays marked in
/// `frozen` (Network.frozen; empty for none) are left as they are, moments included.
let updateArraysAt<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (lr: float)
    (t: int64)
    (frozen: bool[])
    (ws: 'T[][])
    (gs: 'T[][])
    (ms: 'T[][])
    (vs: 'T[][])
    =
    for p in 0 .. ws.Length - 1 do
        if not (frozen.Length > p && frozen[p]) then
            updateArrayAt
                spec
                lr
                t
                ws[p]
                gs[p]
                (if ms.Length > p then ms[p] else null)
                (if vs.Length > p then vs[p] else null)

/// updateArraysAt at the spec's own learning rate.
let updateArrays<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (t: int64)
    (frozen: bool[])
    (ws: 'T[][])
    (gs: 'T[][])
    (ms: 'T[][])
    (vs: 'T[][])
    =
    updateArraysAt spec (OptimizerSpec.lr spec) t frozen ws gs ms vs

/// Applies update t to a network and optimiser state in place (the caller donates both).
let updateInPlace<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    (t: int64)
    (grads: 'T[][][])
    (state: OptState<'T>)
    (net: Network<'T>)
    =
    updateArrays
        spec
        t
        (Network.frozen net.Arch)
        (Network.arrays net)
        (Array.concat grads)
        (Array.concat state.M)
        (Array.concat state.V)

/// The optimiser as a pure {Init; Update} pair: Update copies, then updates the copies.
let create<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (spec: OptimizerSpec)
    : Optimizer<'T> =
    {
        Init = init spec
        Update =
            fun t grads state net ->
                let net', state' = Network.copy net, OptState.copy state
                updateInPlace spec t grads state' net'
                net', state'
    }
