/// The text side of parsing: the width help is laid out in, Argu's error messages made one plain line, and the
/// edit distance behind "did you mean".
module Functional.Cli.ArguText

open System

/// Help fits the terminal it is shown in (80 columns when piped, so files and tests see one layout).
let helpWidth () =
    try
        if Console.IsOutputRedirected || Console.WindowWidth <= 0 then
            80
        else
            max 60 (min Console.WindowWidth 120)
    with :? System.IO.IOException ->
        80

/// Argu's error message without the "ERROR: " prefix and the usage text it appends.
let errorLines (message: string) =
    message.Split([| "\r\n"; "\n" |], StringSplitOptions.None)
    |> Seq.takeWhile (fun line ->
        not (
            [ "USAGE:"; "OPTIONS:"; "SUBCOMMANDS:" ]
            |> List.exists (fun h -> line.TrimStart().StartsWith(h, StringComparison.Ordinal))
        ))
    |> Seq.map (fun line ->
        let line = line.Trim()

        if line.StartsWith("ERROR: ", StringComparison.Ordinal) then
            line.Substring "ERROR: ".Length
        else
            line)
    |> Seq.filter (fun line -> line <> "")
    // Argu's error is its first line; what follows (a missing argument's usage entry) is not a sentence.
    |> Seq.truncate 1
    |> List.ofSeq

/// Edit distance, for "did you mean".
let distance (a: string) (b: string) =
    let d =
        Array2D.init (a.Length + 1) (b.Length + 1) (fun i j ->
            if i = 0 then j
            elif j = 0 then i
            else 0)

    for i in 1 .. a.Length do
        for j in 1 .. b.Length do
            let cost = if a[i - 1] = b[j - 1] then 0 else 1
            d[i, j] <- min (min (d[i - 1, j] + 1) (d[i, j - 1] + 1)) (d[i - 1, j - 1] + cost)

    d[a.Length, b.Length]
