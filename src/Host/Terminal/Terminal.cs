using Spectre.Console;

namespace Functional.Host;

/// <summary>
/// Lines that fit the terminal. When stdout (or stderr) is a terminal, every line written to it is word-wrapped to
/// the terminal's width, continuation lines indented under the first word's value, so nothing wraps mid-word and the
/// live progress bar is never pushed off its row. Redirected output is left exactly as written: plain lines.
/// </summary>
public static class Terminal
{
    /// <summary>Stdout as it was before <see cref="Install"/>: the live progress bar writes its escape codes here.</summary>
    public static TextWriter RawOut { get; private set; } = Console.Out;

    /// <summary>The width lines are fitted to: the terminal's columns, 0 when <paramref name="redirected"/>.</summary>
    static int WidthOf(bool redirected)
    {
        if (redirected)
        {
            return 0;
        }
        try
        {
            int w = Console.WindowWidth;
            return w > 0 ? w : 80;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or InvalidOperationException)
        {
            return 80;
        }
    }

    /// <summary>The terminal's width when stdout is a terminal, else 0 (no limit).</summary>
    public static int Width => WidthOf(Console.IsOutputRedirected);

    /// <summary>Wraps stdout and stderr, where they are terminals, so every line fits. Call once, first.</summary>
    public static void Install()
    {
        RawOut = Console.Out;
        if (!Console.IsOutputRedirected)
        {
            Console.SetOut(new FittingWriter(Console.Out, () => WidthOf(false)));
        }
        if (!Console.IsErrorRedirected)
        {
            Console.SetError(new FittingWriter(Console.Error, () => WidthOf(false)));
        }
    }

    /// <summary>
    /// <paramref name="line"/> as lines of at most <paramref name="width"/> characters (0: no limit): broken at
    /// spaces, continuation lines indented to where the first word's value starts (at most 12 columns), a word
    /// longer than a line cut.
    /// </summary>
    public static IEnumerable<string> Fit(string line, int width)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (width <= 0 || line.Length <= width)
        {
            yield return line;
            yield break;
        }
        int indent = ContinuationIndent(line);
        if (indent > width / 2)
        {
            indent = 2;
        }
        string rest = line;
        bool first = true;
        while (rest.Length > 0)
        {
            string prefix = first ? "" : new string(' ', indent);
            int room = width - prefix.Length;
            if (rest.Length <= room)
            {
                yield return prefix + rest;
                yield break;
            }
            int cut = rest.LastIndexOf(' ', room);
            string head = cut > 0 ? rest[..cut].TrimEnd() : "";
            if (head.Trim().Length == 0)
            {
                head = rest[..room];
                cut = room;
            }
            yield return prefix + head;
            rest = rest[cut..].TrimStart();
            first = false;
        }
    }

    static int ContinuationIndent(string line)
    {
        int i = 0;
        while (i < line.Length && line[i] == ' ')
        {
            i++;
        }
        while (i < line.Length && line[i] != ' ')
        {
            i++;
        }
        while (i < line.Length && line[i] == ' ')
        {
            i++;
        }
        return i <= 12 ? i : 2;
    }

    /// <summary>A Spectre console on <paramref name="writer"/>, treated as a terminal of the given size (tests give 80×24).</summary>
    public static IAnsiConsole ConsoleOn(TextWriter writer, Func<int> width, Func<int> height) =>
        AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Out = new TerminalOutput(writer, width, height),
        });

    /// <summary>The live console of this process: the raw stdout, at the terminal's size.</summary>
    public static IAnsiConsole Live() =>
        ConsoleOn(RawOut, () => Math.Max(WidthOf(false), 20), () =>
        {
            try
            {
                return Math.Max(Console.WindowHeight, 5);
            }
            catch (Exception e) when (e is IOException or PlatformNotSupportedException or InvalidOperationException)
            {
                return 24;
            }
        });

    sealed class TerminalOutput(TextWriter writer, Func<int> width, Func<int> height) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;
        public bool IsTerminal => true;
        public int Width => width();
        public int Height => height();
        public void SetEncoding(System.Text.Encoding encoding) { }
    }

    /// <summary>Buffers a line and writes it fitted to the width; everything else passes through.</summary>
    sealed class FittingWriter(TextWriter inner, Func<int> width) : TextWriter
    {
        readonly System.Text.StringBuilder line = new();

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                string text = line.ToString().TrimEnd('\r');
                line.Clear();
                foreach (var part in Fit(text, width()))
                {
                    inner.Write(part);
                    inner.Write('\n');
                }
            }
            else
            {
                line.Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }
            foreach (char c in value)
            {
                Write(c);
            }
        }

        public override void Flush()
        {
            inner.Flush();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && line.Length > 0)
            {
                inner.Write(line.ToString());
                line.Clear();
            }
            inner.Flush();
            base.Dispose(disposing);
        }
    }
}
