namespace Functional.Cli

open System
open System.Globalization

/// Collects the validation errors of one command line, so that all of them are reported at once.
type internal Checks() =
    let errors = ResizeArray<string>()
    member _.Errors = List.ofSeq errors
    member _.Add(message: string) = errors.Add message

    member this.Require (ok: bool) (option: string) (rule: string) (value: obj) =
        if not ok then
            this.Add $"option '--%s{option}' must be %s{rule}, but was %s{string value}."

    member this.Result(result: Result<'T, string>, fallback: 'T) =
        match result with
        | Ok v -> v
        | Error e ->
            this.Add e
            fallback

    /// Argu takes any word after a command for its list of folders, a mistyped option too.
    member this.Folders (command: string) (words: string seq) =
        for w in words do
            if w.StartsWith "-" then
                this.Add $"unknown option '%s{w}' (%s{command} takes run folders, sweep folders and its options)."

    /// OpenBLAS's pool as Debian builds it (MAX_THREADS=64): a larger --threads would be cut to 64 in silence while
    /// run.json recorded the number asked for.
    member this.Threads(threads: int) =
        this.Require (threads >= 0 && threads <= 64) "threads" "0..64 (0 = auto)" threads

/// Small readers shared by the commands' parsers.
module Parsing =
    /// The most epochs a run may ask for: 2^31 - 1 epochs would never end, and a run.json holding more is refused
    /// by the same rule.
    [<Literal>]
    let MaxEpochs = 1_000_000

    let internal toNull (value: string option) : string | null =
        match value with
        | Some s -> s
        | None -> null

    let internal parseInt (s: string) =
        match Int32.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
        | true, n -> Some n
        | _ -> None

    let internal finite (x: float) = Double.IsFinite x
