using Deprov.Testing.BambooHr;
using Deprov.Connectors.BambooHr.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Configuration;
using Deprov.Core.HrSources;
using Deprov.Core.Model;

namespace Deprov.Connectors.BambooHr.Tests;

/// <summary>The BambooHR source against the fake: what it asks, what it reads, how it fails.</summary>
public sealed class BambooHrSourceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(BambooHrFake Fake, IHrSource Source)> StartAsync(string key = BambooHrFake.ApiKey, int maxRetryAfter = 5)
    {
        var fake = await BambooHrFake.StartAsync(TimeProvider.System);
        var settings = SettingsNode.MappingNode("hr_sources[0].settings", new Dictionary<string, SettingsNode>
        {
            ["base_url"] = SettingsNode.ScalarNode("base_url", fake.ApiUrl.ToString()),
            ["api_key"] = SettingsNode.ScalarNode("api_key", "env:TEST_BAMBOO_KEY"),
            ["max_retry_after_seconds"] = SettingsNode.ScalarNode("max_retry_after_seconds", maxRetryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        });
        var factory = new BambooHrSourceFactory();
        var source = factory.Create("bamboo", settings, factory.DefaultStatuses, new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new FixedSecret(key)));
        return (fake, source);
    }

    private sealed class FixedSecret(string value) : ISecretResolver
    {
        public string Resolve(string reference, string usedFor) => value;
    }

    [Fact]
    public async Task ReadAsync_TerminationEnteredAhead_SeenThroughFutureDatedValues()
    {
        var (fake, source) = await StartAsync();
        await using var _ = fake;
        await using var __ = source;
        fake.Put("42", "Ada", "Lovelace", "ada@example.com", "R&D", "Engineer");
        fake.Terminate("42", new DateOnly(2099, 1, 31));

        var record = await source.ReadAsync("42", None);

        Assert.Equal(new DateOnly(2099, 1, 31), record!.LastDay);
        Assert.Contains(fake.Requests, r => r.StartsWith("GET /api/v1/employees/42?", StringComparison.Ordinal) && r.Contains("onlyCurrent=false", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListChangedAsync_UpdatedAndDeleted_ReadsUpdatedNotesDeleted()
    {
        var (fake, source) = await StartAsync();
        await using var _ = fake;
        await using var __ = source;
        fake.Put("7", "Grace", "Hopper", "grace@example.com", "Navy", "Admiral");
        fake.Put("8", "Alan", "Turing", "alan@example.com", "GCHQ", "Analyst");
        fake.Deleted["8"] = TimeProvider.System.GetUtcNow().AddSeconds(5);

        var listing = await source.ListChangedAsync("2000-01-01T00:00:00Z", None);

        var record = Assert.Single(listing.Records);
        Assert.Equal("7", record.Id);
        Assert.Equal("Grace Hopper", record.Record!.Name);
        Assert.Equal(HrStatusMeaning.Active, record.Record.Status);
        Assert.Contains(listing.Notes, n => n.StartsWith("8: deleted", StringComparison.Ordinal));
        Assert.NotNull(listing.Cursor);
        Assert.Equal(2, listing.Calls);
    }

    [Fact]
    public async Task ListChangedAsync_WrongApiKey_FailsNaming401WithoutTheKey()
    {
        var (fake, source) = await StartAsync(key: "wrong-key-5f2a");
        await using var _ = fake;
        await using var __ = source;

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => source.ListChangedAsync("2026-01-01T00:00:00Z", None));

        Assert.False(ex.IsTransient);
        Assert.Contains("401", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid API key", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-5f2a", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task ListChangedAsync_RateLimitedWithShortRetryAfter_WaitsAndSucceeds(int status)
    {
        var (fake, source) = await StartAsync();
        await using var _ = fake;
        await using var __ = source;
        fake.RateLimitNext(1, retryAfterSeconds: 1, status);

        var listing = await source.ListChangedAsync("2026-01-01T00:00:00Z", None);

        Assert.NotNull(listing.Cursor);
        Assert.Equal(2, fake.Calls);
    }

    [Fact]
    public async Task ListChangedAsync_RetryAfterLongerThanAllowed_FailsRateLimitedWithTheWait()
    {
        var (fake, source) = await StartAsync(maxRetryAfter: 1);
        await using var _ = fake;
        await using var __ = source;
        fake.RateLimitNext(1, retryAfterSeconds: 90);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => source.ListChangedAsync("2026-01-01T00:00:00Z", None));

        Assert.True(ex.IsRateLimited);
        Assert.Equal(TimeSpan.FromSeconds(90), ex.RetryAfter);
        Assert.Equal(1, fake.Calls);
    }

    [Fact]
    public async Task ListChangedAsync_InvalidCursor_FailsWithBambooHrsMessage()
    {
        var (fake, source) = await StartAsync();
        await using var _ = fake;
        await using var __ = source;

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => source.ListChangedAsync("yesterday", None));

        Assert.Contains("400", ex.Message, StringComparison.Ordinal);
        Assert.Contains("since", ex.Message, StringComparison.Ordinal);
    }
}
