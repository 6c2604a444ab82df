namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional doctor`: its own options; train's options it takes go through train's parser (Forwarded.allowed).
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type DoctorArgs =
    | Json
    | Png of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Png _ -> "also draw per-layer histograms of activations and weight gradients after the short run (PNG)."
            | Json -> "print the report as one JSON object."

/// `functional doctor`: the training configuration to examine (Run, Quiet unused).
type DoctorOptions =
    {
        Train: TrainOptions
        Json: bool
        /// Histograms PNG path; null = none.
        Png: string | null
    }

module internal Doctor =
    /// The train options that shape what the doctor examines (not where a run is written or how it is shown).
    let trainOptions =
        Forwarded.dataOptions
        @ [ "--test"; "--test-labels"; "--classes"; "--allow-one-class" ]
        @ Forwarded.networkOptions
        @ Forwarded.optimiserOptions
        @ [
            "--lr"
            "--epochs"
            "--clip-norm"
            "--adversarial"
            "--adversarial-weight"
            "--augment"
        ]

    let parse (r: ParseResults<DoctorArgs>) (trainArgs: string list) (checks: Checks) =
        {
            Train = Forwarded.parse "doctor" trainOptions trainArgs checks
            Json = r.Contains DoctorArgs.Json
            Png = r.TryGetResult DoctorArgs.Png |> toNull
        }
