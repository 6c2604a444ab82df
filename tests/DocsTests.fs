/// The pages agree with docs/record.json, the record of the last `dotnet fsi docs/make.fsx`: every marked block
/// is what its commands printed then, and no page holds a placeholder or a measured figure without its source.
module Functional.Tests.DocsTests

open System
open System.IO
open System.Text.Json
open Expecto
open Functional.Docs.Pages

let private repo = EndToEndTests.repo

let private record () : Entry list =
    JsonSerializer.Deserialize<Entry[]>(File.ReadAllText(Path.Combine(repo, "docs", "record.json")))
    |> List.ofArray

let private pageLines page =
    lines (File.ReadAllText(Path.Combine(repo, page)))

/// Every problem of one page, as lines saying where.
let problems (entries: Entry list) (page: string) (pageLines: string[]) : string list =
    let mine = entries |> List.filter (fun e -> e.Page = page && e.Shown <> "")
    let mutable next = mine

    let blockProblems =
        blocks pageLines
        |> List.collect (fun b ->
            let runs =
                b.Markers
                |> List.choose (function
                    | RunMarker r -> Some r
                    | _ -> None)

            let quoted =
                b.Markers
                |> List.exists (function
                    | Quoted _ -> true
                    | _ -> false)

            let first = b.Lines |> List.tryHead |> Option.defaultValue ""
            let at = sprintf "%s:%d" page (b.Open + 1)

            if runs.IsEmpty then
                if first.StartsWith "$ " && not quoted then
                    [
                        sprintf "%s: a command's output that no marker produces (mark it run: or quoted:)" at
                    ]
                else
                    []
            else
                let found =
                    runs
                    |> List.map (fun r ->
                        match next |> List.tryFindIndex (fun e -> e.Command = r.Command) with
                        | Some i ->
                            let e = next[i]
                            next <- next |> List.skip (i + 1)
                            r, Some e
                        | None -> r, None)

                let missing =
                    found
                    |> List.choose (fun (r, e) ->
                        match e with
                        | None ->
                            Some(sprintf "%s: no record entry for '%s': run dotnet fsi docs/make.fsx" at r.Command)
                        | Some _ -> None)

                let inconsistent =
                    found
                    |> List.choose (fun (r, e) ->
                        match e with
                        | Some e when e.Shown <> shown r e.Output e.Exit ->
                            Some(
                                sprintf
                                    "%s: the record's shown text for '%s' is not its output as marked"
                                    at
                                    r.Command
                            )
                        | _ -> None)

                let expected =
                    found
                    |> List.choose snd
                    |> List.map (fun e -> e.Shown)
                    |> fun s -> String.Join("\n", s)

                let differs =
                    if missing.IsEmpty && String.Join("\n", b.Lines) <> expected then
                        [
                            sprintf
                                "%s: the block differs from what its command printed (docs/record.json): run dotnet fsi docs/make.fsx %s"
                                at
                                page
                        ]
                    else
                        []

                missing @ inconsistent @ differs)

    let placeholderProblems =
        placeholdersIn (String.Join("\n", pageLines))
        |> List.map (fun w -> sprintf "%s holds the placeholder %s" page w)

    let figureProblems =
        unsupportedFigures pageLines
        |> List.map (fun f -> sprintf "%s: the figure %s%% in its prose is in none of its code blocks or tables" page f)

    blockProblems @ placeholderProblems @ figureProblems

let private page (name: string) (text: string) = name, lines text

[<Tests>]
let tests =
    testList
        "Docs"
        [
            testCase "every page agrees with docs/record.json and cites its figures"
            <| fun () ->
                let entries = record ()

                let all =
                    pages repo
                    |> Array.toList
                    |> List.collect (fun p -> problems entries p (pageLines p))

                Expect.isEmpty all (String.Join("\n", all))

            testCase "the README's first lines are the two commands"
            <| fun () ->
                let first =
                    pageLines "README.md" |> Array.truncate 6 |> fun ls -> String.Join("\n", ls)

                Expect.stringContains first "dotnet run --project src/Host -c Release -- train" "the main run"
                Expect.stringContains first "dotnet run --project tests -c Release" "all tests"

            // The checker itself: each rule catches what it is for, on pages made up here.
            testCase "a block edited by hand fails"
            <| fun () ->
                let entry =
                    {
                        Page = "p.md"
                        Command = "functional x"
                        Exit = 0
                        Output = "one\ntwo"
                        Shown = "$ functional x\none\ntwo"
                    }

                let name, good =
                    page "p.md" "text\n<!-- run: functional x -->\n```\n$ functional x\none\ntwo\n```\n"

                Expect.isEmpty (problems [ entry ] name good) "as recorded"

                let _, edited =
                    page "p.md" "<!-- run: functional x -->\n```\n$ functional x\none\n2\n```\n"

                Expect.hasLength (problems [ entry ] name edited) 1 "one line edited"
                Expect.isNonEmpty (problems [] name good) "no record entry"

            testCase "an elided block is checked against the whole output"
            <| fun () ->
                let output = String.Join("\n", [ 1..10 ] |> List.map string)

                let run =
                    {
                        Command = "functional y"
                        Keep = Some(2, 1)
                    }

                let entry =
                    {
                        Page = "p.md"
                        Command = run.Command
                        Exit = 3
                        Output = output
                        Shown = shown run output 3
                    }

                Expect.equal entry.Shown ("$ functional y\n1\n2\n" + elisionLine 7 + "\n10\n[exit 3]") "cut as marked"

                let _, text =
                    page "p.md" ("<!-- run head=2 tail=1: functional y -->\n```\n" + entry.Shown + "\n```\n")

                Expect.isEmpty (problems [ entry ] "p.md" text) "as recorded"

                Expect.isNonEmpty
                    (problems
                        [
                            { entry with
                                Shown = "$ functional y\n1\n2\n10"
                            }
                        ]
                        "p.md"
                        text)
                    "a record whose shown text is not its output as marked"

            testCase "unmarked output, placeholders and unsourced figures fail"
            <| fun () ->
                let check text = problems [] "p.md" (lines text)
                Expect.hasLength (check "```\n$ functional train\nok\n```\n") 1 "an unmarked command's output"
                Expect.isEmpty (check "<!-- quoted: measured elsewhere -->\n```\n$ functional train\n```\n") "quoted"
                Expect.hasLength (check ("it takes about " + "RUN" + "TIME s")) 1 "a placeholder"
                Expect.hasLength (check "it reaches 97.45% on the test set") 1 "a figure with no source"

                Expect.isEmpty
                    (check "it reaches 97.45% on it\n\n| run | accuracy |\n|---|---|\n| a | 97.45 % |\n")
                    "a figure from a table row"

                Expect.isEmpty (check "a tenth, 10%, is held out") "whole percentages are not measured figures"

                Expect.hasLength
                    (check "```\naccuracy 97.45%\n```\n<!-- 98.10% in a comment -->\nit is 98.10%\n")
                    1
                    "a comment is not a source"
        ]
