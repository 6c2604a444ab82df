// The README's and docs/report.md's screenshots of `functional report`: trains two small runs and a small sweep in a
// temporary folder, writes their pages and has headless Chromium photograph them into docs/images/ (report-run.png,
// report-compare.png, report-sweep.png at 1280×800, report-phone.png at a phone's 390×844). About a minute.
// Build once first (CI does): dotnet build src/Host -c Release
// Then: dotnet fsi scripts/screenshots.fsx [OUT-FOLDER]   (default docs/images)
// Needs Debian's chromium (apt-get install -y chromium), or the browser FUNCTIONAL_CHROMIUM names.

open System
open System.Diagnostics
open System.IO

let repo = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))

let cli =
    Path.Combine(repo, "src", "Host", "bin", "Release", "net10.0", "functional.dll")

let out =
    match fsi.CommandLineArgs |> Array.skip 1 with
    | [| dir |] -> Path.GetFullPath dir
    | _ -> Path.Combine(repo, "docs", "images")

let fail (line: string) =
    eprintfn "screenshots.fsx: %s" line
    exit 1

let chromium =
    let named = Environment.GetEnvironmentVariable "FUNCTIONAL_CHROMIUM"

    let onPath =
        (Environment.GetEnvironmentVariable "PATH"
         |> Option.ofObj
         |> Option.defaultValue "")
            .Split
            ':'
        |> Seq.collect (fun dir ->
            [ "chromium"; "chromium-browser"; "google-chrome" ]
            |> Seq.map (fun n -> Path.Combine(dir, n)))

    match
        Seq.append (if String.IsNullOrEmpty named then [] else [ named ]) onPath
        |> Seq.tryFind File.Exists
    with
    | Some path -> path
    | None ->
        fail
            "chromium not found on PATH (nor FUNCTIONAL_CHROMIUM): install it (apt-get install -y chromium) to take the screenshots"

if not (File.Exists cli) then
    fail $"%s{cli} not found: build the CLI first (dotnet build src/Host -c Release)"

/// Runs a program in a folder; a failure ends the script with its stderr.
let runIn (dir: string) (file: string) (args: string list) =
    let psi =
        ProcessStartInfo(file, WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true)

    for a in args do
        psi.ArgumentList.Add a

    use p = Process.Start psi
    let stdout = p.StandardOutput.ReadToEndAsync()
    let stderr = p.StandardError.ReadToEndAsync()

    if not (p.WaitForExit 180_000) then
        p.Kill true
        fail $"%s{Path.GetFileName file} %s{String.Join(' ', args)}: no answer in 3 minutes"

    if p.ExitCode <> 0 then
        fail
            $"%s{Path.GetFileName file} %s{String.Join(' ', args)} exited with %d{p.ExitCode}: %s{stderr.Result.Trim()}"

    stdout.Result

let functional dir args =
    runIn dir "dotnet" (cli :: args) |> ignore

// One fixed, short folder: the pages show it in their data lines.
let work = Path.Combine(Path.GetTempPath(), "functional-screenshots")

if Directory.Exists work then
    Directory.Delete(work, true)

Directory.CreateDirectory work |> ignore
// The training data beside the runs, so the pictures show no path of this machine's checkout.
Directory.CreateSymbolicLink(Path.Combine(work, "data"), Path.Combine(repo, "data"))
|> ignore

let small =
    [
        "--train"
        "data/train-images-idx3-ubyte.gz"
        "--test"
        "data/test-images-idx3-ubyte.gz"
        "--train-count"
        "3000"
        "--epochs"
        "4"
        "--journal-every"
        "5"
        "--quiet"
    ]

try
    functional work ([ "train"; "--layers"; "784,64,10"; "--run"; "runs/dense-64" ] @ small)

    functional
        work
        ([
            "train"
            "--layers"
            "784,64,10"
            "--lr"
            "0.003"
            "--run"
            "runs/dense-64-lr3e-3"
         ]
         @ small)

    functional
        work
        ([
            "sweep"
            "--name"
            "lr"
            "--layers"
            "784,32,10"
            "--lr"
            "0.0003,0.001,0.003"
            "--jobs"
            "1"
         ]
         @ (small |> List.map (fun a -> if a = "3000" then "1000" else a)))

    functional work [ "report"; "runs/dense-64" ]
    functional work [ "report"; "runs/dense-64"; "runs/dense-64-lr3e-3"; "--out"; "compare.html" ]
    functional work [ "report"; "sweeps/lr" ]
    Directory.CreateDirectory out |> ignore

    let shoot (page: string) (png: string) (size: string) =
        let target = Path.Combine(out, png)
        let profile = Path.Combine(work, "profile-" + Path.GetFileNameWithoutExtension png)

        runIn
            work
            chromium
            [
                "--headless"
                "--disable-gpu"
                "--no-sandbox"
                "--no-first-run"
                "--hide-scrollbars"
                // Nothing may be fetched: a request would go to a dead proxy.
                "--proxy-server=127.0.0.1:9"
                $"--user-data-dir=%s{profile}"
                $"--window-size=%s{size}"
                $"--screenshot=%s{target}"
                Uri(Path.Combine(work, page)).AbsoluteUri
            ]
        |> ignore

        if not (File.Exists target) || FileInfo(target).Length < 10_000L then
            fail $"chromium wrote no screenshot %s{target}"

        printfn "screenshot %s" (Path.GetRelativePath(repo, target))

    shoot "runs/dense-64/report.html" "report-run.png" "1280,800"
    shoot "compare.html" "report-compare.png" "1280,800"
    shoot "sweeps/lr/report.html" "report-sweep.png" "1280,800"
    shoot "runs/dense-64/report.html" "report-phone.png" "390,844"
finally
    Directory.Delete(work, true)
