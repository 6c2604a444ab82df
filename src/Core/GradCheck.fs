/// Numeric gradients by central differences, in float64: g ≈ (L(θ+ε) − L(θ−ε)) / 2ε with
/// ε = ∛(machine ε)·max(1, |θ|) ≈ 6.06e-6·max(1, |θ|), which balances truncation against rounding error.
/// Relative error per parameter: |a − n| / max(|a|, |n|, 1e-8).
module Functional.GradCheck

open System
open Functional.Network
open Functional.Step

/// How analytic and numeric gradients of one layer compare, over the parameters checked.
type LayerCheck =
    {
        Layer: int
        Checked: int
        MaxRelError: float
        MeanRelError: float
        /// Fraction of checked parameters whose analytic and numeric gradients have the same sign.
        SignAgreement: float
        /// ‖numeric‖ / ‖analytic‖: 1 when right, −1 for a sign flip, 2 or 0.5 for a factor of two.
        NormRatio: float
    }

let epsilonFor (theta: float) =
    Math.Cbrt 2.220446049250313e-16 * max 1.0 (abs theta)

let relError (a: float) (n: float) =
    abs (a - n) / max (max (abs a) (abs n)) 1e-8

/// The loss the step minimises, for a float64 network: data loss plus the L2 term.
let loss (hyper: Hyper) (batch: Batch<float>) (net: Network<float>) =
    let trace = forward net batch.X
    let out = trace.Output

    Losses.value hyper.Loss net.Spec.Output hyper.Reduction out.RowCount (Tensor.data out) (Tensor.data batch.Y)
    + l2Term hyper.L2 net

/// Numeric derivative of the loss with respect to entry i of parameter array p (restored afterwards
/// on a private copy: the caller's network is not touched).
let numeric (hyper: Hyper) (batch: Batch<float>) (net: Network<float>) (p: int) (i: int) =
    let probe = Network.copy net
    let arr = (Network.arrays probe)[p]
    let theta = arr[i]
    let eps = epsilonFor theta
    arr[i] <- theta + eps
    let up = loss hyper batch probe
    arr[i] <- theta - eps
    let down = loss hyper batch probe
    (up - down) / (2.0 * eps)

/// Compares analytic with numeric gradients on up to `perLayer` parameters of each layer, chosen by
/// `seed` (all of them when the layer is small enough).
let check (hyper: Hyper) (batch: Batch<float>) (net: Network<float>) (perLayer: int) (seed: int) : LayerCheck[] =
    let _, grads = gradients hyper batch net
    let gradArrays = grads |> Array.collect Layer.arrays

    let layerOf =
        net.Layers
        |> Array.mapi (fun l layer -> Array.create (Layer.arrays layer).Length l)
        |> Array.concat

    [|
        for l in 0 .. net.Layers.Length - 1 do
            let arrays = [| 0 .. layerOf.Length - 1 |] |> Array.filter (fun p -> layerOf[p] = l)
            let total = arrays |> Array.sumBy (fun p -> gradArrays[p].Length)
            let rng = Init.Rng.For(seed, 77_000 + l)

            let picks =
                if total <= perLayer then
                    [|
                        for p in arrays do
                            for i in 0 .. gradArrays[p].Length - 1 -> p, i
                    |]
                else
                    Array.init perLayer (fun _ ->
                        let mutable k = rng.NextInt total
                        let mutable q = 0

                        while k >= gradArrays[arrays[q]].Length do
                            k <- k - gradArrays[arrays[q]].Length
                            q <- q + 1

                        arrays[q], k)

            let pairs =
                picks |> Array.map (fun (p, i) -> gradArrays[p][i], numeric hyper batch net p i)

            let errors = pairs |> Array.map (fun (a, n) -> relError a n)
            let norm xs = sqrt (Array.sumBy (fun x -> x * x) xs)
            let an, nn = norm (Array.map fst pairs), norm (Array.map snd pairs)
            let dot = pairs |> Array.sumBy (fun (a, n) -> a * n)

            {
                Layer = l
                Checked = pairs.Length
                MaxRelError = Array.max errors
                MeanRelError = Array.average errors
                SignAgreement =
                    (pairs |> Array.filter (fun (a, n) -> sign a = sign n) |> Array.length |> float)
                    / float pairs.Length
                NormRatio =
                    if an = 0.0 then
                        nan
                    else
                        (if dot < 0.0 then -nn / an else nn / an)
            }
    |]
