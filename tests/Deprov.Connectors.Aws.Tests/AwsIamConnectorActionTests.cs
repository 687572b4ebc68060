using Deprov.Connectors.Aws.Tests.Fake;
using Deprov.Connectors.Aws.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws.Tests;

public sealed class AwsIamConnectorActionTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task DisableAccount_ConsoleAndActiveKeys_PasswordDeletedKeysInactiveBeforeRecorded()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 2, inactiveKeys: 1);
        var keys = server.KeysOf(ann);
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.DisableAccount, ann);

        var result = await connector.ExecuteAsync(action, None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["loginProfile"]);
        Assert.Equal($"{keys[0]},{keys[1]}", result.Before["activeAccessKeys"]);
        Assert.Equal("false", result.After["loginProfile"]);
        Assert.Equal(string.Empty, result.After["activeAccessKeys"]);
        Assert.Contains("cannot bring it back", result.Detail, StringComparison.Ordinal);
        Assert.False(server.HasLoginProfile(ann));
        Assert.All(keys, k => Assert.Equal("Inactive", server.KeyStatus(ann, k)));
        Assert.Equal(2, server.Calls("UpdateAccessKey"));
        Assert.True((await connector.ReadBackAsync(action, None)).Confirmed);
    }

    [Fact]
    public async Task DisableAccount_SecondTime_AlreadyInStateWithoutChanges()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        using var connector = AwsTest.Connect(server);
        await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);
        var changes = server.Calls("UpdateAccessKey") + server.Calls("DeleteLoginProfile");

        var again = await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);

        Assert.True(again.AlreadyInState);
        Assert.Equal("false", again.Before["loginProfile"]);
        Assert.Equal(changes, server.Calls("UpdateAccessKey") + server.Calls("DeleteLoginProfile"));
    }

    [Fact]
    public async Task DisableAccount_UnknownUser_AlreadyInStateAbsentNotConfirmed()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.DisableAccount, "ghost");

        var result = await connector.ExecuteAsync(action, None);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["present"]);
        Assert.False((await connector.ReadBackAsync(action, None)).Confirmed);
    }

    [Fact]
    public async Task ReadBack_DisableUndoneBehindOurBack_NotConfirmed()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", loginProfile: false);
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.DisableAccount, ann);
        await connector.ExecuteAsync(action, None);
        server.SetKeyStatus(ann, server.KeysOf(ann)[0], "Active");

        var readBack = await connector.ReadBackAsync(action, None);

        Assert.False(readBack.Confirmed);
        Assert.Equal(server.KeysOf(ann)[0], readBack.Observed["activeAccessKeys"]);
    }

    [Fact]
    public async Task EnableAccount_AfterDisable_RecordedKeysActiveAgainPasswordLeftToAPerson()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 1, inactiveKeys: 1);
        var keys = server.KeysOf(ann);
        using var connector = AwsTest.Connect(server);
        var disabled = await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);
        var restore = AwsTest.Restore(ActionKind.EnableAccount, ann, disabled.Before);

        // The keys come back; the deleted console password cannot, so the step fails permanently (the engine makes it a task).
        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(restore, None));
        var again = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(restore, None));

        Assert.False(e.IsTransient);
        Assert.Contains($"access keys {keys[0]} are active again", e.Message, StringComparison.Ordinal);
        Assert.Contains($"aws iam create-login-profile --user-name {ann} --password-reset-required", e.Message, StringComparison.Ordinal);
        Assert.Equal(e.Message, again.Message);
        Assert.Equal("Active", server.KeyStatus(ann, keys[0]));
        Assert.Equal("Inactive", server.KeyStatus(ann, keys[1]));
        Assert.False(server.HasLoginProfile(ann));
    }

    [Fact]
    public async Task EnableAccount_AfterDisableOfAUserWithoutConsolePassword_RecordedKeysActiveAgain()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 1, inactiveKeys: 1);
        var keys = server.KeysOf(ann);
        using var connector = AwsTest.Connect(server);
        var disabled = await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);
        var before = new Dictionary<string, string>(disabled.Before) { ["loginProfile"] = "false" };
        var restore = AwsTest.Restore(ActionKind.EnableAccount, ann, before);

        var result = await connector.ExecuteAsync(restore, None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(keys[0], result.After["activeAccessKeys"]);
        Assert.Equal("Active", server.KeyStatus(ann, keys[0]));
        Assert.Equal("Inactive", server.KeyStatus(ann, keys[1]));
        Assert.True((await connector.ReadBackAsync(restore, None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(restore, None)).AlreadyInState);
    }

    [Fact]
    public async Task EnableAccount_NoBeforeState_ReactivatesNothingAndSaysSo()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 0, inactiveKeys: 1);
        using var connector = AwsTest.Connect(server);

        var result = await connector.ExecuteAsync(AwsTest.Action(ActionKind.EnableAccount, ann), None);

        Assert.True(result.AlreadyInState);
        Assert.Contains("no before-state was recorded", result.Detail, StringComparison.Ordinal);
        Assert.Equal("Inactive", server.KeyStatus(ann, server.KeysOf(ann)[0]));
    }

    [Fact]
    public async Task EnableAccount_UserDeleted_PermanentError()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.EnableAccount, "gone"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("'gone' no longer exists", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeToken_ActiveKey_InactiveThenAlreadyInState()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 2);
        var key = server.KeysOf(ann)[1];
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.RevokeToken, null, credential: $"{ann}/{key}");

        var result = await connector.ExecuteAsync(action, None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("Active", result.Before["status"]);
        Assert.Equal("Inactive", result.After["status"]);
        Assert.Equal("Inactive", server.KeyStatus(ann, key));
        Assert.Equal("Active", server.KeyStatus(ann, server.KeysOf(ann)[0]));
        Assert.True(server.HasLoginProfile(ann));
        Assert.True((await connector.ReadBackAsync(action, None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(action, None)).AlreadyInState);
    }

    [Fact]
    public async Task RevokeToken_KeyDeleted_AlreadyInStateAbsent()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.RevokeToken, null, credential: $"{ann}/AKIA0000000000000000");

        var result = await connector.ExecuteAsync(action, None);

        Assert.True(result.AlreadyInState);
        Assert.True((await connector.ReadBackAsync(action, None)).Confirmed);
    }

    [Fact]
    public async Task RevokeToken_MalformedCredentialId_PermanentErrorNamingTheForm()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.RevokeToken, null, credential: "AKIA-only"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("'UserName/AccessKeyId'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_Member_RemovedConfirmedThenRestored()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        var admins = server.AddGroup("admins", ["AdministratorAccess"], ann);
        using var connector = AwsTest.Connect(server);
        var remove = AwsTest.Action(ActionKind.RemoveEntitlement, ann, admins);

        var result = await connector.ExecuteAsync(remove, None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["member"]);
        Assert.False(server.IsMember(admins, ann));
        Assert.True((await connector.ReadBackAsync(remove, None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(remove, None)).AlreadyInState);

        var add = AwsTest.Restore(ActionKind.AddEntitlement, ann, result.Before, admins);
        var restored = await connector.ExecuteAsync(add, None);

        Assert.False(restored.AlreadyInState);
        Assert.True(server.IsMember(admins, ann));
        Assert.True((await connector.ReadBackAsync(add, None)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_GroupDeletedAfterCheck_AlreadyInState()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        var ops = server.AddGroup("ops", null, ann);
        using var connector = AwsTest.Connect(server);
        server.RemoveGroup(ops);

        var result = await connector.ExecuteAsync(AwsTest.Action(ActionKind.RemoveEntitlement, ann, ops), None);

        Assert.True(result.AlreadyInState);
        Assert.Equal(0, server.Calls("RemoveUserFromGroup"));
    }

    [Fact]
    public async Task DeleteAccount_UserWithEverything_RemovedInOrderThenDeleted()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 1, inactiveKeys: 1, policies: ["ReadOnlyAccess"], inlinePolicies: ["s3-own-bucket"]);
        var ops = server.AddGroup("ops", null, ann);
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.DeleteAccount, ann);

        var result = await connector.ExecuteAsync(action, None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("ops", result.Before["groups"]);
        Assert.Equal("arn:aws:iam::aws:policy/ReadOnlyAccess", result.Before["attachedPolicies"]);
        Assert.Equal("s3-own-bucket", result.Before["inlinePolicies"]);
        Assert.False(server.UserExists(ann));
        Assert.False(server.IsMember(ops, ann));
        Assert.Equal(2, server.Calls("DeleteAccessKey"));
        Assert.True((await connector.ReadBackAsync(action, None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(action, None)).AlreadyInState);
    }

    [Fact]
    public async Task DeleteAccount_MfaDeviceLeft_PermanentDeleteConflictSayingWhatToRemove()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", mfaDevices: 1);
        using var connector = AwsTest.Connect(server);
        var action = AwsTest.Action(ActionKind.DeleteAccount, ann);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(action, None));

        Assert.False(e.IsTransient);
        Assert.Contains("DeleteConflict", e.Message, StringComparison.Ordinal);
        Assert.Contains("MFA devices", e.Message, StringComparison.Ordinal);
        Assert.True(server.UserExists(ann));
        Assert.False((await connector.ReadBackAsync(action, None)).Confirmed);
    }

    [Fact]
    public async Task ExecuteAsync_UnsupportedAction_PermanentError()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.RevokeSessions, "ann"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("cannot revoke_sessions", e.Message, StringComparison.Ordinal);
    }
}
