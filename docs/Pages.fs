/// How the pages mark the blocks docs/make.fsx writes, and the rules tests/DocsTests.fs checks: one parser for both,
/// so the script and the test cannot disagree about what a block is (the test project compiles this file, the
/// script #loads it).
module Functional.Docs.Pages

open System
open System.IO
open System.Text.RegularExpressions

/// A command the page shows with its output; Head and Tail (when Some) keep that many first and last lines.
type Run =
    {
        Command: string
        Keep: (int * int) option
    }

/// What an HTML comment on its own line asks for. Setup runs a command whose output is not shown (a model the next
/// blocks use); Quoted marks a block copied from a measurement too heavy to repeat, with its conditions.
type Marker =
    | RunMarker of Run
    | Setup of string
    | Quoted of string

/// A fenced block and the markers just above it (lines are 0-based indexes into the page).
type Block =
    {
        Markers: Marker list
        Open: int
        Close: int
        Lines: string list
    }

/// One command's entry in docs/record.json.
type Entry =
    {
        Page: string
        Command: string
        Exit: int
        Output: string
        Shown: string
    }

let private markerRegex =
    Regex(@"^<!--\s*(run|setup|quoted)(?:\s+head=(\d+)\s+tail=(\d+))?\s*:\s*(.*?)\s*-->\s*$")

/// The marker on this line, if it is one.
let marker (line: string) : Marker option =
    let m = markerRegex.Match(line.Trim())

    if not m.Success then
        None
    else
        let text = m.Groups[4].Value

        match m.Groups[1].Value with
        | "setup" -> Some(Setup text)
        | "quoted" -> Some(Quoted text)
        | _ ->
            let keep =
                if m.Groups[2].Success then
                    Some(int m.Groups[2].Value, int m.Groups[3].Value)
                else
                    None

            Some(RunMarker { Command = text; Keep = keep })

let lines (text: string) = text.Replace("\r\n", "\n").Split('\n')

/// Every fenced block of a page with the markers on the lines right above its opening fence.
let blocks (pageLines: string[]) : Block list =
    let rec scan i acc =
        if i >= pageLines.Length then
            List.rev acc
        elif pageLines[i].TrimStart().StartsWith "```" then
            let close =
                seq { i + 1 .. pageLines.Length - 1 }
                |> Seq.tryFind (fun j -> pageLines[j].TrimStart().StartsWith "```")
                |> Option.defaultWith (fun () -> failwithf "line %d: a code block that is never closed" (i + 1))

            let rec above j ms =
                match (if j < 0 then None else marker pageLines[j]) with
                | Some m -> above (j - 1) (m :: ms)
                | None -> ms

            let ms =
                above (i - 1) []
                |> List.filter (function
                    | Setup _ -> false
                    | _ -> true)

            let block =
                {
                    Markers = ms
                    Open = i
                    Close = close
                    Lines = List.ofArray pageLines[i + 1 .. close - 1]
                }

            scan (close + 1) (block :: acc)
        else
            scan (i + 1) acc

    scan 0 []

/// The page's commands in the order docs/make.fsx runs them: setups anywhere, runs above their block.
let commands (pageLines: string[]) : Marker list =
    pageLines
    |> Array.choose marker
    |> Array.filter (function
        | Quoted _ -> false
        | _ -> true)
    |> List.ofArray

/// The line that stands for the lines an elision left out (the checker recomputes it from the record).
let elisionLine (count: int) =
    sprintf "... (%d lines left out here; docs/record.json holds them all)" count

/// What a command contributes to its block: "$ command", its output cut as its marker says, and "[exit N]"
/// when it did not exit 0.
let shown (run: Run) (output: string) (exit: int) : string =
    let out =
        output.TrimEnd('\n').Split('\n') |> Array.filter (fun _ -> output.Trim() <> "")

    let kept =
        match run.Keep with
        | Some(head, tail) when out.Length > head + tail + 1 ->
            Array.concat
                [
                    out[.. head - 1]
                    [| elisionLine (out.Length - head - tail) |]
                    out[out.Length - tail ..]
                ]
        | _ -> out

    let exitLine = if exit = 0 then [||] else [| sprintf "[exit %d]" exit |]

    String.Join("\n", Array.concat [ [| "$ " + run.Command |]; kept; exitLine ])

/// Words that mark unfinished text. A page may not hold them anywhere.
let placeholders = [ "RUNTIME"; "TODO"; "TBD"; "XXX" ]

let placeholdersIn (text: string) =
    placeholders |> List.filter (fun w -> Regex.IsMatch(text, @"\b" + w + @"\b"))

let private percent = Regex(@"(\d+(?:\.\d+)?)\s?%")

let private isTableRow (line: string) = line.TrimStart().StartsWith "|"

/// A page's prose and its evidence: prose is every line outside code blocks, tables and HTML comments; evidence is
/// the code blocks' lines and the table rows.
let split (pageLines: string[]) =
    let mutable inside = false
    let mutable comment = false
    let prose = ResizeArray()
    let evidence = ResizeArray()

    for line in pageLines do
        let t = line.TrimStart()

        if t.StartsWith "```" then
            inside <- not inside
        elif inside || isTableRow line then
            evidence.Add line
        elif comment || t.StartsWith "<!--" then
            comment <- not (t.Contains "-->")
        else
            prose.Add line

    List.ofSeq prose, List.ofSeq evidence

/// The rule for figures: a percentage with a decimal point in the prose ("97.45%", "8.45 %") is a measured figure,
/// and must appear as the same number (with or without the space before %, "61.8" = "61.80") in a code block or a
/// table row of the same page. Whole
/// percentages ("10% held out", "about 85%") are settings and round statements, not checked.
let unsupportedFigures (pageLines: string[]) : string list =
    let prose, evidence = split pageLines

    let figures (ls: string list) =
        ls
        |> List.collect (fun l -> [ for m in percent.Matches l -> m.Groups[1].Value ])

    // As numbers, so "61.8%" in prose is the "61.80 %" a table prints.
    let value (f: string) =
        Decimal.Parse(f, Globalization.CultureInfo.InvariantCulture)

    let known = figures evidence |> List.map value |> set

    figures prose
    |> List.filter (fun f -> f.Contains "." && not (known.Contains(value f)))
    |> List.distinct

/// README.md and every docs/*.md, as paths relative to the repository (the names the record uses).
let pages (repo: string) =
    let docs =
        Directory.GetFiles(Path.Combine(repo, "docs"), "*.md")
        |> Array.map (fun p -> "docs/" + Path.GetFileName p)
        |> Array.sort

    Array.append [| "README.md" |] docs
