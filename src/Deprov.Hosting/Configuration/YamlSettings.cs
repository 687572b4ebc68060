using Deprov.Core;
using Deprov.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Deprov.Hosting.Configuration;

/// <summary>Reads YAML into a <see cref="SettingsNode"/> tree that remembers file and line of every value.</summary>
public static class YamlSettings
{
    /// <summary>
    /// Parses one YAML document. Any syntax error becomes a single <see cref="ValidationException"/> naming
    /// file:line:column, what is wrong in words (an unclosed '[', a tab, a duplicate key, an unknown alias…) and the fix.
    /// </summary>
    public static SettingsNode Parse(string yaml, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ValidationException([YamlSyntax.Diagnose(yaml, fileName, ex)]);
        }
#pragma warning disable CA1031 // YamlDotNet's contract is YamlException, but this is the boundary to untrusted text: any other failure of the parser is still a syntax error to the user, never a crash
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or OverflowException or NotSupportedException)
#pragma warning restore CA1031
        {
            throw new ValidationException([YamlSyntax.Diagnose(yaml, fileName, ex)]);
        }

        if (stream.Documents.Count == 0)
        {
            return SettingsNode.Empty(string.Empty);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new ValidationException([new ValidationError(fileName, (int)second.Line, null, "holds more than one YAML document (a second '---'); Deprov reads one.",
                "remove the second '---' and what follows it, or merge the two into one document.") { Column = (int)second.Column }]);
        }

        return Convert(stream.Documents[0].RootNode, string.Empty, fileName);
    }

    private static SettingsNode Convert(YamlNode node, string path, string file)
    {
        var line = (int)node.Start.Line;
        switch (node)
        {
            case YamlScalarNode scalar:
                return SettingsNode.ScalarNode(path, scalar.Value ?? string.Empty, file, line);
            case YamlSequenceNode seq:
                var items = new List<SettingsNode>();
                var i = 0;
                foreach (var child in seq.Children)
                {
                    items.Add(Convert(child, $"{path}[{i++}]", file));
                }

                return SettingsNode.SequenceNode(path, items, file, line);
            case YamlMappingNode map:
                var entries = new Dictionary<string, SettingsNode>(StringComparer.Ordinal);
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode { Value: { } key })
                    {
                        throw new ValidationException([new ValidationError(file, (int)k.Start.Line, path.Length == 0 ? null : path, "has a key that is a list or a mapping.",
                            "keys are plain words followed by ':'; quote a key that must hold '[' or '{'.") { Column = (int)k.Start.Column }]);
                    }

                    var childPath = path.Length == 0 ? key : $"{path}.{key}";
                    if (entries.ContainsKey(key))
                    {
                        throw new ValidationException([new ValidationError(file, (int)k.Start.Line, childPath, "appears twice.", "keep one of the two entries.") { Column = (int)k.Start.Column }]);
                    }

                    entries[key] = Convert(v, childPath, file);
                }

                return SettingsNode.MappingNode(path, entries, file, line);
            default:
                return SettingsNode.Missing(path, file, line);
        }
    }
}
