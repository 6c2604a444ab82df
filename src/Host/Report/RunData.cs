using Functional.Host.Data;
using Functional.Host.Runs;
using Functional.Host.Sweeps;

namespace Functional.Host.Report;

/// <summary>
/// Everything the report reads of one run folder, each part on its own: a missing or corrupt file costs the parts
/// that need it, and <see cref="Problems"/> says which file and what is wrong, so the page still shows the rest.
/// </summary>
public sealed class RunData
{
    public required string Dir { get; init; }
    public required string Label { get; init; }
    public RunFile? Run { get; private set; }
    public RunRecord? Record { get; private set; }
    public RunHistory? History { get; private set; }
    public List<string>? Header { get; private set; }
    public LabeledImages? Test { get; private set; }
    public Model? Model { get; private set; }
    public Evaluation? Evaluation { get; private set; }

    /// <summary>The model's outputs on the test set, [count, classes] row-major.</summary>
    public double[]? Outputs { get; private set; }

    public List<string> Problems { get; } = [];

    readonly HashSet<string> problemFiles = [];

    /// <summary>Warnings the readers printed (a torn journal line, a test file changed since the run).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Whether a folder is a run's (or what is left of one): it holds one of the files training writes.</summary>
    public static bool IsRun(string dir) =>
        Directory.Exists(dir)
        && (File.Exists(Path.Combine(dir, RunFile.FileName)) || File.Exists(Path.Combine(dir, Journal.FileName))
            || File.Exists(Path.Combine(dir, ModelFile.FileName)) || Directory.Exists(Path.Combine(dir, Checkpoints.Folder)));

    /// <summary>Reads the folder; with <paramref name="evaluate"/> also loads the model and test set and evaluates
    /// (a comparison of many runs needs only their curves).</summary>
    public static RunData Load(string dir, string label, bool evaluate)
    {
        var d = new RunData { Dir = dir, Label = label };
        var warnings = new StringWriter();
        d.Try(() => d.Record = RunRecord.Read(dir, label));
        d.Try(() => d.Run = RunFile.Read(dir));
        d.Try(() => d.History = RunHistory.Load(dir));
        if (d.History is null)
        {
            // One corrupt file of the two: the curves of the other.
            string journal = Path.Combine(dir, Journal.FileName);
            bool runOk = d.Record is not null;
            d.Try(() => d.History = RunHistory.Load(dir, readRun: runOk, readJournal: runOk ? false : File.Exists(journal)));
        }
        if (d.Run is { } run)
        {
            d.Try(() => d.LoadData(run, warnings));
        }
        if (evaluate)
        {
            d.Try(() => d.Model = ModelFile.Load(dir));
            if (d.Model is { } model && d.Test is { } test)
            {
                d.Try(() =>
                {
                    Inputs.CheckFits(test, model.Spec);
                    var images = Inputs.ToCore(test);
                    d.Evaluation = model.Evaluate(images);
                    d.Outputs = model.OutputsAll(images);
                });
            }
        }
        d.Warnings.AddRange(warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return d;
    }

    void LoadData(RunFile run, TextWriter warnings)
    {
        try
        {
            var (train, validation, test) = run.LoadSplit(warnings);
            Test = test;
            Header = TrainHeader.Lines(run.Config, run.Epochs, run.Preset, train, run.Validation, validation, test, run.Data, run.Blas);
        }
        catch (DataError e)
        {
            // The training files moved or changed: the test set alone still gives the confusion matrix.
            Problems.Add(e.Message);
            var table = run.Data?.TableOptions ?? TableOptions.Default;
            var test = DataFiles.Load(run.TestImages.Path, run.TestLabels.Path, table, run.Data?.ClassNames, run.Resize);
            Test = run.Data is { } info ? info.Apply(test) : test;
        }
    }

    /// <summary>Runs one part; a bad file becomes a problem line instead of the end of the page.</summary>
    void Try(Action part)
    {
        try
        {
            part();
        }
        catch (Exception e) when (e is DataError or IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or UsageError)
        {
            // One line per file: run.json is read three ways, and a corrupt one would otherwise be said three times.
            if (e is not DataError { FilePath: var file } || problemFiles.Add(Path.GetFullPath(file)))
            {
                Problems.Add(e.Message);
            }
        }
    }
}
