namespace Functional.Cli

open Argu
open Functional.Cli.Parsing

/// `functional lr-find`: its own options; train's options it takes go through train's parser.
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
type Lr_FindArgs =
    | From of rate: float
    | To of rate: float
    | Steps of count: int
    | Png of file: string
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | From _ -> "the first learning rate (default 1e-7)."
            | To _ -> "the last learning rate (default 10)."
            | Steps _ -> "steps, one per rate, exponentially spaced from --from to --to (default 300)."
            | Png _ -> "the plot of loss against learning rate (default lr-find.png)."
            | Json -> "print the rates, losses and the suggestion as one JSON object."

/// `functional lr-find`: the configuration of Train, its rate searched from From to To in Steps steps.
type LrFindOptions =
    {
        Train: TrainOptions
        From: float
        To: float
        Steps: int
        Png: string
        Json: bool
    }

module internal LrFind =
    /// The rate is searched, so --lr is not taken; nor is anything about epochs, stopping or the run folder.
    let trainOptions =
        Forwarded.dataOptions @ Forwarded.networkOptions @ Forwarded.optimiserOptions

    let parse (r: ParseResults<Lr_FindArgs>) (trainArgs: string list) (checks: Checks) =
        let lo = r.GetResult(Lr_FindArgs.From, defaultValue = 1e-7)
        let hi = r.GetResult(Lr_FindArgs.To, defaultValue = 10.0)
        let steps = r.GetResult(Lr_FindArgs.Steps, defaultValue = 300)
        checks.Require (finite lo && lo > 0.0) "from" "> 0" lo
        checks.Require (finite hi && hi > lo) "to" "above --from" hi
        checks.Require (steps >= 3 && steps <= 100000) "steps" "3..100000" steps

        {
            Train = Forwarded.parse "lr-find" trainOptions trainArgs checks
            From = lo
            To = hi
            Steps = steps
            Png = r.GetResult(Lr_FindArgs.Png, defaultValue = "lr-find.png")
            Json = r.Contains Lr_FindArgs.Json
        }
