using System.Buffers.Binary;

namespace Functional.Host;

/// <summary>One tensor's summary: min, max, mean and (population) standard deviation over its finite values, and
/// how many values are NaN or infinite. Null figures: nothing to summarise (no finite value, or a dtype read as
/// bytes only, the 8-bit floats).</summary>
public sealed record TensorStats(long Count, long NonFinite, double? Min, double? Max, double? Mean, double? Std)
{
    public static TensorStats Of(Safetensors.Tensor t)
    {
        double[]? values = Values(t);
        if (values == null)
        {
            return new TensorStats(t.ElementCount, 0, null, null, null, null);
        }
        long finite = 0, nonFinite = 0;
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
            {
                nonFinite++;
                continue;
            }
            finite++;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
        }
        if (finite == 0)
        {
            return new TensorStats(values.Length, nonFinite, null, null, null, null);
        }
        double mean = sum / finite;
        // Two passes: the variance of values far from zero keeps its digits.
        double squares = 0;
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                squares += (v - mean) * (v - mean);
            }
        }
        return new TensorStats(values.Length, nonFinite, min, max, mean, Math.Sqrt(squares / finite));
    }

    /// <summary>The values as doubles (little-endian, as safetensors stores them); null for the 8-bit floats.</summary>
    static double[]? Values(Safetensors.Tensor t)
    {
        ReadOnlySpan<byte> d = t.Data;
        int size = Safetensors.DtypeSize(t.Dtype) ?? 0;
        if (size == 0 || t.Dtype.StartsWith("F8", StringComparison.Ordinal))
        {
            return null;
        }
        var v = new double[d.Length / size];
        for (int i = 0; i < v.Length; i++)
        {
            var b = d.Slice(i * size, size);
            v[i] = t.Dtype switch
            {
                "F64" => BinaryPrimitives.ReadDoubleLittleEndian(b),
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "F16" => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(b),
                "U64" => BinaryPrimitives.ReadUInt64LittleEndian(b),
                "I32" => BinaryPrimitives.ReadInt32LittleEndian(b),
                "U32" => BinaryPrimitives.ReadUInt32LittleEndian(b),
                "I16" => BinaryPrimitives.ReadInt16LittleEndian(b),
                "U16" => BinaryPrimitives.ReadUInt16LittleEndian(b),
                "I8" => (sbyte)b[0],
                _ => b[0], // U8, BOOL
            };
        }
        return v;
    }
}
