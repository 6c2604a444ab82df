// Writes every command output shown in README.md and docs/*.md, and docs/record.json, by running the commands the
// pages mark: `dotnet fsi docs/make.fsx` after `dotnet build src/Host -c Release` (all pages), or
// `dotnet fsi docs/make.fsx docs/debugging.md` (some pages; the other pages' record entries are kept).
//
// A marker is an HTML comment on its own line:
//   <!-- run: functional show --count 10 -->            just above a ``` block: the block becomes "$ command" and
//   <!-- run head=4 tail=6: functional train -->        its output (head/tail: only the first and last lines, with
//                                                        one line saying how many were left out)
//   <!-- setup: functional train --epochs 1 --run runs/a --quiet -->   runs, output recorded but not shown
//   <!-- quoted: measured on ..., not re-run -->        a block copied from a measurement too heavy to repeat
// `functional` is this worktree's src/Host/bin/Release/net10.0/functional.dll. Each page's commands run in order,
// with bash, in a fresh scratch folder of their own that links data/ and docs/ from the repository, so paths in
// the output are relative ones; the scratch folder's absolute path is removed from the output wherever it appears.
// A command that exits non-zero gets "[exit N]" after its output. tests/DocsTests.fs checks the pages against the
// record; it never runs a command.
#load "Pages.fs"

open System
open System.Diagnostics
open System.IO
open System.Text.Encodings.Web
open System.Text.Json
open System.Text.RegularExpressions
open Functional.Docs.Pages

let repo = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))

let dll =
    Path.Combine(repo, "src", "Host", "bin", "Release", "net10.0", "functional.dll")

if not (File.Exists dll) then
    eprintfn "docs/make.fsx: %s is missing: run 'dotnet build src/Host -c Release' first" dll
    exit 2

let recordPath = Path.Combine(repo, "docs", "record.json")

let jsonOptions =
    JsonSerializerOptions(WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping)

let readRecord () : Entry list =
    if File.Exists recordPath then
        JsonSerializer.Deserialize<Entry[]>(File.ReadAllText recordPath, jsonOptions)
        |> List.ofArray
    else
        []

let ansi = Regex(@"\x1b\[[0-9;?]*[A-Za-z]")

/// Runs one command line with bash in the page's scratch folder, functional on the PATH; stdout and stderr in one.
let run (scratch: string) (command: string) : int * string =
    let psi = ProcessStartInfo("bash", [| "-c"; command + " 2>&1" |])
    psi.WorkingDirectory <- scratch
    psi.RedirectStandardOutput <- true
    psi.UseShellExecute <- false
    psi.Environment["PATH"] <- Path.Combine(scratch, ".bin") + ":" + psi.Environment["PATH"]
    psi.Environment["CI"] <- "true" // plain lines: no progress bar, whatever runs this
    use p = Process.Start psi
    let output = p.StandardOutput.ReadToEnd()
    p.WaitForExit()

    let clean =
        ansi.Replace(output, "").Replace(scratch + "/", "").Replace(scratch, ".").Split('\n')
        |> Array.map (fun l -> l.TrimEnd())

    p.ExitCode, String.Join("\n", clean).TrimEnd('\n')

let scratchFor (page: string) =
    let dir =
        Path.Combine(Path.GetTempPath(), "functional-docs", page.Replace('/', '-').Replace(".md", ""))

    if Directory.Exists dir then
        Directory.Delete(dir, true)

    Directory.CreateDirectory(Path.Combine(dir, ".bin")) |> ignore

    for link in [ "data"; "docs" ] do
        Directory.CreateSymbolicLink(Path.Combine(dir, link), Path.Combine(repo, link))
        |> ignore

    let wrapper = Path.Combine(dir, ".bin", "functional")
    File.WriteAllText(wrapper, sprintf "#!/usr/bin/env bash\nexec dotnet %s \"$@\"\n" dll)
    File.SetUnixFileMode(wrapper, UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.UserExecute)
    dir

/// Timings and speeds, the fields two regenerations may differ in; only used to say which blocks changed.
let masked (text: string) =
    let t = Regex.Replace(text, @"\d[\d,]*(\.\d+)?\s?(s|ms|ex/s|examples/s)\b", "<t>")
    Regex.Replace(t, @"load average.*", "<load>")

/// Runs a page's commands and writes its blocks; returns its record entries.
let make (page: string) (previous: Entry list) : Entry list =
    let path = Path.Combine(repo, page)
    let pageLines = lines (File.ReadAllText path)
    let scratch = scratchFor page
    let entries = ResizeArray<Entry>()

    for m in commands pageLines do
        let command, run' =
            match m with
            | RunMarker r -> r.Command, Some r
            | Setup c -> c, None
            | Quoted _ -> failwith "not a command"

        let watch = Stopwatch.StartNew()
        let code, output = run scratch command

        let shownText =
            match run' with
            | Some r -> shown r output code
            | None -> ""

        let before =
            previous |> List.tryFind (fun e -> e.Page = page && e.Command = command)

        let changed =
            match before with
            | None -> "new"
            | Some e when masked e.Output = masked output && e.Exit = code -> "same but timings"
            | Some _ -> "CHANGED"

        printfn "%s: %s (exit %d, %.1f s, %s)" page command code watch.Elapsed.TotalSeconds changed

        entries.Add
            {
                Page = page
                Command = command
                Exit = code
                Output = output
                Shown = shownText
            }

    let runs = entries |> Seq.filter (fun e -> e.Shown <> "") |> List.ofSeq

    // Replace each marked block's lines, from the last block up so earlier indexes stay valid.
    let mutable text = List.ofArray pageLines
    let mutable next = runs

    let edits =
        blocks pageLines
        |> List.choose (fun b ->
            let rs =
                b.Markers
                |> List.choose (function
                    | RunMarker r -> Some r
                    | _ -> None)

            if rs.IsEmpty then
                None
            else
                let mine = next |> List.take rs.Length
                next <- next |> List.skip rs.Length
                Some(b, String.Join("\n", mine |> List.map (fun e -> e.Shown))))

    for b, content in List.rev edits do
        text <- (text |> List.take (b.Open + 1)) @ [ content ] @ (text |> List.skip b.Close)

    File.WriteAllText(path, String.Join("\n", text))
    List.ofSeq entries

let asked = fsi.CommandLineArgs |> Array.skip 1

let chosen =
    if asked.Length = 0 then
        pages repo
    else
        asked |> Array.map (fun p -> Path.GetRelativePath(repo, Path.GetFullPath p))

let previous = readRecord ()

let made =
    chosen
    |> Array.filter (fun page -> commands (lines (File.ReadAllText(Path.Combine(repo, page)))) <> [])
    |> Array.collect (fun page -> make page previous |> Array.ofList)

let kept = previous |> List.filter (fun e -> not (Array.contains e.Page chosen))

let all =
    let order = pages repo |> Array.toList

    kept @ List.ofArray made
    |> List.sortBy (fun e -> List.tryFindIndex ((=) e.Page) order |> Option.defaultValue Int32.MaxValue)

File.WriteAllText(recordPath, JsonSerializer.Serialize(Array.ofList all, jsonOptions) + "\n")
printfn "docs/record.json: %d entries" all.Length
