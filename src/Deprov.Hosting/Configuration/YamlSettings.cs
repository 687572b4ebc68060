using Deprov.Core;
using Deprov.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Deprov.Hosting.Configuration;

/// <summary>Reads YAML into a <see cref="SettingsNode"/> tree that remembers file and line of every value.</summary>
public static class YamlSettings
{
    public static SettingsNode Parse(string yaml, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ValidationException([new ValidationError(fileName, (int)ex.Start.Line, null,
                $"is not valid YAML: {ex.InnerException?.Message ?? ex.Message}", "check indentation (spaces, not tabs) and quoting around this line.")]);
        }

        if (stream.Documents.Count == 0)
        {
            return SettingsNode.Empty(string.Empty);
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
                    var key = (k as YamlScalarNode)?.Value ?? k.ToString();
                    var childPath = path.Length == 0 ? key : $"{path}.{key}";
                    if (entries.ContainsKey(key))
                    {
                        throw new ValidationException([new ValidationError(file, (int)k.Start.Line, childPath, "appears twice.", "keep one of the two entries.")]);
                    }

                    entries[key] = Convert(v, childPath, file);
                }

                return SettingsNode.MappingNode(path, entries, file, line);
            default:
                return SettingsNode.Missing(path, file, line);
        }
    }
}
