/// What every part of the facade shares: a value that may be refused, and the kinds of layer C# asks about.
/// The facade (Functional.Api) is the one door from C# into the core: static classes grouped by concern
/// (Data, Models, Training, Evaluation, Attacks, Performance, Display), PascalCase, arrays, Func<> and
/// struct tuples — no F# lists, options, reference tuples or curried functions in its signatures.
namespace Functional.Api

/// A value, or why there is none (Error is null exactly when Value is usable).
type Checked<'T> =
    {
        Value: 'T
        Error: string | null
    }

    member c.Ok = isNull c.Error

module internal Checked =
    let ofResult (r: Result<'T, string>) : Checked<'T> =
        match r with
        | Ok v -> { Value = v; Error = null }
        | Error e ->
            {
                Value = Unchecked.defaultof<'T>
                Error = e
            }

    let ofOption (o: string option) : string | null =
        match o with
        | Some p -> p
        | None -> null

/// What a layer is, for the questions C# asks of an architecture (a kind the facade does not name is Other).
type LayerKind =
    | Other = 0
    | Dense = 1
    | Conv2d = 2
    | MaxPool2d = 3
    | Flatten = 4
    | Dropout = 5
    | Rnn = 6
    | Lstm = 7
    | Rbf = 8
