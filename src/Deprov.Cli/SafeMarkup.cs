using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Spectre.Console;

namespace Deprov.Cli;

/// <summary>
/// Console markup that cannot be injected: in <c>$"[bold]{name}[/]"</c> the literal text is markup, every interpolated
/// value is escaped unless it is itself a <see cref="SafeMarkup"/>, and a plain string converts by escaping. People's
/// names, HR fields, system answers, task titles and notes can hold <c>[</c> and <c>]</c>, which Spectre would otherwise
/// read as styles (and throw on). The CLI prints markup only through <see cref="SafeMarkupExtensions"/>; the raw Spectre
/// string overloads are banned for this project (BannedSymbols.Cli.txt).
/// </summary>
[InterpolatedStringHandler]
public sealed class SafeMarkup
{
    private readonly StringBuilder _text;

    public SafeMarkup(int literalLength, int formattedCount) => _text = new StringBuilder(literalLength + (formattedCount * 16));

    private SafeMarkup(string text) => _text = new StringBuilder(text);

    public static SafeMarkup Empty => new(string.Empty);

    /// <summary>The markup, ready for Spectre.</summary>
    public string Text => _text.ToString();

    /// <summary>Plain text shown as written, whatever brackets it holds.</summary>
    public static implicit operator SafeMarkup(string? plain) => Plain(plain);

    public static SafeMarkup Plain(string? text) => new(Escape(text));

    public static SafeMarkup FromString(string? text) => Plain(text);

    /// <summary>Joins fragments (each already safe) with a plain separator.</summary>
    public static SafeMarkup Join(string separator, IEnumerable<SafeMarkup> parts) =>
        new(string.Join(Escape(separator), parts.Select(p => p.Text)));

    public override string ToString() => Text;

    public void AppendLiteral(string literal) => _text.Append(literal);

    public void AppendFormatted(SafeMarkup? markup) => _text.Append(markup?.Text);

    public void AppendFormatted(SafeMarkup? markup, int alignment) => _text.Append(Pad(markup?.Text ?? string.Empty, alignment));

    public void AppendFormatted(string? value) => _text.Append(Escape(value));

    public void AppendFormatted(string? value, int alignment) => _text.Append(Pad(Escape(value), alignment));

    public void AppendFormatted<T>(T value) => AppendFormatted(value, 0, null);

    public void AppendFormatted<T>(T value, string? format) => AppendFormatted(value, 0, format);

    public void AppendFormatted<T>(T value, int alignment) => AppendFormatted(value, alignment, null);

    public void AppendFormatted<T>(T value, int alignment, string? format)
    {
        var text = value switch
        {
            null => string.Empty,
            SafeMarkup m => m.Text,
            IFormattable f => Escape(f.ToString(format, CultureInfo.InvariantCulture)),
            _ => Escape(value.ToString()),
        };
        _text.Append(Pad(text, alignment));
    }

    /// <summary>
    /// Escapes Spectre's brackets. Control characters (other than tab and newline) and bidi overrides become U+FFFD: a
    /// value must not move the cursor, restyle the terminal with its own escape sequences, or reverse the text after it.
    /// </summary>
    private static string Escape(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        var escaped = Markup.Escape(value);
        if (!escaped.Any(Unsafe))
        {
            return escaped;
        }

        return string.Create(escaped.Length, escaped, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = Unsafe(s[i]) ? '\uFFFD' : s[i];
            }
        });
    }

    private static bool Unsafe(char c) =>
        (char.IsControl(c) && c is not '\n' and not '\t') || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static string Pad(string text, int alignment) =>
        alignment >= 0 ? text.PadLeft(alignment) : text.PadRight(-alignment);
}

/// <summary>The only ways the CLI writes markup: each takes <see cref="SafeMarkup"/>, so data is escaped by construction.</summary>
public static class SafeMarkupExtensions
{
#pragma warning disable RS0030 // the one place that may call Spectre's string overloads: SafeMarkup is already escaped
    public static void Line(this IAnsiConsole console, SafeMarkup markup) => console.MarkupLine(markup.Text);

    public static Table Row(this Table table, params SafeMarkup[] cells) => table.AddRow(cells.Select(c => c.Text).ToArray());

    public static Table Titled(this Table table, SafeMarkup title) => table.Title(title.Text);
#pragma warning restore RS0030
}
