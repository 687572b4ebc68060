using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleTokenTests
{
    [Fact]
    public async Task RevokeToken_DeletesGrantsAndAppPasswordsAndInvalidatesBackupCodes()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var bob = server.AddUser("bob@example.com");
        ann.Tokens.AddRange(["1234.apps.googleusercontent.com", "5678.apps.googleusercontent.com"]);
        ann.Asps.AddRange([11, 12]);
        ann.BackupCodes.AddRange(["48213307", "90417752"]);
        bob.Tokens.Add("1234.apps.googleusercontent.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RevokeToken, null, credentialId: "tokens:" + ann.Id);

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("1234.apps.googleusercontent.com,5678.apps.googleusercontent.com", result.Before["oauthClients"]);
        Assert.Equal("2", result.Before["appPasswords"]);
        Assert.Equal("2", result.Before["backupCodes"]);
        // Backup codes are secrets: counted, never recorded.
        Assert.DoesNotContain("48213307", string.Join(",", result.Before.Values.Concat(result.After.Values).Concat(readBack.Observed.Values)), StringComparison.Ordinal);
        Assert.Empty(ann.Tokens);
        Assert.Empty(ann.Asps);
        Assert.Empty(ann.BackupCodes);
        Assert.Single(bob.Tokens);
        Assert.Contains(server.ApiRequests, r => r.Method == "DELETE" && r.Path == $"/admin/directory/v1/users/{ann.Id}/tokens/1234.apps.googleusercontent.com");
        Assert.Contains(server.ApiRequests, r => r.Method == "DELETE" && r.Path == $"/admin/directory/v1/users/{ann.Id}/asps/12");
        Assert.Contains(server.ApiRequests, r => r.Method == "POST" && r.Path == $"/admin/directory/v1/users/{ann.Id}/verificationCodes/invalidate");
        Assert.True(readBack.Confirmed);
        Assert.True(replay.AlreadyInState);
    }

    [Fact]
    public async Task RevokeToken_GrantLeftAfterwards_ReadBackNotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RevokeToken, null, credentialId: "tokens:" + ann.Id);
        Assert.True((await connector.ExecuteAsync(action, CancellationToken.None)).AlreadyInState);

        ann.Tokens.Add("9999.apps.googleusercontent.com");
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal("9999.apps.googleusercontent.com", readBack.Observed["oauthClients"]);
    }

    [Fact]
    public async Task RevokeToken_UserGone_AlreadyInStateButNotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RevokeToken, null, credentialId: "tokens:4242");
        Assert.True((await connector.ExecuteAsync(action, CancellationToken.None)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }
}
