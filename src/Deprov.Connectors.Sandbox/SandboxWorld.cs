using System.Collections.Concurrent;
using IOPath = System.IO.Path;
using System.Globalization;
using System.Threading.Channels;
using Deprov.Core.Model;
using Microsoft.Data.Sqlite;

namespace Deprov.Connectors.Sandbox;

/// <summary>
/// The simulated company systems, kept in one SQLite file (<c>sandbox.db</c>) and mirrored in memory. Changes are written
/// through a group-commit writer: a change is acknowledged only once its batch is committed, so the sandbox survives a
/// kill -9 like a real remote system would. One world per file per process, shared by the sandbox connectors.
/// </summary>
public sealed class SandboxWorld : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<string, SandboxWorld> Open = new(StringComparer.Ordinal);
    private static readonly Lock OpenLock = new();

    private readonly Dictionary<string, SandboxSystemState> _systems = new(StringComparer.Ordinal);
    private readonly Channel<(Change[] Changes, TaskCompletionSource Done)> _writes = Channel.CreateUnbounded<(Change[], TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteConnection _connection;
    private readonly Task _writer;
    private int _references;

    private SandboxWorld(string path)
    {
        Path = path;
        Directory.CreateDirectory(IOPath.GetDirectoryName(path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        _connection.Open();
        Exec("PRAGMA journal_mode=WAL");
        Exec("PRAGMA synchronous=NORMAL");
        Exec(Schema);
        Load();
        _writer = Task.Run(WriteLoopAsync);
    }

    public string Path { get; }

    /// <summary>Differs per process: a watermark from another process never matches (its changes are unknown here).</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>Opens (or shares) the world stored at <paramref name="path"/>. Release it with <see cref="DisposeAsync"/>.</summary>
    public static SandboxWorld Acquire(string path)
    {
        var full = IOPath.GetFullPath(path);
        lock (OpenLock)
        {
            var world = Open.GetOrAdd(full, p => new SandboxWorld(p));
            world._references++;
            return world;
        }
    }

    /// <summary>The state of one system (created empty if the world has none).</summary>
    public SandboxSystemState System(string systemId)
    {
        lock (_systems)
        {
            if (!_systems.TryGetValue(systemId, out var s))
            {
                _systems[systemId] = s = new SandboxSystemState();
            }

            return s;
        }
    }

    public IReadOnlyCollection<string> SystemIds
    {
        get
        {
            lock (_systems)
            {
                return [.. _systems.Keys];
            }
        }
    }

    /// <summary>Replaces the whole world (used by the demo and benchmarks to set up a company).</summary>
    public async Task ResetAsync(IReadOnlyDictionary<string, SandboxSystemState> systems, CancellationToken cancellationToken)
    {
        var changes = new List<Change> { new Wipe() };
        foreach (var (id, s) in systems)
        {
            changes.AddRange(s.Accounts.Values.Select(a => new AccountRow(id, a)));
            changes.AddRange(s.Groups.Values.Select(g => new GroupRow(id, g)));
            changes.AddRange(s.Members.SelectMany(kv => kv.Value.Select(m => new Membership(id, kv.Key, m, true))));
            changes.AddRange(s.Devices.Values.Select(d => new DeviceRow(id, d)));
            changes.AddRange(s.Credentials.Values.Select(c => new CredentialRow(id, c)));
        }

        await CommitAsync([.. changes]).WaitAsync(cancellationToken);

        // Connectors hold their system's state object: refill those objects rather than replacing them.
        foreach (var id in SystemIds.Concat(systems.Keys).Distinct(StringComparer.Ordinal))
        {
            var target = System(id);
            lock (target.Sync)
            {
                target.Touch();
                target.Accounts.Clear();
                target.Groups.Clear();
                target.Members.Clear();
                target.Devices.Clear();
                target.Credentials.Clear();
                if (systems.TryGetValue(id, out var source))
                {
                    foreach (var (k, v) in source.Accounts)
                    {
                        target.Accounts[k] = v;
                    }

                    foreach (var (k, v) in source.Groups)
                    {
                        target.Groups[k] = v;
                    }

                    foreach (var (k, v) in source.Members)
                    {
                        target.Members[k] = v;
                    }

                    foreach (var (k, v) in source.Devices)
                    {
                        target.Devices[k] = v;
                    }

                    foreach (var (k, v) in source.Credentials)
                    {
                        target.Credentials[k] = v;
                    }
                }
            }
        }
    }

    /// <summary>Persists changes; completes when they are committed.</summary>
    internal Task CommitAsync(Change[] changes)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_writes.Writer.TryWrite((changes, done)))
        {
            done.SetException(new ObjectDisposedException(nameof(SandboxWorld)));
        }

        return done.Task;
    }

    /// <summary>How many times an idempotency key changed state (the crash tests check it is never more than once).</summary>
    public IReadOnlyDictionary<string, int> ChangedCountsByKey()
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT key, SUM(changed) FROM sb_ops GROUP BY key";
        using var r = cmd.ExecuteReader();
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        while (r.Read())
        {
            d[r.GetString(0)] = r.GetInt32(1);
        }

        return d;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<(Change[] Changes, TaskCompletionSource Done)>();
        while (await _writes.Reader.WaitToReadAsync())
        {
            while (batch.Count < 2048 && _writes.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                using (var tx = _connection.BeginTransaction())
                using (var w = new Writer(_connection, tx))
                {
                    foreach (var (changes, _) in batch)
                    {
                        foreach (var change in changes)
                        {
                            w.Apply(change);
                        }
                    }

                    tx.Commit();
                }

                foreach (var (_, done) in batch)
                {
                    done.TrySetResult();
                }
            }
#pragma warning disable CA1031 // The writer hands every failure to the callers waiting for it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (OpenLock)
        {
            if (--_references > 0)
            {
                return;
            }

            Open.TryRemove(Path, out _);
        }

        _writes.Writer.TryComplete();
        await _writer;
        await _connection.DisposeAsync();
    }

    private void Exec(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private void Load()
    {
        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT system, id, user_name, email, employee_id, kind, active, deleted, sessions, password_reset_key, last_sign_in FROM sb_accounts";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                System(r.GetString(0)).Accounts[r.GetString(1)] = new SbAccount
                {
                    Id = r.GetString(1),
                    UserName = r.GetString(2),
                    Email = r.IsDBNull(3) ? null : r.GetString(3),
                    EmployeeId = r.IsDBNull(4) ? null : r.GetString(4),
                    Kind = (AccountKind)r.GetInt32(5),
                    Active = r.GetInt32(6) == 1,
                    Deleted = r.GetInt32(7) == 1,
                    Sessions = r.GetInt32(8),
                    PasswordResetKey = r.IsDBNull(9) ? null : r.GetString(9),
                    LastSignIn = r.IsDBNull(10) ? null : new DateTimeOffset(r.GetInt64(10), TimeSpan.Zero),
                };
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT system, id, name, kind, privileged FROM sb_groups";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                System(r.GetString(0)).Groups[r.GetString(1)] = new SbGroup { Id = r.GetString(1), Name = r.GetString(2), Kind = (EntitlementKind)r.GetInt32(3), Privileged = r.GetInt32(4) == 1 };
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT system, group_id, account_id FROM sb_members";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var s = System(r.GetString(0));
                if (!s.Members.TryGetValue(r.GetString(1), out var set))
                {
                    s.Members[r.GetString(1)] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(r.GetString(2));
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT system, id, serial, model, owner, status FROM sb_devices";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                System(r.GetString(0)).Devices[r.GetString(1)] = new SbDevice { Id = r.GetString(1), Serial = r.GetString(2), Model = r.GetString(3), Owner = r.IsDBNull(4) ? null : r.GetString(4), Status = (DeviceStatus)r.GetInt32(5) };
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT system, id, name, kind, owner, known_by, active, version, rotation_key, rotated_at FROM sb_credentials";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                System(r.GetString(0)).Credentials[r.GetString(1)] = new SbCredential
                {
                    Id = r.GetString(1),
                    Name = r.GetString(2),
                    Kind = (CredentialKind)r.GetInt32(3),
                    Owner = r.IsDBNull(4) ? null : r.GetString(4),
                    KnownBy = r.IsDBNull(5) || r.GetString(5).Length == 0 ? [] : [.. r.GetString(5).Split(',')],
                    Active = r.GetInt32(6) == 1,
                    Version = r.GetInt32(7),
                    Rotations = r.IsDBNull(8) || r.GetString(8).Length == 0 ? [] : [.. r.GetString(8).Split(',')],
                    RotatedAt = r.IsDBNull(9) ? null : new DateTimeOffset(r.GetInt64(9), TimeSpan.Zero),
                };
            }
        }
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS sb_accounts(system TEXT NOT NULL, id TEXT NOT NULL, user_name TEXT NOT NULL, email TEXT, employee_id TEXT,
          kind INTEGER NOT NULL, active INTEGER NOT NULL, deleted INTEGER NOT NULL, sessions INTEGER NOT NULL, password_reset_key TEXT,
          last_sign_in INTEGER, PRIMARY KEY(system, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sb_groups(system TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,
          privileged INTEGER NOT NULL, PRIMARY KEY(system, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sb_members(system TEXT NOT NULL, group_id TEXT NOT NULL, account_id TEXT NOT NULL,
          PRIMARY KEY(system, group_id, account_id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sb_devices(system TEXT NOT NULL, id TEXT NOT NULL, serial TEXT NOT NULL, model TEXT NOT NULL, owner TEXT,
          status INTEGER NOT NULL, PRIMARY KEY(system, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sb_credentials(system TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL, owner TEXT,
          known_by TEXT, active INTEGER NOT NULL, version INTEGER NOT NULL, rotation_key TEXT, rotated_at INTEGER, PRIMARY KEY(system, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sb_ops(seq INTEGER PRIMARY KEY, system TEXT NOT NULL, key TEXT NOT NULL, action TEXT NOT NULL,
          target TEXT NOT NULL, changed INTEGER NOT NULL, at INTEGER NOT NULL);
        """;

    /// <summary>Prepared statements for one write batch.</summary>
    private sealed class Writer : IDisposable
    {
        private readonly SqliteConnection _c;
        private readonly SqliteTransaction _tx;
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public Writer(SqliteConnection c, SqliteTransaction tx)
        {
            _c = c;
            _tx = tx;
        }

        public void Apply(Change change)
        {
            switch (change)
            {
                case Wipe:
                    foreach (var t in new[] { "sb_accounts", "sb_groups", "sb_members", "sb_devices", "sb_credentials", "sb_ops" })
                    {
                        Run($"DELETE FROM {t}");
                    }

                    break;
                case AccountRow(var s, var a):
                    Run("INSERT OR REPLACE INTO sb_accounts VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)", s, a.Id, a.UserName, a.Email, a.EmployeeId, (int)a.Kind,
                        a.Active ? 1 : 0, a.Deleted ? 1 : 0, a.Sessions, a.PasswordResetKey, a.LastSignIn?.UtcTicks);
                    break;
                case GroupRow(var s, var g):
                    Run("INSERT OR REPLACE INTO sb_groups VALUES ($1,$2,$3,$4,$5)", s, g.Id, g.Name, (int)g.Kind, g.Privileged ? 1 : 0);
                    break;
                case Membership(var s, var g, var a, true):
                    Run("INSERT OR IGNORE INTO sb_members VALUES ($1,$2,$3)", s, g, a);
                    break;
                case Membership(var s, var g, var a, false):
                    Run("DELETE FROM sb_members WHERE system = $1 AND group_id = $2 AND account_id = $3", s, g, a);
                    break;
                case DeviceRow(var s, var d):
                    Run("INSERT OR REPLACE INTO sb_devices VALUES ($1,$2,$3,$4,$5,$6)", s, d.Id, d.Serial, d.Model, d.Owner, (int)d.Status);
                    break;
                case CredentialRow(var s, var cr):
                    Run("INSERT OR REPLACE INTO sb_credentials VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)", s, cr.Id, cr.Name, (int)cr.Kind, cr.Owner,
                        string.Join(',', cr.KnownBy), cr.Active ? 1 : 0, cr.Version, string.Join(',', cr.Rotations), cr.RotatedAt?.UtcTicks);
                    break;
                case OpLog(var s, var key, var action, var target, var changed, var at):
                    Run("INSERT INTO sb_ops(system, key, action, target, changed, at) VALUES ($1,$2,$3,$4,$5,$6)", s, key, action, target, changed ? 1 : 0, at.UtcTicks);
                    break;
            }
        }

        private void Run(string sql, params object?[] values)
        {
            if (!_commands.TryGetValue(sql, out var cmd))
            {
                cmd = _c.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = sql;
                for (var i = 1; i <= values.Length; i++)
                {
                    cmd.Parameters.Add(new SqliteParameter("$" + i.ToString(CultureInfo.InvariantCulture), null));
                }

                _commands[sql] = cmd;
            }

            for (var i = 0; i < values.Length; i++)
            {
                cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            cmd.ExecuteNonQuery();
        }

        public void Dispose()
        {
            foreach (var c in _commands.Values)
            {
                c.Dispose();
            }
        }
    }
}

/// <summary>A persisted change to the simulated systems.</summary>
internal abstract record Change;

internal sealed record Wipe : Change;

internal sealed record AccountRow(string System, SbAccount Account) : Change;

internal sealed record GroupRow(string System, SbGroup Group) : Change;

internal sealed record Membership(string System, string GroupId, string AccountId, bool Add) : Change;

internal sealed record DeviceRow(string System, SbDevice Device) : Change;

internal sealed record CredentialRow(string System, SbCredential Credential) : Change;

internal sealed record OpLog(string System, string Key, string Action, string Target, bool Changed, DateTimeOffset At) : Change;
