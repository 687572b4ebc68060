using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Hosting.Discovery;

/// <summary>
/// Ties discovered accounts to people. Manual links come first; then the system's ordered rules, the first rule that
/// matches exactly one person wins and is recorded. A rule that matches two or more people is a conflict: recorded with
/// the candidates, never guessed, and no later rule is tried.
/// </summary>
/// <remarks>Rules: <c>employee_id</c> (the employeeNumber / employeeId attribute equals the HR id), <c>email</c>,
/// <c>username</c> (the user name is a person's email or its local part), <c>username:PATTERN</c> (the pattern holds
/// <c>{local}</c> — the email's local part — or <c>{id}</c> — the HR id, e.g. <c>adm-{local}</c>), and
/// <c>attribute:NAME</c> (the attribute equals the HR id).</remarks>
public sealed class Correlator
{
    private static readonly string[] EmployeeIdAttributes = ["employeeNumber", "employeeId", "employee_id"];

    private readonly PeopleSnapshot _people;

    public Correlator(PeopleSnapshot people)
    {
        _people = people;
    }

    /// <summary>Null when the rule is valid; otherwise what is wrong with it.</summary>
    public static string? Validate(string rule)
    {
        if (rule is "employee_id" or "email" or "username")
        {
            return null;
        }

        if (rule.StartsWith("attribute:", StringComparison.Ordinal))
        {
            return rule.Length > 10 ? null : "the attribute name is missing.";
        }

        if (rule.StartsWith("username:", StringComparison.Ordinal))
        {
            var pattern = rule[9..];
            var holes = Count(pattern, "{local}") + Count(pattern, "{id}");
            return holes == 1 ? null : "the pattern must hold exactly one {local} or {id}.";
        }

        return "it is not a known rule.";
    }

    /// <summary>Correlates row <paramref name="index"/> of <paramref name="accounts"/>.</summary>
    public (string? PersonId, string? Rule) Correlate(DiscoveredAccounts accounts, int index, IReadOnlyList<string> rules, IReadOnlyDictionary<string, CorrelationLinkValue>? links)
    {
        if (links is not null && links.TryGetValue(accounts.ExternalIdAt(index), out var link))
        {
            return (link.PersonId, Core.Reconciliation.CorrelationLink.RuleFor(link.LinkedBy));
        }

        for (var r = 0; r < rules.Count; r++) // by index: a foreach would box an enumerator per account
        {
            var rule = rules[r];
            var matches = Match(accounts, index, rule);
            if (matches.Count == 1)
            {
                return (matches.First, rule);
            }

            if (matches.Count > 1)
            {
                return (null, $"conflict ({rule}): {string.Join(", ", matches.Many!.Take(5))}");
            }
        }

        return (null, null);
    }

    /// <summary>The people a rule matches: one HR id (no list made for it), or a list the people index already holds.</summary>
    private readonly record struct Candidates(string? One, List<string>? Many)
    {
        public int Count => One is not null ? 1 : Many?.Count ?? 0;

        public string First => One ?? Many![0];

        public static implicit operator Candidates(List<string>? many) => new(null, many);
    }

    private Candidates Match(DiscoveredAccounts accounts, int index, string rule)
    {
        switch (rule)
        {
            case "email":
                return accounts.EmailAt(index) is { } email ? _people.ByEmail.GetValueOrDefault(email) : default;
            case "username":
                var userName = accounts.UserNameAt(index);
                return _people.ByEmail.GetValueOrDefault(userName) ?? _people.ByLocalPart.GetValueOrDefault(userName);
            case "employee_id":
                foreach (var name in EmployeeIdAttributes)
                {
                    if (accounts.AttributeAt(index, name) is { } id)
                    {
                        return Person(id);
                    }
                }

                return default;
        }

        if (rule.StartsWith("attribute:", StringComparison.Ordinal))
        {
            return accounts.AttributeAt(index, rule[10..]) is { } v ? Person(v) : default;
        }

        if (rule.StartsWith("username:", StringComparison.Ordinal))
        {
            var pattern = rule[9..];
            var hole = pattern.Contains("{local}", StringComparison.Ordinal) ? "{local}" : "{id}";
            var at = pattern.IndexOf(hole, StringComparison.Ordinal);
            var (prefix, suffix) = (pattern[..at], pattern[(at + hole.Length)..]);
            var name = accounts.UserNameAt(index);
            if (name.Length <= prefix.Length + suffix.Length || !name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || !name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return default;
            }

            var middle = name[prefix.Length..^suffix.Length];
            return hole == "{id}" ? Person(middle) : _people.ByLocalPart.GetValueOrDefault(middle);
        }

        return default;
    }

    private Candidates Person(string id) => _people.ById.ContainsKey(id) ? new Candidates(id, null) : default;

    private static int Count(string s, string what)
    {
        var n = 0;
        for (var i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}

/// <summary>A manual link as the correlator needs it.</summary>
public sealed record CorrelationLinkValue(string PersonId, string LinkedBy);

/// <summary>Every person, indexed for correlation, read once per reconciliation run.</summary>
public sealed class PeopleSnapshot
{
    public PeopleSnapshot(int capacity = 0)
    {
        ById = new(capacity, StringComparer.Ordinal);
        ByEmail = new(capacity, StringComparer.OrdinalIgnoreCase);
        ByLocalPart = new(capacity, StringComparer.OrdinalIgnoreCase);
    }

    public Dictionary<string, Person> ById { get; }

    public Dictionary<string, List<string>> ByEmail { get; }

    public Dictionary<string, List<string>> ByLocalPart { get; }

    /// <summary>Order-independent hash of what correlation and detection read from people (changes when HR data does).</summary>
    public ulong Fingerprint { get; private set; }

    public void Add(Person p)
    {
        ById[p.Id] = p;
        Append(ByEmail, p.Email, p.Id);
        var at = p.Email.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            Append(ByLocalPart, p.Email[..at], p.Id);
        }

        Fingerprint += Fnv.Mix(Fnv.Of(p.Id, p.Email, p.Department, p.Title, ((int)p.Status).ToString(System.Globalization.CultureInfo.InvariantCulture),
            p.EndDate?.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
    }

    public static async Task<PeopleSnapshot> LoadAsync(Core.Store.IStore store, CancellationToken cancellationToken)
    {
        // Sized up front: growing three dictionaries of 100,000 people rehashes every key many times over. The pages
        // are read concurrently (each read has its own connection) and indexed in order as they arrive, so reading
        // 100,000 people — on the path of every reconciliation, changed or not — takes both cores.
        var count = await store.CountPeopleAsync(cancellationToken);
        var index = new PeopleSnapshot(count);
        const int page = 20_000;
        var pages = new List<Task<IReadOnlyList<Person>>>();
        for (var offset = 0; offset < count; offset += page)
        {
            pages.Add(store.ListPeopleAsync(page, offset, cancellationToken));
        }

        try
        {
            foreach (var batch in pages)
            {
                foreach (var p in await batch)
                {
                    index.Add(p);
                }
            }
        }
        finally
        {
            await ((Task)Task.WhenAll(pages)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // never leave a read running
        }

        // People added since the count: read on until a short page.
        for (var offset = pages.Count * page; ; offset += page)
        {
            var batch = await store.ListPeopleAsync(page, offset, cancellationToken);
            foreach (var p in batch)
            {
                index.Add(p);
            }

            if (batch.Count < page)
            {
                return index;
            }
        }
    }

    private static void Append(Dictionary<string, List<string>> d, string key, string id)
    {
        if (!d.TryGetValue(key, out var list))
        {
            d[key] = list = new List<string>(1); // almost always one person per key
        }

        list.Add(id);
    }
}

/// <summary>A stable (not per-process randomised) 64-bit FNV-1a hash, for fingerprints stored across runs.</summary>
public static class Fnv
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Of(params ReadOnlySpan<string?> parts) // a span: no array per call (one per person and per object read)
    {
        var h = Offset;
        foreach (var part in parts)
        {
            h = Add(h, part);
            h = (h ^ 0x1F) * Prime; // separator: ("ab","c") differs from ("a","bc")
        }

        return h;
    }

    public static ulong Add(ulong h, string? s)
    {
        if (s is null)
        {
            return (h ^ 0xFF) * Prime;
        }

        foreach (var ch in s)
        {
            h = (h ^ ch) * Prime;
        }

        return h;
    }

    public static ulong Add(ulong h, long v)
    {
        for (var i = 0; i < 8; i++, v >>= 8)
        {
            h = (h ^ (byte)v) * Prime;
        }

        return h;
    }

    /// <summary>Finalises one object's hash so a sum of many stays well spread (splitmix64 finaliser).</summary>
    public static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
