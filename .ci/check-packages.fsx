// Every package in a feed folder has its readme, its licence and, for a library, the XML docs of each of its
// assemblies (what a feed's page and an editor's tooltips show). One line per problem; exit 1 when any.
// Run: dotnet fsi .ci/check-packages.fsx FEED_DIR
open System.IO
open System.IO.Compression
open System.Xml.Linq

let feed = fsi.CommandLineArgs[1]

// The owners have not chosen a licence yet (no LICENSE file at the root): a package cannot carry one it does not
// have, which is said once below rather than counted as a fault of the packaging. Once a LICENSE exists,
// Directory.Build.props packs it and a package without it fails here.
let repositoryHasLicence =
    Directory.GetFiles(Path.Combine(__SOURCE_DIRECTORY__, ".."), "LICENSE*").Length > 0

let problems (nupkg: string) =
    use zip = ZipFile.OpenRead nupkg
    let names = zip.Entries |> Seq.map _.FullName |> Set.ofSeq
    let nuspec = zip.Entries |> Seq.find (fun e -> e.FullName.EndsWith ".nuspec")
    let metadata = XDocument.Load(nuspec.Open()).Root.Elements() |> Seq.head

    let field name =
        metadata.Elements()
        |> Seq.tryFind (fun e -> e.Name.LocalName = name)
        |> Option.map _.Value

    let name = Path.GetFileName nupkg

    [
        match field "readme" with
        | Some f when names.Contains f -> ()
        | Some f -> $"{name}: the readme {f} named in the nuspec is not in the package"
        | None -> $"{name}: no readme"
        match field "license" with
        | Some f when names.Contains f -> ()
        | Some f -> $"{name}: the licence file {f} named in the nuspec is not in the package"
        | None when repositoryHasLicence -> $"{name}: no licence, although the repository has a LICENSE file"
        | None -> ()
        for dll in names |> Seq.filter (fun n -> n.StartsWith "lib/" && n.EndsWith ".dll") do
            if not (names.Contains(dll[.. dll.Length - 5] + ".xml")) then
                $"{name}: {dll} has no XML docs beside it"
    ]

let packages = Directory.GetFiles(feed, "*.nupkg")

if packages.Length = 0 then
    eprintfn "no package in %s" feed
    exit 1

if not repositoryHasLicence then
    printfn "note: the repository has no LICENSE file, so no package carries a licence"

let found = packages |> Array.collect (problems >> Array.ofList)
found |> Array.iter (printfn "%s")
printfn "%d packages, %d problems" packages.Length found.Length
exit (if found.Length = 0 then 0 else 1)
