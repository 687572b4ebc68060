using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.HrSources;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Deprov.Hosting.HrSources;
using Deprov.Store.Postgres;
using Deprov.Store.Relational;
using Deprov.Store.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Deprov.Hosting;

/// <summary>Builds a ready engine from <c>deprov.yaml</c>: loads and validates the configuration, opens and migrates the
/// store, registers the systems and creates one connector per system. Shared by the CLI and the server.</summary>
public static class DeprovHost
{
    public static IReadOnlyDictionary<string, IConnectorFactory> Factories(IEnumerable<IConnectorFactory> factories) =>
        factories.ToDictionary(f => f.Kind, StringComparer.Ordinal);

    public static Task<DeprovEngine> OpenAsync(DeprovConfig config, IEnumerable<IConnectorFactory> factories, TimeProvider time, ILoggerFactory? logs,
        EngineOptions? options, CancellationToken cancellationToken) =>
        OpenAsync(config, factories, [], time, logs, options, cancellationToken);

    /// <summary>Opens the engine with the HR sources of <c>hr_sources:</c>, each built by the factory of its kind.</summary>
    /// <exception cref="ValidationException">An HR source's kind has no factory, or its settings or status mapping are invalid (all problems at once).</exception>
    public static async Task<DeprovEngine> OpenAsync(DeprovConfig config, IEnumerable<IConnectorFactory> factories, IEnumerable<IHrSourceFactory> hrSourceFactories,
        TimeProvider time, ILoggerFactory? logs, EngineOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var hrKinds = hrSourceFactories.ToDictionary(f => f.Kind, StringComparer.Ordinal);
        var hrErrors = new List<ValidationError>();
        foreach (var h in config.HrSources)
        {
            if (!hrKinds.TryGetValue(h.Kind, out var f))
            {
                hrErrors.Add(new ValidationError(config.FilePath, null, $"hr_sources.{h.Id}.kind", $"'{h.Kind}' is not an HR source kind.",
                    hrKinds.Count == 0 ? "this build has no HR source kinds." : $"use one of: {string.Join(", ", hrKinds.Keys.Order(StringComparer.Ordinal))}."));
                continue;
            }

            hrErrors.AddRange(f.Validate(h.Id, h.Settings));
        }

        if (hrErrors.Count > 0)
        {
            throw new ValidationException(hrErrors);
        }

        var byKind = Factories(factories);
        var store = await OpenStoreAsync(config.Store, new SecretResolver(), cancellationToken);
        await store.UpsertSystemsAsync(config.Systems.Select(s => s.System).ToList(), cancellationToken);
        var context = new ConnectorContext(time, config.DataDirectory, new SecretResolver());
        var runtimes = new Dictionary<string, SystemRuntime>(StringComparer.Ordinal);
        var hrSources = new Dictionary<string, HrSourceRuntime>(StringComparer.Ordinal);
        try
        {
            foreach (var s in config.Systems)
            {
                var connector = byKind[s.System.Kind].Create(s.System, s.Settings, context);
                runtimes[s.System.Id] = new SystemRuntime(s, connector, config.Policy.Execution, time, options?.CallTimeout ?? TimeSpan.FromSeconds(30));
            }

            foreach (var h in config.HrSources)
            {
                var f = hrKinds[h.Kind];
                var statuses = h.Statuses(f.DefaultStatuses);
                hrSources[h.Id] = new HrSourceRuntime(h, f.Create(h.Id, h.Settings, statuses, context), new HrSyncRules(statuses, h.DefaultTimeZone, h.MaxShrink));
            }
        }
        catch
        {
            foreach (var h in hrSources.Values)
            {
                await h.Source.DisposeAsync();
            }

            foreach (var r in runtimes.Values)
            {
                await r.DisposeAsync();
            }

            await store.DisposeAsync();
            throw;
        }

        var logger = (logs ?? NullLoggerFactory.Instance).CreateLogger("Deprov.Engine");
        return new DeprovEngine(config, store, runtimes, time, logger, options) { HrSources = hrSources };
    }

    /// <summary>Opens and migrates the configured store: the SQLite file, or the PostgreSQL database the connection
    /// string's secret reference names.</summary>
    /// <exception cref="StoreException">The database cannot be reached or used; the message names the host and database
    /// (never the connection string) and what to fix.</exception>
    public static async Task<RelationalStore> OpenStoreAsync(StoreOptions options, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(secrets);
        RelationalStore store = options.Provider switch
        {
            StoreProvider.Postgres => OpenPostgres(options, secrets),
            _ => new SqliteStore(options.Path, options.Durability),
        };
        try
        {
            await store.MigrateAsync(cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }

        return store;
    }

    private static PostgresStore OpenPostgres(StoreOptions options, ISecretResolver secrets)
    {
        var reference = options.ConnectionString
            ?? throw new ValidationException("store.provider is 'postgres' but store.connection_string is missing. Fix: add 'connection_string: env:DEPROV_PG'.");
        var connectionString = secrets.Resolve(reference, "the PostgreSQL store (store.connection_string)");
        try
        {
            return new PostgresStore(connectionString);
        }
        catch (ArgumentException ex)
        {
            // The message repeats nothing of the connection string (it may hold a password).
            throw new StoreException($"store.connection_string ({reference}): {ex.Message}", isTransient: false, ex);
        }
    }

    public static async Task<DeprovEngine> OpenAsync(string configPath, IEnumerable<IConnectorFactory> factories, TimeProvider time, ILoggerFactory? logs,
        EngineOptions? options, CancellationToken cancellationToken)
    {
        var list = factories.ToList();
        var config = ConfigLoader.Load(configPath, Factories(list));
        return await OpenAsync(config, list, time, logs, options, cancellationToken);
    }

    /// <summary>
    /// Takes the store's worker lock: only one process executes steps for a store at a time (the lock is released by the
    /// kernel if the process dies). Returns null when another process holds it.
    /// </summary>
    public static IDisposable? TryAcquireWorkerLock(DeprovConfig config)
    {
        var path = config.Store.Path + ".worker.lock";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
