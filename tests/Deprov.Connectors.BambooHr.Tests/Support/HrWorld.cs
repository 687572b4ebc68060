using Deprov.Testing.BambooHr;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;
using Deprov.Hosting.HrSources;

namespace Deprov.Connectors.BambooHr.Tests.Support;

/// <summary>A Deprov with two sandbox systems, a generated company whose HR ids are BambooHR's numeric ids, and the fake
/// BambooHR holding the same people, configured as the HR source <c>bamboo</c>.</summary>
internal sealed class HrWorld : IAsyncDisposable
{
    public const string SourceId = "bamboo";

    private const string Systems = """
        systems:
          - { id: okta, kind: sandbox, role: identity_provider, risk: critical, retention_days: 30, correlate: [email], settings: { flavour: idp } }
          - { id: slack, kind: sandbox, role: application, retention_days: 30, correlate: [email], settings: { flavour: app } }
        """;

    private HrWorld(TestEnvironment env, BambooHrFake fake, IReadOnlyList<Person> people)
    {
        Env = env;
        Fake = fake;
        People = people;
    }

    public TestEnvironment Env { get; }

    public BambooHrFake Fake { get; }

    public IReadOnlyList<Person> People { get; }

    public HrSourceRunner Runner => new(Env.Engine);

    public static async Task<HrWorld> CreateAsync(TimeProvider? time = null, int people = 12, string policy = "policy:\n  safety_brake: { enabled: false }\n",
        string sourceExtra = "", string? apiKey = null)
    {
        var clock = time ?? TimeProvider.System;
        var fake = await BambooHrFake.StartAsync(clock);
        var dir = TestEnvironment.NewTempDirectory("deprov-bamboo");
        var keyFile = Path.Combine(dir, "bamboo.key");
        await File.WriteAllTextAsync(keyFile, apiKey ?? BambooHrFake.ApiKey);
        var yaml = policy + "hr_sources:\n  - id: " + SourceId + "\n    kind: bamboohr\n    interval: 5m\n" + sourceExtra +
            $"    settings: {{ base_url: \"{fake.ApiUrl}\", api_key: \"file:{keyFile}\", max_retry_after_seconds: 5 }}\n";
        var env = await TestEnvironment.CreateAsync(Systems, yaml, clock, directory: dir, hrSources: [new BambooHrSourceFactory()]);
        var flavours = new Dictionary<string, SandboxFlavour>(StringComparer.Ordinal) { ["okta"] = SandboxFlavour.Idp, ["slack"] = SandboxFlavour.App };
        var company = SandboxCompany.Generate(people, 7, flavours, DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime));
        // BambooHR ids are numbers: the generated p0001… become 10001…; accounts correlate by e-mail.
        string Map(string id) => (10000 + int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var staff = company.People.Select(p => p with { Id = Map(p.Id), ManagerId = p.ManagerId is null ? null : Map(p.ManagerId), WorkerType = WorkerType.Employee }).ToList();
        await env.SeedAsync(staff, company.Systems);
        foreach (var p in staff)
        {
            var space = p.DisplayName.IndexOf(' ', StringComparison.Ordinal);
            fake.Put(p.Id, p.DisplayName[..space], p.DisplayName[(space + 1)..], p.Email, p.Department, p.Title);
            if (p.EndDate is { } end)
            {
                // A contract end Deprov knows is a termination entered ahead in BambooHR too.
                fake.Terminate(p.Id, end);
            }
        }

        return new HrWorld(env, fake, staff);
    }

    public Task<HrSyncReport> SyncAsync(bool? full = null) => Runner.SyncAsync(SourceId, full, "admin:test", CancellationToken.None);

    public async Task<IReadOnlyList<Case>> CasesAsync(string personId) =>
        await Env.Engine.Store.ListCasesAsync(new Core.Store.CaseQuery(PersonId: personId), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Env.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
