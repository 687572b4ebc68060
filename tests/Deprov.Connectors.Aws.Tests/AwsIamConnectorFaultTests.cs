using Deprov.Connectors.Aws.Protocol;
using Deprov.Connectors.Aws.Tests.Fake;
using Deprov.Connectors.Aws.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Aws.Tests;

public sealed class AwsIamConnectorFaultTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ExecuteAsync_Throttling_TransientRateLimitedWithAWait()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        server.Faults.ThrottleNext(1, "DeleteLoginProfile");
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None));

        Assert.True(e.IsTransient);
        Assert.True(e.IsRateLimited);
        Assert.Equal(IamClient.ThrottleWait, e.RetryAfter);
        Assert.Contains("DeleteLoginProfile (disable (delete console password)) failed: 400 Throttling \"Rate exceeded\"", e.Message, StringComparison.Ordinal);
        // Throttling is HTTP 400: not retried inside the action, the engine waits it out.
        Assert.Equal(1, server.Calls("DeleteLoginProfile"));
    }

    [Fact]
    public async Task ExecuteAsync_AccessDenied_PermanentNamingTheMissingPermission()
    {
        await using var server = await IamFakeServer.StartAsync();
        server.Options.Denied.Add("UpdateAccessKey");
        var ann = server.AddUser("ann", loginProfile: false);
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None));

        Assert.False(e.IsTransient);
        Assert.Contains("403 AccessDenied", e.Message, StringComparison.Ordinal);
        Assert.Contains("the credentials lack the permission iam:UpdateAccessKey", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("AWS IAM aws: UpdateAccessKey", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ServiceFailureOnce_RetriedInsideTheAction()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", loginProfile: false);
        server.Faults.FailNext(1, 500, "ServiceFailure", "UpdateAccessKey");
        using var connector = AwsTest.Connect(server);

        var result = await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("Inactive", server.KeyStatus(ann, server.KeysOf(ann)[0]));
        Assert.Equal(2, server.Calls("UpdateAccessKey"));
    }

    [Fact]
    public async Task ExecuteAsync_ServiceFailurePastRetries_Transient()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        server.Faults.FailNext(2, 500, "ServiceFailure", "ListAccessKeys");
        using var connector = AwsTest.Connect(server, s => s["max_retries"] = "1");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None));

        Assert.True(e.IsTransient);
        Assert.False(e.IsRateLimited);
        Assert.Contains("500 ServiceFailure", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_EntityTemporarilyUnmodifiable_Transient()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        var ops = server.AddGroup("ops", null, ann);
        server.Faults.FailNext(1, 409, "EntityTemporarilyUnmodifiable", "RemoveUserFromGroup");
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.RemoveEntitlement, ann, ops), None));

        Assert.True(e.IsTransient);
        Assert.Contains("409 EntityTemporarilyUnmodifiable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_DroppedConnectionOnce_Retried()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        server.Faults.DropNext(1, "ListAccessKeys");
        using var connector = AwsTest.Connect(server);

        var result = await connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None);

        Assert.False(result.AlreadyInState);
        Assert.False(server.HasLoginProfile(ann));
    }

    [Fact]
    public async Task ExecuteAsync_AnswerPastTheTimeout_TransientTimeout()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        server.Faults.SlowNext(1, TimeSpan.FromSeconds(4), "ListAccessKeys");
        using var connector = AwsTest.Connect(server, s =>
        {
            s["timeout_seconds"] = "1";
            s["max_retries"] = "0";
        });

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None));

        Assert.True(e.IsTransient);
        Assert.Contains("timed out after 1 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_WrongSecret_SignatureDoesNotMatchPermanentWithoutTheSecret()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann");
        const string Wrong = "not/the+right+secret+access+key+000000000";
        using var connector = AwsTest.Connect(server, secrets: new TestSecrets(new() { ["AWS_SECRET_ACCESS_KEY"] = Wrong }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, ann), None));

        Assert.False(e.IsTransient);
        Assert.Contains("403 SignatureDoesNotMatch", e.Message, StringComparison.Ordinal);
        Assert.Contains("check that secret_access_key references the secret of access key 'AKIAFAKEDEPROV000001'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, e.Message, StringComparison.Ordinal);
        Assert.True(server.HasLoginProfile(ann));
    }

    [Fact]
    public async Task ExecuteAsync_UnknownAccessKeyId_InvalidClientTokenIdPermanent()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server, s => s["access_key_id"] = "AKIAUNKNOWN000000000");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, "ann"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("403 InvalidClientTokenId", e.Message, StringComparison.Ordinal);
        Assert.Contains("IAM does not know access key 'AKIAUNKNOWN000000000'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ClockTwentyMinutesSlow_SignatureExpiredPermanent()
    {
        await using var server = await IamFakeServer.StartAsync();
        var slow = new FakeTimeProvider(TimeProvider.System.GetUtcNow() - TimeSpan.FromMinutes(20));
        using var connector = AwsTest.Connect(server, s => s["max_retries"] = "0", time: slow);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, "ann"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("Signature expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_SecretVariableMissing_PermanentNamingTheSetting()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var connector = AwsTest.Connect(server, secrets: new TestSecrets([]));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(AwsTest.Action(ActionKind.DisableAccount, "ann"), None));

        Assert.False(e.IsTransient);
        Assert.Contains("cannot read secret_access_key", e.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_SECRET_ACCESS_KEY", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.Faults.Requests);
    }

    [Fact]
    public async Task DiscoverAsync_ThrottledMidListing_TransientRateLimited()
    {
        await using var server = await IamFakeServer.StartAsync();
        server.AddUser("ann");
        server.AddUser("bob");
        server.Faults.ThrottleNext(1, "ListGroups");
        using var connector = AwsTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => AwsTest.DiscoverAllAsync(connector));

        Assert.True(e.IsRateLimited);
        Assert.Contains("ListGroups (discover groups)", e.Message, StringComparison.Ordinal);
    }
}
