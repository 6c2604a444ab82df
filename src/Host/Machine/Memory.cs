namespace Functional.Host;

/// <summary>Refusing a network too large for this machine before allocating it: past the available memory the
/// runtime would die of an out-of-memory error or the kernel kill it, with nothing said about which layer.</summary>
public static class Memory
{
    /// <summary>Why training <paramref name="config"/> on <paramref name="examples"/> examples cannot fit in the memory
    /// available to this process (naming the largest layer and what it needs), or null.</summary>
    public static string? Problem(Config config, int examples)
    {
        double[] perLayer = Api.Performance.TrainingBytes(config, examples);
        double total = perLayer.Sum();
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (total <= available)
        {
            return null;
        }
        int largest = Array.IndexOf(perLayer, perLayer.Max());
        return $"training {config.ArchText} needs about {Api.Display.BytesText(total)} of memory, more than the "
            + $"{Api.Display.BytesText(available)} this machine has; layer {largest + 1} (layers.{largest}, {Api.Models.LayerText(config.Arch, largest)}) "
            + $"alone needs {Api.Display.BytesText(perLayer[largest])}. Use fewer units, a smaller --batch or float32";
    }
}
