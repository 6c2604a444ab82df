using System.Text.RegularExpressions;

namespace Functional.Host;

/// <summary>
/// A PyTorch <c>nn.Sequential</c>'s state_dict (saved with safetensors: <c>0.weight</c>, <c>0.bias</c>,
/// <c>2.weight</c>, ..., optionally under one prefix such as <c>net.</c>) as our named tensors. Activations,
/// pooling, flatten and dropout are modules without parameters in PyTorch and settings or parameterless layers
/// here, so the file's modules with parameters, by index, take our layers with parameters in order. PyTorch's
/// layouts are ours ([out, in] and [out, in, kh, kw]): tensors are renamed, never reordered.
/// </summary>
public static partial class SequentialImport
{
    [GeneratedRegex(@"^(?:(?<prefix>.*)\.)?(?<index>\d+)\.(?<param>[A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex ModuleName();

    /// <summary>The tensors renamed to <c>layers.{i}.{name}</c> and their precision.</summary>
    /// <exception cref="DataError">A name that is not a Sequential's, a dtype other than F32/F64, a count or shape
    /// that does not fit <paramref name="arch"/>: the first mismatch, named.</exception>
    public static (NamedArray[] tensors, Precision precision) Map(string path, Functional.Arch.Arch arch, IReadOnlyList<Safetensors.Tensor> tensors)
    {
        if (tensors.Count == 0)
        {
            throw new DataError(path, "holds no tensors");
        }
        var modules = new SortedDictionary<int, Dictionary<string, Safetensors.Tensor>>();
        string? prefix = null;
        foreach (var t in tensors)
        {
            var m = ModuleName().Match(t.Name);
            if (!m.Success)
            {
                throw new DataError(path, $"tensor '{t.Name}' is not named as an nn.Sequential's parameter (INDEX.weight, INDEX.bias)");
            }
            string p = m.Groups["prefix"].Value;
            if (prefix != null && p != prefix)
            {
                throw new DataError(path, $"tensor '{t.Name}' is under '{p}' but the others under '{prefix}': one nn.Sequential per file");
            }
            prefix = p;
            int index = int.Parse(m.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (!modules.TryGetValue(index, out var module))
            {
                modules[index] = module = [];
            }
            module[m.Groups["param"].Value] = t;
        }
        string[] dtypes = tensors.Select(t => t.Dtype).Distinct().ToArray();
        if (dtypes.Length != 1 || dtypes[0] is not ("F32" or "F64"))
        {
            throw new DataError(path, $"tensors of dtype {string.Join(" and ", dtypes)}; import takes F32 or F64 (all one dtype): convert with .float() or .double() first");
        }
        var layerParams = Api.Models.ParameterInfos(arch);
        int[] ours = Enumerable.Range(0, layerParams.Length).Where(l => layerParams[l].Length > 0).ToArray();
        int[] theirs = modules.Keys.ToArray();
        if (ours.Length != theirs.Length)
        {
            throw new DataError(path,
                $"{theirs.Length} modules with parameters ({string.Join(", ", theirs)}) but the architecture has {ours.Length} layers with parameters ("
                + string.Join(", ", ours.Select(l => Api.Display.LayerName(l, Api.Models.LayerText(arch, l)))) + ")");
        }
        var named = new List<NamedArray>();
        for (int k = 0; k < ours.Length; k++)
        {
            int l = ours[k];
            var module = modules[theirs[k]];
            string Theirs(string param) => $"{(prefix is { Length: > 0 } ? prefix + "." : "")}{theirs[k]}.{param}";
            string layer = Api.Display.LayerName(l, Api.Models.LayerText(arch, l));
            foreach (var info in layerParams[l])
            {
                if (!module.Remove(info.Name, out var t))
                {
                    throw new DataError(path, $"no tensor '{Theirs(info.Name)}': {layer} needs its {info.Name} [{string.Join(",", info.Shape)}]");
                }
                if (!t.Shape.Select(d => (int)d).SequenceEqual(info.Shape))
                {
                    throw new DataError(path,
                        $"tensor '{t.Name}' has shape [{string.Join(",", t.Shape)}] but {layer} needs its {info.Name} as [{string.Join(",", info.Shape)}]");
                }
                string name = $"layers.{l}.{info.Name}";
                int[] shape = info.Shape;
                named.Add(t.Dtype == "F32"
                    ? new NamedArray(name, shape, t.ToFloats(), null!)
                    : new NamedArray(name, shape, null!, t.ToDoubles()));
            }
            if (module.Count > 0)
            {
                string extra = module.Keys.Order(StringComparer.Ordinal).First();
                throw new DataError(path, $"tensor '{Theirs(extra)}' has no place in {layer}, which has {string.Join(" and ", layerParams[l].Select(p => p.Name))}");
            }
        }
        return (named.ToArray(), dtypes[0] == "F32" ? Precision.Float32 : Precision.Float64);
    }
}
