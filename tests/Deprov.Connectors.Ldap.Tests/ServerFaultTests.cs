using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>Faults that need a server of their own (stopped, frozen), so they never disturb the shared one.</summary>
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

    [Fact]
    public async Task ExecuteAsync_ServerFrozen_TransientTimeout()
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        await using var server = await SlapdServer.StartAsync(tree.Ldif(1, new Dictionary<string, (string, int[])>()));
        var settings = SlapdFixture.SettingsFor(server, tree);
        settings["timeout_seconds"] = 1;
        using var connector = SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", server.ServicePassword));
        var id = await SlapdFixture.EntryUuidAsync(server, tree.UserDn(0));
        await connector.ReadBackAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None);

        await server.PauseAsync();
        ConnectorException ex;
        try
        {
            ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));
        }
        finally
        {
            await server.ResumeAsync();
        }

        Assert.True(ex.IsTransient);
        Assert.Matches("timeout \\(85\\)|serverDown \\(81\\)", ex.Message);
    }
}
