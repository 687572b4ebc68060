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
}
