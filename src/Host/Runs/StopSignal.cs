using System.Runtime.InteropServices;

namespace Functional.Host.Runs;

/// <summary>Turns Ctrl+C (SIGINT) and SIGTERM into a request the training loop sees between steps,
/// so it can write a checkpoint at the current step before it exits.</summary>
public sealed class StopSignal : IDisposable
{
    readonly PosixSignalRegistration? term;
    volatile bool requested;

    public StopSignal()
    {
        Console.CancelKeyPress += OnCancel;
        try
        {
            term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                requested = true;
            });
        }
        catch (PlatformNotSupportedException)
        {
            term = null;
        }
    }

    public bool Requested => requested;

    void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        requested = true;
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        term?.Dispose();
    }
}
