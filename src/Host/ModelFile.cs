using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functional.Host;

/// <summary>
/// model.safetensors: tensors <c>layers.{i}.weight</c> [out,in] and <c>layers.{i}.bias</c> [out], row-major,
/// F32 or F64; <c>__metadata__</c> holds <c>format</c>, the network <c>spec</c> as JSON and a tensor hash.
/// Python's safetensors and PyTorch read it as is.
/// </summary>
public static class ModelFile
{
    public const string Format = "functional.model/1";
    public const string FileName = "model.safetensors";

    public static void Save(string path, Model model, IReadOnlyDictionary<string, string>? extra = null)
    {
        var tensors = ToSafetensors(model.Tensors());
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["spec"] = SpecJson(model.Spec).ToJsonString(),
            ["tensor_sha256"] = Safetensors.TensorHash(tensors),
        };
        if (extra != null)
        {
            foreach (var (k, v) in extra)
            {
                metadata[k] = v;
            }
        }
        Safetensors.Write(path, tensors, metadata);
    }

    public static List<Safetensors.Tensor> ToSafetensors(IEnumerable<NamedArray> arrays) =>
        arrays.Select(a => a.Float32 is { } f
            ? Safetensors.Tensor.FromFloats(a.Name, a.Shape.Select(d => (long)d).ToArray(), f)
            : Safetensors.Tensor.FromDoubles(a.Name, a.Shape.Select(d => (long)d).ToArray(), a.Float64)).ToList();

    /// <summary>The core's view of F32/F64 tensors read from <paramref name="path"/> (any other dtype is bad data).</summary>
    public static NamedArray[] ToNamedArrays(string path, IEnumerable<Safetensors.Tensor> tensors) =>
        tensors.Select(t => t.Dtype switch
        {
            "F32" => new NamedArray(t.Name, t.Shape.Select(d => (int)d).ToArray(), t.ToFloats(), null!),
            "F64" => new NamedArray(t.Name, t.Shape.Select(d => (int)d).ToArray(), null!, t.ToDoubles()),
            _ => throw new DataError(path, $"tensor '{t.Name}' has dtype {t.Dtype}; functional writes F32 or F64"),
        }).ToArray();

    /// <summary>The same model reading its inputs with another scaling (null or its own: unchanged).</summary>
    public static Model WithScale(Model model, string? scale)
    {
        var s = model.Spec;
        return scale == null || scale == s.Scale
            ? model
            : Api.LoadModel(new ModelSpec(s.Sizes, s.Hidden, s.Output, s.Bias, scale, s.Precision), model.Tensors());
    }

    public static JsonObject SpecJson(ModelSpec spec) => new()
    {
        ["sizes"] = new JsonArray(spec.Sizes.Select(s => (JsonNode)s).ToArray()),
        ["hidden"] = spec.Hidden,
        ["output"] = spec.Output,
        ["bias"] = spec.Bias,
        ["scale"] = spec.Scale,
        ["precision"] = spec.Precision,
    };

    /// <summary>A model file, or the model.safetensors of a run folder.</summary>
    public static string Resolve(string path) =>
        Directory.Exists(path) ? Path.Combine(path, FileName) : path;

    public static Model Load(string path)
    {
        path = Resolve(path);
        var (tensors, metadata) = Safetensors.Read(path);
        if (!metadata.TryGetValue("spec", out string? specText))
        {
            throw new DataError(path, "no network spec in __metadata__ (not a model written by functional)");
        }
        if (metadata.TryGetValue("tensor_sha256", out string? hash) && hash != Safetensors.TensorHash(tensors))
        {
            throw new DataError(path, "tensor bytes do not match the tensor_sha256 in __metadata__ (corrupted file)");
        }
        ModelSpec spec;
        try
        {
            var o = JsonNode.Parse(specText)!.AsObject();
            spec = new ModelSpec(
                o["sizes"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray(),
                o["hidden"]!.GetValue<string>(),
                o["output"]!.GetValue<string>(),
                o["bias"]!.GetValue<bool>(),
                o["scale"]!.GetValue<string>(),
                o["precision"]!.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new DataError(path, $"the network spec in __metadata__ is not valid: {e.Message}");
        }
        var arrays = ToNamedArrays(path, tensors);
        try
        {
            return Api.LoadModel(spec, arrays);
        }
        catch (ArgumentException e)
        {
            throw new DataError(path, e.Message);
        }
    }
}
