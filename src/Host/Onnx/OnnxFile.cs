using Google.Protobuf;
using P = global::Onnx;

namespace Functional.Host.Onnx;

/// <summary>
/// Writes a model as an ONNX file: the core's graph (<see cref="Api.Models.OnnxGraph"/>: raw pixels in, the model's
/// scaling and every layer's operators, class scores out) as ONNX protobuf messages, with the model's
/// self-description as metadata. The bytes come from the protobuf library, never assembled by hand.
/// </summary>
public static class OnnxFile
{
    /// <summary>IR version 8 is the one opset 17 came with.</summary>
    public const long IrVersion = 8;

    /// <summary>The ONNX model of <paramref name="model"/>; <paramref name="modelPath"/> names it in errors.</summary>
    /// <exception cref="DataError">A layer kind that has no ONNX export yet.</exception>
    public static P.ModelProto Build(string modelPath, Model model, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = Api.Models.OnnxGraph(model);
        if (!graph.Ok)
        {
            throw new DataError(modelPath, graph.Error!);
        }
        var g = graph.Value;
        var proto = new P.ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "functional",
            ProducerVersion = Program.Version,
            DocString = $"{model.Spec.ArchText}; input: raw pixels 0..255, scaled inside the graph by {Api.Data.ScaleFormula(model.Spec.Scale)}",
            Graph = new P.GraphProto { Name = "functional" },
        };
        proto.OpsetImport.Add(new P.OperatorSetIdProto { Domain = "", Version = g.Opset });
        proto.Graph.Input.Add(ValueInfo(g.Input, g.InputShape));
        proto.Graph.Output.Add(ValueInfo(g.Output, g.OutputShape));
        foreach (var init in g.Initializers)
        {
            var t = new P.TensorProto { Name = init.Name, DataType = (int)P.TensorProto.Types.DataType.Float };
            t.Dims.Add(init.Shape);
            t.FloatData.Add(init.Values);
            proto.Graph.Initializer.Add(t);
        }
        foreach (var n in g.Nodes)
        {
            proto.Graph.Node.Add(Node(n));
        }
        foreach (var (key, value) in metadata)
        {
            proto.MetadataProps.Add(new P.StringStringEntryProto { Key = key, Value = value });
        }
        return proto;
    }

    /// <summary>Writes <paramref name="proto"/> to <paramref name="path"/> atomically (a failed write leaves no file).</summary>
    public static void Write(string path, P.ModelProto proto) =>
        AtomicFile.Write(path, stream => proto.WriteTo(stream));

    static P.ValueInfoProto ValueInfo(string name, long[] shape)
    {
        var tensor = new P.TypeProto.Types.Tensor
        {
            ElemType = (int)P.TensorProto.Types.DataType.Float,
            Shape = new P.TensorShapeProto(),
        };
        foreach (long d in shape)
        {
            tensor.Shape.Dim.Add(d < 0
                ? new P.TensorShapeProto.Types.Dimension { DimParam = "N" }
                : new P.TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new P.ValueInfoProto { Name = name, Type = new P.TypeProto { TensorType = tensor } };
    }

    static P.NodeProto Node(Api.OnnxNode n)
    {
        var node = new P.NodeProto { OpType = n.Op, Name = n.Outputs[0] };
        node.Input.Add(n.Inputs);
        node.Output.Add(n.Outputs);
        foreach (var a in n.Attributes)
        {
            var proto = new P.AttributeProto { Name = a.Name };
            switch (a.Kind)
            {
                case Api.OnnxAttributeKind.Int:
                    proto.Type = P.AttributeProto.Types.AttributeType.Int;
                    proto.I = a.Int;
                    break;
                case Api.OnnxAttributeKind.Ints:
                    proto.Type = P.AttributeProto.Types.AttributeType.Ints;
                    proto.Ints.Add(a.Ints);
                    break;
                case Api.OnnxAttributeKind.Float:
                    proto.Type = P.AttributeProto.Types.AttributeType.Float;
                    proto.F = a.Float;
                    break;
                case Api.OnnxAttributeKind.Strings:
                    proto.Type = P.AttributeProto.Types.AttributeType.Strings;
                    proto.Strings.Add(a.Strings.Select(ByteString.CopyFromUtf8));
                    break;
                default:
                    throw new ArgumentException($"unknown ONNX attribute kind {a.Kind}", nameof(n));
            }
            node.Attribute.Add(proto);
        }
        return node;
    }
}
