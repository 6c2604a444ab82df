namespace Functional.Host;

/// <summary>
/// How many threads matrix products use. Measured here: a second thread makes per-example (batch 1)
/// training 1.3–1.7× slower, and speeds up batch 128 and full batch; so the default depends on the batch.
/// </summary>
public static class Threads
{
    public static int Current { get; private set; } = 1;

    public static void Choose(int requested, int batch)
    {
        Current = requested > 0 ? requested : batch < 32 ? 1 : Math.Max(1, Environment.ProcessorCount);
        Api.Performance.SetThreads(Current);
    }
}
