using Deprov.Core;
using YamlDotNet.Core;

namespace Deprov.Hosting.Configuration;

/// <summary>
/// Turns a YamlDotNet syntax error into what a person needs: where (file:line:column), what is wrong in plain words, and
/// the fix. The parser's own wording ("did not find expected node content") names a symptom, often lines after the
/// cause; an unclosed '[' or '{' and a tab in the indentation are found from the text itself and reported where they are.
/// </summary>
internal static class YamlSyntax
{
    public static ValidationError Diagnose(string yaml, string file, YamlException ex) =>
        Diagnose(yaml, file, (int)Math.Max(1, ex.Start.Line), (int)Math.Max(1, ex.Start.Column), ex.InnerException?.Message ?? ex.Message);

    /// <summary>For a parser failure without a position: diagnosed as if it stopped at the end of the text.</summary>
    public static ValidationError Diagnose(string yaml, string file, Exception ex)
    {
        var lines = yaml.Split('\n');
        return Diagnose(yaml, file, lines.Length, lines[^1].Length + 1, ex.Message);
    }

    private static ValidationError Diagnose(string yaml, string file, int line, int column, string detail)
    {
        var lines = yaml.Split('\n');

        if (UnclosedBracket(lines, line, column) is { } open)
        {
            var (l, c, ch) = open;
            var close = ch == '[' ? ']' : '}';
            return new ValidationError(file, l, null, $"the '{ch}' opened here is never closed (the parser stopped at line {line}, column {column}).",
                $"close it with '{close}' on the same line, or write the {(ch == '[' ? "list as one '- item' per line" : "mapping as one 'key: value' per line")}.")
            { Column = c };
        }

        if (TabIndent(lines, line) is { } tabLine)
        {
            return new ValidationError(file, tabLine, null, "indents with a tab; YAML indentation must be spaces.", "replace the tab(s) at the start of this line with spaces.")
            { Column = lines[tabLine - 1].IndexOf('\t', StringComparison.Ordinal) + 1 };
        }

        var (problem, fix) = detail switch
        {
            _ when Has(detail, "Duplicate key") => ("a key appears twice in the same mapping.", "keep one of the two entries."),
            _ when Has(detail, "alias") || Has(detail, "anchor") =>
                ("uses an alias ('*name') whose anchor ('&name') is not defined before it.", "define '&name' on an earlier value, or write the value out instead of the alias."),
            _ when Has(detail, "end of stream") && Has(detail, "quoted") => ("a quoted value is never closed.", "add the closing quote."),
            _ when Has(detail, "Mapping values are not allowed") =>
                ("has a ':' where no 'key: value' may start (often a value holding ': ', or a key indented deeper than its siblings).", "quote the value, or indent this key like the keys above it."),
            _ when Has(detail, "expected key") || Has(detail, "expected ':'") || Has(detail, "not allowed in this context") || Has(detail, "indentation") =>
                ("the indentation does not match the lines above.", "indent the keys of one mapping, and the '- ' items of one list, to the same column, with spaces."),
            _ => ($"is not valid YAML: {detail}", "check indentation (spaces, not tabs) and quoting around this line."),
        };
        return new ValidationError(file, line, null, problem, fix) { Column = column };
    }

    private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);

    /// <summary>The innermost '[' or '{' still open at the error position, ignoring quoted text and comments.</summary>
    private static (int Line, int Column, char Bracket)? UnclosedBracket(string[] lines, int errorLine, int errorColumn)
    {
        var open = new Stack<(int Line, int Column, char Bracket)>();
        for (var i = 0; i < lines.Length && i < errorLine; i++)
        {
            var text = lines[i];
            var end = i == errorLine - 1 ? Math.Min(text.Length, errorColumn - 1) : text.Length;
            var quote = '\0';
            for (var j = 0; j < end; j++)
            {
                var ch = text[j];
                if (quote != '\0')
                {
                    if (ch == quote)
                    {
                        quote = '\0';
                    }

                    continue;
                }

                switch (ch)
                {
                    case '\'' or '"' when j == 0 || text[j - 1] is ' ' or '[' or '{' or ',' or ':':
                        quote = ch;
                        break;
                    case '#' when j == 0 || char.IsWhiteSpace(text[j - 1]):
                        j = end;
                        break;
                    case '[' or '{':
                        open.Push((i + 1, j + 1, ch));
                        break;
                    case ']' or '}' when open.Count > 0:
                        open.Pop();
                        break;
                }
            }
        }

        return open.Count > 0 ? open.Peek() : null;
    }

    /// <summary>The line before the error, the error line or the line after it, when its indentation holds a tab.</summary>
    private static int? TabIndent(string[] lines, int errorLine)
    {
        for (var l = Math.Max(1, errorLine - 1); l <= errorLine + 1; l++)
        {
            if (l <= lines.Length && lines[l - 1].TakeWhile(char.IsWhiteSpace).Contains('\t'))
            {
                return l;
            }
        }

        return null;
    }
}
