namespace Functional.Cli

open System
open System.Globalization
open Argu
open Functional
open Functional.Data
open Functional.Cli.Parsing

/// Where an attack starts.
[<RequireQualifiedAccess>]
type AttackStart =
    | Clean
    | Random

/// `functional attack`: FGSM, PGD, APGD, Square and AutoAttack against a saved model.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type AttackArgs =
    | [<MainCommand; ExactlyOnce>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Method of methods: string
    | Eps of values: string
    | Pixels
    | Steps of count: int
    | Alpha of step: float
    | Restarts of count: int
    | Queries of count: int
    | Start of AttackStart
    | Target of digit: int
    | Count of count: int
    | Seed of seed: int
    | Json
    | Png of file: string
    | Grid of file: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "the model: a model.safetensors or a run folder holding one."
            | Data _ -> "images to attack (IDX, raw or .gz, or CSV); default: the shipped MNIST test set."
            | Data_Labels _ -> "labels (IDX) for IDX images; default: beside the images."
            | Method _ ->
                "fgsm, pgd, apgd-ce, apgd-t (targeted DLR loss), square (no gradients) or autoattack (apgd-ce, apgd-t, then square, the worst case per example), comma-separated (default fgsm,pgd)."
            | Eps _ ->
                "the L∞ budgets, comma-separated, in [0, 1] units of the pixel range (default 0,0.05,0.1,0.2,0.3); with --pixels, in grey levels 0..255."
            | Pixels -> "read --eps and --alpha in grey levels (0..255) instead of [0, 1] units."
            | Steps _ -> "PGD's and APGD's steps, >= 1 (default 40 for PGD, 100 for APGD)."
            | Queries _ -> "Square's forward passes per example and restart, >= 1 (default 5000)."
            | Alpha _ -> "PGD's step, > 0, in --eps's units (default 2.5·eps/steps)."
            | Restarts _ ->
                "PGD's random restarts, >= 1; an example counts as robust only if it survives all (default 1)."
            | Start _ ->
                "where the attack starts: clean (the input) or random (uniform in the ε-ball); default: clean for FGSM, random for PGD."
            | Target _ -> "a targeted attack: push every input towards this class (default: untargeted)."
            | Count _ -> "attack only the first N images, >= 1 (default: all)."
            | Seed _ -> "seed of the random starts (default 1)."
            | Json -> "print the results as one JSON object."
            | Png _ -> "the robustness curve, accuracy against ε (default: RUN/robustness.png, else robustness.png)."
            | Grid _ ->
                "clean against adversarial digits with both predictions and the perturbation magnified (default: RUN/adversarial.png, else adversarial.png)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

/// `functional attack`: the attacks to run against a model, every ε still in the units it was given in.
type AttackOptions =
    {
        /// Model file or run directory.
        Model: string
        /// null = the shipped test set.
        Data: string | null
        DataLabels: string | null
        Methods: Attacks.Method[]
        Eps: float[]
        /// ε and α are grey levels (0..255) rather than [0, 1] units.
        Pixels: bool
        /// 0 = the method's own (PGD 40, APGD 100).
        Steps: int
        /// NaN = 2.5·ε/steps.
        Alpha: float
        Restarts: int
        /// Square's budget per example and restart.
        Queries: int
        /// None = clean for FGSM, random for PGD.
        RandomStart: bool option
        /// -1 = untargeted.
        Target: int
        /// 0 = all.
        Count: int
        Seed: int
        Json: bool
        Png: string | null
        Grid: string | null
        Threads: int
    }

module internal Attack =
    let parse (r: ParseResults<AttackArgs>) (checks: Checks) =
        let methods =
            r.GetResult(AttackArgs.Method, defaultValue = "fgsm,pgd").Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.choose (fun m ->
                match Attacks.Method.tryParse m with
                | Some m -> Some m
                | None ->
                    checks.Add
                        $"option '--method': unknown method '%s{m.Trim().ToLowerInvariant()}' (expected fgsm, pgd, apgd-ce, apgd-t, square or autoattack, comma-separated)."

                    None)
            |> Array.distinct

        let pixels = r.Contains AttackArgs.Pixels
        let top = if pixels then 255.0 else 1.0

        let units =
            if pixels then
                "grey levels (0..255)"
            else
                "[0, 1] units of the pixel range"

        let hint = if pixels then "" else "; add --pixels for grey levels"

        let eps =
            r
                .GetResult(AttackArgs.Eps, defaultValue = "0,0.05,0.1,0.2,0.3")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.choose (fun e ->
                match Double.TryParse(e.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x when finite x && x < 0.0 ->
                    checks.Add $"option '--eps': epsilon must be >= 0, but is %s{e.Trim()}."
                    None
                | true, x when finite x && x > top ->
                    checks.Add
                        $"option '--eps': epsilon %s{e.Trim()} is above the input range (at most %g{top} in %s{units}%s{hint})."

                    None
                | true, x when finite x -> Some x
                | _ ->
                    checks.Add $"option '--eps': '%s{e.Trim()}' is not a number."
                    None)

        if eps.Length = 0 && checks.Errors.IsEmpty then
            checks.Add "option '--eps' needs at least one value."

        let own =
            methods
            |> Array.filter (fun m -> m <> Attacks.Fgsm && m <> Attacks.Pgd)
            |> Array.map Attacks.Method.name

        if
            own.Length > 0
            && (r.Contains AttackArgs.Target
                || r.Contains AttackArgs.Start
                || r.Contains AttackArgs.Alpha)
        then
            checks.Add
                $"options '--target', '--start' and '--alpha' are FGSM's and PGD's; %s{String.Join(',', own)} sets its own."

        let steps = r.GetResult(AttackArgs.Steps, defaultValue = 0)

        if r.Contains AttackArgs.Steps then
            checks.Require (steps >= 1) "steps" ">= 1" steps

        let queries = r.GetResult(AttackArgs.Queries, defaultValue = 5000)
        checks.Require (queries >= 1) "queries" ">= 1" queries
        let alpha = r.GetResult(AttackArgs.Alpha, defaultValue = nan)

        if r.Contains AttackArgs.Alpha then
            checks.Require (finite alpha && alpha > 0.0 && alpha <= top) "alpha" $"> 0 and at most %g{top}" alpha

        let restarts = r.GetResult(AttackArgs.Restarts, defaultValue = 1)
        checks.Require (restarts >= 1) "restarts" ">= 1" restarts
        let target = r.GetResult(AttackArgs.Target, defaultValue = -1)

        if r.Contains AttackArgs.Target then
            checks.Require (target >= 0 && target <= 9) "target" "a class 0..9" target

        let count = r.GetResult(AttackArgs.Count, defaultValue = 0)

        if r.Contains AttackArgs.Count then
            checks.Require (count >= 1) "count" ">= 1" count

        let threads = r.GetResult(AttackArgs.Threads, defaultValue = 0)
        checks.Threads threads

        {
            Model = r.GetResult AttackArgs.Model
            Data = r.TryGetResult AttackArgs.Data |> toNull
            DataLabels = r.TryGetResult AttackArgs.Data_Labels |> toNull
            Methods = methods
            Eps = eps
            Pixels = pixels
            Steps = steps
            Alpha = alpha
            Restarts = restarts
            Queries = queries
            RandomStart = r.TryGetResult AttackArgs.Start |> Option.map (fun s -> s = AttackStart.Random)
            Target = target
            Count = count
            Seed = r.GetResult(AttackArgs.Seed, defaultValue = 1)
            Json = r.Contains AttackArgs.Json
            Png = r.TryGetResult AttackArgs.Png |> toNull
            Grid = r.TryGetResult AttackArgs.Grid |> toNull
            Threads = threads
        }
