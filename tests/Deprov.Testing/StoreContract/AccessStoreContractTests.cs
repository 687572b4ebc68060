using System.Security.Cryptography;
using System.Text;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Xunit;

namespace Deprov.Testing.StoreContract;

/// <summary>The store's console users, API keys and audit search: written once, run against every store.</summary>
public abstract class AccessStoreContractTests<TFactory>
    where TFactory : IStoreFactory, new()
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private readonly TFactory _factory = new();

    private static AuditEntry Audit(string action, string? target = null) =>
        new(T0, "admin:root", action, null, target, null, null, null, null, null, "ok", null);

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static ApiKey Key(string id, string secret, Role role = Role.Auditor) =>
        new(id, "ci " + id, role, Hash(secret), "admin:root", T0, null, null);

    [Fact]
    public async Task CreateUserAsync_ThenFind_RoundTripsCaseInsensitively()
    {
        await using var store = await _factory.CreateAsync();
        var user = new UserAccount("Alice", Role.Operator, "AQAAAAIAAYagAAAAE-hash", T0, "admin:root");
        await store.CreateUserAsync(user, Audit("user_created", "Alice"), CancellationToken.None);

        Assert.Equal(user, await store.FindUserAsync("alice", CancellationToken.None));
        Assert.Null(await store.FindUserAsync("bob", CancellationToken.None));
        Assert.Equal(1, await store.CountUsersAsync(CancellationToken.None));
        Assert.Equal([user], await store.ListUsersAsync(CancellationToken.None));
    }

    [Fact]
    public async Task CreateUserAsync_NameTaken_ThrowsAndWritesNoAudit()
    {
        await using var store = await _factory.CreateAsync();
        await store.CreateUserAsync(new UserAccount("alice", Role.Admin, "h", T0, "setup"), Audit("user_created", "alice"), CancellationToken.None);

        await Assert.ThrowsAsync<ValidationException>(() =>
            store.CreateUserAsync(new UserAccount("ALICE", Role.Hr, "h2", T0, "setup"), Audit("user_created", "ALICE"), CancellationToken.None));

        var audit = await store.SearchAuditAsync(new AuditQuery(Action: "user_created"), CancellationToken.None);
        Assert.Single(audit);
        Assert.Equal(Role.Admin, (await store.FindUserAsync("alice", CancellationToken.None))!.Role);
    }

    [Fact]
    public async Task CreateApiKeyAsync_FindByHash_ReturnsKeyAndAuditsCreation()
    {
        await using var store = await _factory.CreateAsync();
        var key = Key("k1", "secret-1");
        await store.CreateApiKeyAsync(key, Audit("api_key_created", "k1"), CancellationToken.None);

        var found = await store.FindApiKeyByHashAsync(Hash("secret-1"), CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(key.Id, found.Id);
        Assert.Equal(key.Hash, found.Hash);
        Assert.Equal(Role.Auditor, found.Role);
        Assert.False(found.IsRevoked);
        Assert.Null(await store.FindApiKeyByHashAsync(Hash("secret-2"), CancellationToken.None));
        var audit = Assert.Single(await store.SearchAuditAsync(new AuditQuery(Action: "api_key_created"), CancellationToken.None));
        Assert.DoesNotContain("secret-1", audit.Entry.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TouchApiKeyAsync_RecordsLastUse_NeverGoesBack()
    {
        await using var store = await _factory.CreateAsync();
        await store.CreateApiKeyAsync(Key("k1", "s"), Audit("api_key_created"), CancellationToken.None);

        await store.TouchApiKeyAsync("k1", T0.AddMinutes(5), CancellationToken.None);
        await store.TouchApiKeyAsync("k1", T0.AddMinutes(1), CancellationToken.None);

        Assert.Equal(T0.AddMinutes(5), (await store.FindApiKeyByHashAsync(Hash("s"), CancellationToken.None))!.LastUsedAt);
        Assert.Equal(1, (await store.VerifyAuditChainAsync(CancellationToken.None)).Records); // a use is not audited
    }

    [Fact]
    public async Task CreateApiKeyAsync_DuplicateId_ThrowsAndKeepsTheFirstKeyWithoutAuditingTheSecond()
    {
        await using var store = await _factory.CreateAsync();
        await store.CreateApiKeyAsync(Key("k1", "first"), Audit("api_key_created", "k1"), CancellationToken.None);

        await Assert.ThrowsAsync<ValidationException>(() => store.CreateApiKeyAsync(Key("k1", "second", Role.Admin), Audit("api_key_created", "k1"), CancellationToken.None));

        Assert.Null(await store.FindApiKeyByHashAsync(Hash("second"), CancellationToken.None));
        Assert.Equal(Role.Auditor, Assert.Single(await store.ListApiKeysAsync(CancellationToken.None)).Role);
        Assert.Single(await store.SearchAuditAsync(new AuditQuery(Action: "api_key_created"), CancellationToken.None));
    }

    [Fact]
    public async Task RevokeApiKeyAsync_Twice_RevokesOnceAndAuditsOnce()
    {
        await using var store = await _factory.CreateAsync();
        await store.CreateApiKeyAsync(Key("k1", "s"), Audit("api_key_created"), CancellationToken.None);

        Assert.True(await store.RevokeApiKeyAsync("k1", Audit("api_key_revoked", "k1"), T0.AddHours(1), CancellationToken.None));
        Assert.False(await store.RevokeApiKeyAsync("k1", Audit("api_key_revoked", "k1"), T0.AddHours(2), CancellationToken.None));
        Assert.False(await store.RevokeApiKeyAsync("nope", Audit("api_key_revoked", "nope"), T0.AddHours(2), CancellationToken.None));

        var key = Assert.Single(await store.ListApiKeysAsync(CancellationToken.None));
        Assert.Equal(T0.AddHours(1), key.RevokedAt);
        Assert.Single(await store.SearchAuditAsync(new AuditQuery(Action: "api_key_revoked"), CancellationToken.None));
    }

    [Fact]
    public async Task SearchAuditAsync_FiltersAndPages_NewestFirst()
    {
        await using var store = await _factory.CreateAsync();
        var entries = Enumerable.Range(0, 10).Select(i => new AuditEntry(T0.AddSeconds(i), i % 2 == 0 ? "admin:a" : "hr:b", "act",
            null, null, i < 5 ? "p1" : "p2", null, null, null, null, "ok", null)).ToList();
        await store.AppendAuditAsync(entries, CancellationToken.None);

        var page1 = await store.SearchAuditAsync(new AuditQuery(Actor: "admin:a", Limit: 2), CancellationToken.None);
        Assert.Equal([9L, 7L], page1.Select(r => r.Seq));
        var page2 = await store.SearchAuditAsync(new AuditQuery(Actor: "admin:a", BeforeSeq: page1[^1].Seq, Limit: 10), CancellationToken.None);
        Assert.Equal([5L, 3L, 1L], page2.Select(r => r.Seq));
        var p1 = await store.SearchAuditAsync(new AuditQuery(PersonId: "p1"), CancellationToken.None);
        Assert.Equal(5, p1.Count);
        Assert.All(p1, r => Assert.Equal("p1", r.Entry.PersonId));
    }
}
