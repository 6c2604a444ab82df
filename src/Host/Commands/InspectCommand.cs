using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional inspect MODEL [--rehash]</c>: what a model file says about itself, and whether its tensors
/// still match their hash; <c>--rehash</c> accepts tensors changed elsewhere by writing their hash.
/// </summary>
public static class InspectCommand
{
    public static int Run(InspectOptions o)
    {
        string path = ModelFile.Resolve(o.Model);
        var (tensors, metadata) = Safetensors.Read(path);
        // Loading checks everything but the hash: the spec, every tensor's name and shape.
        var model = ModelFile.Load(path, checkHash: false);
        string actual = Safetensors.TensorHash(tensors);
        string? stored = metadata.GetValueOrDefault("tensor_sha256");
        var log = Console.Out;
        log.WriteLine($"model           {path}");
        log.WriteLine($"format          {metadata.GetValueOrDefault("format", "(none)")}");
        foreach (var (k, v) in ModelFile.Describe(model))
        {
            log.WriteLine($"{k,-15} {v}");
        }
        log.WriteLine($"precision       {model.Spec.PrecisionName}");
        log.WriteLine($"parameters      {model.ParameterCount:N0}");
        foreach (var t in tensors)
        {
            log.WriteLine($"tensor          {t.Name} {t.Dtype} [{string.Join(",", t.Shape)}]");
        }
        if (stored == actual)
        {
            log.WriteLine($"tensor_sha256   {actual} (matches the tensors)");
            return ReturnCode.Ok;
        }
        if (!o.Rehash)
        {
            log.WriteLine($"tensor_sha256   {stored ?? "(none)"} does NOT match the tensors ({actual}); accept them with --rehash");
            return ReturnCode.CheckFailed;
        }
        // The model as loaded, saved again: today's metadata, the stored extras kept, the new hash.
        var described = ModelFile.Describe(model);
        var extra = metadata.Where(kv => kv.Key is not ("format" or "spec" or "tensor_sha256") && !described.ContainsKey(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        ModelFile.Save(path, model, extra.Count > 0 ? extra : null);
        string written = Safetensors.TensorHash(ModelFile.ToSafetensors(model.Tensors()));
        log.WriteLine($"tensor_sha256   {written} (was {stored ?? "none"}): written, the tensors are accepted as they are");
        return ReturnCode.Ok;
    }
}
