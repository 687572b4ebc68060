using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Hosting.Configuration;

public enum StoreProvider
{
    /// <summary>The embedded store: one SQLite file (<c>path</c>), for one machine.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (<c>connection_string</c>) that several nodes can share.</summary>
    Postgres,
}

/// <param name="Path">SQLite file (absolute). With PostgreSQL its folder still holds this node's local files (the worker
/// lock, the sandbox's simulated systems).</param>
/// <param name="ConnectionString">For PostgreSQL: a secret reference (<c>env:NAME</c> or <c>file:/path</c>) to an Npgsql
/// connection string.</param>
public sealed record StoreOptions(StoreProvider Provider, string Path, string? ConnectionString, Store.Sqlite.SqliteDurability Durability)
{
    /// <summary>Where the store is, for messages: the SQLite file, or the PostgreSQL connection string's secret reference
    /// (never the connection string itself).</summary>
    public string Where => Provider == StoreProvider.Postgres ? $"PostgreSQL ({ConnectionString})" : Path;
}

/// <summary>One configured system: its model, its connector settings and how the engine drives it.</summary>
/// <param name="Concurrency">Calls in flight at once to this system.</param>
/// <param name="RateLimitPerSecond">Calls per second the engine allows itself (0 = no limit).</param>
/// <param name="Correlate">Ordered correlation rules: <c>employee_id</c>, <c>email</c>, <c>username</c>, <c>username:PATTERN</c>, <c>attribute:NAME</c> (compared to the person id). Manual links come first.</param>
public sealed record SystemConfig(ConnectedSystem System, SettingsNode Settings, int Concurrency, double RateLimitPerSecond, IReadOnlyList<string> Correlate);

/// <summary>The whole of <c>deprov.yaml</c>, validated.</summary>
public sealed record DeprovConfig(string FilePath, StoreOptions Store, IReadOnlyList<SystemConfig> Systems, DeprovPolicy Policy, Roster.RosterOptions? RosterOptions = null)
{
    /// <summary>The <c>reconciliation:</c> section (reactions, dormant thresholds, discovery schedules).</summary>
    public Core.Reconciliation.ReconciliationPolicy Reconciliation { get; init; } = Core.Reconciliation.ReconciliationPolicy.Defaults;
    public Roster.RosterOptions Roster => RosterOptions ?? Hosting.Roster.RosterOptions.Default;

    /// <summary>The <c>hr_sources:</c> list: HR systems pulled on a schedule.</summary>
    public IReadOnlyList<Hosting.HrSources.HrSourceConfig> HrSources { get; init; } = [];

    /// <summary>The <c>evidence:</c> section (signed checkpoints), or null when it is absent.</summary>
    public Evidence.EvidenceOptions? Evidence { get; init; }

    public string BaseDirectory => System.IO.Path.GetDirectoryName(FilePath) ?? ".";

    /// <summary>Folder for data beside the store (the sandbox's simulated systems live here).</summary>
    public string DataDirectory => System.IO.Path.GetDirectoryName(Store.Path) ?? BaseDirectory;

    public IReadOnlyDictionary<string, ConnectedSystem> SystemsById => Systems.ToDictionary(s => s.System.Id, s => s.System, StringComparer.Ordinal);
}

/// <summary>Loads and validates <c>deprov.yaml</c>. Reports every problem at once, each with file, line, key and fix.</summary>
public static class ConfigLoader
{
    public static DeprovConfig Load(string path, IReadOnlyDictionary<string, IConnectorFactory> factories)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ValidationException([new ValidationError(full, null, null, "does not exist.",
                "create it (see deprov.yaml at the repository root for a complete commented example) or pass --config <file>.")]);
        }

        return Parse(File.ReadAllText(full), full, factories);
    }

    public static DeprovConfig Parse(string yaml, string filePath, IReadOnlyDictionary<string, IConnectorFactory> factories)
    {
        var root = YamlSettings.Parse(yaml, filePath);
        var errors = new List<ValidationError>();
        if (!root.IsMapping)
        {
            var what = root.IsSequence ? "a list" : root.IsScalar ? "a single value" : "empty";
            throw new ValidationException([new ValidationError(filePath, root.Line ?? 1, null, $"is {what}; it must be a YAML mapping with 'store', 'systems' and 'policy'.",
                "write 'key: value' lines at the top level (start from the example deprov.yaml).") { Column = 1 }]);
        }

        root.CheckKnownKeys(errors, "version", "store", "systems", "policy", "roster", "reconciliation", "hr_sources", "evidence");
        var baseDir = System.IO.Path.GetDirectoryName(filePath) ?? ".";
        var store = BindStore(root["store"], baseDir, errors);
        var policyNode = root["policy"];
        var retention = policyNode.GetInt("default_retention_days", 30, errors, 0, 3650);
        var systems = BindSystems(root["systems"], retention, factories, errors);
        var systemIds = systems.Select(s => s.System.Id).ToHashSet(StringComparer.Ordinal);
        var policy = PolicyBinder.Bind(policyNode, systemIds, errors);
        var reconciliation = ReconciliationBinder.Bind(root["reconciliation"], systemIds, errors);
        var roster = Roster.RosterOptions.Bind(root["roster"], errors);
        var hrSources = HrSources.HrSourceConfig.Bind(root["hr_sources"], errors);
        var evidence = Evidence.EvidenceOptions.Bind(root["evidence"], baseDir, errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new DeprovConfig(filePath, store, systems, policy, roster) { Reconciliation = reconciliation, HrSources = hrSources, Evidence = evidence };
    }

    private static StoreOptions BindStore(SettingsNode n, string baseDir, List<ValidationError> errors)
    {
        n.CheckKnownKeys(errors, "provider", "path", "connection_string", "durability");
        var provider = n.GetEnum("provider", StoreProvider.Sqlite, errors);
        var path = n.GetString("path", errors) ?? ".deprov/deprov.db";
        var cs = n.GetString("connection_string", errors);
        if (cs is not null && !SecretResolver.IsReference(cs))
        {
            errors.Add(n["connection_string"].Error("holds a literal value; connection strings carry passwords and must not live in YAML.", "write 'env:VARIABLE' or 'file:/path/to/file'."));
        }

        if (provider == StoreProvider.Postgres && cs is null && !n["provider"].IsMissing)
        {
            errors.Add(n["provider"].Error("is 'postgres' but there is no 'connection_string'.",
                "add 'connection_string: env:DEPROV_PG' and export DEPROV_PG='Host=…;Database=…;Username=…;Password=…'."));
        }

        var durability = n.GetEnum("durability", Store.Sqlite.SqliteDurability.Full, errors);
        return new StoreOptions(provider, System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, path)), cs, durability);
    }

    private static List<SystemConfig> BindSystems(SettingsNode n, int defaultRetention, IReadOnlyDictionary<string, IConnectorFactory> factories, List<ValidationError> errors)
    {
        var list = new List<SystemConfig>();
        if (n.IsMissing)
        {
            errors.Add(n.Error("is missing: Deprov needs at least one connected system.", "add a 'systems:' list (see the example deprov.yaml)."));
            return list;
        }

        if (!n.IsSequence)
        {
            errors.Add(n.Error("must be a list of systems.", "write one '- id: ...' entry per system."));
            return list;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in n.Items)
        {
            s.CheckKnownKeys(errors, "id", "name", "kind", "role", "risk", "licence_cost", "retention_days", "concurrency", "rate_limit_per_second", "correlate", "settings");
            var id = s.GetString("id", errors, required: true, fix: "add 'id: <short-name>' (letters, digits, '-').");
            if (id is not null && !ids.Add(id))
            {
                errors.Add(s["id"].Error($"'{id}' is used by another system.", "give every system a unique id."));
            }

            if (id is not null && !System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-z0-9][a-z0-9-]*$"))
            {
                errors.Add(s["id"].Error($"'{id}' must be lower-case letters, digits and '-'.", "rename it, e.g. 'hr-portal'."));
            }

            var kind = s.GetString("kind", errors, required: true, fix: $"add 'kind: <one of {string.Join(", ", factories.Keys.Order(StringComparer.Ordinal))}>'.");
            var role = s.GetEnum("role", SystemRole.Application, errors);
            var risk = s.GetEnum("risk", RiskTier.Medium, errors);
            var cost = s.GetDecimal("licence_cost", 0m, errors);
            var retention = s.GetInt("retention_days", defaultRetention, errors, 0, 3650);
            var concurrency = s.GetInt("concurrency", 8, errors, 1, 256);
            var rate = s.GetDouble("rate_limit_per_second", 0, errors, 0, 100_000);
            var correlate = s.GetStringList("correlate", errors);
            foreach (var rule in correlate)
            {
                if (Discovery.Correlator.Validate(rule) is { } problem)
                {
                    errors.Add(s["correlate"].Error($"has rule '{rule}': {problem}", "use employee_id, email, username, username:<pattern with {local} or {id}> or attribute:<name> (e.g. attribute:employeeNumber)."));
                }
            }

            var settings = s.Has("settings") ? s["settings"] : SettingsNode.Empty(SettingsNode.Missing(s.Path + ".settings").Path);
            if (id is null || kind is null)
            {
                continue;
            }

            var system = new ConnectedSystem(id, s.GetString("name", errors) ?? id, kind, role, risk, cost, retention);
            if (!factories.TryGetValue(kind, out var factory))
            {
                errors.Add(s["kind"].Error($"'{kind}' is not a known connector kind.", $"use one of: {string.Join(", ", factories.Keys.Order(StringComparer.Ordinal))}."));
            }
            else
            {
                errors.AddRange(factory.Validate(system, settings));
            }

            list.Add(new SystemConfig(system, settings, concurrency, rate, correlate.Count > 0 ? correlate : ["email"]));
        }

        return list;
    }
}
