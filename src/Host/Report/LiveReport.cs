namespace Functional.Host.Report;

/// <summary><c>train --report</c>: RUN/report.html rewritten (atomically) after every epoch with a page that reloads
/// itself, so a browser tab follows the run without a server; the full page, model and test set included, at the end.
/// A page that cannot be written never stops the training.</summary>
public static class LiveReport
{
    public const int ReloadSeconds = 10;

    public static void Epoch(string dir, Progress progress)
    {
        try
        {
            ReportPage.Write([dir], Path.Combine(dir, ReportPage.FileName), live: true);
        }
        catch (Exception e) when (Fails(e))
        {
            progress.Line($"warning: {ReportPage.FileName} not rewritten: {e.Message}");
        }
    }

    /// <summary>The path written, or "not written: why".</summary>
    public static string Final(string dir)
    {
        try
        {
            return ReportPage.Write([dir], Path.Combine(dir, ReportPage.FileName));
        }
        catch (Exception e) when (Fails(e))
        {
            return $"not written: {e.Message}";
        }
    }

    static bool Fails(Exception e) =>
        e is DataError or IOException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException or TypeInitializationException;
}
