using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary><c>functional import FILE.safetensors --arch DESCRIPTION</c>: a PyTorch nn.Sequential as a model file.</summary>
public static class ImportCommand
{
    public static int Run(ImportOptions o)
    {
        string output = o.Out ?? DefaultOut(o.File);
        Runs.RunFiles.CheckNotRunFile(output, "--out");
        if (File.Exists(output))
        {
            throw new UsageError($"{output} exists; import writes a new file: remove it or give another --out");
        }
        var (tensors, _) = Safetensors.Read(o.File);
        var (named, precision) = SequentialImport.Map(o.File, o.Arch, tensors);
        var model = Api.Models.LoadModel(new ModelSpec(o.Arch, o.Scale, precision), named);
        ModelFile.Save(output, model, new Dictionary<string, string> { ["imported_from"] = Path.GetFileName(o.File) });
        Console.Out.WriteLine($"model {output}: {model.Spec.LayersText}, {model.Spec.PrecisionName}, {model.ParameterCount:N0} parameters from {o.File}, input {Api.Data.ScaleFormula(o.Scale)}");
        return ReturnCode.Ok;
    }

    static string DefaultOut(string file)
    {
        string stem = Path.GetFileName(file);
        if (stem.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            stem = stem[..^".safetensors".Length];
        }
        return Path.Combine(Path.GetDirectoryName(file) ?? "", stem + ".model.safetensors");
    }
}
