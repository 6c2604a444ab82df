using System.Text.Json.Nodes;

namespace Functional.Host.Data;

/// <summary>
/// What a run learnt about its data beyond the files: features, classes and their names, how a table was read,
/// and the input transform fitted on the training set. run.json keeps it (so resume reads the data the same way)
/// and the model file keeps the names and the transform (so eval and predict apply the same one).
/// </summary>
public sealed record DataInfo(
    int Features, int Classes, string[]? ClassNames, bool IsTable, bool? Header, string? LabelColumn,
    string Scale, float[] Shift, float[] Spread, (int Rows, int Cols)? Resize = null)
{
    public TableOptions TableOptions => new(Header, LabelColumn);

    /// <summary>The transform applied to a table's values (images are left alone: their scaling is the model's).</summary>
    public LabeledImages Apply(LabeledImages data)
    {
        if (!data.IsTable || Scale == "none")
        {
            return data;
        }
        var t = Api.Data.FeatureScaleOf(Scale, Shift, Spread);
        return new LabeledImages([], data.Labels, data.Count, 1, data.Features, data.ImagesPath, data.LabelsPath)
        {
            Values = Api.Data.ApplyFeatureScale(t, data.Values!),
            ClassNames = data.ClassNames,
        };
    }

    public string NameOf(int c) => Data.ClassNames.Of(ClassNames, c);

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["features"] = Features,
            ["classes"] = Classes,
            ["class_names"] = ClassNames is null ? null : new JsonArray([.. ClassNames.Select(n => (JsonNode?)n)]),
            ["table"] = IsTable,
            ["scale"] = Scale,
        };
        if (Resize is { } size)
        {
            // An image folder read with --resize: eval and predict resample a folder to the same size.
            o["resize"] = new JsonObject { ["rows"] = size.Rows, ["cols"] = size.Cols };
        }
        if (IsTable)
        {
            o["header"] = Header;
            o["label_column"] = LabelColumn;
            o["shift"] = new JsonArray([.. Shift.Select(x => (JsonNode?)x)]);
            o["spread"] = new JsonArray([.. Spread.Select(x => (JsonNode?)x)]);
        }
        return o;
    }

    /// <exception cref="FormatException">A field is missing or of the wrong type.</exception>
    public static DataInfo FromJson(JsonObject o)
    {
        float[] Floats(string key) => o[key] is JsonArray a ? [.. a.Select(n => n!.GetValue<float>())] : [];
        string? Text(string key) => o[key] is JsonValue v ? v.GetValue<string>() : null;
        static int Size(JsonObject size, string key) => size[key]?.GetValue<int>() is int n and >= 1 and <= 4096
            ? n
            : throw new FormatException($"'resize' needs {key} from 1 to 4096");
        var info = new DataInfo(
            o["features"]?.GetValue<int>() ?? throw new FormatException("no 'features'"),
            o["classes"]?.GetValue<int>() ?? throw new FormatException("no 'classes'"),
            o["class_names"] is JsonArray names ? [.. names.Select(n => n!.GetValue<string>())] : null,
            o["table"]?.GetValue<bool>() ?? false,
            o["header"] is JsonValue h ? h.GetValue<bool>() : null,
            Text("label_column"),
            Text("scale") ?? "none",
            Floats("shift"),
            Floats("spread"),
            o["resize"] is JsonObject size ? (Size(size, "rows"), Size(size, "cols")) : null);
        if (info.Scale != "none" && (info.Shift.Length != info.Features || info.Spread.Length != info.Features))
        {
            throw new FormatException($"the {info.Scale} transform has {info.Shift.Length} shifts and {info.Spread.Length} spreads for {info.Features} features");
        }
        return info;
    }

    /// <summary>The model-file metadata entries: <c>classes</c> (names, comma-separated) and <c>data</c> (this, as JSON).</summary>
    public Dictionary<string, string> ModelMetadata()
    {
        var m = new Dictionary<string, string>
        {
            ["classes"] = string.Join(",", Enumerable.Range(0, Classes).Select(NameOf)),
            ["data"] = ToJson().ToJsonString(),
        };
        if (IsTable)
        {
            m["input_transform"] = TransformText();
        }
        return m;
    }

    string TransformText() => Scale switch
    {
        "none" => "x (table values as they are)",
        "unit" => "(x - shift) / spread per feature: min and max - min of the training set (data.shift, data.spread)",
        _ => "(x - shift) / spread per feature: mean and standard deviation of the training set (data.shift, data.spread)",
    };

    /// <summary>The data info a model file carries, or null for models written without it.</summary>
    public static DataInfo? OfModel(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("data", out string? text))
        {
            return null;
        }
        try
        {
            return FromJson(JsonNode.Parse(text)?.AsObject() ?? throw new FormatException("empty"));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new DataError(path, $"the 'data' entry of __metadata__ is not valid: {e.Message}");
        }
    }
}
