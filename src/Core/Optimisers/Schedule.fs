/// Learning-rate schedules as pure functions of the step: the rate of update t (0-based: the number of updates
/// before it) is the optimiser's base rate times `factor schedule t`. A schedule is stored resolved to steps
/// (run.json's "schedule"), so replay and resume compute every step's rate from the step number alone.
/// On the command line schedules are written in epochs (`Request`) and resolved once the run's length is known.
module Functional.Schedule

open System
open System.Globalization

type Schedule =
    /// The base rate throughout.
    | Constant
    /// The rate times `gamma` after every `every` updates (PyTorch's StepLR).
    | StepDecay of every: int64 * gamma: float
    /// Half a cosine from the base rate down to `floor`·base over `steps` updates, then `floor`·base
    /// (PyTorch's CosineAnnealingLR with eta_min = floor·base, without restarts).
    | Cosine of steps: int64 * floor: float
    /// Smith's one-cycle (PyTorch's OneCycleLR defaults): from base/25 up to base over the first 30% of `steps`
    /// by half a cosine, then down to base/(25·10⁴) by half a cosine; momentum is not cycled.
    | OneCycle of steps: int64
    /// A linear ramp from base/`steps` to base over the first `steps` updates, then `after`, counted from the
    /// end of the ramp.
    | Warmup of steps: int64 * after: Schedule

let private cosineBetween (start: float) (stop: float) (progress: float) =
    stop + (start - stop) * 0.5 * (1.0 + Math.Cos(Math.PI * progress))

/// The multiplier of the base rate at update t (t counts updates taken before this one, from 0).
let rec factor (schedule: Schedule) (t: int64) : float =
    match schedule with
    | Constant -> 1.0
    | StepDecay(every, gamma) -> Math.Pow(gamma, float (t / max every 1L))
    | Cosine(steps, floor) -> cosineBetween 1.0 floor (float (min t steps) / float (max steps 1L))
    | OneCycle steps ->
        let up = max 1L (int64 (Math.Round(0.3 * float steps)))
        let initial, final = 1.0 / 25.0, 1.0 / (25.0 * 1e4)

        if t < up then
            cosineBetween initial 1.0 (float t / float up)
        else
            cosineBetween 1.0 final (float (min (t - up) (steps - up)) / float (max 1L (steps - up)))
    | Warmup(steps, after) ->
        if t < steps then
            float (t + 1L) / float steps
        else
            factor after (t - steps)

/// The number of updates a schedule was laid out for (after them the rate stays at its end value), or None for
/// schedules without an end (constant, step decay).
let rec length (schedule: Schedule) : int64 option =
    match schedule with
    | Constant
    | StepDecay _ -> None
    | Cosine(steps, _)
    | OneCycle steps -> Some steps
    | Warmup(steps, after) -> length after |> Option.map ((+) steps)

let private g (x: float) =
    x.ToString("R", CultureInfo.InvariantCulture)

/// The stored form, in steps: "constant", "step:2250:0.1", "cosine:7500:0", "onecycle:7500", "warmup:250+cosine:7250:0".
let rec text (schedule: Schedule) =
    match schedule with
    | Constant -> "constant"
    | StepDecay(every, gamma) -> sprintf "step:%d:%s" every (g gamma)
    | Cosine(steps, floor) -> sprintf "cosine:%d:%s" steps (g floor)
    | OneCycle steps -> sprintf "onecycle:%d" steps
    | Warmup(steps, after) -> sprintf "warmup:%d+%s" steps (text after)

/// Why a schedule cannot be used, or None.
let rec problem (schedule: Schedule) =
    match schedule with
    | Constant -> None
    | StepDecay(every, gamma) when every < 1L || not (gamma > 0.0 && gamma <= 1.0) ->
        Some(
            sprintf
                "a step schedule needs at least 1 step between decays and a factor in (0, 1], not %d and %g"
                every
                gamma
        )
    | Cosine(steps, floor) when steps < 1L || not (floor >= 0.0 && floor <= 1.0) ->
        Some(sprintf "a cosine schedule needs at least 1 step and a floor in [0, 1], not %d and %g" steps floor)
    | OneCycle steps when steps < 2L -> Some(sprintf "a one-cycle schedule needs at least 2 steps, not %d" steps)
    | Warmup(steps, _) when steps < 1L -> Some(sprintf "a warm-up needs at least 1 step, not %d" steps)
    | Warmup(_, after) -> problem after
    | _ -> None

/// Reads `text`'s form back.
let rec tryParse (s: string) : Schedule option =
    let s = s.Trim().ToLowerInvariant()

    let int64Of (p: string) =
        match Int64.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture) with
        | true, n -> Some n
        | _ -> None

    let floatOf (p: string) =
        match Double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x when Double.IsFinite x -> Some x
        | _ -> None

    match s.IndexOf '+' with
    | i when i > 0 && s.StartsWith "warmup:" ->
        match int64Of (s.Substring(7, i - 7)), tryParse (s.Substring(i + 1)) with
        | Some w, Some after -> Some(Warmup(w, after))
        | _ -> None
    | _ ->
        match s.Split ':' with
        | [| "constant" |] -> Some Constant
        | [| "step"; every; gamma |] -> Option.map2 (fun e g -> StepDecay(e, g)) (int64Of every) (floatOf gamma)
        | [| "cosine"; steps; floor |] -> Option.map2 (fun n f -> Cosine(n, f)) (int64Of steps) (floatOf floor)
        | [| "onecycle"; steps |] -> int64Of steps |> Option.map OneCycle
        | _ -> None

/// A schedule as the command line gives it, in epochs of the run it is for.
type Request =
    {
        /// "constant", "step", "cosine" or "onecycle".
        Kind: string
        /// For "step": epochs between decays.
        Every: float
        /// For "step": the factor at each decay; for "cosine": the floor as a fraction of the base rate.
        Factor: float
        /// Epochs of linear warm-up before the schedule (0 = none).
        Warmup: float
    }

module Request =
    let constant =
        {
            Kind = "constant"
            Every = 0.0
            Factor = 0.0
            Warmup = 0.0
        }

    /// `--schedule` as typed: constant, cosine[:FLOOR], step:EPOCHS[:FACTOR] (factor 0.1), onecycle.
    let parse (text: string) : Result<Request, string> =
        let bad () =
            Error(
                sprintf
                    "'%s' is not a schedule: expected constant, cosine, cosine:FLOOR, step:EPOCHS, step:EPOCHS:FACTOR or onecycle"
                    text
            )

        let num (p: string) =
            match Double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, x when Double.IsFinite x -> Some x
            | _ -> None

        match text.Trim().ToLowerInvariant().Split ':' with
        | [| "constant" |] -> Ok constant
        | [| "onecycle" |]
        | [| "one-cycle" |] -> Ok { constant with Kind = "onecycle" }
        | [| "cosine" |] -> Ok { constant with Kind = "cosine" }
        | [| "cosine"; f |] ->
            match num f with
            | Some f when f >= 0.0 && f <= 1.0 ->
                Ok
                    { constant with
                        Kind = "cosine"
                        Factor = f
                    }
            | _ -> Error(sprintf "the floor of '%s' must be a fraction of the rate in [0, 1]" text)
        | [| "step"; e |]
        | [| "step"; e; _ |] as parts ->
            let f = if parts.Length = 3 then num parts[2] else Some 0.1

            match num e, f with
            | Some e, Some f when e > 0.0 && f > 0.0 && f <= 1.0 ->
                Ok
                    { constant with
                        Kind = "step"
                        Every = e
                        Factor = f
                    }
            | _ -> Error(sprintf "'%s' needs epochs > 0 between decays and a factor in (0, 1]" text)
        | _ -> bad ()

    /// The schedule in steps, for a run of `epochs` epochs of `stepsPerEpoch` updates each.
    let resolve (r: Request) (stepsPerEpoch: int) (epochs: int) : Schedule =
        let toSteps (e: float) =
            max 1L (int64 (Math.Round(e * float stepsPerEpoch)))

        let total = int64 epochs * int64 stepsPerEpoch

        let warm =
            if r.Warmup > 0.0 then
                min (toSteps r.Warmup) (max 1L (total - 1L))
            else
                0L

        let rest = max 1L (total - warm)

        let main =
            match r.Kind with
            | "step" -> StepDecay(toSteps r.Every, r.Factor)
            | "cosine" -> Cosine(rest, r.Factor)
            | "onecycle" -> OneCycle(max 2L rest)
            | _ -> Constant

        if warm > 0L then Warmup(warm, main) else main

    /// The command line's form of a request: "cosine", "step:5:0.1", "onecycle", with "+ warm-up 1 epoch(s)".
    let describe (r: Request) =
        let main =
            match r.Kind with
            | "step" -> sprintf "step:%g:%g" r.Every r.Factor
            | "cosine" when r.Factor > 0.0 -> sprintf "cosine:%g" r.Factor
            | k -> k

        if r.Warmup > 0.0 then
            sprintf "%s, warm-up %g epoch(s)" main r.Warmup
        else
            main
