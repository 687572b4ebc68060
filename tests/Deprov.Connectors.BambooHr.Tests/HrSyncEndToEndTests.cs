using System.Text;
using Deprov.Connectors.BambooHr.Tests.Support;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Hooks;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.BambooHr.Tests;

/// <summary>BambooHR pulled end to end: the fake holds the truth, the engine runs on sandbox systems.</summary>
public sealed class HrSyncEndToEndTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static DateOnly Today(TimeProvider time) => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    [Fact]
    public async Task SyncAsync_TerminationEnteredOnlyInHr_BecomesVerifiedCaseWithoutWebhook()
    {
        await using var w = await HrWorld.CreateAsync();
        var first = await w.SyncAsync();
        Assert.True(first.Succeeded, first.Error ?? first.Refused);
        Assert.True(first.Full);
        Assert.Empty(first.Results);

        var leaver = w.People[3];
        w.Fake.Terminate(leaver.Id, Today(w.Env.Time).AddDays(-1));
        var pull = await w.SyncAsync();

        Assert.False(pull.Full);
        var result = Assert.Single(pull.Results);
        Assert.Equal(EventKind.Leave, result.Event.Kind);
        Assert.Equal(leaver.Id, result.Event.PersonId);
        Assert.Equal(SubmitOutcome.Planned, result.Outcome);
        await w.Env.RunUntilIdleAsync();
        var c = Assert.Single(await w.CasesAsync(leaver.Id));
        Assert.Contains(c.Status, new[] { CaseStatus.Verified, CaseStatus.Scheduled });
        Assert.All(await w.Env.Engine.Store.GetStepsAsync(c.Id, None), s => Assert.True(s.Status is StepStatus.Verified or StepStatus.Pending or StepStatus.Waiting,
            $"{s.Id} {s.Action} is {s.Status}"));
        Assert.Contains(await w.Env.Engine.Store.GetStepsAsync(c.Id, None), s => s.Status == StepStatus.Verified);
        var audit = await w.Env.Engine.Store.SearchAuditAsync(new AuditQuery(Action: "hr_sync"), None);
        Assert.Contains(audit, a => a.Entry.Outcome == "ok" && a.Entry.After!.Contains($"leave {leaver.Id}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunDueAsync_EveryWebhookLost_TerminationPlannedWithinOneIntervalOnce()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
        await using var w = await HrWorld.CreateAsync(time);
        var next = await w.Runner.RunDueAsync(None);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(5), next);

        time.Advance(TimeSpan.FromSeconds(30));
        var leaver = w.People[5];
        w.Fake.Terminate(leaver.Id, Today(time).AddDays(-1));
        var changedAt = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(next, await w.Runner.RunDueAsync(None)); // not due yet: nothing pulled
        Assert.Empty(await w.CasesAsync(leaver.Id));

        time.Advance(next!.Value - time.GetUtcNow());
        await w.Runner.RunDueAsync(None);
        var planned = Assert.Single(await w.CasesAsync(leaver.Id));
        Assert.True(planned.CreatedAt - changedAt <= TimeSpan.FromMinutes(5), $"planned {planned.CreatedAt - changedAt} after the HR change; the interval is 5 minutes");

        // Later pulls, full or not, see the same termination and make no second case.
        time.Advance(TimeSpan.FromMinutes(5));
        await w.Runner.RunDueAsync(None);
        var full = await w.SyncAsync(full: true);
        Assert.True(full.Succeeded);
        Assert.Single(await w.CasesAsync(leaver.Id));
        var state = await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None);
        Assert.NotNull(state!.Cursor);
        Assert.Null(state.LastError);
        Assert.Equal(w.People.Count, state.LastFullCount);
    }

    [Fact]
    public async Task Webhook_EventBasedThenSync_OneCase()
    {
        await using var w = await HrWorld.CreateAsync();
        await w.SyncAsync();
        var leaver = w.People[2];
        w.Fake.Terminate(leaver.Id, Today(w.Env.Time).AddDays(-1));

        // The event-based webhook names the employee and the changed fields only: resolved through the API.
        var body = """{"type":"employee.updated","timestamp":"2026-12-07T09:00:00Z","data":{"companyId":1,"employeeId":"ID","changedFields":["employmentStatus"]}}""".Replace("ID", leaver.Id, StringComparison.Ordinal);
        var outcome = Assert.Single(await BambooHrIntake.HandleAsync(w.Env.Engine, HookPayloads.ParseBambooHr(Encoding.UTF8.GetBytes(body)), "/hooks/bamboohr", None));
        Assert.Equal("planned", outcome.Outcome);
        var pull = await w.SyncAsync();
        Assert.True(pull.Succeeded);
        Assert.All(pull.Results, r => Assert.Equal(SubmitOutcome.Duplicate, r.Outcome));
        Assert.Single(await w.CasesAsync(leaver.Id));
        Assert.Empty(await w.Env.Engine.Store.ListParkedEventsAsync(None));
    }

    [Fact]
    public async Task Webhook_FieldBasedAfterSync_OneCase()
    {
        await using var w = await HrWorld.CreateAsync();
        await w.SyncAsync();
        var leaver = w.People[4];
        var day = Today(w.Env.Time).AddDays(-1);
        w.Fake.Terminate(leaver.Id, day);
        var pull = await w.SyncAsync();
        Assert.Equal(SubmitOutcome.Planned, Assert.Single(pull.Results).Outcome);

        // The late webhook carries the values; it is read against the API too, and the record implies nothing new.
        var body = """{"employees":[{"id":"ID","action":"Updated","timestamp":"2026-12-07T09:00:00Z","fields":{"employmentStatus":{"value":"Terminated","previousValue":"Full-Time"},"terminationDate":{"value":"DAY","previousValue":null}},"changedFields":["employmentStatus","terminationDate"]}]}"""
            .Replace("ID", leaver.Id, StringComparison.Ordinal).Replace("DAY", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var outcome = Assert.Single(await BambooHrIntake.HandleAsync(w.Env.Engine, HookPayloads.ParseBambooHr(Encoding.UTF8.GetBytes(body)), "/hooks/bamboohr", None));
        Assert.True(outcome.Outcome is "ignored" or "duplicate", $"{outcome.Outcome}: {outcome.Message}");
        Assert.Single(await w.CasesAsync(leaver.Id));
    }

    [Fact]
    public async Task Webhook_EmployeeHrDoesNotKnow_ImpliesNothing()
    {
        await using var w = await HrWorld.CreateAsync();
        var body = """{"type":"employee.updated","timestamp":"2026-12-07T09:00:00Z","data":{"employeeId":"999999","changedFields":["employmentStatus"]}}""";
        var outcome = Assert.Single(await BambooHrIntake.HandleAsync(w.Env.Engine, HookPayloads.ParseBambooHr(Encoding.UTF8.GetBytes(body)), "/hooks/bamboohr", None));
        Assert.Equal("ignored", outcome.Outcome);
        Assert.Contains("999999", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(await w.Env.Engine.Store.ListParkedEventsAsync(None));
    }

    [Fact]
    public async Task SyncAsync_FullListingEmpty_RefusedAndNothingChanged()
    {
        await using var w = await HrWorld.CreateAsync();
        var first = await w.SyncAsync();
        var before = await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None);
        w.Fake.EmptyReport = true;

        var pull = await w.SyncAsync(full: true);

        Assert.NotNull(pull.Refused);
        Assert.Contains("empty", pull.Refused, StringComparison.Ordinal);
        Assert.Empty(pull.Results);
        var after = await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None);
        Assert.Equal(before!.Cursor, after!.Cursor);
        Assert.Equal(before.LastFullCount, after.LastFullCount);
        Assert.Equal(before.LastSuccessAt, after.LastSuccessAt);
        Assert.Equal(pull.Refused, after.LastError);
        Assert.Empty(await w.Env.Engine.Store.ListCasesAsync(new CaseQuery(), None));
        Assert.All(await w.Env.Engine.Store.ListPeopleAsync(100, 0, None), p => Assert.Equal(PersonStatus.Active, p.Status));
        Assert.Contains(await w.Env.Engine.Store.SearchAuditAsync(new AuditQuery(Action: "hr_sync"), None), a => a.Entry.Outcome == "refused");
        Assert.True(first.Succeeded);
    }

    [Fact]
    public async Task SyncAsync_FirstFullListingEmptyWhilePeopleKnown_Refused()
    {
        await using var w = await HrWorld.CreateAsync();
        w.Fake.EmptyReport = true;
        var pull = await w.SyncAsync();
        Assert.True(pull.Full);
        Assert.NotNull(pull.Refused);
        Assert.Null((await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None))!.Cursor);
    }

    [Fact]
    public async Task SyncAsync_FullListingTruncated_RefusedEvenWithATerminationInIt()
    {
        await using var w = await HrWorld.CreateAsync();
        await w.SyncAsync();
        w.Fake.Terminate(w.People[0].Id, Today(w.Env.Time).AddDays(-1));
        w.Fake.TruncateReportTo = w.People.Count / 2;

        var pull = await w.SyncAsync(full: true);

        Assert.NotNull(pull.Refused);
        Assert.Contains("truncated", pull.Refused, StringComparison.Ordinal);
        Assert.Empty(await w.Env.Engine.Store.ListCasesAsync(new CaseQuery(), None));
    }

    [Fact]
    public async Task SyncAsync_MoreTerminationsThanTheBrakeAllows_CasesAwaitApproval()
    {
        await using var w = await HrWorld.CreateAsync(policy: "policy:\n  safety_brake: { enabled: true, max_people: 2, min_people: 2 }\n");
        await w.SyncAsync();
        foreach (var p in w.People.Take(5))
        {
            w.Fake.Terminate(p.Id, Today(w.Env.Time).AddDays(-1));
        }

        var pull = await w.SyncAsync();

        Assert.Equal(5, pull.Results.Count);
        var cases = await w.Env.Engine.Store.ListCasesAsync(new CaseQuery(), None);
        Assert.Equal(5, cases.Count);
        Assert.All(cases, c => Assert.Equal(CaseStatus.AwaitingApproval, c.Status));
    }

    [Fact]
    public async Task SyncAsync_FutureTermination_ScheduledAtTheEndOfTheLastDay()
    {
        await using var w = await HrWorld.CreateAsync();
        await w.SyncAsync();
        var leaver = w.People[1];
        var day = Today(w.Env.Time).AddDays(10);
        w.Fake.Terminate(leaver.Id, day);

        var result = Assert.Single((await w.SyncAsync()).Results);

        Assert.Equal(HrDates.EndOfLastDay(day, leaver.TimeZone), result.Event.EffectiveAt);
        Assert.Equal(day, (await w.Env.Engine.Store.GetPersonAsync(leaver.Id, None))!.EndDate);
    }

    [Fact]
    public async Task SyncAsync_ApiAnswersWithAnError_FailureRecordedCursorKept()
    {
        await using var w = await HrWorld.CreateAsync();
        await w.SyncAsync();
        var before = await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None);
        w.Fake.RateLimitNext(10, retryAfterSeconds: 120, status: 503);

        var pull = await w.SyncAsync();

        Assert.NotNull(pull.Error);
        Assert.Contains("503", pull.Error, StringComparison.Ordinal);
        var after = await w.Env.Engine.Store.GetHrSourceStateAsync(HrWorld.SourceId, None);
        Assert.Equal(before!.Cursor, after!.Cursor);
        Assert.Equal(pull.Error, after.LastError);
    }
}
