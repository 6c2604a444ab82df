using System.Reflection;
using System.Runtime.InteropServices;

namespace Functional.Host;

/// <summary>
/// Finds SkiaSharp's and HarfBuzzSharp's native libraries in <c>runtimes/RID/native/</c> beside functional.dll when
/// the process was not started as functional (F# Interactive, a test host): their deps.json does not list them.
/// In the functional process itself the runtime finds them first and this is never asked.
/// </summary>
public static class NativeAssets
{
    static readonly Lock Gate = new();
    static bool installed;

    public static void Install()
    {
        lock (Gate)
        {
            if (installed)
            {
                return;
            }
            installed = true;
            // By name: the Functional.Host library reads images with SkiaSharp but draws no text, so ships no HarfBuzz.
            foreach (string name in new[] { "SkiaSharp", "HarfBuzzSharp" })
            {
                try
                {
                    NativeLibrary.SetDllImportResolver(Assembly.Load(name), Resolve);
                }
                catch (FileNotFoundException)
                {
                    // Not part of this program.
                }
                catch (InvalidOperationException)
                {
                    // Someone set a resolver already: theirs wins.
                }
            }
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (NativeLibrary.TryLoad(name, assembly, path, out IntPtr handle))
        {
            return handle;
        }
        string dir = Path.GetDirectoryName(typeof(NativeAssets).Assembly.Location) ?? AppContext.BaseDirectory;
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string file = name + (OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so");
        foreach (string rid in new[] { RuntimeInformation.RuntimeIdentifier, $"{os}-{arch}", os })
        {
            string candidate = Path.Combine(dir, "runtimes", rid, "native", file);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }
}
