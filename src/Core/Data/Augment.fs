/// Data augmentation as a pure function of (seed, epoch, example index): whole-pixel shifts, small rotations and
/// scalings (one affine map, sampled bilinearly) and elastic distortions (Simard, Steinkraus & Platt 2003:
/// a field of uniform(−1, 1) displacements smoothed by a Gaussian of width σ and scaled by α). The same
/// example in the same epoch is always distorted the same way, so augmented runs replay bit for bit.
/// Pixels outside the image read as the scaled value of a blank pixel.
module Functional.Augment

open System
open System.Globalization
open System.Numerics

type Augment =
    {
        /// Largest shift in whole pixels, drawn uniformly from −Shift..Shift on each axis.
        Shift: int
        /// Largest rotation in degrees, drawn uniformly from ±Rotate.
        Rotate: float
        /// Largest relative scaling, drawn uniformly from 1 ± Zoom.
        Zoom: float
        /// Elastic distortion strength α in pixels (0 = none).
        Elastic: float
        /// The elastic field's smoothing σ in pixels.
        Sigma: float
    }

module Augment =
    let none =
        {
            Shift = 0
            Rotate = 0.0
            Zoom = 0.0
            Elastic = 0.0
            Sigma = 4.0
        }

    let isNone (a: Augment) =
        a.Shift = 0 && a.Rotate = 0.0 && a.Zoom = 0.0 && a.Elastic = 0.0

    let private g (x: float) =
        x.ToString("R", CultureInfo.InvariantCulture)

    /// "none", or the parts that are on: "shift:2,rotate:10,scale:0.1,elastic:34:4".
    let text (a: Augment) =
        if isNone a then
            "none"
        else
            [
                if a.Shift > 0 then
                    sprintf "shift:%d" a.Shift
                if a.Rotate > 0.0 then
                    "rotate:" + g a.Rotate
                if a.Zoom > 0.0 then
                    "scale:" + g a.Zoom
                if a.Elastic > 0.0 then
                    "elastic:" + g a.Elastic + ":" + g a.Sigma
            ]
            |> String.concat ","

    /// Why these strengths make no sense, or None.
    let problem (a: Augment) =
        if a.Shift < 0 || a.Shift > 14 then
            Some(sprintf "a shift must be 0..14 pixels, not %d" a.Shift)
        elif not (a.Rotate >= 0.0 && a.Rotate <= 180.0) then
            Some(sprintf "a rotation must be 0..180 degrees, not %g" a.Rotate)
        elif not (a.Zoom >= 0.0 && a.Zoom < 1.0) then
            Some(sprintf "a scaling must be in [0, 1), not %g" a.Zoom)
        elif not (a.Elastic >= 0.0 && a.Elastic <= 100.0) then
            Some(sprintf "an elastic strength must be 0..100 pixels, not %g" a.Elastic)
        elif not (a.Sigma >= 0.5 && a.Sigma <= 20.0) then
            Some(sprintf "an elastic smoothing sigma must be 0.5..20 pixels, not %g" a.Sigma)
        else
            None

    let private orError (message: string) (o: 'a option) =
        match o with
        | Some v -> Ok v
        | None -> Error message

    /// `--augment` as typed (also `text`'s form): none, or comma-separated shift:PIXELS, rotate:DEGREES,
    /// scale:FRACTION, elastic:ALPHA[:SIGMA] (σ 4 by default, Simard's value for 28×28 digits).
    let parse (s: string) : Result<Augment, string> =
        let num (p: string) =
            match Double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, x when Double.IsFinite x -> Some x
            | _ -> None

        let expected =
            "expected none or a list like shift:2,rotate:10,scale:0.1,elastic:34:4"

        if s.Trim().ToLowerInvariant() = "none" then
            Ok none
        else
            let folder (acc: Result<Augment, string>) (part: string) =
                match acc with
                | Error e -> Error e
                | Ok a ->
                    match part.Trim().ToLowerInvariant().Split ':' with
                    | [| "shift"; v |] ->
                        match Int32.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture) with
                        | true, n -> Ok { a with Shift = n }
                        | _ -> Error(sprintf "'%s': a shift is a whole number of pixels" part)
                    | [| "rotate"; v |] ->
                        num v
                        |> Option.map (fun x -> { a with Rotate = x })
                        |> orError (sprintf "'%s': a rotation is a number of degrees" part)
                    | [| "scale"; v |] ->
                        num v
                        |> Option.map (fun x -> { a with Zoom = x })
                        |> orError (sprintf "'%s': a scaling is a fraction such as 0.1" part)
                    | [| "elastic"; v |] ->
                        num v
                        |> Option.map (fun x -> { a with Elastic = x })
                        |> orError (sprintf "'%s': elastic takes ALPHA or ALPHA:SIGMA in pixels" part)
                    | [| "elastic"; v; w |] ->
                        Option.map2 (fun x y -> { a with Elastic = x; Sigma = y }) (num v) (num w)
                        |> orError (sprintf "'%s': elastic takes ALPHA or ALPHA:SIGMA in pixels" part)
                    | _ -> Error(sprintf "'%s' is not an augmentation: %s" part expected)

            match
                s.Split(',', StringSplitOptions.RemoveEmptyEntries)
                |> Array.fold folder (Ok none)
            with
            | Ok a ->
                match problem a with
                | Some p -> Error p
                | None -> Ok a
            | Error e -> Error e

    /// The image size augmentation works on for an input of this shape: [1; H; W], or a flat square [H·H].
    let imageSize (input: int[]) : (int * int) option =
        match input with
        | [| 1; h; w |] -> Some(h, w)
        | [| f |] ->
            let side = int (Math.Round(Math.Sqrt(float f)))
            if side * side = f then Some(side, side) else None
        | _ -> None

/// Scratch for augmenting H×W images one at a time, allocated once: `Apply` allocates nothing.
type Augmenter(aug: Augment, height: int, width: int) =
    let n = height * width
    let src = Array.zeroCreate<float> n
    let dst = Array.zeroCreate<float> n
    let fx = Array.zeroCreate<float> n
    let fy = Array.zeroCreate<float> n
    let tmp = Array.zeroCreate<float> n
    let radius = int (Math.Ceiling(3.0 * aug.Sigma))

    let kernel =
        let k =
            Array.init (2 * radius + 1) (fun i ->
                let d = float (i - radius)
                Math.Exp(-d * d / (2.0 * aug.Sigma * aug.Sigma)))

        let s = Array.sum k
        k |> Array.map (fun v -> v / s)

    let mutable state = 0UL

    // SplitMix64, as Init.Rng, kept in a field so drawing numbers allocates nothing.
    let next () =
        state <- state + 0x9E3779B97F4A7C15UL
        let mutable z = state
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    let uniform () =
        float (next () >>> 11) * (1.0 / 9007199254740992.0)

    let between (lo: float) (hi: float) = lo + (hi - lo) * uniform ()

    /// One Gaussian pass along rows (dr = 0, dc = 1) or columns (dr = 1, dc = 0) of `a` into `b`, zero outside.
    let blur (a: float[]) (b: float[]) (dr: int) (dc: int) =
        for r in 0 .. height - 1 do
            for c in 0 .. width - 1 do
                let mutable s = 0.0

                for k in -radius .. radius do
                    let rr = r + k * dr
                    let cc = c + k * dc

                    if rr >= 0 && rr < height && cc >= 0 && cc < width then
                        s <- s + kernel[k + radius] * a[rr * width + cc]

                b[r * width + c] <- s

    let field (f: float[]) =
        for i in 0 .. n - 1 do
            f[i] <- between -1.0 1.0

        blur f tmp 0 1
        blur tmp f 1 0

        for i in 0 .. n - 1 do
            f[i] <- f[i] * aug.Elastic

    member _.Height = height
    member _.Width = width

    member private _.At(r: int, c: int, blank: float) =
        if r >= 0 && r < height && c >= 0 && c < width then
            src[r * width + c]
        else
            blank

    /// Distorts the image stored at x[offset .. offset+H·W−1] in place, as example `index` of epoch `epoch`
    /// under `seed`; `blank` is the value of an empty pixel.
    member this.Apply<'T when 'T :> IFloatingPointIeee754<'T>>
        (x: 'T[], offset: int, blank: 'T, seed: int, epoch: int, index: int)
        =
        // The stream of (seed, epoch, index): three rounds of mixing so neighbouring indices are unrelated.
        state <- uint64 (int64 seed) * 0xD1B54A32D192ED03UL
        state <- next () ^^^ (uint64 (int64 epoch) * 0x9E3779B97F4A7C15UL)
        state <- next () ^^^ (uint64 (int64 index) * 0xBF58476D1CE4E5B9UL)
        state <- next ()

        for i in 0 .. n - 1 do
            src[i] <- Double.CreateTruncating x[offset + i]

        let tx =
            if aug.Shift > 0 then
                float (int (next () % uint64 (2 * aug.Shift + 1)) - aug.Shift)
            else
                0.0

        let ty =
            if aug.Shift > 0 then
                float (int (next () % uint64 (2 * aug.Shift + 1)) - aug.Shift)
            else
                0.0

        let angle =
            if aug.Rotate > 0.0 then
                between -aug.Rotate aug.Rotate * Math.PI / 180.0
            else
                0.0

        let zoom =
            if aug.Zoom > 0.0 then
                between (1.0 - aug.Zoom) (1.0 + aug.Zoom)
            else
                1.0

        let elastic = aug.Elastic > 0.0

        if elastic then
            field fx
            field fy

        let cos, sin = Math.Cos angle / zoom, Math.Sin angle / zoom
        let cx, cy = float (width - 1) / 2.0, float (height - 1) / 2.0
        let blankD = Double.CreateTruncating blank

        for r in 0 .. height - 1 do
            for c in 0 .. width - 1 do
                // The source point of output pixel (r, c): the inverse of rotate-scale about the centre, then shift.
                let u, v = float c - cx - tx, float r - cy - ty
                let mutable sx = cos * u + sin * v + cx
                let mutable sy = -sin * u + cos * v + cy

                if elastic then
                    sx <- sx + fx[r * width + c]
                    sy <- sy + fy[r * width + c]

                let x0, y0 = Math.Floor sx, Math.Floor sy
                let ax, ay = sx - x0, sy - y0
                let ix, iy = int x0, int y0

                dst[r * width + c] <-
                    if ax = 0.0 && ay = 0.0 then
                        this.At(iy, ix, blankD)
                    else
                        (1.0 - ay)
                        * ((1.0 - ax) * this.At(iy, ix, blankD) + ax * this.At(iy, ix + 1, blankD))
                        + ay
                          * ((1.0 - ax) * this.At(iy + 1, ix, blankD) + ax * this.At(iy + 1, ix + 1, blankD))

        for i in 0 .. n - 1 do
            x[offset + i] <- 'T.CreateTruncating dst[i]

/// Distorts every column of x ([features × count], examples order[offset ..]) as those examples of `epoch`.
let applyToBatch<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (augmenter: Augmenter)
    (scale: Data.Scale)
    (seed: int)
    (epoch: int)
    (order: int[])
    (offset: int)
    (x: MathNet.Numerics.LinearAlgebra.Matrix<'T>)
    =
    let xd = Tensor.data x
    let f = x.RowCount
    let blank = Data.Scale.blank<'T> scale

    for j in 0 .. x.ColumnCount - 1 do
        augmenter.Apply(xd, j * f, blank, seed, epoch, order[offset + j])
