using System.Text;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Roster;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Roster;

/// <summary>A roster never implies what it does not say, and every bad row is reported where it is.</summary>
public sealed class RosterSafetyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static MemoryStream Utf8(string text) => new(Encoding.UTF8.GetBytes(text));

    private static async Task<(TestEnvironment Env, List<Person> People)> SeededAsync(string? roster = null)
    {
        var env = await TestEnvironment.CreateAsync(policy: roster, time: new FakeTimeProvider(Now));
        var people = new List<Person>
        {
            Some.Person("e1", timeZone: "Europe/Paris") with { StartDate = new DateOnly(2020, 1, 6) },
            Some.Person("e2", department: "Engineering"),
            Some.Person("c1", worker: WorkerType.Contractor, timeZone: "America/New_York"),
            Some.Person("e3"),
        };
        await env.SeedAsync(people, Some.Systems(people));
        return (env, people);
    }

    private static Task<RosterReport> ImportAsync(TestEnvironment env, string text) =>
        new RosterImporter(env.Engine).ImportAsync(Utf8(text), new ImportOptions(), "admin:hr", None);

    [Fact]
    public async Task ImportAsync_NoEndDateColumn_NeverCancelsAKnownTermination()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var first = await ImportAsync(env, "id,email,end_date\ne1,e1@example.com,2026-12-31\n");
        var caseId = first.Results.Single().Plan!.Case.Id;

        var report = await ImportAsync(env, "id,email,department\ne1,e1@example.com,Engineering\n");

        Assert.Empty(report.Events);
        Assert.Equal(CaseStatus.Scheduled, (await env.Engine.Store.GetCaseAsync(caseId, None))!.Status);
        Assert.Equal(new DateOnly(2026, 12, 31), (await env.Engine.Store.GetPersonAsync("e1", None))!.EndDate);
    }

    [Fact]
    public async Task ImportAsync_UnmappedTimeZoneAndStartDate_KeepTheStoredValues()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,name\ne1,e1@example.com,Person e1\nc1,c1@example.com,Person c1\n");

        Assert.Empty(report.Errors);
        Assert.Empty(report.Updated);
        var e1 = (await env.Engine.Store.GetPersonAsync("e1", None))!;
        Assert.Equal(("Europe/Paris", new DateOnly(2020, 1, 6), "Engineering", WorkerType.Employee), (e1.TimeZone, e1.StartDate, e1.Department, e1.WorkerType));
        Assert.Equal(WorkerType.Contractor, (await env.Engine.Store.GetPersonAsync("c1", None))!.WorkerType);
    }

    [Fact]
    public async Task ImportAsync_UnmatchedQuote_RejectsThatRowOnlyAndKeepsTheTerminationsAfterIt()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env,
            "id,email,name,end_date\n"
            + "e1,e1@example.com,Person e1,\n"
            + "e2,e2@example.com,\"Bob,\n"
            + "e3,e3@example.com,Person e3,2026-12-31\n"
            + "c1,c1@example.com,Person c1,2026-12-15\n");

        Assert.Equal((4, 3, 1), (report.Rows, report.GoodRows, report.RejectedRows));
        var error = Assert.Single(report.Errors);
        Assert.Equal((3, "name"), (error.Row, error.Column));
        Assert.Contains("quote", error.Problem, StringComparison.Ordinal);
        Assert.Equal(["c1", "e3"], report.Events.Select(e => e.PersonId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ImportAsync_RaggedRow_IsRejectedNamingTheFirstMissingColumn()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env,
            "id,email,name,department,title,location,worker_type,time_zone,start_date,end_date,termination_reason\n"
            + "e3,e3@example.com,Person e3,Engineering\n"
            + "e2,e2@example.com,Person e2,Engineering,Software Engineer,Paris,employee,UTC,,2026-12-31,voluntary,extra\n"
            + "e1,e1@example.com,Person e1,Engineering,Software Engineer,Paris,employee,Europe/Paris,2020-01-06,2026-12-31,voluntary\n");

        Assert.Equal((3, 1, 2), (report.Rows, report.GoodRows, report.RejectedRows));
        Assert.Contains(report.Errors, e => e.Row == 2 && e.Column == "title" && e.Problem.Contains("4 of the header's 11", StringComparison.Ordinal));
        Assert.Contains(report.Errors, e => e.Row == 3 && e.Column == "(field 12)");
        Assert.Equal("e1", Assert.Single(report.Events).PersonId);
    }

    [Fact]
    public async Task ImportAsync_TerminatedStatusWithoutDate_IsRefusedByDefault()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,status,end_date\ne1,e1@example.com,Terminated,\ne2,e2@example.com,Contract Ended,\ne3,e3@example.com,Active,\n");

        Assert.Equal((3, 1, 2), (report.Rows, report.GoodRows, report.RejectedRows));
        Assert.All(report.Errors, e => Assert.Equal("status", e.Column));
        Assert.Contains("terminated_without_date", report.Errors[0].Problem, StringComparison.Ordinal);
        Assert.Empty(report.Events);
    }

    [Fact]
    public async Task ImportAsync_TerminatedWithoutDateAndPolicyToday_EndsAtMidnightTonightInTheirZone()
    {
        var (env, _) = await SeededAsync("roster:\n  status:\n    terminated_without_date: today\n");
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,status\ne1,e1@example.com,terminated\n");

        var leave = Assert.Single(report.Events);
        Assert.Equal(EventKind.Leave, leave.Kind);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 23, 0, 0, TimeSpan.Zero), leave.EffectiveAt);
        Assert.Empty((await ImportAsync(env, "id,email,status\ne1,e1@example.com,terminated\n")).Events);
    }

    [Fact]
    public async Task ImportAsync_StatusColumn_MapsValuesAndOnlyActiveCancels()
    {
        var (env, _) = await SeededAsync("roster:\n  status:\n    values:\n      Employed: active\n      Sabbatical: on_leave\n      Gone: terminated\n      Contract over: contract_ended\n");
        await using var _ = env;
        var first = await ImportAsync(env, "id,email,status,end_date\ne1,e1@example.com,Gone,2026-12-31\ne2,e2@example.com,Contract over,2026-12-20\ne3,e3@example.com,Gone,2026-12-31\n");
        Assert.Equal([EventKind.Leave, EventKind.ContractEnd, EventKind.Leave], first.Events.Select(e => e.Kind));

        var second = await ImportAsync(env, "id,email,status,end_date\ne1,e1@example.com,Sabbatical,\ne3,e3@example.com,Employed,\ne2,e2@example.com,Active,\n");

        var cancel = Assert.Single(second.Events);
        Assert.Equal((EventKind.TerminationCancelled, "e3"), (cancel.Kind, cancel.PersonId));
        var unknown = Assert.Single(second.Errors);
        Assert.Equal((4, "status"), (unknown.Row, unknown.Column));
        Assert.Equal(new DateOnly(2026, 12, 31), (await env.Engine.Store.GetPersonAsync("e1", None))!.EndDate);
    }

    [Fact]
    public async Task ImportAsync_EmptyEndDateForATerminationInThePast_IsNotARestore()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        await ImportAsync(env, "id,email,end_date\ne3,e3@example.com,2026-11-01\n");
        await env.RunUntilIdleAsync();

        var report = await ImportAsync(env, "id,email,end_date\ne3,e3@example.com,\n");

        Assert.Empty(report.Events);
    }

    [Theory]
    [InlineData("=cmd|' /C calc'!A0", "formula")]
    [InlineData("+1234", "formula")]
    [InlineData("-1234", "formula")]
    [InlineData("@SUM(1)", "formula")]
    [InlineData("<script>alert(1)</script>", "letter or digit")]
    [InlineData("p01\u202Eabc", "bidirectional")]
    [InlineData("p01\u0007", "control")]
    [InlineData("p01\uFFFD", "U+FFFD")]
    [InlineData("p 01", "contains ' '")]
    public async Task ImportAsync_BadId_IsRejectedWithRowColumnAndReason(string id, string reason)
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env, $"id,email\nn1,n1@example.com\n\"{id}\",x@example.com\n");

        var error = Assert.Single(report.Errors);
        Assert.Equal((3, "id"), (error.Row, error.Column));
        Assert.Contains(reason, error.Problem, StringComparison.Ordinal);
        Assert.Equal(["n1"], report.Added);
    }

    [Theory]
    [InlineData("a@")]
    [InlineData("a@b@c.com")]
    [InlineData("@SUM(1)")]
    [InlineData("=HYPERLINK(\"\"x\"\")@example.com")]
    [InlineData("a b@example.com")]
    [InlineData("a@localhost")]
    [InlineData("a@example.com\u202E")]
    public async Task ImportAsync_InvalidEmail_IsRejectedAndNeverOverwritesTheStoredOne(string email)
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var report = await ImportAsync(env, $"id,email\ne1,\"{email}\"\n");

        Assert.Equal((2, "email"), (Assert.Single(report.Errors).Row, report.Errors[0].Column));
        Assert.Equal("e1@example.com", (await env.Engine.Store.GetPersonAsync("e1", None))!.Email);
    }

    [Fact]
    public async Task ImportAsync_Utf16WithByteOrderMark_IsRead()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        foreach (var (encoding, id) in new (Encoding, string)[] { (new UnicodeEncoding(false, true), "n1"), (new UnicodeEncoding(true, true), "n2") })
        {
            var bytes = encoding.GetPreamble().Concat(encoding.GetBytes($"id,email,name\n{id},{id}@example.com,José Müller\n")).ToArray();
            var report = await new RosterImporter(env.Engine).ImportAsync(new MemoryStream(bytes), new ImportOptions(), "admin:hr", None);
            Assert.Empty(report.Errors);
            Assert.Equal("José Müller", (await env.Engine.Store.GetPersonAsync(id, None))!.DisplayName);
        }
    }

    [Fact]
    public async Task ImportAsync_Latin1WithoutSetting_IsRefusedNamingTheLineAndTheFix()
    {
        var (env, _) = await SeededAsync();
        await using var _ = env;
        var bytes = Encoding.Latin1.GetBytes("id,email,name\nn1,n1@example.com,Ann\nn2,n2@example.com,José\n");
        var report = await new RosterImporter(env.Engine).ImportAsync(new MemoryStream(bytes), new ImportOptions(), "admin:hr", None);

        var refusal = report.Errors[0];
        Assert.Equal((3, "name"), (refusal.Row, refusal.Column));
        Assert.Contains("0xE9", refusal.Problem, StringComparison.Ordinal);
        Assert.Contains("roster.encoding", refusal.Problem, StringComparison.Ordinal);
        Assert.Equal(0, report.GoodRows);
        Assert.Empty(report.Added);
    }

    [Fact]
    public async Task ImportAsync_Latin1WithEncodingSetting_IsRead()
    {
        var (env, _) = await SeededAsync("roster:\n  encoding: windows-1252\n");
        await using var _ = env;
        var bytes = Encoding.Latin1.GetBytes("id,email,name\nn2,n2@example.com,José\n");
        var report = await new RosterImporter(env.Engine).ImportAsync(new MemoryStream(bytes), new ImportOptions(), "admin:hr", None);

        Assert.Empty(report.Errors);
        Assert.Equal("José", (await env.Engine.Store.GetPersonAsync("n2", None))!.DisplayName);
    }

    [Fact]
    public async Task ImportAsync_IsoTimestampWithOffset_IsAcceptedWhateverTheFormats()
    {
        var (env, _) = await SeededAsync("roster:\n  date_formats:\n    end_date: [dd/MM/yyyy]\n");
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,end_date\ne1,e1@example.com,2026-12-20T18:00:00+01:00\ne2,e2@example.com,20/12/2026\n");

        Assert.Empty(report.Errors);
        Assert.Equal(new DateTimeOffset(2026, 12, 20, 17, 0, 0, TimeSpan.Zero), report.Events[0].EffectiveAt);
        Assert.Equal(new DateTimeOffset(2026, 12, 21, 0, 0, 0, TimeSpan.Zero), report.Events[1].EffectiveAt);
    }

    [Fact]
    public async Task ImportAsync_TimestampWithoutOffset_IsReadInThePersonsZoneAndSaysSo()
    {
        var (env, _) = await SeededAsync("roster:\n  date_formats:\n    end_date: [yyyy-MM-dd HH:mm]\n");
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,end_date\ne1,e1@example.com,2026-12-20 18:00\n");

        Assert.Equal(new DateTimeOffset(2026, 12, 20, 17, 0, 0, TimeSpan.Zero), Assert.Single(report.Events).EffectiveAt);
        Assert.Contains(report.Notes, n => n.Contains("read as 2026-12-20T18:00 Europe/Paris", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ImportAsync_YearOutOfRange_IsRejected()
    {
        var (env, _) = await SeededAsync("roster:\n  date_formats:\n    end_date: [yyyy-MM-dd, yyy-MM-dd]\n");
        await using var _ = env;
        var report = await ImportAsync(env, "id,email,end_date\ne1,e1@example.com,9999-12-31\ne2,e2@example.com,202-12-31\ne3,e3@example.com,1850-01-01\n");

        Assert.Equal(3, report.RejectedRows);
        Assert.All(report.Errors, e => Assert.Equal("end_date", e.Column));
        Assert.Contains("1900–2200", report.Errors[0].Problem, StringComparison.Ordinal);
        Assert.Empty(report.Events);
    }

    [Fact]
    public void Config_ConflictingDateFormats_IsAnErrorNamingTheSetting()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(
            "store:\n  path: deprov.db\nroster:\n  date_formats:\n    end_date: [dd/MM/yyyy, MM/dd/yyyy]\n", "deprov.yaml", new Dictionary<string, Deprov.Core.Connectors.IConnectorFactory>()));

        var error = Assert.Single(ex.Errors, e => e.Key == "roster.date_formats.end_date");
        Assert.Contains("'dd/MM/yyyy' and 'MM/dd/yyyy'", error.Problem, StringComparison.Ordinal);
    }
}
