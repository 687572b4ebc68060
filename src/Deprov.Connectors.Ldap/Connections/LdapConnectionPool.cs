using System.Collections.Concurrent;
using System.DirectoryServices.Protocols;

namespace Deprov.Connectors.Ldap.Connections;

/// <summary>
/// A fixed number of bound connections, each owned by its own thread. Every call is bounded by a deadline.
/// </summary>
/// <remarks>
/// <para>S.DS.P's <see cref="LdapConnection.SendRequest(DirectoryRequest, TimeSpan)"/> blocks the calling thread, and one
/// libldap handle must not carry two operations from two threads at once. Running the blocking calls on thread-pool
/// threads starves the pool when the engine keeps eight operations in flight on a two-core machine (the pool grows by
/// about one thread per second), so each connection gets a dedicated thread and callers await a task.
/// A caller leases one slot for several operations when they must share a connection (a paged search: the cookie is
/// only valid on the connection that issued it).</para>
/// <para>The deadline does not rely on the native library: on Linux the bind and StartTLS wait for an answer without
/// any limit, so a server that accepts TCP and never answers would hold a slot for ever. When a call misses its deadline
/// the caller gets a <see cref="TimeoutException"/> at once, the slot is retired (its thread ends and drops the connection
/// when the stuck call returns) and a new slot with a new thread takes its place. <see cref="LdapNativeTimeouts"/> makes
/// a stuck bind return by itself; a TLS handshake (LDAPS, StartTLS) the server never answers is not covered by those,
/// and its thread lingers until the server closes the connection. So that a frozen server cannot collect a thread and a
/// socket per attempt, at most twice <c>size</c> retired slots may be stuck at once: beyond that a call that needs a new
/// connection fails at once (transient) instead of opening one.</para>
/// </remarks>
internal sealed class LdapConnectionPool : IDisposable
{
    private readonly SemaphoreSlim _available;
    private readonly ConcurrentBag<Slot> _idle = [];
    private readonly Slot[] _slots;
    private readonly Func<LdapConnection> _create;
    private readonly Action<LdapConnection> _open;
    private readonly TimeSpan _deadline;
    private readonly TimeProvider _time;
    private readonly int _maxStuck;

    /// <summary>Retired slots whose thread is still inside a call the server never answered.</summary>
    private int _stuck;

    /// <param name="size">Number of connections (and threads).</param>
    /// <param name="deadline">Time limit of one call, connecting and binding included.</param>
    /// <param name="time">Clock for the deadline.</param>
    /// <param name="create">Makes an unconnected, configured connection (no network I/O).</param>
    /// <param name="open">Connects and binds it (StartTLS included). May block; the deadline covers it.</param>
    public LdapConnectionPool(int size, TimeSpan deadline, TimeProvider time, Func<LdapConnection> create, Action<LdapConnection> open)
    {
        _available = new SemaphoreSlim(size, size);
        _maxStuck = 2 * size;
        _deadline = deadline;
        _time = time;
        _create = create;
        _open = open;
        _slots = new Slot[size];
        for (var i = 0; i < size; i++)
        {
            _slots[i] = new Slot(this, i);
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
        if (slot.IsRetired)
        {
            // The retired slot's thread ends by itself once its stuck call returns; it is never handed out again.
            slot = new Slot(this, slot.Index);
            _slots[slot.Index] = slot;
        }

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

        /// <param name="work">The blocking operation, run on the slot's thread.</param>
        /// <param name="retryOnLostConnection">
        /// Reconnect and run once more when a reused connection turns out to be dead (server restarted, idle timeout).
        /// Off for operations that depend on state held by the old connection (a paged-search cookie).
        /// </param>
        /// <param name="cancellationToken">Cancels the wait; a call already sent retires the slot like one past its deadline.</param>
        /// <exception cref="TimeoutException">No result within the pool's deadline; the slot was retired.</exception>
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
        private readonly LdapConnectionPool _pool;
        private readonly Thread _thread;
        private LdapConnection? _connection;
        private int _retired;

        public Slot(LdapConnectionPool pool, int index)
        {
            _pool = pool;
            Index = index;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"deprov-ldap-{index}" };
            _thread.Start();
        }

        public int Index { get; }

        /// <summary>True once a call missed its deadline or was cancelled in flight: the connection may be stuck.</summary>
        public bool IsRetired => Volatile.Read(ref _retired) != 0;

        public async Task<T> RunAsync<T>(Func<LdapConnection, T> work, bool retryOnLostConnection, CancellationToken cancellationToken)
        {
            if (IsRetired)
            {
                // Only a lease that already saw the timeout can get here; its connection may still be stuck.
                throw new LdapException(LdapErrors.ServerDown, "The connection was abandoned after an earlier request got no answer.");
            }

            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add(() =>
            {
                if (cancellationToken.IsCancellationRequested || IsRetired)
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

            try
            {
                return await done.Task.WaitAsync(_pool._deadline, _pool._time, cancellationToken);
            }
            catch (TimeoutException ex) when (!done.Task.IsCompleted)
            {
                Retire();
                throw new TimeoutException($"Deadline of {_pool._deadline.TotalSeconds:0.###} s passed; that connection is abandoned and a new one will be used.", ex);
            }
            catch (OperationCanceledException) when (!done.Task.IsCompleted)
            {
                Retire();
                throw;
            }
        }

        private T Execute<T>(Func<LdapConnection, T> work, bool retryOnLostConnection)
        {
            var reused = _connection is not null;
            try
            {
                return work(_connection ?? Open());
            }
            catch (LdapException ex) when (LdapErrors.IsConnectionLost(ex.ErrorCode))
            {
                Drop();

                // Retry only a connection the server dropped while it sat idle; after a timeout the server is alive but
                // not answering, and a new bind would hang on it too. A retired slot's caller has already given up.
                if (!reused || !retryOnLostConnection || ex.ErrorCode == LdapErrors.Timeout || IsRetired)
                {
                    throw;
                }
            }

            try
            {
                return work(Open());
            }
            catch (LdapException ex) when (LdapErrors.IsConnectionLost(ex.ErrorCode))
            {
                Drop();
                throw;
            }
        }

        private LdapConnection Open()
        {
            var stuck = Volatile.Read(ref _pool._stuck);
            if (stuck >= _pool._maxStuck)
            {
                // Each abandoned call keeps its thread and socket until the server answers or closes; a frozen server
                // would otherwise collect one more of each per attempt. No new connection until one of them ends.
                throw new TimeoutException(
                    $"{stuck} earlier connection(s) to the server are still waiting for an answer past their deadline, so no new connection is opened until one of them ends.");
            }

            var connection = _pool._create();
            Volatile.Write(ref _connection, connection);
            try
            {
                _pool._open(connection);
                return connection;
            }
            catch
            {
                Drop();
                throw;
            }
        }

        /// <summary>Marks the slot as never to be reused; its thread drops the connection and ends after the current call.</summary>
        /// <remarks>
        /// The socket is not shut down from here to free the stuck call: that was tried (shutdown(2) on the descriptor
        /// libldap reports) and, even when done only for calls still blocked one deadline later, it cut unrelated LDAPS
        /// connections of the same process in tests, so the descriptor number cannot be trusted from outside libldap.
        /// </remarks>
        private void Retire()
        {
            if (Interlocked.Exchange(ref _retired, 1) == 0)
            {
                Interlocked.Increment(ref _pool._stuck);
                _work.CompleteAdding();
            }
        }

        private void Drop()
        {
            Interlocked.Exchange(ref _connection, null)?.Dispose();
        }

        private void Loop()
        {
            foreach (var item in _work.GetConsumingEnumerable())
            {
                item();
            }

            if (IsRetired)
            {
                // Before the socket closes, so whoever sees it close can already open a new one.
                Interlocked.Decrement(ref _pool._stuck);
            }

            Drop();
        }

        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join(TimeSpan.FromSeconds(30));
            if (!_thread.IsAlive)
            {
                // A thread still inside a native call would fault on a disposed queue; then the queue is left to the GC.
                _work.Dispose();
            }
        }
    }
}
