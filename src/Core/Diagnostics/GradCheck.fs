/// Numeric gradients by central differences, in float64: g ≈ (L(θ+ε) − L(θ−ε)) / 2ε with
/// ε = ∛(machine ε)·max(1, |θ|) ≈ 6.06e-6·max(1, |θ|), which balances truncation against rounding error.
/// Relative error per parameter: |a − n| / max(|a|, |n|, 1e-8); a layer passes when every entry above the
/// noise floor agrees to 1e-4. ReLU and max-pooling make the loss piecewise smooth: where a kink lies within ε
/// of θ a central difference is wrong, not the gradient, so each entry is also taken at 2ε; where the two
/// differ by more than smoothness allows, the entry is counted as a kink and not judged.
module Functional.GradCheck

open System
open Functional.Layers.Layer
open Functional.Network
open Functional.Step

/// How analytic and numeric gradients of one layer compare, over the parameters checked.
/// Entries whose gradients are both below the noise floor of a central difference (`noiseFloor`) are counted
/// in Checked but left out of the error, sign and ratio figures: their numeric value is rounding noise.
type LayerCheck =
    {
        Layer: int
        Checked: int
        /// Entries above the noise floor and away from kinks: the figures below are over these.
        Measured: int
        /// Entries not judged because a kink of the loss (a ReLU or max-pool switch) lies within 2ε of θ.
        Kinks: int
        /// Entries not judged because both gradients are below the noise floor.
        BelowNoise: int
        /// Why the figures cannot be trusted, in words (a NaN or infinite loss or gradient, nothing measured);
        /// empty when they can. A layer with a problem fails whatever its errors say.
        Problem: string
        MaxRelError: float
        MeanRelError: float
        /// Fraction of measured parameters whose analytic and numeric gradients have the same sign.
        SignAgreement: float
        /// ‖numeric‖ / ‖analytic‖, negative when they point apart: 1 when right, −1 for a sign flip,
        /// 2 when the analytic gradient is half the true one, 0.5 when it is twice it.
        NormRatio: float
        /// Measured entries whose relative error is at least `threshold`.
        Beyond: int
        /// The simple factor k with numeric = k·analytic on every measured entry (to 1e-3): 1, −1 (a sign
        /// flip), 2 or ½ (a factor of two), −2 or −½; NaN when none explains the entries.
        Factor: float
    }

/// A layer passes when no measured entry has a relative error at or above this.
let threshold = 1e-4

/// The gradient size below which a relative error of `threshold` cannot be measured: rounding L costs
/// about ε_mach·|L| per evaluation, so the numeric gradient carries about ε_mach·|L|/h ≈ 1e-11·|L| of noise
/// (2e-11 measured at L = 2.5, 784-512-10); an entry must be 1e-6·|L| or more for 1e-4 to mean anything.
let noiseFloor (loss: float) = 1e-6 * max 1.0 (abs loss)

let epsilonFor (theta: float) =
    Math.Cbrt 2.220446049250313e-16 * max 1.0 (abs theta)

let relError (a: float) (n: float) =
    abs (a - n) / max (max (abs a) (abs n)) 1e-8

/// The loss the step minimises, for a float64 network: data loss plus the L2 term.
/// The loss through layers already bound to the batch (no buffers allocated).
let private lossWith
    (bound: Bound<float>)
    (trace: Trace<float>)
    (hyper: Hyper)
    (batch: Batch<float>)
    (net: Network<float>)
    =
    forwardWith
        bound
        net
        trace
        {
            Training = true
            Seed = hyper.Seed
            Step = 0L
            Layer = 0
        }

    let out = trace.Output

    Losses.value
        hyper.Loss
        (Arch.Arch.output net.Arch)
        hyper.Reduction
        out.RowCount
        (Tensor.data out)
        (Tensor.data batch.Y)
    + l2Term hyper.L2 net
    + (if hyper.Trades > 0.0 then
           Losses.pairedKl hyper.Trades hyper.Reduction out.RowCount (Tensor.data out)
       else
           0.0)

/// Numeric derivative of the loss with respect to entry i of parameter array p (restored afterwards
/// on a private copy: the caller's network is not touched).
/// Forward runs in training mode at step 0, as `gradients` does, so dropout's masks are the same on both sides.
let loss (hyper: Hyper) (batch: Batch<float>) (net: Network<float>) =
    let bound = Bound.create<float> net.Arch batch.X.ColumnCount

    let trace =
        {
            Input = batch.X
            Activations = Bound.buffers bound
        }

    lossWith bound trace hyper batch net

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

/// The central difference at ε and whether a kink lies near θ. For a smooth loss the one-sided differences
/// agree to O(ε) (1e-2 relative is far beyond that) and the central difference at 2ε agrees to O(ε²) (~1e-11);
/// across a kink a ReLU or a max-pool switch makes them differ like the error itself. A kink exactly at θ (a
/// ReLU at z = 0, as on a blank patch with zero bias) shows only in the one-sided pair. `probe` is a copy of
/// the network to perturb (restored afterwards) and `lossOf` its loss.
let numericChecked (lossOf: unit -> float) (probe: Network<float>) (value: float) (p: int) (i: int) =
    let arr = (Network.arrays probe)[p]
    let theta = arr[i]
    let eps = epsilonFor theta

    let at h =
        arr[i] <- theta + h
        let l = lossOf ()
        arr[i] <- theta
        l

    let centre = lossOf ()
    let up, down = at eps, at (-eps)
    let up2, down2 = at (2.0 * eps), at (-(2.0 * eps))
    let c1, c2 = (up - down) / (2.0 * eps), (up2 - down2) / (4.0 * eps)
    let plus, minus = (up - centre) / eps, (centre - down) / eps
    let scale = max 1.0 (abs value)

    let kink =
        abs (c1 - c2) > 1e-5 * max (abs c1) (abs c2) + 1e-10 * scale
        || abs (plus - minus) > 1e-2 * max (abs plus) (abs minus) + 4e-10 * scale

    c1, kink

/// Why a layer's figures mean nothing, or "": a NaN or infinity anywhere makes every comparison false, so the
/// entries would drop out as "below the noise floor" and an empty comparison would read as a pass.
let private problemOf
    (loss: float)
    (grads: float[])
    (l: int)
    nonFiniteNumeric
    checkedCount
    kinks
    measured
    beyond
    (floored: int, examples: int)
    =
    let count f = grads |> Array.filter f |> Array.length
    let nans, infs = count Double.IsNaN, count Double.IsInfinity

    if nans > 0 then
        sprintf "%s's gradients are NaN (%d of %d entries): the step diverged" (Display.layer l) nans grads.Length
    elif infs > 0 then
        sprintf "%s's gradients are infinite (%d of %d entries): the step diverged" (Display.layer l) infs grads.Length
    elif Double.IsNaN loss then
        "the loss is NaN: the step diverged"
    elif Double.IsInfinity loss then
        "the loss is infinite: the step diverged"
    elif nonFiniteNumeric > 0 then
        sprintf
            "the numeric gradient of %d entr%s is not finite: the loss overflows within ε of the weights"
            nonFiniteNumeric
            (if nonFiniteNumeric = 1 then "y" else "ies")
    elif floored > 0 && beyond > 0 then
        // Not a bug in the gradient: the loss is flat where it is floored.
        sprintf
            "the loss is held at its floor (ln 1e-12) for %d of %d examples, which the network answers with a probability below 1e-12 for their label, so the numeric gradient is flat there while the analytic one is not: the outputs are saturated (inputs far too large, or weights; see the doctor's data and loss checks)"
            floored
            examples
    elif measured = 0 && kinks = 0 then
        // A huge loss lifts the floor above every gradient: the usual sign of a step that diverged.
        sprintf
            "nothing measured: all %d entries checked are below the noise floor %s (1e-6 of the loss %s)%s"
            checkedCount
            (Display.small (noiseFloor loss))
            (Display.small loss)
            (if abs loss > 1e6 then
                 ": the loss is huge, the step diverged"
             else
                 "")
    elif measured = 0 then
        sprintf
            "nothing measured: of %d entries checked, %d are below the noise floor %s and %d at kinks"
            checkedCount
            (checkedCount - kinks)
            (Display.small (noiseFloor loss))
            kinks
    else
        ""

/// The factors a broken gradient is most often off by, checked in this order.
let private factors = [ 1.0; -1.0; 2.0; 0.5; -2.0; -0.5 ]

/// Compares `distort (analytic gradients)` with numeric gradients on up to `perLayer` parameters of each
/// layer, chosen by `seed` (all of them when the layer is small enough). `distort` is the identity in
/// `check`; tests inject faults through it (a negated or doubled layer) to see them named.
let checkWith
    (distort: float[][][] -> float[][][])
    (hyper: Hyper)
    (batch: Batch<float>)
    (net: Network<float>)
    (perLayer: int)
    (seed: int)
    : LayerCheck[] =
    let value, grads = gradients hyper batch net
    let distorted = distort grads
    let gradArrays = distorted |> Array.concat
    let noise = noiseFloor value
    let layerOf = Network.layerOf net.Arch
    let probe = Network.copy net
    let bound = Bound.create<float> net.Arch batch.X.ColumnCount

    let trace =
        {
            Input = batch.X
            Activations = Bound.buffers bound
        }

    let lossOf () = lossWith bound trace hyper batch probe

    // Examples whose cross-entropy sits at its floor at these weights (the forward pass leaves the outputs in trace).
    let floored =
        lossOf () |> ignore
        let out = trace.Output

        Losses.flooredExamples
            hyper.Loss
            (Arch.Arch.output net.Arch)
            out.RowCount
            (Tensor.data out)
            (Tensor.data batch.Y),
        batch.X.ColumnCount

    [|
        for l in 0 .. net.Params.Length - 1 do
            // Layers without parameters (pooling, flattening) have nothing to check.
            if net.Params[l].Length > 0 then
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

                let taken =
                    picks
                    |> Array.map (fun (p, i) ->
                        let n, kink = numericChecked lossOf probe value p i
                        gradArrays[p][i], n, kink)

                // Kept apart from the noise filter: NaN compares false with everything and would pass as noise.
                let nonFiniteNumeric =
                    taken |> Array.filter (fun (_, n, _) -> not (Double.IsFinite n)) |> Array.length

                let numbers = taken |> Array.filter (fun (a, n, _) -> max (abs a) (abs n) >= noise)

                let kinks = numbers |> Array.filter (fun (_, _, k) -> k) |> Array.length

                let pairs =
                    numbers
                    |> Array.filter (fun (_, _, k) -> not k)
                    |> Array.map (fun (a, n, _) -> a, n)

                let errors = pairs |> Array.map (fun (a, n) -> relError a n)
                let beyond = errors |> Array.filter (fun e -> e >= threshold) |> Array.length
                let norm xs = sqrt (Array.sumBy (fun x -> x * x) xs)
                let an, nn = norm (Array.map fst pairs), norm (Array.map snd pairs)
                let dot = pairs |> Array.sumBy (fun (a, n) -> a * n)

                {
                    Layer = l
                    Checked = picks.Length
                    Measured = pairs.Length
                    Kinks = kinks
                    BelowNoise = taken.Length - numbers.Length
                    Problem =
                        problemOf
                            value
                            (distorted[l] |> Array.concat)
                            l
                            nonFiniteNumeric
                            picks.Length
                            kinks
                            pairs.Length
                            beyond
                            floored
                    MaxRelError = (if errors.Length = 0 then 0.0 else Array.max errors)
                    MeanRelError = (if errors.Length = 0 then 0.0 else Array.average errors)
                    SignAgreement =
                        if pairs.Length = 0 then
                            1.0
                        else
                            (pairs |> Array.filter (fun (a, n) -> sign a = sign n) |> Array.length |> float)
                            / float pairs.Length
                    NormRatio =
                        if pairs.Length = 0 then 1.0
                        elif an = 0.0 then nan
                        elif dot < 0.0 then -nn / an
                        else nn / an
                    Beyond = beyond
                    Factor =
                        if pairs.Length = 0 then
                            nan
                        else
                            factors
                            |> List.tryFind (fun k -> pairs |> Array.forall (fun (a, n) -> relError (k * a) n < 1e-3))
                            |> Option.defaultValue nan
                }
    |]

/// Compares analytic with numeric gradients (see checkWith).
let check hyper batch net perLayer seed =
    checkWith id hyper batch net perLayer seed

let passed (r: LayerCheck) = r.Beyond = 0 && r.Problem = ""

/// The simple factor k (numeric = k · analytic) that explains a failing layer, if one does: ±1, ±2, ±½.
let factor (r: LayerCheck) =
    if Double.IsNaN r.Factor then None else Some r.Factor

/// One line on what a layer's figures mean, naming a sign flip or a factor of two as exactly that.
let verdict (r: LayerCheck) =
    if r.Problem <> "" then
        r.Problem
    elif passed r && r.Kinks > 0 then
        sprintf
            "analytic and numeric gradients agree (%d entr%s at a ReLU or max-pool kink not judged)"
            r.Kinks
            (if r.Kinks = 1 then "y" else "ies")
    elif passed r then
        "analytic and numeric gradients agree"
    elif Double.IsNaN r.NormRatio then
        "the analytic gradient is zero where the numeric one is not: a gradient is not propagated"
    else
        match factor r with
        | Some k when k = -1.0 ->
            "sign flip: the analytic gradient points the opposite way (numeric = -1 x analytic); descending along it climbs the loss"
        | Some k when k = 2.0 ->
            "factor 1/2: the analytic gradient is half the true one (numeric = 2 x analytic), e.g. dL/da = (a-y)/2, or a loss (a-y)^2 whose gradient was taken as a-y"
        | Some k when k = 0.5 ->
            "factor 2: the analytic gradient is twice the true one (numeric = 0.5 x analytic), e.g. 2(a-y) for the loss 1/2 (a-y)^2"
        | Some k when k = -2.0 -> "sign flip and factor 1/2: numeric = -2 x analytic"
        | Some k when k = -0.5 -> "sign flip and factor 2: numeric = -0.5 x analytic"
        | _ ->
            sprintf
                "mismatch: %d of %d entries differ by %s or more, not by a simple factor (ratio %.3f, signs agree on %.0f%%)"
                r.Beyond
                r.Measured
                (Display.small threshold)
                r.NormRatio
                (100.0 * r.SignAgreement)

/// One random direction u of the directional check: g·u against (L(θ+εu) − L(θ−εu)) / 2ε.
type DirectionCheck =
    {
        Direction: int
        /// g·u, the analytic gradient along u.
        Analytic: float
        /// The central difference along u at ε.
        Numeric: float
        /// |a − n| / max(|a|, |n|); NaN when not judged.
        RelError: float
        /// A kink (a ReLU or max-pool switch) lies within 2ε along u: the differences at ε and 2ε disagree.
        Kink: bool
        /// Both |g·u| and the difference are below the noise floor of a difference along u.
        BelowNoise: bool
        /// Judged and within tolerance·max(|a|, |n|) + the noise floor.
        Passed: bool
    }

/// The directional check of a whole network: every parameter at once, along K random unit directions.
type DirectionalCheck =
    {
        Directions: DirectionCheck[]
        /// The step along each unit direction.
        Epsilon: float
        /// A direction fails when |a − n| ≥ Tolerance·max(|a|, |n|) + Noise.
        Tolerance: float
        /// The rounding of L over ε: what a difference along u cannot resolve, absolute.
        Noise: float
        Parameters: int
        /// Parameters that were exactly zero (zero-initialised biases) and were moved off it first.
        Moved: int
        Loss: float
        /// Why the check means nothing ("": it means something): a NaN, or no direction judged.
        Problem: string
    }

/// Relative error at which a direction fails. One difference covers every parameter, so a layer whose gradient is
/// wrong shows only in its share of g·u: the tolerance is far below the element-wise one, and far above what a
/// correct gradient gives (1e-9 to 1e-8 relative on LeNet-5 and the LSTM).
let directionalTolerance = 1e-6

/// What a central difference along u cannot resolve: L rounded (ε_mach·|L| each) over 2ε, ten times over, about
/// 3.7e-10·max(1, |L|). A direction fails only by more than this as well as by the tolerance.
let directionalNoise (loss: float) =
    10.0 * 2.220446049250313e-16 * max 1.0 (abs loss)
    / Math.Cbrt 2.220446049250313e-16

/// The step along a unit direction: ∛(machine ε), as for one parameter of magnitude below 1; each parameter moves
/// by about ε/√P.
let directionalEpsilon = Math.Cbrt 2.220446049250313e-16

/// Moves exactly-zero parameters (zero-initialised biases) off zero, to a seeded value in ±[1e-3, 2e-3]: on a blank
/// patch (MNIST's border) a ReLU after a zero bias sits exactly at its kink, where no difference is right. Returns
/// how many were moved. The check is then of the gradient at this point, as good as any other.
let offKinks (seed: int) (net: Network<float>) =
    let rng = Init.Rng.For(seed, 91_999)
    let mutable moved = 0

    for a in Network.arrays net do
        for i in 0 .. a.Length - 1 do
            if a[i] = 0.0 then
                let size = 1e-3 * (1.0 + rng.NextDouble())
                a[i] <- (if rng.NextDouble() < 0.5 then -size else size)
                moved <- moved + 1

    moved

/// Checks `distort (analytic gradients)` along `k` random unit directions of all parameters at once (seeded),
/// at `net` moved off kinks (a copy: the caller's network is not touched). `distort` is the identity in
/// `directional`; tests inject a wrong layer through it.
let directionalWith
    (distort: float[][][] -> float[][][])
    (hyper: Hyper)
    (batch: Batch<float>)
    (net: Network<float>)
    (k: int)
    (seed: int)
    : DirectionalCheck =
    let probe = Network.copy net
    let moved = offKinks seed probe
    let value, grads = gradients hyper batch probe
    let g = distort grads |> Array.concat
    let arrays = Network.arrays probe
    let theta = arrays |> Array.map Array.copy
    let parameters = arrays |> Array.sumBy Array.length
    let bound = Bound.create<float> probe.Arch batch.X.ColumnCount

    let trace =
        {
            Input = batch.X
            Activations = Bound.buffers bound
        }

    let lossOf () = lossWith bound trace hyper batch probe
    let eps = directionalEpsilon
    let noise = directionalNoise value

    let directions =
        [|
            for d in 0 .. k - 1 do
                let rng = Init.Rng.For(seed, 92_000 + d)
                let u = theta |> Array.map (Array.map (fun _ -> rng.NextNormal()))
                let norm = sqrt (u |> Array.sumBy (Array.sumBy (fun x -> x * x)))
                let u = u |> Array.map (Array.map (fun x -> x / norm))

                let at (h: float) =
                    for p in 0 .. arrays.Length - 1 do
                        let a, t, up = arrays[p], theta[p], u[p]

                        for i in 0 .. a.Length - 1 do
                            a[i] <- t[i] + h * up[i]

                    lossOf ()

                let c1 = (at eps - at (-eps)) / (2.0 * eps)
                let c2 = (at (2.0 * eps) - at (-2.0 * eps)) / (4.0 * eps)
                at 0.0 |> ignore

                let analytic =
                    Array.fold2
                        (fun s (gp: float[]) (up: float[]) -> s + Array.fold2 (fun s x y -> s + x * y) 0.0 gp up)
                        0.0
                        g
                        u

                let belowNoise = max (abs analytic) (abs c1) < noise
                let kink = not belowNoise && abs (c1 - c2) > 1e-5 * max (abs c1) (abs c2) + noise
                let judged = not kink && not belowNoise

                {
                    Direction = d
                    Analytic = analytic
                    Numeric = c1
                    RelError = (if kink || belowNoise then nan else relError analytic c1)
                    Kink = kink
                    BelowNoise = belowNoise
                    Passed =
                        judged
                        && abs (analytic - c1) < directionalTolerance * max (abs analytic) (abs c1) + noise
                }
        |]

    let judged = directions |> Array.filter (fun d -> not (Double.IsNaN d.RelError))

    let problem =
        if not (Double.IsFinite value) then
            "the loss is not finite at these weights"
        elif g |> Array.exists (Array.exists (fun x -> not (Double.IsFinite x))) then
            "the analytic gradient holds NaN or infinity"
        elif directions |> Array.exists (fun d -> not (Double.IsFinite d.Numeric)) then
            "a difference is not finite: the loss overflows within ε of the weights"
        elif judged.Length = 0 then
            sprintf
                "nothing judged: of %d directions, %d cross a kink and %d are below the noise floor"
                k
                (directions |> Array.filter (fun d -> d.Kink) |> Array.length)
                (directions |> Array.filter (fun d -> d.BelowNoise) |> Array.length)
        else
            ""

    {
        Directions = directions
        Epsilon = eps
        Tolerance = directionalTolerance
        Noise = noise
        Parameters = parameters
        Moved = moved
        Loss = value
        Problem = problem
    }

/// The directional check (see directionalWith).
let directional hyper batch net k seed =
    directionalWith id hyper batch net k seed

/// Passes when it means something and every judged direction is within the tolerance.
let directionalPassed (c: DirectionalCheck) =
    c.Problem = ""
    && c.Directions |> Array.forall (fun d -> Double.IsNaN d.RelError || d.Passed)
