using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace Deprov.Server.Console;

/// <summary>Markup that is already safe (built by <see cref="Html"/>); everything else interpolated is HTML-encoded.</summary>
public readonly record struct Raw(string Value);

/// <summary>
/// Builds a page: <c>h.Add($"&lt;td&gt;{value}&lt;/td&gt;")</c> encodes every interpolated value unless it is <see cref="Raw"/>,
/// so a person's name or an error message can never inject markup.
/// </summary>
public sealed class Html
{
    internal StringBuilder Builder { get; } = new(16 * 1024);

    public Html Add([InterpolatedStringHandlerArgument("")] ref HtmlHandler handler) => this;

    public override string ToString() => Builder.ToString();

    public static string Encode(string? value) => HtmlEncoder.Default.Encode(value ?? string.Empty);
}

[InterpolatedStringHandler]
public readonly ref struct HtmlHandler
{
    private readonly StringBuilder _sb;

    public HtmlHandler(int literalLength, int formattedCount, Html html)
    {
        _ = formattedCount;
        _sb = html.Builder;
        _sb.EnsureCapacity(_sb.Length + literalLength);
    }

    public void AppendLiteral(string s) => _sb.Append(s);

    public void AppendFormatted(Raw raw) => _sb.Append(raw.Value);

    public void AppendFormatted(string? value) => HtmlEncoder.Default.Encode(new StringWriter(_sb, CultureInfo.InvariantCulture), value ?? string.Empty);

    public void AppendFormatted<T>(T value) => AppendFormatted(Convert.ToString(value, CultureInfo.InvariantCulture));

    public void AppendFormatted<T>(T value, string format)
        where T : IFormattable => AppendFormatted(value.ToString(format, CultureInfo.InvariantCulture));
}
