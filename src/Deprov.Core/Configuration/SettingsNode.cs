using System.Globalization;

namespace Deprov.Core.Configuration;

/// <summary>
/// A configuration value with where it came from, so every error can name file, line and key.
/// A node is a scalar, a sequence or a mapping; <see cref="Missing"/> stands for an absent key.
/// </summary>
public sealed class SettingsNode
{
    private readonly Dictionary<string, SettingsNode>? _map;
    private readonly List<SettingsNode>? _items;

    private SettingsNode(string path, string? file, int? line, string? scalar, Dictionary<string, SettingsNode>? map, List<SettingsNode>? items, bool missing)
    {
        Path = path;
        File = file;
        Line = line;
        Scalar = scalar;
        _map = map;
        _items = items;
        IsMissing = missing;
    }

    /// <summary>Key path from the document root, e.g. <c>systems[2].settings.host</c>.</summary>
    public string Path { get; }

    public string? File { get; }

    public int? Line { get; }

    public string? Scalar { get; }

    public bool IsMissing { get; }

    public bool IsScalar => Scalar is not null;

    public bool IsMapping => _map is not null;

    public bool IsSequence => _items is not null;

    public IReadOnlyDictionary<string, SettingsNode> Entries => _map ?? (IReadOnlyDictionary<string, SettingsNode>)EmptyMap;

    public IReadOnlyList<SettingsNode> Items => _items ?? (IReadOnlyList<SettingsNode>)[];

    private static readonly Dictionary<string, SettingsNode> EmptyMap = [];

    public static SettingsNode ScalarNode(string path, string value, string? file = null, int? line = null) =>
        new(path, file, line, value, null, null, false);

    public static SettingsNode MappingNode(string path, Dictionary<string, SettingsNode> entries, string? file = null, int? line = null) =>
        new(path, file, line, null, entries, null, false);

    public static SettingsNode SequenceNode(string path, List<SettingsNode> items, string? file = null, int? line = null) =>
        new(path, file, line, null, null, items, false);

    public static SettingsNode Missing(string path, string? file = null, int? line = null) =>
        new(path, file, line, null, null, null, true);

    /// <summary>An empty mapping (for systems without a settings block).</summary>
    public static SettingsNode Empty(string path) => MappingNode(path, []);

    /// <summary>The child at <paramref name="key"/>, or a missing node that remembers where it was looked for.</summary>
    public SettingsNode this[string key] =>
        _map is not null && _map.TryGetValue(key, out var child) ? child : Missing(Combine(Path, key), File, Line);

    public bool Has(string key) => _map is not null && _map.ContainsKey(key);

    public ValidationError Error(string problem, string? fix) => new(File, Line, Path, problem, fix);

    internal static string Combine(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

    /// <summary>Reads a string. Adds an error to <paramref name="errors"/> when required and missing.</summary>
    public string? GetString(string key, List<ValidationError> errors, bool required = false, string? fix = null)
    {
        var n = this[key];
        if (n.IsMissing || (n.IsScalar && n.Scalar!.Length == 0))
        {
            if (required)
            {
                errors.Add(n.Error("is required but missing.", fix ?? $"add '{key}: <value>' under '{Path}'."));
            }

            return null;
        }

        if (!n.IsScalar)
        {
            errors.Add(n.Error("must be a single value, not a list or a mapping.", fix));
            return null;
        }

        return n.Scalar;
    }

    public int GetInt(string key, int defaultValue, List<ValidationError> errors, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = GetString(key, errors);
        if (s is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            errors.Add(this[key].Error($"must be a whole number, got '{s}'.", $"write a number between {min} and {max}."));
            return defaultValue;
        }

        if (v < min || v > max)
        {
            errors.Add(this[key].Error($"is {v}; must be between {min} and {max}.", $"write a number between {min} and {max}."));
            return defaultValue;
        }

        return v;
    }

    public double GetDouble(string key, double defaultValue, List<ValidationError> errors, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = GetString(key, errors);
        if (s is null)
        {
            return defaultValue;
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            errors.Add(this[key].Error($"is '{s}'; must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}.", "write a decimal number with '.' as separator."));
            return defaultValue;
        }

        return v;
    }

    public decimal GetDecimal(string key, decimal defaultValue, List<ValidationError> errors)
    {
        var s = GetString(key, errors);
        if (s is null)
        {
            return defaultValue;
        }

        if (!decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var v) || v < 0)
        {
            errors.Add(this[key].Error($"is '{s}'; must be a non-negative amount.", "write an amount like 12.50."));
            return defaultValue;
        }

        return v;
    }

    public bool GetBool(string key, bool defaultValue, List<ValidationError> errors)
    {
        var s = GetString(key, errors);
        if (s is null)
        {
            return defaultValue;
        }

        switch (s.ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                errors.Add(this[key].Error($"is '{s}'; must be true or false.", "write true or false."));
                return defaultValue;
        }
    }

    public T GetEnum<T>(string key, T defaultValue, List<ValidationError> errors, bool required = false)
        where T : struct, Enum
    {
        var s = GetString(key, errors, required, $"add '{key}: <one of {Model.Naming.AllowedValues<T>()}>'.");
        if (s is null)
        {
            return defaultValue;
        }

        if (!Model.Naming.TryParseEnum<T>(s, out var v))
        {
            errors.Add(this[key].Error($"is '{s}', which is not a known value.", $"use one of: {Model.Naming.AllowedValues<T>()}."));
            return defaultValue;
        }

        return v;
    }

    /// <summary>Reads a list of strings; a single scalar counts as a list of one.</summary>
    public IReadOnlyList<string> GetStringList(string key, List<ValidationError> errors)
    {
        var n = this[key];
        if (n.IsMissing)
        {
            return [];
        }

        if (n.IsScalar)
        {
            return [n.Scalar!];
        }

        if (!n.IsSequence)
        {
            errors.Add(n.Error("must be a list of values.", "write '[a, b]' or one '- value' per line."));
            return [];
        }

        var list = new List<string>();
        foreach (var item in n.Items)
        {
            if (item.IsScalar)
            {
                list.Add(item.Scalar!);
            }
            else
            {
                errors.Add(item.Error("must be a single value.", null));
            }
        }

        return list;
    }

    /// <summary>Reports keys that are not in <paramref name="known"/> (typos must not be silently ignored).</summary>
    public void CheckKnownKeys(List<ValidationError> errors, params string[] known)
    {
        if (_map is null)
        {
            return;
        }

        foreach (var (key, node) in _map)
        {
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                var suggestion = known.OrderBy(k => Distance(k, key)).First();
                errors.Add(new ValidationError(node.File, node.Line, node.Path, "is not a known key here.",
                    Distance(suggestion, key) <= 3 ? $"did you mean '{suggestion}'? Known keys: {string.Join(", ", known)}." : $"remove it, or use one of: {string.Join(", ", known)}."));
            }
        }
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>Reads a duration (<c>30d</c>, <c>4h</c>, <c>15m</c>, <c>10s</c>, <c>200ms</c>, <c>2w</c>, <c>0</c>).</summary>
    public TimeSpan GetDuration(string key, TimeSpan defaultValue, List<ValidationError> errors)
    {
        var s = GetString(key, errors);
        if (s is null)
        {
            return defaultValue;
        }

        if (!TryParseDuration(s, out var v))
        {
            errors.Add(this[key].Error($"is '{s}', which is not a duration.", "write a number with a unit: 200ms, 10s, 15m, 4h, 30d or 2w."));
            return defaultValue;
        }

        return v;
    }

    /// <summary>Parses a duration like <c>30d</c>, <c>12h</c>, <c>15m</c>, <c>200ms</c>, <c>0</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        text = text.Trim();
        if (text == "0")
        {
            return true;
        }

        if (text.Length < 2)
        {
            return false;
        }

        if (text.EndsWith("ms", StringComparison.Ordinal) && double.TryParse(text[..^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            value = TimeSpan.FromMilliseconds(ms);
            return true;
        }

        var unit = text[^1];
        if (!double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
        {
            return false;
        }

        TimeSpan? span = unit switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            's' => TimeSpan.FromSeconds(n),
            'w' => TimeSpan.FromDays(7 * n),
            _ => null,
        };
        if (span is null)
        {
            return false;
        }

        value = span.Value;
        return true;
    }
}
