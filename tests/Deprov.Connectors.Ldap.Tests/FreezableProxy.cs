using System.Net;
using System.Net.Sockets;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>
/// A TCP listener on a free loopback port that either forwards connections to a real server or, while frozen, accepts
/// them and never answers (a hung server process, as a client sees it). A connection accepted while frozen stays
/// silent for ever, even after <see cref="Thaw"/>; only new connections are forwarded.
/// </summary>
public sealed class FreezableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int? _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;
    private readonly TaskCompletionSource _silentConnectionClosedByClient = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _silentConnectionAccepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(int Count, TaskCompletionSource Done)> _countWaiters = [];
    private volatile bool _frozen = true;
    private int _silentConnections;

    /// <param name="targetPort">Where to forward once thawed; null for a server that never answers at all.</param>
    public FreezableProxy(int? targetPort = null)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted while frozen.</summary>
    public int SilentConnections => Volatile.Read(ref _silentConnections);

    /// <summary>Completes when the first connection is accepted while frozen.</summary>
    public Task SilentConnectionAccepted => _silentConnectionAccepted.Task;

    /// <summary>Completes when a client closes (or shuts down) a connection the proxy never answered.</summary>
    public Task SilentConnectionClosedByClient => _silentConnectionClosedByClient.Task;

    /// <summary>Completes once <paramref name="count"/> connections in all have been accepted while frozen.</summary>
    public Task WaitForSilentConnectionsAsync(int count, CancellationToken cancellationToken)
    {
        lock (_countWaiters)
        {
            if (SilentConnections >= count)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _countWaiters.Add((count, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    public void Thaw() => _frozen = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_clients)
            {
                _clients.Add(client);
            }

            _ = _frozen || _targetPort is null ? HoldSilentAsync(client) : ForwardAsync(client, _targetPort.Value);
        }
    }

    private async Task HoldSilentAsync(TcpClient client)
    {
        var accepted = Interlocked.Increment(ref _silentConnections);
        _silentConnectionAccepted.TrySetResult();
        lock (_countWaiters)
        {
            foreach (var waiter in _countWaiters.Where(w => w.Count <= accepted).ToList())
            {
                waiter.Done.TrySetResult();
                _countWaiters.Remove(waiter);
            }
        }
        var buffer = new byte[4096];
        var stream = client.GetStream();
        try
        {
            // Read (and drop) what the client sends, never answer; 0 bytes means the client closed its side.
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
            }

            _silentConnectionClosedByClient.TrySetResult();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            if (!_stop.IsCancellationRequested)
            {
                _silentConnectionClosedByClient.TrySetResult();
            }
        }
    }

    private async Task ForwardAsync(TcpClient client, int targetPort)
    {
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token);
            var a = client.GetStream();
            var b = server.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away; the connection ends like a real one would.
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        _stop.Dispose();
    }
}
