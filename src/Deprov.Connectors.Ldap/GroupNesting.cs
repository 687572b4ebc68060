using System.Text.RegularExpressions;

namespace Deprov.Connectors.Ldap;

/// <summary>
/// Which AD group is nested in which, for discovery: a group nested (at any depth) in a privileged group is privileged,
/// and a member of a nested group holds every group above it.
/// </summary>
/// <remarks>Holds only groups (DN, parents), never members, so it stays small next to the accounts. Cycles, which AD
/// allows, are cut where a group is met again on the way up.</remarks>
internal sealed class GroupNesting(Regex[] privilegedPatterns)
{
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly Queue<string> _unread = new();
    private readonly HashSet<string> _withChildren = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _ancestors = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="dn"/> and its direct parents. <paramref name="listed"/>: inside <c>groups.base</c> (reported by discovery).</summary>
    public void Add(string dn, IEnumerable<string> parents, bool listed)
    {
        var key = Dn.Normalize(dn);
        var node = _nodes.TryGetValue(key, out var existing) ? existing : _nodes[key] = new Node(dn);
        node.Read = true;
        node.Listed |= listed;
        foreach (var parent in parents)
        {
            var parentKey = Dn.Normalize(parent);
            node.Parents.Add(parentKey);
            _withChildren.Add(parentKey);
            if (!_nodes.ContainsKey(parentKey))
            {
                _nodes[parentKey] = new Node(parent);
                _unread.Enqueue(parentKey);
            }
        }
    }

    /// <summary>A parent seen only through <c>memberOf</c> and not read yet (outside <c>groups.base</c>); null when none is left.</summary>
    public string? NextUnread()
    {
        while (_unread.TryDequeue(out var key))
        {
            if (!_nodes[key].Read)
            {
                return _nodes[key].Dn;
            }
        }

        return null;
    }

    /// <summary>True when another group is nested in <paramref name="dn"/>.</summary>
    public bool HasNestedGroups(string dn) => _withChildren.Contains(Dn.Normalize(dn));

    /// <summary>True when <paramref name="dn"/> is nested, at any depth, in a group whose name or DN matches <c>privileged_groups</c>.</summary>
    public bool IsPrivileged(string dn) => Ancestors(Dn.Normalize(dn)).Any(a => IsMatch(_nodes[a].Dn));

    /// <summary>The DNs of the groups <paramref name="dn"/> is nested in (at any depth) that discovery lists.</summary>
    public IEnumerable<string> ListedAncestors(string dn) =>
        Ancestors(Dn.Normalize(dn)).Where(a => _nodes[a].Listed).Select(a => _nodes[a].Dn);

    private bool IsMatch(string dn)
    {
        var name = Dn.Rdn(dn);
        name = name[(name.IndexOf('=', StringComparison.Ordinal) + 1)..];
        return privilegedPatterns.Any(p => p.IsMatch(name) || p.IsMatch(dn));
    }

    private List<string> Ancestors(string key)
    {
        if (_ancestors.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { key };
        var stack = new Stack<string>(_nodes.TryGetValue(key, out var start) ? start.Parents : []);
        var result = new List<string>();
        while (stack.TryPop(out var next))
        {
            if (!seen.Add(next) || !_nodes.TryGetValue(next, out var node))
            {
                continue;
            }

            result.Add(next);
            foreach (var parent in node.Parents)
            {
                stack.Push(parent);
            }
        }

        _ancestors[key] = result;
        return result;
    }

    private sealed class Node(string dn)
    {
        public string Dn { get; } = dn;

        public HashSet<string> Parents { get; } = new(StringComparer.Ordinal);

        public bool Read { get; set; }

        public bool Listed { get; set; }
    }
}
