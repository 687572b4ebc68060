using System.Text;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Roster;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Roster;

public sealed class RosterImporterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static MemoryStream Csv(string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new MemoryStream(bom ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
    }

    private static async Task<(TestEnvironment Env, List<Person> People)> SeededAsync(string? roster = null)
    {
        var env = await TestEnvironment.CreateAsync(policy: roster, time: new FakeTimeProvider(Now));
        var people = new List<Person>
        {
            Some.Person("e1", timeZone: "Europe/Paris"),
            Some.Person("e2", department: "Engineering"),
            Some.Person("c1", worker: WorkerType.Contractor, timeZone: "America/New_York"),
            Some.Person("e3"),
        };
        await env.SeedAsync(people, Some.Systems(people));
        return (env, people);
    }

    private const string Header = "id;email;name;department;title;worker_type;time_zone;end_date;termination_reason\n";

    private static string Row(Person p, string? endDate = null, string? department = null, string? reason = null) =>
        $"{p.Id};{p.Email};\"{p.DisplayName}\";{department ?? p.Department};{p.Title};{p.WorkerType.Snake()};{p.TimeZone};{endDate};{reason}\n";

    [Fact]
    public async Task ImportAsync_MessyFile_ReportsEachBadRowAndImportsTheGoodOnes()
    {
        var (env, people) = await SeededAsync("roster:\n  date_formats:\n    end_date: [yyyy-MM-dd, dd/MM/yyyy]\n");
        await using var _ = env;
        var text = Header
            + Row(people[0], "15/12/2026")                                   // second date format
            + "\n\n"                                                          // blank lines
            + "n1;new.person@example.com;\"Doe; Jane\";Sales;AE;employee;UTC;;\n" // quoted separator, new person
            + "n2;not-an-email;X;Sales;AE;employee;UTC;;\n"                   // bad email
            + "n3;n3@example.com;X;Sales;AE;employee;UTC;31-12-2026;\n"        // bad date
            + "n4;n4@example.com;X;Sales;AE;robot;Mars/Base;;\n"              // bad worker type and time zone
            + "n1;other@example.com;Someone;Sales;AE;employee;UTC;;\n"        // conflicting duplicate
            + ";nobody@example.com;X;Sales;AE;employee;UTC;;\n";              // missing id
        var report = await new RosterImporter(env.Engine).ImportAsync(Csv(text, bom: true), new ImportOptions(), "admin:hr", CancellationToken.None);

        Assert.Equal(7, report.Rows);
        Assert.Equal(2, report.GoodRows);
        Assert.Contains(report.Errors, e => e.Row == 6 && e.Column == "email");
        Assert.Contains(report.Errors, e => e.Row == 7 && e.Column == "end_date" && e.Problem.Contains("yyyy-MM-dd or dd/MM/yyyy", StringComparison.Ordinal));
        Assert.Contains(report.Errors, e => e.Row == 8 && e.Column == "worker_type");
        Assert.Contains(report.Errors, e => e.Row == 8 && e.Column == "time_zone");
        Assert.Contains(report.Errors, e => e.Row == 9 && e.Problem.Contains("row 5", StringComparison.Ordinal));
        Assert.Contains(report.Errors, e => e.Row == 10 && e.Column == "id");
        Assert.Equal(["n1"], report.Added);
        Assert.Equal("Doe; Jane", (await env.Engine.Store.GetPersonAsync("n1", CancellationToken.None))!.DisplayName);
        var leave = Assert.Single(report.Events);
        Assert.Equal(EventKind.Leave, leave.Kind);
        Assert.Equal(new DateTimeOffset(2026, 12, 15, 23, 0, 0, TimeSpan.Zero), leave.EffectiveAt); // midnight in Paris (UTC+1)
    }

    [Fact]
    public async Task ImportAsync_Changes_BecomeEventsAndReimportIsANoOp()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var text = Header.Replace(';', ',')
            + Row(people[0], "2026-12-31").Replace(';', ',')
            + Row(people[1], department: "Sales").Replace(';', ',')
            + Row(people[2], "2026-11-30").Replace(';', ',')
            + Row(people[3]).Replace(';', ',');
        var importer = new RosterImporter(env.Engine);
        var report = await importer.ImportAsync(Csv(text), new ImportOptions(), "admin:hr", CancellationToken.None);

        Assert.Empty(report.Errors);
        Assert.Equal([EventKind.Leave, EventKind.Move, EventKind.ContractEnd], report.Events.Select(e => e.Kind));
        Assert.All(report.Results, r => Assert.Equal(SubmitOutcome.Planned, r.Outcome));
        var contract = report.Events[2];
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero), contract.EffectiveAt); // midnight in New York
        Assert.Equal("Sales", (await env.Engine.Store.GetPersonAsync("e2", CancellationToken.None))!.Department);
        Assert.Equal(CaseStatus.Scheduled, report.Results[0].Plan!.Case.Status);

        var again = await importer.ImportAsync(Csv(text), new ImportOptions(), "admin:hr", CancellationToken.None);
        Assert.Empty(again.Events);
        Assert.Equal(3, (await env.Engine.Store.ListCasesAsync(new CaseQuery(), CancellationToken.None)).Count);
    }

    [Fact]
    public async Task ImportAsync_DateMovedThenWithdrawn_SupersedesThenCancels()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var importer = new RosterImporter(env.Engine);
        var first = await importer.ImportAsync(Csv(Header + Row(people[0], "2026-12-31")), new ImportOptions(), "admin:hr", CancellationToken.None);
        var firstCase = first.Results.Single().Plan!.Case.Id;
        var moved = await importer.ImportAsync(Csv(Header + Row(people[0], "2027-01-15")), new ImportOptions(), "admin:hr", CancellationToken.None);
        var secondCase = moved.Results.Single().Plan!.Case.Id;
        Assert.Equal(CaseStatus.Cancelled, (await env.Engine.Store.GetCaseAsync(firstCase, CancellationToken.None))!.Status);
        Assert.Equal(new DateTimeOffset(2027, 1, 15, 23, 0, 0, TimeSpan.Zero), (await env.Engine.Store.GetCaseAsync(secondCase, CancellationToken.None))!.CutAt);

        var withdrawn = await importer.ImportAsync(Csv(Header + Row(people[0])), new ImportOptions(), "admin:hr", CancellationToken.None);
        Assert.Equal(EventKind.TerminationCancelled, Assert.Single(withdrawn.Events).Kind);
        Assert.Equal(CaseStatus.Cancelled, (await env.Engine.Store.GetCaseAsync(secondCase, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task ImportAsync_PastDate_FiresNow()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var report = await new RosterImporter(env.Engine).ImportAsync(Csv(Header + Row(people[3], "2026-11-01", reason: "involuntary")), new ImportOptions(), "admin:hr", CancellationToken.None);
        var plan = report.Results.Single().Plan!;
        Assert.Equal(ExitReason.Involuntary, report.Events[0].Reason);
        Assert.Equal(CaseStatus.Running, plan.Case.Status);
        Assert.Equal(Now, plan.Case.CutAt);
    }

    [Fact]
    public async Task ImportAsync_FullRoster_MissingPeopleReportedThenOffboardedOnlyWhenConfirmed()
    {
        var (env, people) = await SeededAsync("roster:\n  missing_people: leave_after_confirmation\n");
        await using var _ = env;
        var text = Header + string.Concat(people.Take(3).Select(p => Row(p)));
        var importer = new RosterImporter(env.Engine);
        var report = await importer.ImportAsync(Csv(text), new ImportOptions(Full: true), "admin:hr", CancellationToken.None);
        Assert.Contains("e3", report.Missing);
        Assert.Empty(report.Events);
        var confirmed = await importer.ImportAsync(Csv(text), new ImportOptions(Full: true, ConfirmMissing: true), "admin:hr", CancellationToken.None);
        Assert.Contains(confirmed.Events, e => e.PersonId == "e3" && e.Kind == EventKind.Leave);
    }

    [Fact]
    public async Task ImportAsync_DryRun_ChangesNothing()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var report = await new RosterImporter(env.Engine).ImportAsync(Csv(Header + Row(people[0], "2026-12-31") + "z9;z9@example.com;Z;Sales;AE;employee;UTC;;\n"),
            new ImportOptions(DryRun: true), "admin:hr", CancellationToken.None);
        Assert.True(report.DryRun);
        Assert.Single(report.Events);
        Assert.Null(await env.Engine.Store.GetPersonAsync("z9", CancellationToken.None));
        Assert.Empty(await env.Engine.Store.ListCasesAsync(new CaseQuery(), CancellationToken.None));
    }

    [Fact]
    public async Task ImportAsync_ParkedEventForUnknownPerson_IsReplayedWhenTheRosterAddsThem()
    {
        var (env, _) = await SeededAsync();
        await using var __ = env;
        await env.Engine.SubmitAsync(Some.Leave("n7", Now), "admin:hr", CancellationToken.None);
        Assert.Single(await env.Engine.Store.ListParkedEventsAsync(CancellationToken.None));
        var report = await new RosterImporter(env.Engine).ImportAsync(Csv(Header + "n7;n7@example.com;N;Sales;AE;employee;UTC;;\n"), new ImportOptions(), "admin:hr", CancellationToken.None);
        Assert.Equal(1, report.Replayed);
        Assert.Single(await env.Engine.Store.ListCasesAsync(new CaseQuery("n7"), CancellationToken.None));
    }

    [Fact]
    public async Task ImportAsync_NoIdColumn_SaysHowToMapIt()
    {
        var (env, _) = await SeededAsync();
        await using var __ = env;
        var report = await new RosterImporter(env.Engine).ImportAsync(Csv("employee number,email\n1,a@example.com\n"), new ImportOptions(), "admin:hr", CancellationToken.None);
        var e = Assert.Single(report.Errors);
        Assert.Contains("roster.columns", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-03-28", "Europe/Paris", "2026-03-28T23:00:00Z")] // midnight before the spring-forward night: UTC+1
    [InlineData("2026-03-29", "Europe/Paris", "2026-03-29T22:00:00Z")] // after it: UTC+2
    [InlineData("2026-10-25", "Europe/Paris", "2026-10-25T23:00:00Z")] // autumn: back to UTC+1
    [InlineData("2026-03-08", "America/New_York", "2026-03-09T04:00:00Z")]
    [InlineData("2026-12-31", "UTC", "2027-01-01T00:00:00Z")]
    public void EndOfDay_AcrossDaylightSaving_IsLocalMidnight(string date, string tz, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), HrDates.EndOfLastDay(DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture), tz));
}
