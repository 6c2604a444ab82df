/// The input transform of tabular data, per feature j: x'_j = (x_j − shift_j) / spread_j, fitted on the training set.
/// none: shift 0, spread 1. unit: min_j and max_j − min_j (each feature spans 0..1 over the training set).
/// standard: mean_j and standard deviation σ_j (z-scores). A constant feature keeps spread 1 (it maps to 0, not NaN).
module Functional.FeatureScale

type Kind =
    | NoScaling
    | MinMax
    | Standard

type Transform =
    {
        Kind: Kind
        Shift: float32[]
        Spread: float32[]
    }

let name =
    function
    | NoScaling -> "none"
    | MinMax -> "unit"
    | Standard -> "standard"

let tryParse (s: string) =
    match s.Trim().ToLowerInvariant() with
    | "none" -> Some NoScaling
    | "unit" -> Some MinMax
    | "standard" -> Some Standard
    | _ -> None

/// Fits the transform to `values` (rows of `features` values, back to back).
let fit (kind: Kind) (features: int) (values: float32[]) : Transform =
    let rows = if features = 0 then 0 else values.Length / features

    let column j =
        Seq.init rows (fun r -> float values[r * features + j])

    let shift, spread =
        Array.init features (fun j ->
            if rows = 0 then
                0.0, 1.0
            else
                match kind with
                | NoScaling -> 0.0, 1.0
                | MinMax ->
                    let lo, hi = Seq.min (column j), Seq.max (column j)
                    lo, hi - lo
                | Standard ->
                    let mean = Seq.average (column j)
                    let var = column j |> Seq.averageBy (fun x -> (x - mean) * (x - mean))
                    mean, sqrt var)
        |> Array.unzip

    {
        Kind = kind
        Shift = shift |> Array.map float32
        Spread =
            spread
            |> Array.map (fun s ->
                if s > 0.0 && System.Double.IsFinite s then
                    float32 s
                else
                    1.0f)
    }

/// The transformed copy of `values`.
let apply (t: Transform) (values: float32[]) : float32[] =
    let f = t.Shift.Length
    values |> Array.mapi (fun i x -> (x - t.Shift[i % f]) / t.Spread[i % f])

/// True when the transform changes nothing.
let isIdentity (t: Transform) =
    Array.forall ((=) 0.0f) t.Shift && Array.forall ((=) 1.0f) t.Spread
