using System.Collections.Concurrent;
using System.DirectoryServices.Protocols;

namespace Deprov.Connectors.Ldap.Connections;

/// <summary>
/// A fixed number of bound connections, each owned by its own thread.
/// </summary>
/// <remarks>
/// S.DS.P's <see cref="LdapConnection.SendRequest(DirectoryRequest, TimeSpan)"/> blocks the calling thread, and one
/// libldap handle must not carry two operations from two threads at once. Running the blocking calls on thread-pool
/// threads starves the pool when the engine keeps eight operations in flight on a two-core machine (the pool grows by
/// about one thread per second), so each connection gets a dedicated thread and callers await a task.
/// A caller leases one slot for several operations when they must share a connection (a paged search: the cookie is
/// only valid on the connection that issued it).
/// </remarks>
internal sealed class LdapConnectionPool : IDisposable
{
    private readonly SemaphoreSlim _available;
    private readonly ConcurrentBag<Slot> _idle = [];
    private readonly Slot[] _slots;

    public LdapConnectionPool(int size, Func<LdapConnection> connect)
    {
        _available = new SemaphoreSlim(size, size);
        _slots = new Slot[size];
        for (var i = 0; i < size; i++)
        {
            _slots[i] = new Slot(connect, i);
            _idle.Add(_slots[i]);
        }
    }

    /// <summary>Runs one operation on any free connection.</summary>
    public async Task<T> RunAsync<T>(Func<LdapConnection, T> work, CancellationToken cancellationToken)
    {
        using var lease = await LeaseAsync(cancellationToken);
        return await lease.RunAsync(work, retryOnLostConnection: true, cancellationToken);
    }

    /// <summary>Reserves one connection until the lease is disposed.</summary>
    public async Task<Lease> LeaseAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken);
        if (!_idle.TryTake(out var slot))
        {
            _available.Release();
            throw new InvalidOperationException("LDAP connection pool is inconsistent: a permit was granted but no slot is idle.");
        }

        return new Lease(this, slot);
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Dispose();
        }

        _available.Dispose();
    }

    private void Return(Slot slot)
    {
        _idle.Add(slot);
        _available.Release();
    }

    /// <summary>A reserved connection. Dispose to give it back.</summary>
    internal sealed class Lease : IDisposable
    {
        private readonly LdapConnectionPool _pool;
        private Slot? _slot;

        public Lease(LdapConnectionPool pool, Slot slot)
        {
            _pool = pool;
            _slot = slot;
        }

        /// <param name="retryOnLostConnection">
        /// Reconnect and run once more when a reused connection turns out to be dead (server restarted, idle timeout).
        /// Off for operations that depend on state held by the old connection (a paged-search cookie).
        /// </param>
        public Task<T> RunAsync<T>(Func<LdapConnection, T> work, bool retryOnLostConnection, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_slot is null, this);
            return _slot.RunAsync(work, retryOnLostConnection, cancellationToken);
        }

        public void Dispose()
        {
            var slot = Interlocked.Exchange(ref _slot, null);
            if (slot is not null)
            {
                _pool.Return(slot);
            }
        }
    }

    internal sealed class Slot : IDisposable
    {
        private readonly BlockingCollection<Action> _work = [];
        private readonly Func<LdapConnection> _connect;
        private readonly Thread _thread;
        private LdapConnection? _connection;

        public Slot(Func<LdapConnection> connect, int index)
        {
            _connect = connect;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"deprov-ldap-{index}" };
            _thread.Start();
        }

        public Task<T> RunAsync<T>(Func<LdapConnection, T> work, bool retryOnLostConnection, CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add(() =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                    return;
                }

                try
                {
                    done.TrySetResult(Execute(work, retryOnLostConnection));
                }
#pragma warning disable CA1031 // The exception is handed to the awaiting caller, which translates it.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    done.TrySetException(ex);
                }
            }, CancellationToken.None);
            return done.Task;
        }

        private T Execute<T>(Func<LdapConnection, T> work, bool retryOnLostConnection)
        {
            var reused = _connection is not null;
            _connection ??= _connect();
            try
            {
                return work(_connection);
            }
            catch (LdapException ex) when (LdapErrors.IsConnectionLost(ex.ErrorCode))
            {
                Drop();

                // Retry only a connection the server dropped while it sat idle; after a timeout the server is alive but
                // not answering, and a new bind would hang on it too.
                if (!reused || !retryOnLostConnection || ex.ErrorCode == LdapErrors.Timeout)
                {
                    throw;
                }
            }

            _connection = _connect();
            try
            {
                return work(_connection);
            }
            catch (LdapException ex) when (LdapErrors.IsConnectionLost(ex.ErrorCode))
            {
                Drop();
                throw;
            }
        }

        private void Drop()
        {
            _connection?.Dispose();
            _connection = null;
        }

        private void Loop()
        {
            foreach (var item in _work.GetConsumingEnumerable())
            {
                item();
            }

            Drop();
        }

        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join(TimeSpan.FromSeconds(30));
            _work.Dispose();
        }
    }
}
