using System.Globalization;
using Deprov.Core.Configuration;

namespace Deprov.Testing;

/// <summary>Builds a connector's <c>settings</c> block the way deprov.yaml would, with paths for error messages.</summary>
public static class TestSettings
{
    /// <summary>A settings mapping; values are strings (or anything formatted invariantly), string arrays, nested dictionaries or arrays of them.</summary>
    public static SettingsNode Mapping(Dictionary<string, object> values, string path = "systems[0].settings")
    {
        ArgumentNullException.ThrowIfNull(values);
        var entries = new Dictionary<string, SettingsNode>(StringComparer.Ordinal);
        foreach (var (k, v) in values)
        {
            var p = $"{path}.{k}";
            entries[k] = v switch
            {
                Dictionary<string, object> d => Mapping(d, p),
                Dictionary<string, object>[] maps => SettingsNode.SequenceNode(p, [.. maps.Select((d, i) => Mapping(d, $"{p}[{i}]"))], "deprov.yaml", 9),
                string[] list => SettingsNode.SequenceNode(p, [.. list.Select((s, i) => SettingsNode.ScalarNode($"{p}[{i}]", s, "deprov.yaml", 10 + i))], "deprov.yaml", 9),
                _ => SettingsNode.ScalarNode(p, Convert.ToString(v, CultureInfo.InvariantCulture)!, "deprov.yaml", 7),
            };
        }

        return SettingsNode.MappingNode(path, entries, "deprov.yaml", 5);
    }
}
