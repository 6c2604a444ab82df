using System.Globalization;
using System.Text.Json.Nodes;
using Functional.Cli;

namespace Functional.Host.Commands;

/// <summary>
/// <c>functional inspect FILE [--json] [--rehash]</c>: what any safetensors file holds (its metadata, and every
/// tensor's dtype, shape and statistics); for a model file also what it says about itself and whether its tensors
/// still match their hash. <c>--rehash</c> accepts a model's tensors changed elsewhere by writing their hash.
/// </summary>
public static class InspectCommand
{
    public static int Run(InspectOptions o)
    {
        string path = ModelFile.Resolve(o.Model);
        var (tensors, metadata) = Safetensors.Read(path);
        bool isModel = metadata.TryGetValue("format", out string? format) && format.StartsWith("functional.model/", StringComparison.Ordinal);
        // Loading checks everything but the hash: the spec, every tensor's name and shape.
        var model = isModel ? ModelFile.Load(path, checkHash: false) : null;
        string actual = Safetensors.TensorHash(tensors);
        string? stored = metadata.GetValueOrDefault("tensor_sha256");
        var stats = tensors.Select(TensorStats.Of).ToList();
        if (o.Json)
        {
            Console.Out.WriteLine(Json(path, tensors, stats, metadata, model, stored, actual).ToJsonString());
        }
        else
        {
            Print(path, tensors, stats, metadata, model);
        }
        if (stored == null || stored == actual)
        {
            if (!o.Json)
            {
                Console.Out.WriteLine(stored == null ? "tensor_sha256   (none in the metadata)" : $"tensor_sha256   {actual} (matches the tensors)");
            }
            return ReturnCode.Ok;
        }
        if (!o.Rehash || model == null)
        {
            string how = model == null ? "" : "; accept them with --rehash";
            (o.Json ? Console.Error : Console.Out).WriteLine($"tensor_sha256   {stored} does NOT match the tensors ({actual}){how}");
            return ReturnCode.CheckFailed;
        }
        // The model as loaded, saved again: today's metadata, the stored extras kept, the new hash.
        var described = ModelFile.Describe(model);
        var extra = metadata.Where(kv => kv.Key is not ("format" or "spec" or "tensor_sha256") && !described.ContainsKey(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        // Describe alone numbers the classes: the names the file had are kept.
        extra["classes"] = ModelFile.Describe(model, ModelFile.ClassNames(path, model))["classes"];
        ModelFile.Save(path, model, extra.Count > 0 ? extra : null);
        string written = Safetensors.TensorHash(ModelFile.ToSafetensors(model.Tensors()));
        (o.Json ? Console.Error : Console.Out).WriteLine($"tensor_sha256   {written} (was {stored}): written, the tensors are accepted as they are");
        return ReturnCode.Ok;
    }

    static void Print(string path, IReadOnlyList<Safetensors.Tensor> tensors, List<TensorStats> stats,
        IReadOnlyDictionary<string, string> metadata, Model? model)
    {
        var log = Console.Out;
        log.WriteLine($"file            {path}");
        log.WriteLine($"format          {metadata.GetValueOrDefault("format", "(none)")}");
        if (model != null)
        {
            foreach (var (k, v) in ModelFile.Describe(model, ModelFile.ClassNames(path, model)))
            {
                log.WriteLine($"{k,-15} {v}");
            }
            log.WriteLine($"precision       {model.Spec.PrecisionName}");
            log.WriteLine($"parameters      {model.ParameterCount:N0}");
        }
        foreach (var (k, v) in metadata.Where(kv => kv.Key is not ("format" or "tensor_sha256")).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (model == null || !ModelFile.Describe(model).ContainsKey(k))
            {
                log.WriteLine($"metadata        {k} = {v}");
            }
        }
        log.WriteLine($"tensors         {tensors.Count}, {stats.Sum(s => s.Count):N0} values");
        int width = Math.Max(6, tensors.Select(t => t.Name.Length).DefaultIfEmpty(0).Max());
        log.WriteLine($"  {"name".PadRight(width)}  dtype  {"shape",-14}  {"min",10}  {"max",10}  {"mean",10}  {"std",10}  non-finite");
        for (int i = 0; i < tensors.Count; i++)
        {
            var (t, s) = (tensors[i], stats[i]);
            log.WriteLine($"  {t.Name.PadRight(width)}  {t.Dtype,-5}  {Shape(t),-14}  {Num(s.Min),10}  {Num(s.Max),10}  {Num(s.Mean),10}  {Num(s.Std),10}  {s.NonFinite,10}");
        }
    }

    static JsonObject Json(string path, IReadOnlyList<Safetensors.Tensor> tensors, List<TensorStats> stats,
        IReadOnlyDictionary<string, string> metadata, Model? model, string? stored, string actual)
    {
        var meta = new JsonObject();
        foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            meta[k] = v;
        }
        var list = new JsonArray();
        for (int i = 0; i < tensors.Count; i++)
        {
            var (t, s) = (tensors[i], stats[i]);
            list.Add(new JsonObject
            {
                ["name"] = t.Name,
                ["dtype"] = t.Dtype,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["count"] = s.Count,
                ["min"] = s.Min,
                ["max"] = s.Max,
                ["mean"] = s.Mean,
                ["std"] = s.Std,
                ["non_finite"] = s.NonFinite,
            });
        }
        var o = new JsonObject
        {
            ["file"] = Path.GetFullPath(path),
            ["metadata"] = meta,
            ["tensors"] = list,
            ["tensor_sha256"] = new JsonObject { ["stored"] = stored, ["actual"] = actual, ["matches"] = stored == null ? null : stored == actual },
        };
        if (model != null)
        {
            o["model"] = new JsonObject
            {
                ["precision"] = model.Spec.PrecisionName,
                ["parameters"] = model.ParameterCount,
            };
        }
        return o;
    }

    static string Shape(Safetensors.Tensor t) => "[" + string.Join(",", t.Shape) + "]";

    static string Num(double? v) => v is double d ? Api.Display.Small(d) : "-";
}
