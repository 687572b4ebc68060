using System.Diagnostics;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>Faults that need a server of their own (stopped and restarted), so they never disturb the shared one.</summary>
public sealed class ServerFaultTests
{
    [Fact]
    public async Task ExecuteAsync_ServerStoppedMidRun_TransientErrorThenRecoversAfterRestart()
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        await using var server = await SlapdServer.StartAsync(tree.Ldif(3, new Dictionary<string, (string, int[])>()));
        using var connector = SlapdFixture.Create(SlapdFixture.SettingsFor(server, tree), new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", server.ServicePassword));
        var ids = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => SlapdFixture.EntryUuidAsync(server, tree.UserDn(i))));
        await connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, ids[0]), CancellationToken.None);

        await server.StopAsync();
        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, ids[1]), CancellationToken.None));
        await server.StartAsync();
        var after = Some.Action(ActionKind.DisableAccount, ids[2]);
        await connector.ExecuteAsync(after, CancellationToken.None);

        Assert.True(ex.IsTransient);
        Assert.Contains("serverDown (81)", ex.Message, StringComparison.Ordinal);
        Assert.True((await connector.ReadBackAsync(after, CancellationToken.None)).Confirmed);
    }

    /// <summary>Generous against a 1 s timeout on a shared two-core machine; without the deadline the call never returns.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("none")]
    [InlineData("starttls")]
    [InlineData("ldaps")]
    public async Task ExecuteAsync_ServerAcceptsButNeverAnswers_TransientTimeoutWithinBoundAndNextCallOnANewConnection(string security)
    {
        await using var proxy = new FreezableProxy();
        var settings = new Dictionary<string, object>
        {
            ["host"] = "127.0.0.1",
            ["port"] = proxy.Port,
            ["security"] = security,
            ["bind_dn"] = SlapdServer.ServiceDn,
            ["bind_password"] = "env:LDAP_BIND_PASSWORD",
            ["flavour"] = "openldap",
            ["users"] = new Dictionary<string, object> { ["base"] = "ou=people," + SlapdServer.Suffix },
            ["timeout_seconds"] = 1,
            ["pool_size"] = 1,
        };
        using var connector = SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", "unused"));

        var clock = Stopwatch.StartNew();
        var first = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString()), CancellationToken.None));
        var firstTook = clock.Elapsed;
        if (security == "none")
        {
            // The bind is bounded in libldap too (LDAP_OPT_TIMEOUT), so the stuck call returns and the connection is closed.
            // A TLS handshake is not: that thread lingers until the server closes (see docs/connectors/ldap.md).
            await proxy.SilentConnectionClosedByClient.WaitAsync(Bound);
        }

        // The only slot timed out; the next call must get a slot (a new one) and time out on its own, not queue behind it.
        clock.Restart();
        var second = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString()), CancellationToken.None));
        var secondTook = clock.Elapsed;

        Assert.True(first.IsTransient, first.Message);
        Assert.True(second.IsTransient, second.Message);
        Assert.Contains($"127.0.0.1:{proxy.Port}", first.Message, StringComparison.Ordinal);
        Assert.Contains("timeout_seconds", first.Message, StringComparison.Ordinal);
        Assert.Matches("LDAP (search account|bind) ", first.Message);
        Assert.True(firstTook < Bound, $"first call took {firstTook}");
        Assert.True(secondTook < Bound, $"second call took {secondTook}");
        Assert.Equal(2, proxy.SilentConnections);
    }

    /// <summary>libldap's own limit in the tests whose deadlines <see cref="HeldDeadlines"/> fires: long enough that a call the test lets through is never cut by a busy machine.</summary>
    private const int NativeTimeoutSeconds = 30;

    [Fact]
    public async Task ExecuteAsync_ServerSilentThenAnswering_PoolRecoversOnANewConnection()
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        await using var server = await SlapdServer.StartAsync(tree.Ldif(1, new Dictionary<string, (string, int[])>()));
        await using var proxy = new FreezableProxy(server.Port);
        var settings = SlapdFixture.SettingsFor(server, tree);
        settings["port"] = proxy.Port;
        settings["timeout_seconds"] = NativeTimeoutSeconds;
        settings["pool_size"] = 1;
        var deadlines = new HeldDeadlines();
        using var connector = SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", server.ServicePassword), deadlines);
        var action = Some.Action(ActionKind.DisableAccount, await SlapdFixture.EntryUuidAsync(server, tree.UserDn(0)));
        using var bound = new CancellationTokenSource(Bound);

        // The call's connection reaches the frozen proxy and gets no answer; then its deadline passes.
        var frozenCall = connector.ExecuteAsync(action, CancellationToken.None);
        await proxy.SilentConnectionAccepted.WaitAsync(bound.Token);
        await deadlines.ExpireUntilAsync(frozenCall, bound.Token);
        var frozen = await Assert.ThrowsAsync<ConnectorException>(() => frozenCall);
        proxy.Thaw();
        var result = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.True(frozen.IsTransient, frozen.Message);
        Assert.Contains("abandoned", frozen.Message, StringComparison.Ordinal);
        Assert.False(result.AlreadyInState);
        Assert.True((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
        Assert.Equal(1, proxy.SilentConnections);
    }

    [Fact]
    public async Task ExecuteAsync_SlapdFrozenWithSigstopMidRun_TransientThenRecoversAfterSigcont()
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        await using var server = await SlapdServer.StartAsync(tree.Ldif(3, new Dictionary<string, (string, int[])>()));
        var settings = SlapdFixture.SettingsFor(server, tree);
        settings["timeout_seconds"] = NativeTimeoutSeconds;
        settings["pool_size"] = 1;
        var deadlines = new HeldDeadlines();
        using var connector = SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", server.ServicePassword), deadlines);
        var ids = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => SlapdFixture.EntryUuidAsync(server, tree.UserDn(i))));
        await connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, ids[0]), CancellationToken.None);
        using var bound = new CancellationTokenSource(Bound);

        // The pooled connection is bound and working; the server stops answering on it, and the call's deadline passes.
        await server.FreezeAsync();
        ConnectorException ex;
        try
        {
            var call = connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, ids[1]), CancellationToken.None);
            await deadlines.ExpireUntilAsync(call, bound.Token);
            ex = await Assert.ThrowsAsync<ConnectorException>(() => call);
        }
        finally
        {
            await server.ThawAsync();
        }

        var after = Some.Action(ActionKind.DisableAccount, ids[2]);
        await connector.ExecuteAsync(after, CancellationToken.None);

        Assert.True(ex.IsTransient, ex.Message);
        Assert.Contains($"{server.Host}:{server.Port}", ex.Message, StringComparison.Ordinal);
        Assert.True((await connector.ReadBackAsync(after, CancellationToken.None)).Confirmed);
    }
}
