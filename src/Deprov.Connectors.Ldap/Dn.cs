namespace Deprov.Connectors.Ldap;

/// <summary>Just enough DN handling to compare DNs and split off the RDN (RFC 4514 escapes respected).</summary>
internal static class Dn
{
    /// <summary>The RDNs of <paramref name="dn"/>, split at unescaped commas, trimmed.</summary>
    public static List<string> Split(string dn)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i < dn.Length; i++)
        {
            if (dn[i] == '\\')
            {
                i++;
            }
            else if (dn[i] == ',')
            {
                parts.Add(dn[start..i].Trim());
                start = i + 1;
            }
        }

        if (start < dn.Length)
        {
            parts.Add(dn[start..].Trim());
        }

        return parts;
    }

    /// <summary>Lower-cased, with the spaces around separators removed: good enough to compare DNs from the same server.</summary>
    public static string Normalize(string dn) =>
        string.Join(',', Split(dn).Select(r => string.Join('=', r.Split('=', 2).Select(p => p.Trim())).ToLowerInvariant()));

    public static string Rdn(string dn) => Split(dn)[0];

    public static string Parent(string dn)
    {
        var parts = Split(dn);
        return string.Join(',', parts.Skip(1));
    }

    public static bool AreEqual(string a, string b) => string.Equals(Normalize(a), Normalize(b), StringComparison.Ordinal);

    /// <summary>True when <paramref name="dn"/> is <paramref name="ancestor"/> or below it.</summary>
    public static bool IsUnder(string dn, string ancestor)
    {
        var d = Normalize(dn);
        var a = Normalize(ancestor);
        return d == a || d.EndsWith("," + a, StringComparison.Ordinal);
    }
}
