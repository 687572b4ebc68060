using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using System.Data.Common;

namespace Deprov.Store.Relational;

/// <summary>
/// The store's hottest reads: the person profile (every console profile page and <c>GET /api/people/{id}</c>), the
/// person lookup (every webhook) and the planner's access maps. They run on a small pool of read connections that keep
/// their statements prepared: compiling the ten statements of a profile again on every request cost more than running
/// them (docs/performance.md, server).
/// </summary>
public abstract partial class RelationalStore
{
    // Enough for both cores to be busy with a few requests each; more concurrent readers open a session that is closed
    // after use instead of pooled.
    private const int MaxPooledProfileSessions = 8;

    // Lock-free: under a webhook flood every request takes a session, and a lock here was contended.
    private readonly System.Collections.Concurrent.ConcurrentQueue<ProfileSession> _profileSessions = new();
    private int _pooledProfileSessions;
    private bool _profileSessionsClosed;

    public Task<PersonProfile?> GetPersonProfileAsync(string personId, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(personId);
        return OnProfileSession(s => s.Read(personId, Math.Clamp(limit, 1, 1000)), cancellationToken);
    }

    public Task<Person?> GetPersonAsync(string personId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(personId);
        return OnProfileSession(s => s.Person(personId), cancellationToken);
    }

    /// <summary>
    /// Runs a read on a pooled session, on the caller's thread: these statements take a fraction of a millisecond, less
    /// than a hop to the thread pool.
    /// </summary>
    private Task<T> OnProfileSession<T>(Func<ProfileSession, T> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = RentProfileSession();
        try
        {
            var result = read(session);
            ReturnProfileSession(session);
            return Task.FromResult(result);
        }
        catch (DbException ex)
        {
            session.Dispose();
            throw Wrap(ex);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private ProfileSession RentProfileSession()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _profileSessionsClosed), this);
        if (_profileSessions.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref _pooledProfileSessions);
            return pooled;
        }

        return new ProfileSession(this, OpenConnection());
    }

    private void ReturnProfileSession(ProfileSession session)
    {
        if (!Volatile.Read(ref _profileSessionsClosed) && Interlocked.Increment(ref _pooledProfileSessions) <= MaxPooledProfileSessions)
        {
            _profileSessions.Enqueue(session);
            if (!Volatile.Read(ref _profileSessionsClosed))
            {
                return;
            }

            CloseProfileSessions(); // closed meanwhile: drain what this return just added
            return;
        }

        Interlocked.Decrement(ref _pooledProfileSessions);
        session.Dispose();
    }

    internal void CloseProfileSessions()
    {
        Volatile.Write(ref _profileSessionsClosed, true);
        while (_profileSessions.TryDequeue(out var s))
        {
            Interlocked.Decrement(ref _pooledProfileSessions);
            s.Dispose();
        }
    }

    /// <summary>One read connection with the profile's statements prepared on it.</summary>
    private sealed class ProfileSession : IDisposable
    {
        private readonly RelationalStore _store;
        private readonly DbConnection _connection;
        private readonly AccessMapReader _access;
        private readonly AccessMapReader _one;
        private readonly PersonLookup _person;
        private readonly DbCommand _cases;
        private readonly DbCommand _tasks;
        private readonly DbCommand _history;

        public ProfileSession(RelationalStore store, DbConnection connection)
        {
            _store = store;
            _connection = connection;
            try
            {
                _access = new AccessMapReader(store.Sql, connection, null);
                _one = new AccessMapReader(store.Sql, connection, null, onePerson: true);
                _person = store.PersonLookup(connection, $"SELECT {PersonColumns} FROM people WHERE id = ?1");
                _cases = Prepared(connection, null, $"SELECT {CaseColumns} FROM cases WHERE person_id = @p ORDER BY created_at DESC, id DESC LIMIT @l", "@p", "@l");
                _tasks = Prepared(connection, null, $"SELECT {TaskColumns} FROM tasks WHERE person_id = @p ORDER BY status, due_at, id LIMIT @l", "@p", "@l");
                // Equality on person_id (not "@p IS NULL OR ...") so the partial index audit_person is used.
                _history = Prepared(connection, null, $"SELECT {AuditColumns} FROM audit WHERE person_id = @p ORDER BY seq DESC LIMIT @l", "@p", "@l");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Person? Person(string personId) => _person.Read(personId);

        public List<AccessMap> AccessMaps(IReadOnlyList<string> personIds)
        {
            using var tx = _store.BeginSnapshot(_connection); // one consistent snapshot for the whole batch
            _access.Use(tx);
            var maps = new List<AccessMap>(personIds.Count);
            foreach (var chunk in personIds.Chunk(AccessMapReader.MaxPeoplePerRead))
            {
                maps.AddRange(_access.Read(chunk));
            }

            return maps;
        }

        public PersonProfile? Read(string personId, int limit)
        {
            using var tx = _store.BeginSnapshot(_connection); // one snapshot for the map, cases, tasks and history
            _one.Use(tx);
            if (_one.Read(personId) is not { } map)
            {
                return null;
            }

            var cases = new List<Case>();
            using (var r = Query(_cases, tx, personId, limit))
            {
                while (r.Read())
                {
                    cases.Add(ReadCase(r));
                }
            }

            var tasks = new List<TaskItem>();
            using (var r = Query(_tasks, tx, personId, limit))
            {
                while (r.Read())
                {
                    tasks.Add(ReadTask(r));
                }
            }

            var history = new List<AuditRecord>();
            using (var r = Query(_history, tx, personId, limit))
            {
                while (r.Read())
                {
                    history.Add(ReadAudit(r));
                }
            }

            return new PersonProfile(map, cases, tasks, history);
        }

        private static DbDataReader Query(DbCommand cmd, DbTransaction tx, string personId, int limit)
        {
            cmd.Transaction = tx;
            cmd.Parameters[0].Value = personId;
            cmd.Parameters[1].Value = limit;
            return cmd.ExecuteReader();
        }

        public void Dispose()
        {
            _access?.Dispose();
            _one?.Dispose();
            _person?.Dispose();
            _cases?.Dispose();
            _tasks?.Dispose();
            _history?.Dispose();
            _connection.Dispose();
        }
    }
}
