using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Xunit;
using static Deprov.Testing.StoreContract.ContractData;

namespace Deprov.Testing.StoreContract;

/// <summary>
/// People, systems, events and the audit chain beyond the first suite: paging, round trips of every field, the audit
/// records a change writes (and a refused change does not), idempotency, and one chain under concurrent writers. One
/// sealed subclass per store.
/// </summary>
public abstract class RecordsStoreContractTests<TFactory>
    where TFactory : IStoreFactory, new()
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly TFactory _factory = new();

    [Fact]
    public async Task ListPeopleAsync_PagesCoverEveryoneExactlyOnce_CountPeopleCountsThem()
    {
        await using var store = await _factory.CreateAsync();
        Assert.Equal(0, await store.CountPeopleAsync(None));
        Assert.Empty(await store.ListPeopleAsync(10, 0, None));
        // Ids that sort differently by byte and by a case-insensitive or linguistic collation: paging must still be stable.
        string[] ids = ["b-2", "B-1", "a-10", "a-9", "A-3", "c", "_x"];
        var people = ids.Select(id => Some.Person(id)).ToList();
        await store.UpsertPeopleAsync(people, None);

        var pages = new List<IReadOnlyList<Person>>();
        for (var offset = 0; offset < 9; offset += 3)
        {
            pages.Add(await store.ListPeopleAsync(3, offset, None));
        }

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        Assert.Equal(people.OrderBy(p => p.Id, StringComparer.Ordinal), pages.SelectMany(p => p).OrderBy(p => p.Id, StringComparer.Ordinal));
        Assert.Empty(await store.ListPeopleAsync(3, 9, None));
        Assert.Equal(7, await store.CountPeopleAsync(None));
        await store.UpsertPeopleAsync([people[0] with { Title = "Lead" }], None);
        Assert.Equal(7, await store.CountPeopleAsync(None));
    }

    [Fact]
    public async Task UpsertSystemsAsync_ThenList_RoundTripsEveryField_AndReplaces()
    {
        await using var store = await _factory.CreateAsync();
        var slack = new ConnectedSystem("slack", "Slack", "scim", SystemRole.Application, RiskTier.Medium, 8.75m, 30);
        var ad = new ConnectedSystem("ad", "Active Directory", "ldap", SystemRole.Directory, RiskTier.Critical, 0m, 90);
        await store.UpsertSystemsAsync([slack, ad], None);
        Assert.Equal([ad, slack], (await store.ListSystemsAsync(None)).OrderBy(s => s.Id, StringComparer.Ordinal));

        var cheaper = slack with { DisplayName = "Slack Enterprise", LicenceCostPerSeat = 12.3456m, RetentionDays = 7, Risk = RiskTier.High };
        await store.UpsertSystemsAsync([cheaper], None);
        Assert.Equal([ad, cheaper], (await store.ListSystemsAsync(None)).OrderBy(s => s.Id, StringComparer.Ordinal));
    }

    [Fact]
    public async Task SetPersonStatusesAsync_AuditsOnlyPeopleWhoseStatusChanged()
    {
        await using var store = await _factory.CreateAsync();
        var (p1, p2) = (Some.Id(), Some.Id());
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2)], None);

        await store.SetPersonStatusesAsync([
            new PersonStatusChange(p1, PersonStatus.Leaving, T0.AddDays(1), "E1", "resignation"),
            new PersonStatusChange(p2, PersonStatus.Active, null, "E2", "no change"),
            new PersonStatusChange("nobody", PersonStatus.Left, T0, "E3", "unknown"),
        ], T0, None);
        await store.SetPersonStatusesAsync([new PersonStatusChange(p1, PersonStatus.Leaving, T0.AddDays(1), "E1", "again")], T0, None);

        Assert.Single(await ReadAllAsync(store.ReadPersonAuditAsync(p1, None)));
        Assert.Empty(await ReadAllAsync(store.ReadPersonAuditAsync(p2, None)));
        Assert.Empty(await ReadAllAsync(store.ReadPersonAuditAsync("nobody", None)));

        Assert.Equal((1, (DateTimeOffset?)null), await store.ApplyDueLeavesAsync(T0.AddDays(1), None));
        Assert.Equal(2, (await ReadAllAsync(store.ReadPersonAuditAsync(p1, None))).Count);
        Assert.Equal((0, (DateTimeOffset?)null), await store.ApplyDueLeavesAsync(T0.AddDays(2), None));
        Assert.Equal(2, (await ReadAllAsync(store.ReadPersonAuditAsync(p1, None))).Count);
    }

    [Fact]
    public async Task GetEventByKeyAsync_TheFirstEventRecordedUnderTheKey_EveryField_UnknownKeyIsNull()
    {
        await using var store = await _factory.CreateAsync();
        var pid = Some.Id();
        await store.UpsertPeopleAsync([Some.Person(pid)], None);
        var move = new LifecycleEvent("E-move", EventKind.Move, pid, T0.AddDays(3).AddMilliseconds(250), ExitReason.None, "workday", "k-move", T0.AddMilliseconds(7),
            "Sales", "Account Executive", null, "moves to Sales");
        var hold = new LifecycleEvent("E-hold", EventKind.LegalHoldSet, pid, T0, ExitReason.None, "api", "k-hold", T0, HoldSystemId: "slack");

        Assert.Equal([true, true], await store.RecordEventsAsync([new EventRecord(move, null, Audit("event_received", pid)), new EventRecord(hold, null, Audit("event_received", pid))], None));
        Assert.Equal([false], await store.RecordEventsAsync([new EventRecord(move with { Id = "E-move-2", NewDepartment = "Legal" }, null, Audit("event_received", pid))], None));

        Assert.Equal(move, await store.GetEventByKeyAsync("k-move", None));
        Assert.Equal(hold, await store.GetEventByKeyAsync("k-hold", None));
        Assert.Null(await store.GetEventByKeyAsync("k-nope", None));
        Assert.Equal(2, await CountAuditAsync(store, "event_received")); // the refused duplicate wrote nothing
    }

    [Fact]
    public async Task RecordEventsAsync_SameKeyTwiceInOneCall_TheFirstIsRecorded_TheSecondChangesNothing()
    {
        await using var store = await _factory.CreateAsync();
        var pid = Some.Id();
        await store.UpsertPeopleAsync([Some.Person(pid)], None);
        var e = Some.Leave(pid, T0, key: "k-twice") with { Id = "E-1", ReceivedAt = T0 };

        var recorded = await store.RecordEventsAsync([new EventRecord(e, null, Audit("event_received", pid)),
            new EventRecord(e with { Id = "E-2", EffectiveAt = T0.AddDays(1) }, null, Audit("event_received", pid))], None);

        Assert.Equal([true, false], recorded);
        Assert.Equal(e, await store.GetEventByKeyAsync("k-twice", None));
        Assert.Equal(["E-1"], (await store.ListUnhandledEventsAsync(None)).Select(x => x.Id));
        Assert.Equal(1, await CountAuditAsync(store, "event_received"));
    }

    [Fact]
    public async Task MarkEventHandledAsync_TheEventIsNoLongerUnplanned_Twice_ChangesNothingMore()
    {
        await using var store = await _factory.CreateAsync();
        var pid = Some.Id();
        await store.UpsertPeopleAsync([Some.Person(pid)], None);
        var first = Some.Leave(pid, T0, key: "k-a") with { Id = "E-a", ReceivedAt = T0 };
        var second = Some.Leave(pid, T0, key: "k-b") with { Id = "E-b", ReceivedAt = T0.AddMinutes(1) };
        await store.RecordEventsAsync([new EventRecord(first, null, Audit("event_received", pid)), new EventRecord(second, null, Audit("event_received", pid))], None);
        Assert.Equal(new UnplannedEvents(2, T0), await store.GetUnplannedEventsAsync(None));

        await store.MarkEventHandledAsync("E-a", T0.AddMinutes(2), None);
        await store.MarkEventHandledAsync("E-a", T0.AddMinutes(3), None);

        Assert.Equal(["E-b"], (await store.ListUnhandledEventsAsync(None)).Select(e => e.Id));
        Assert.Equal(new UnplannedEvents(1, T0.AddMinutes(1)), await store.GetUnplannedEventsAsync(None));
        Assert.Equal(first, await store.GetEventByKeyAsync("k-a", None));
    }

    [Fact]
    public async Task ResolveParkedEventAsync_NoLongerParked_WithItsAuditRecord()
    {
        await using var store = await _factory.CreateAsync();
        var ghost = Some.Leave("ghost", T0, key: "k-ghost") with { Id = "E-ghost", ReceivedAt = T0 };
        var other = Some.Leave("ghost2", T0, key: "k-ghost2") with { Id = "E-ghost2", ReceivedAt = T0.AddMinutes(1) };
        await store.RecordEventsAsync([new EventRecord(ghost, "unknown person", Audit("event_parked", "ghost")), new EventRecord(other, "unknown person", Audit("event_parked", "ghost2"))], None);
        var parked = await store.ListParkedEventsAsync(None);
        Assert.Equal(["E-ghost", "E-ghost2"], parked.Select(p => p.Event.Id).Order(StringComparer.Ordinal));
        Assert.Equal(("unknown person", T0), parked.Where(p => p.Event.Id == "E-ghost").Select(p => (p.Reason, p.ParkedAt)).Single());

        await store.ResolveParkedEventAsync("E-ghost", "discarded by admin", Audit("event_discarded", "ghost", actor: "admin:alice"), None);

        Assert.Equal(["E-ghost2"], (await store.ListParkedEventsAsync(None)).Select(p => p.Event.Id));
        Assert.Equal(1, (await store.GetStatisticsAsync(T0, None)).ParkedEvents);
        var audit = Assert.Single(await store.SearchAuditAsync(new AuditQuery(Action: "event_discarded"), None));
        Assert.Equal(("admin:alice", "ghost"), (audit.Entry.Actor, audit.Entry.PersonId));
        Assert.Equal(new UnplannedEvents(0, null), await store.GetUnplannedEventsAsync(None));
    }

    [Fact]
    public async Task ReadAuditAsync_FromASequence_StartsThere_PersonRecordsInSequenceOrder()
    {
        await using var store = await _factory.CreateAsync();
        await store.AppendAuditAsync([.. Enumerable.Range(1, 6).Select(i => Audit("a" + i, i % 2 == 0 ? "p-even" : "p-odd", at: T0.AddSeconds(-i)))], None);

        Assert.Equal([4L, 5L, 6L], (await ReadAllAsync(store.ReadAuditAsync(4, None))).Select(r => r.Seq));
        Assert.Empty(await ReadAllAsync(store.ReadAuditAsync(7, None)));
        var even = await ReadAllAsync(store.ReadPersonAuditAsync("p-even", None));
        Assert.Equal(["a2", "a4", "a6"], even.Select(r => r.Entry.Action));
        Assert.Equal([2L, 4L, 6L], even.Select(r => r.Seq));
        // Records keep the moment they were given, not the order they were written in.
        Assert.Equal(T0.AddSeconds(-6), even[^1].Entry.At);
    }

    [Fact]
    public async Task AppendAuditAsync_ConcurrentWriters_OneGaplessVerifiableChain()
    {
        await using var store = await _factory.CreateAsync();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                await store.AppendAuditAsync([Audit($"w{w}-{i}-a", "p" + w), Audit($"w{w}-{i}-b", "p" + w)], None);
            }
        }));
        await Task.WhenAll(writers);

        var v = await store.VerifyAuditChainAsync(None);
        Assert.True(v.Ok, v.Problem);
        Assert.Equal(80, v.Records);
        var all = await ReadAllAsync(store.ReadAuditAsync(1, None));
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), all.Select(r => r.Seq));
        Assert.Equal(80, all.Select(r => r.Entry.Action).Distinct(StringComparer.Ordinal).Count());
    }
}
