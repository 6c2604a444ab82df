using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functional.Host;

/// <summary>
/// model.safetensors: tensors <c>layers.{i}.weight</c> ([out,in] for dense layers, [out,in,kh,kw] for convolutions)
/// and <c>layers.{i}.bias</c> [out], row-major, F32 or F64, i being the layer's position in the architecture;
/// <c>__metadata__</c> holds <c>format</c>, the network <c>spec</c> as JSON (<c>arch</c> in the --arch syntax,
/// <c>scale</c>, <c>precision</c>) and a tensor hash. Files written before architectures (<c>sizes</c>,
/// <c>hidden</c>, <c>output</c>, <c>bias</c>) still load.
/// Python's safetensors and PyTorch read it as is.
/// </summary>
public static class ModelFile
{
    /// <summary>2: the self-description below and the scale named <c>book</c> (was <c>seed</c>); /1 files still load.</summary>
    public const string Format = "functional.model/2";
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
        foreach (var (k, v) in Describe(model))
        {
            metadata[k] = v;
        }
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

    /// <summary>The same model reading its inputs with another scaling (None or its own: unchanged).</summary>
    public static Model WithScale(Model model, Microsoft.FSharp.Core.FSharpOption<Functional.Data.Scale>? scale) =>
        scale == null || scale.Value.Equals(model.Spec.Scale)
            ? model
            : Api.Models.LoadModel(model.Spec.WithScale(scale.Value), model.Tensors());

    public static JsonObject SpecJson(ModelSpec spec)
    {
        var o = new JsonObject();
        foreach (var (k, v) in Api.Models.ModelSpecFields(spec))
        {
            o[k] = v;
        }
        return o;
    }

    /// <summary>
    /// What the model is, for readers without this project (model files and ONNX metadata alike): the layers in
    /// the --arch syntax, the input transform as a formula of a pixel x in 0..255, the class names, and what the
    /// outputs are.
    /// </summary>
    public static Dictionary<string, string> Describe(Model model, IReadOnlyList<string>? classNames = null)
    {
        var spec = model.Spec;
        return new Dictionary<string, string>
        {
            ["architecture"] = spec.ArchText,
            ["input_shape"] = string.Join(",", spec.Arch.Input),
            ["input_transform"] = Api.Data.ScaleFormula(spec.Scale),
            ["classes"] = classNames is { } names && names.Count == spec.Classes
                ? string.Join(",", names)
                : string.Join(",", Enumerable.Range(0, spec.Classes)),
            ["outputs"] = OutputsText(spec),
        };
    }

    /// <summary>The class names in a model file's metadata (<c>classes</c>), or "0".."N-1" when it has none that fit.</summary>
    public static string[] ClassNames(string path, Model model)
    {
        // The data info keeps names as a JSON array, so a name with a comma in it survives; "classes" joins them.
        // A network given more outputs than the data had classes (--layers 784,16,10 on a folder of 4) keeps its
        // names for the classes it saw; the others are their numbers.
        if (ReadDataInfo(path) is { ClassNames: { } fromInfo } info && fromInfo.Length <= model.Spec.Classes)
        {
            return [.. Enumerable.Range(0, model.Spec.Classes).Select(info.NameOf)];
        }
        var (_, metadata) = Safetensors.Read(Resolve(path));
        string[]? names = metadata.TryGetValue("classes", out string? text) ? text.Split(',') : null;
        return names is { } n && n.Length == model.Spec.Classes
            ? n
            : Enumerable.Range(0, model.Spec.Classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>What the output values are: probabilities only when they are a softmax's.</summary>
    public static string OutputsText(ModelSpec spec) => Api.Models.OutputActivation(spec.Arch) switch
    {
        var a when a.IsSoftmax => "softmax probabilities (sum to 1)",
        var a when a.IsSigmoid => "sigmoid outputs, one per class in 0..1 (they do not sum to 1)",
        var a => $"{Api.Models.ActivationName(a)} outputs, one per class",
    };

    /// <summary>A model file, or the model.safetensors of a run folder.</summary>
    public static string Resolve(string path) =>
        Directory.Exists(path) ? Path.Combine(path, FileName) : path;

    public static Model Load(string path) => Load(path, checkHash: true);

    /// <summary>The data info (class names, a table's transform) the model file carries; null when it has none.</summary>
    public static Data.DataInfo? ReadDataInfo(string path)
    {
        path = Resolve(path);
        var (_, metadata) = Safetensors.Read(path);
        return Data.DataInfo.OfModel(path, metadata);
    }

    /// <summary>As <see cref="Load(string)"/>; without <paramref name="checkHash"/> tensors edited elsewhere load too
    /// (for <c>inspect --rehash</c>, which then writes their hash).</summary>
    public static Model Load(string path, bool checkHash)
    {
        path = Resolve(path);
        var (tensors, metadata) = Safetensors.Read(path);
        if (!metadata.TryGetValue("spec", out string? specText))
        {
            throw new DataError(path, "no network spec in __metadata__ (not a model written by functional)");
        }
        // Before the hash: a file of F16 or I64 tensors is refused for its dtype, not sent to --rehash, which refuses it too.
        var arrays = ToNamedArrays(path, tensors);
        if (checkHash && metadata.TryGetValue("tensor_sha256", out string? hash) && hash != Safetensors.TensorHash(tensors))
        {
            throw new DataError(path,
                "the tensors do not match the tensor_sha256 in __metadata__: they were changed after the file was written "
                + $"(edited elsewhere, or damaged). If the change is yours, accept it with: functional inspect {path} --rehash");
        }
        Api.Checked<ModelSpec> spec;
        try
        {
            var o = JsonNode.Parse(specText)?.AsObject() ?? throw new FormatException("empty spec");
            spec = Api.Models.ModelSpecOfFields(key => o[key] switch
            {
                null => null,
                JsonArray a => string.Join(",", a.Select(n => n?.ToString())),
                JsonValue v when v.TryGetValue(out string? s) => s,
                JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
                JsonNode n => n.ToJsonString(),
            });
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DataError(path, $"the network spec in __metadata__ is not valid: {e.Message}");
        }
        if (!spec.Ok)
        {
            throw new DataError(path, $"the network spec in __metadata__ is not valid: {spec.Error}");
        }
        if (Api.Models.TensorsProblem(spec.Value.Arch, arrays, "") is { } problem)
        {
            throw new DataError(path, problem);
        }
        if (checkHash && NonFinite(arrays) is { } bad)
        {
            // Its outputs would all be NaN and the arg-max class 0: eval would print ~10% as if the model were merely bad.
            throw new DataError(path, $"tensor '{bad.Name}' holds {bad.Count:N0} NaN or infinite values: its outputs would be NaN (look with: functional inspect {path})");
        }
        return Api.Models.LoadModel(spec.Value, arrays);
    }

    static (string Name, int Count)? NonFinite(NamedArray[] arrays)
    {
        foreach (var a in arrays)
        {
            int n = a.Float32 is { } f ? f.Count(x => !float.IsFinite(x)) : a.Float64.Count(x => !double.IsFinite(x));
            if (n > 0)
            {
                return (a.Name, n);
            }
        }
        return null;
    }
}
