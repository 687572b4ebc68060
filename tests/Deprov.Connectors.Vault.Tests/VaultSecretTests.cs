using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Connectors.Vault.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault.Tests;

public sealed class VaultSecretTests
{
    [Fact]
    public async Task Discover_NestedSecrets_ListedRecursivelyWithKnownByOwnerAndVersionTime()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db/admin", new() { ["username"] = "sa", ["password"] = "p1" }, new() { ["known_by"] = "ann, bob@example.com;carol", ["owner"] = "dave" });
        server.PutSecret("shared/db/admin", new() { ["username"] = "sa", ["password"] = "p2" });
        server.PutSecret("shared/wifi", new() { ["password"] = "w" });
        server.PutSecret("other/x", new() { ["password"] = "o" });
        using var connector = VaultTest.Connect(server, s => s["kv_prefixes"] = new[] { "shared" });

        var found = (await VaultTest.DiscoverAsync(connector)).OfType<DiscoveredCredential>().OrderBy(c => c.ExternalId, StringComparer.Ordinal).ToList();

        Assert.Equal(["kv:shared/db/admin", "kv:shared/wifi"], found.Select(c => c.ExternalId));
        var admin = found[0];
        Assert.Equal(CredentialKind.SharedSecret, admin.Kind);
        Assert.Equal("secret/shared/db/admin", admin.Name);
        Assert.Equal(["ann@example.com", "bob@example.com", "carol@example.com"], admin.KnownByUserNames);
        Assert.Equal("dave@example.com", admin.OwnerUserName);
        Assert.True(admin.Active);
        Assert.NotNull(admin.LastRotatedAt);
        Assert.Empty(found[1].KnownByUserNames);
        Assert.Contains(server.Requests, r => r.Path == "/v1/secret/metadata/shared/db/" && r.Query == "?list=true");
    }

    [Fact]
    public async Task Discover_CustomKnownByKeyAndEmptyMount_UsesKeyAndAnswersNothing()
    {
        await using var server = await VaultTestServer.StartAsync();
        using (var empty = VaultTest.Connect(server))
        {
            Assert.Empty(await VaultTest.DiscoverAsync(empty));
        }

        server.PutSecret("ops/root", new() { ["password"] = "r" }, new() { ["knowers"] = "erin" });
        using var connector = VaultTest.Connect(server, s => s["known_by_key"] = "knowers");
        var c = Assert.Single((await VaultTest.DiscoverAsync(connector)).OfType<DiscoveredCredential>());
        Assert.Equal(["erin@example.com"], c.KnownByUserNames);
    }

    [Fact]
    public async Task Rotate_WritesNewVersionKeepsOtherKeys_ValueNeverInResult_ReplayIsAlreadyInState()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db", new() { ["username"] = "sa", ["password"] = "old" }, new() { ["known_by"] = "ann" });
        using var connector = VaultTest.Connect(server);
        var action = VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db");

        var result = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.Version("shared/db"));
        var data = server.Data("shared/db");
        Assert.Equal("sa", data["username"]);
        Assert.NotEqual("old", data["password"]);
        Assert.Equal(32, data["password"].Length);
        Assert.Equal("1", result.Before["version"]);
        Assert.Equal("2", result.After["version"]);
        Assert.DoesNotContain(data["password"], VaultTest.Flatten(result), StringComparison.Ordinal);
        Assert.Equal(action.IdempotencyKey, server.Custom("shared/db")[VaultConnector.RotationKey]);
        Assert.Equal("ann", server.Custom("shared/db")["known_by"]);
        Assert.Contains(server.Requests, r => r.Path == "/v1/secret/data/shared/db" && r.Method == "POST" && r.Body.Contains("\"cas\":1", StringComparison.Ordinal));

        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        Assert.True(readBack.Confirmed);

        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        Assert.True(replay.AlreadyInState);
        Assert.Equal(2, server.Version("shared/db"));

        var other = await connector.ReadBackAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db"), CancellationToken.None);
        Assert.False(other.Confirmed);
    }

    [Fact]
    public async Task Rotate_ConcurrentWrite_ReReadsAndRetriesOnce()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db", new() { ["password"] = "old" });
        var raced = 0;
        server.BeforeDataWrite = p =>
        {
            if (Interlocked.Increment(ref raced) == 1)
            {
                server.PutSecret(p, new() { ["password"] = "someone-else" });
            }
        };
        using var connector = VaultTest.Connect(server);

        var result = await connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db"), CancellationToken.None);

        Assert.Equal(3, server.Version("shared/db"));
        Assert.Equal("2", result.Before["version"]);
        Assert.Equal(2, server.Requests.Count(r => r.Method == "POST" && r.Path == "/v1/secret/data/shared/db"));
    }

    [Fact]
    public async Task Rotate_WritersKeepRacing_TransientAfterOneRetry()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db", new() { ["password"] = "old" });
        server.BeforeDataWrite = p => server.PutSecret(p, new() { ["password"] = "someone-else" });
        using var connector = VaultTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db"), CancellationToken.None));
        Assert.True(e.IsTransient);
        Assert.Contains("check-and-set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_NoConfiguredKeyOrMissingSecret_Permanent()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/api", new() { ["api_key"] = "k" });
        using var connector = VaultTest.Connect(server);

        var none = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/api"), CancellationToken.None));
        Assert.False(none.IsTransient);
        Assert.Contains("rotate_keys", none.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Version("shared/api"));

        var missing = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/gone"), CancellationToken.None));
        Assert.False(missing.IsTransient);

        using var apiKeys = VaultTest.Connect(server, s => s["rotate_keys"] = new[] { "api_key" });
        await apiKeys.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/api"), CancellationToken.None);
        Assert.Equal(2, server.Version("shared/api"));
    }

    [Fact]
    public async Task Execute_UnsupportedActionOrForeignId_Permanent()
    {
        await using var server = await VaultTestServer.StartAsync();
        using var connector = VaultTest.Connect(server);
        var unsupported = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.DisableAccount, "kv:x"), CancellationToken.None));
        Assert.False(unsupported.IsTransient);
        var foreign = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "login:ldap/ann"), CancellationToken.None));
        Assert.False(foreign.IsTransient);
    }
}
