using System.Text;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Hooks;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Hooks;

public sealed class HookTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"id\":\"evt-1\",\"type\":\"leave\",\"person\":\"p1\",\"reason\":\"involuntary\"}");
    private readonly WebhookSignature _verifier = new(new FakeTimeProvider(Now));

    private static string Header(string secret, DateTimeOffset at, byte[] body) =>
        $"t={at.ToUnixTimeSeconds()},v1={WebhookSignature.Sign(secret, at.ToUnixTimeSeconds(), body)}";

    [Fact]
    public void VerifyGeneric_Valid_IsAccepted() => Assert.Null(_verifier.VerifyGeneric(Header("s3cret", Now, Body), Body, ["s3cret"]));

    [Fact]
    public void VerifyGeneric_RotatedSecret_EitherKeyIsAccepted() => Assert.Null(_verifier.VerifyGeneric(Header("old", Now, Body), Body, ["new", "old"]));

    [Fact]
    public void VerifyGeneric_WrongKey_IsRefusedWithoutLeakingTheExpectedValue()
    {
        var f = _verifier.VerifyGeneric(Header("guess", Now, Body), Body, ["s3cret"]);
        Assert.Equal("signature does not match", f!.Reason);
    }

    [Fact]
    public void VerifyGeneric_StaleTimestamp_IsRefused() =>
        Assert.Contains("old", _verifier.VerifyGeneric(Header("s3cret", Now.AddMinutes(-6), Body), Body, ["s3cret"])!.Reason, StringComparison.Ordinal);

    [Fact]
    public void VerifyGeneric_FutureTimestamp_IsRefused() =>
        Assert.Contains("future", _verifier.VerifyGeneric(Header("s3cret", Now.AddMinutes(6), Body), Body, ["s3cret"])!.Reason, StringComparison.Ordinal);

    [Fact]
    public void VerifyGeneric_TruncatedBody_IsRefused() =>
        Assert.NotNull(_verifier.VerifyGeneric(Header("s3cret", Now, Body), Body.AsSpan(0, Body.Length - 1), ["s3cret"]));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=notanumber,v1=abc")]
    public void VerifyGeneric_MalformedHeader_IsRefused(string? header) => Assert.NotNull(_verifier.VerifyGeneric(header, Body, ["s3cret"]));

    [Fact]
    public void VerifyBambooHr_ValidAndWrong()
    {
        var ts = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var sig = WebhookSignature.SignBambooHr("bamboo-key", ts, Body);
        Assert.Null(_verifier.VerifyBambooHr(sig, ts, Body, ["bamboo-key"]));
        Assert.Null(_verifier.VerifyBambooHr(sig.ToUpperInvariant(), ts, Body, ["bamboo-key"]));
        Assert.NotNull(_verifier.VerifyBambooHr(sig, ts, Body, ["other"]));
        Assert.NotNull(_verifier.VerifyBambooHr(sig, (Now.ToUnixTimeSeconds() - 600).ToString(System.Globalization.CultureInfo.InvariantCulture), Body, ["bamboo-key"]));
        Assert.NotNull(_verifier.VerifyBambooHr(null, ts, Body, ["bamboo-key"]));
    }

    [Fact]
    public void ParseGeneric_Valid_ReadsEveryField()
    {
        var e = HookPayloads.ParseGeneric(Encoding.UTF8.GetBytes("{\"id\":\"e9\",\"type\":\"move\",\"person\":\"p1\",\"effective\":\"2026-12-01\",\"new_department\":\"Sales\",\"note\":\"HR-12\"}"));
        Assert.Equal(("e9", EventKind.Move, "p1", new DateOnly(2026, 12, 1), "Sales", "HR-12"), (e.Id, e.Kind, e.Person, e.Date!.Value, e.NewDepartment!, e.Note!));
    }

    [Theory]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\"", "$ (line")]
    [InlineData("[1,2]", "$")]
    [InlineData("{\"id\":\"e\",\"type\":\"quit\",\"person\":\"p\"}", "$.type")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\"}", "$.person")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":42}", "$.person")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"effective\":\"tomorrow\"}", "$.effective")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"colour\":\"red\"}", "$.colour")]
    [InlineData("{\"id\":\"e\",\"type\":\"move\",\"person\":\"p\"}", "$.new_department")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"effective\":\"9999-12-31\"}", "$.effective")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"effective\":\"202-12-31T00:00:00Z\"}", "$.effective")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"person\":\"q\"}", "$.person")]
    [InlineData("{\"id\":\"e\",\"type\":\"legal_hold_set\",\"person\":\"p\",\"system\":0}", "$.system")]
    [InlineData("{\"id\":\"e\",\"type\":\"legal_hold_set\",\"person\":\"p\",\"system\":\"\"}", "$.system")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"reason\":\"INVOLUNTARY\"}", "$.reason")]
    [InlineData("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"note\":\"\\ud800\"}", "$.note")]
    public void ParseGeneric_BadBody_NamesTheJsonPath(string body, string path)
    {
        var ex = Assert.Throws<ValidationException>(() => HookPayloads.ParseGeneric(Encoding.UTF8.GetBytes(body)));
        Assert.Contains(ex.Errors, e => e.Key!.StartsWith(path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BambooHr_FieldBasedPayload_MapsToLeaveContractEndMoveAndRehire()
    {
        var env = await TestEnvironment.CreateAsync(time: new FakeTimeProvider(Now));
        await using var _ = env;
        var people = new List<Person>
        {
            Some.Person("123", timeZone: "Europe/Paris"),
            Some.Person("124", worker: WorkerType.Contractor),
            Some.Person("125", department: "Engineering"),
            Some.Person("126") with { EndDate = new DateOnly(2026, 10, 1) },
        };
        await env.SeedAsync(people, Some.Systems(people));
        var body = """
            {"employees":[
              {"id":"123","action":"Updated","changedFields":["employmentStatus"],"fields":{"employmentStatus":{"value":"Terminated"},"terminationDate":{"value":"2026-12-31"},"terminationType":{"value":"Involuntary"}}},
              {"id":"124","action":"Updated","fields":{"employmentStatus":{"value":"Terminated"},"terminationDate":{"value":"2026-11-30"}}},
              {"id":"125","action":"Updated","fields":{"department":{"value":"Sales"},"jobTitle":{"value":"Account Executive"}}},
              {"id":"126","action":"Updated","fields":{"employmentStatus":{"value":"Active"}}}
            ]}
            """;
        var changes = HookPayloads.ParseBambooHr(Encoding.UTF8.GetBytes(body));
        var mapped = await BambooHrMapper.MapAsync(changes, env.Engine.Store, Now, CancellationToken.None);
        Assert.All(mapped, m => Assert.Null(m.ParkReason));
        var events = mapped.Select(m => m.Event!).ToList();
        Assert.Equal([EventKind.Leave, EventKind.ContractEnd, EventKind.Move, EventKind.Rehire], events.Select(e => e.Kind));
        Assert.Equal(ExitReason.Involuntary, events[0].Reason);
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero), events[0].EffectiveAt);
        Assert.Equal("Sales", events[2].NewDepartment);
    }

    [Fact]
    public void BambooHr_EventBasedPayload_IsMarkedUnusableWithTheReason()
    {
        var changes = HookPayloads.ParseBambooHr(Encoding.UTF8.GetBytes("{\"type\":\"employee.updated\",\"timestamp\":\"2026-01-31T18:42:00+0000\",\"data\":{\"companyId\":\"1\",\"employeeId\":\"67890\",\"changedFields\":[\"employmentStatus\"]}}"));
        Assert.StartsWith("needs a lookup", Assert.Single(changes).Unusable, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("t=99999999999999999")]
    [InlineData("t=-1")]
    [InlineData("t=-9223372036854775808")]
    public void VerifyGeneric_TimestampNotATime_RefusedNotThrown(string t) =>
        Assert.Contains("not a time", _verifier.VerifyGeneric($"{t},v1={new string('0', 64)}", Body, ["s3cret"])!.Reason, StringComparison.Ordinal);

    [Theory]
    [InlineData("99999999999999999")]
    [InlineData("-1")]
    public void VerifyBambooHr_TimestampNotATime_RefusedNotThrown(string ts) =>
        Assert.Contains("not a time", _verifier.VerifyBambooHr(WebhookSignature.SignBambooHr("k", ts, Body), ts, Body, ["k"])!.Reason, StringComparison.Ordinal);

    [Fact]
    public void ParseGeneric_LocalTime_KeptLocal_ResolvedInThePersonsZone()
    {
        var e = HookPayloads.ParseGeneric(Encoding.UTF8.GetBytes("{\"id\":\"e\",\"type\":\"leave\",\"person\":\"p\",\"effective\":\"2026-07-01T17:00:00\"}"));
        var (at, note) = e.EffectiveAt("Europe/Paris", Now);
        Assert.Equal(new DateTimeOffset(2026, 7, 1, 15, 0, 0, TimeSpan.Zero), at);
        Assert.Contains("Europe/Paris", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcceptAsync_SameKeyDifferentPerson_ConflictAudited()
    {
        var env = await TestEnvironment.CreateAsync(time: new FakeTimeProvider(Now));
        await using var _ = env;
        var people = new List<Person> { Some.Person(), Some.Person() };
        await env.SeedAsync(people, Some.Systems(people));
        var first = await env.Engine.AcceptAsync(Some.Leave(people[0].Id, Now.AddDays(30), key: "k-1"), "hook:hr", CancellationToken.None);
        var same = await env.Engine.AcceptAsync(Some.Leave(people[0].Id, Now.AddDays(30), key: "k-1"), "hook:hr", CancellationToken.None);
        var other = await env.Engine.AcceptAsync(Some.Leave(people[1].Id, Now.AddDays(30), key: "k-1"), "hook:hr", CancellationToken.None);
        Assert.Equal((SubmitOutcome.Accepted, SubmitOutcome.Duplicate, SubmitOutcome.Conflict), (first.Outcome, same.Outcome, other.Outcome));
        Assert.Contains(people[0].Id, other.Message, StringComparison.Ordinal);
        Assert.Contains(people[1].Id, other.Message, StringComparison.Ordinal);
        var conflicts = 0;
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            conflicts += r.Entry.Action == "idempotency_conflict" ? 1 : 0;
        }

        Assert.Equal(1, conflicts);
    }

    [Fact]
    public async Task AcceptAsync_DurableAtOnceThenPlannedByTheWorker_DuplicatesOnce()
    {
        var env = await TestEnvironment.CreateAsync();
        await using var _ = env;
        var people = new List<Person> { Some.Person(), Some.Person() };
        await env.SeedAsync(people, Some.Systems(people));
        var verified = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        env.Engine.OnProgress = p =>
        {
            if (p.Status == StepStatus.Verified && p.PersonId == people[1].Id)
            {
                verified.TrySetResult();
            }
        };
        using var stop = new CancellationTokenSource();
        var worker = env.Engine.RunAsync(RunMode.Forever, stop.Token);

        var accepted = await env.Engine.AcceptAsync(Some.Leave(people[1].Id, env.Time.GetUtcNow(), key: "hook-1"), "hook:hr", CancellationToken.None);
        var again = await env.Engine.AcceptAsync(Some.Leave(people[1].Id, env.Time.GetUtcNow(), key: "hook-1"), "hook:hr", CancellationToken.None);
        var unknown = await env.Engine.AcceptAsync(Some.Leave("ghost-9", env.Time.GetUtcNow(), key: "hook-2"), "hook:hr", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Accepted, accepted.Outcome);
        Assert.Equal(SubmitOutcome.Duplicate, again.Outcome);
        Assert.Equal(SubmitOutcome.Parked, unknown.Outcome);

        await verified.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await worker.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        Assert.Single(await env.Engine.Store.ListCasesAsync(new CaseQuery(people[1].Id), CancellationToken.None));
    }
}
