// Classifies MNIST-style digits with a model exported by `functional export --onnx`, using ONNX Runtime alone.
//   dotnet run --project samples/OnnxDigits -- MODEL.onnx IMAGES.idx3-ubyte.gz LABELS.idx1-ubyte.gz
// The graph takes raw pixels 0..255 (its own scaling is inside), as [N, 784] or [N, 1, 28, 28], and gives one
// score per class; the class names are in the model's metadata ("classes").
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: OnnxDigits MODEL.onnx IMAGES.idx3-ubyte[.gz] LABELS.idx1-ubyte[.gz]");
    return 2;
}

using var session = new InferenceSession(args[0]);
var (pixels, count) = Idx.Read(args[1], 3);
var (labels, _) = Idx.Read(args[2], 1);
string[] classes = session.ModelMetadata.CustomMetadataMap.TryGetValue("classes", out var names)
    ? names.Split(',')
    : [];

// The input's shape after the batch dimension, from the graph itself: [784] or [1, 28, 28].
string inputName = session.InputMetadata.Keys.First();
int[] dims = [count, .. session.InputMetadata[inputName].Dimensions[1..]];
var input = new DenseTensor<float>(pixels.Select(p => (float)p).ToArray(), dims);
using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
float[] scores = results.First().AsEnumerable<float>().ToArray();
int k = scores.Length / count;

int correct = 0;
for (int i = 0; i < count; i++)
{
    var row = scores.AsSpan(i * k, k);
    int best = row.IndexOf(Max(row));
    if (best == labels[i])
    {
        correct++;
    }
    if (i < 5)
    {
        Console.WriteLine($"image {i}: label {labels[i]}, predicted {(best < classes.Length ? classes[best] : best.ToString())} ({row[best]:F4})");
    }
}
Console.WriteLine($"accuracy: {100.0 * correct / count:F2}% ({correct:N0}/{count:N0})");
return 0;

static float Max(ReadOnlySpan<float> row)
{
    float m = row[0];
    foreach (float v in row)
    {
        m = Math.Max(m, v);
    }
    return m;
}

/// <summary>IDX files (gzip or raw): a big-endian magic whose last byte is the rank, the sizes, then bytes.</summary>
static class Idx
{
    public static (byte[] data, int count) Read(string path, int rank)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var raw = new MemoryStream();
            gz.CopyTo(raw);
            bytes = raw.ToArray();
        }
        if (bytes.Length < 4 + 4 * rank || bytes[2] != 0x08 || bytes[3] != rank)
        {
            throw new InvalidDataException($"{path}: not an IDX file of unsigned bytes with {rank} dimension(s)");
        }
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        return (bytes[(4 + 4 * rank)..], count);
    }
}
