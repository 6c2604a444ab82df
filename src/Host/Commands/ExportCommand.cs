using Functional.Cli;
using Functional.Host.Onnx;

namespace Functional.Host.Commands;

/// <summary><c>functional export MODEL --onnx FILE</c>: the model as an ONNX graph other programs run.</summary>
public static class ExportCommand
{
    public static int Run(ExportOptions o)
    {
        string path = ModelFile.Resolve(o.Model);
        Runs.RunFiles.CheckOutput(o.Onnx, "--onnx", o.Force);
        var model = ModelFile.Load(o.Model);
        // The graph's first nodes scale pixels 0..255; a table's inputs are not pixels (and its transform is not there).
        if (ModelFile.ReadDataInfo(o.Model) is { IsTable: true } info)
        {
            throw new UsageError($"{path} was trained on a table ({info.Features} features, scale {info.Scale}): export --onnx writes image models only");
        }
        // The class names travel with the graph: an ONNX reader has nothing else to name the outputs by.
        var proto = OnnxFile.Build(path, model, ModelFile.Describe(model, ModelFile.ClassNames(path, model)));
        OnnxFile.Write(o.Onnx, proto);
        var spec = model.Spec;
        Console.Out.WriteLine($"onnx  {o.Onnx}: {spec.LayersText}");
        Console.Out.WriteLine($"input pixels [{string.Join(", ", Shape(proto.Graph.Input[0]))}] raw 0..255, scaled inside by {Api.Data.ScaleFormula(spec.Scale)}; output scores [N, {spec.Classes}]; opset {proto.OpsetImport[0].Version}");
        return ReturnCode.Ok;
    }

    static IEnumerable<string> Shape(global::Onnx.ValueInfoProto v) =>
        v.Type.TensorType.Shape.Dim.Select(d => d.DimParam is { Length: > 0 } p ? p : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
