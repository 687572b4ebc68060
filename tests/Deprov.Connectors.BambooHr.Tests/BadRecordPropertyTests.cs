using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.HrSources;
using Deprov.Core.Model;

namespace Deprov.Connectors.BambooHr.Tests;

/// <summary>
/// Generated bad employee records (a seeded generator: each run is reproducible from its seed) never end anyone's access:
/// a termination is taken only from a mapped Terminated status with a yyyy-MM-dd date. Whatever is wrong is reported or
/// implies nothing; nothing throws.
/// </summary>
public sealed class BadRecordPropertyTests
{
    private const int Cases = 4000;

    private static readonly Func<Random, JsonObject, string>[] Corruptions =
    [
        (_, o) => { o.Remove("employmentHistoryStatus"); return "status absent"; },
        (_, o) => { o["employmentHistoryStatus"] = null; return "status null"; },
        (r, o) => { o["employmentHistoryStatus"] = new string(' ', r.Next(0, 3)); return "status blank"; },
        (r, o) => { o["employmentHistoryStatus"] = "S" + Garbage(r); return "status unknown"; },
        (r, o) => { o["employmentHistoryStatus"] = r.Next(); return "status a number"; },
        (_, o) => { o["employmentHistoryStatus"] = new JsonObject { ["value"] = "Terminated" }; return "status an object"; },
        (_, o) => { o["employmentHistoryStatus"] = new JsonArray("Terminated"); return "status an array"; },
        (r, o) => { o["employmentHistoryStatus"] = "Terminated" + (char)r.Next(0, 32); return "status with a control character"; },
        (_, o) => { o["employmentHistoryStatus"] = "Termi\u202Enated"; return "status with a bidi override"; },
        (_, o) => { o["employmentHistoryStatus"] = "On Leave"; return "on leave"; },
        (_, o) => { o.Remove("terminationDate"); return "date absent"; },
        (_, o) => { o["terminationDate"] = "0000-00-00"; return "date zero"; },
        (_, o) => { o["terminationDate"] = ""; return "date empty"; },
        (r, o) => { o["terminationDate"] = Garbage(r); return "date garbage"; },
        (r, o) => { o["terminationDate"] = $"{r.Next(1, 13):00}/{r.Next(1, 29):00}/2026"; return "date US form"; },
        (_, o) => { o["terminationDate"] = "2026-02-30"; return "date that does not exist"; },
        (r, o) => { o["terminationDate"] = $"{r.Next(2201, 9999)}-01-01"; return "date after 2200"; },
        (r, o) => { o["terminationDate"] = $"{r.Next(1, 1900):0000}-01-01"; return "date before 1900"; },
        (_, o) => { o["terminationDate"] = 20261231; return "date a number"; },
        (_, o) => { o["terminationDate"] = true; return "date a boolean"; },
        (r, o) => { o["id"] = "p" + r.Next(); return "id not numeric"; },
        (_, o) => { o.Remove("id"); return "id absent"; },
        (_, o) => { o["id"] = new JsonArray(); return "id an array"; },
        (r, o) => { o["workEmail"] = "x\u0000" + Garbage(r); return "NUL in another field"; },
        (r, o) => { o["department"] = new string('d', 513 + r.Next(100)); return "overlong value"; },
        (_, o) => { o["jobTitle"] = new JsonObject(); return "title an object"; },
    ];

    private static string Garbage(Random r)
    {
        const string alphabet = "abcXYZ0123456789-/:. _\t\u00e9\u4e2d\ud83d\ude00";
        var n = r.Next(0, 12);
        var chars = new char[n];
        for (var i = 0; i < n; i++)
        {
            chars[i] = alphabet[r.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    [Fact]
    public void Map_GeneratedBadRecords_NeverImplyATermination()
    {
        var seed = Environment.TickCount;
        var rng = new Random(seed);
        var factory = new BambooHrSourceFactory();
        var settings = SettingsNode.MappingNode("s", new Dictionary<string, SettingsNode>
        {
            ["base_url"] = SettingsNode.ScalarNode("base_url", "http://127.0.0.1:9/api/v1/"),
            ["api_key"] = SettingsNode.ScalarNode("api_key", "env:UNUSED"),
        });
        var source = (BambooHrSource)factory.Create("bamboo", settings, factory.DefaultStatuses, new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new NoSecrets()));
        var now = new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
        var rules = new HrSyncRules(factory.DefaultStatuses, "UTC");
        var person = Some.Person("4711");
        for (var i = 0; i < Cases; i++)
        {
            var json = new JsonObject
            {
                ["id"] = "4711",
                ["firstName"] = "Ada",
                ["lastName"] = "Lovelace",
                ["workEmail"] = person.Email,
                ["department"] = person.Department,
                ["jobTitle"] = person.Title,
                ["employmentHistoryStatus"] = "Terminated",
                ["terminationDate"] = "2026-11-30",
            };
            var applied = new List<string>();
            for (var k = rng.Next(1, 4); k > 0; k--)
            {
                applied.Add(Corruptions[rng.Next(Corruptions.Length)](rng, json));
            }

            using var doc = JsonDocument.Parse(json.ToJsonString());
            var record = source.Map(doc.RootElement, expectedId: null, "$");
            var decision = HrSync.Decide("bamboohr", [record], id => id == person.Id ? person : null, full: false, lastFullCount: null, knownPeople: 0, rules, now);

            var why = $"seed {seed}, case {i}: {string.Join(", ", applied)} → {json.ToJsonString()}";
            Assert.Null(decision.Refused);
            Assert.DoesNotContain(decision.Events, e => e.Kind is EventKind.Leave or EventKind.ContractEnd);
            Assert.True(record.Problem is not null || decision.Problems.Count > 0 || record.Record is not null, why);
            if (record.Problem is not null)
            {
                // Reported with the employee and the field, never silently dropped.
                Assert.Single(decision.Problems);
            }
        }
    }

    [Fact]
    public void Map_GoodTermination_IsALeaveOnItsDate()
    {
        var factory = new BambooHrSourceFactory();
        var settings = SettingsNode.MappingNode("s", new Dictionary<string, SettingsNode>
        {
            ["base_url"] = SettingsNode.ScalarNode("base_url", "http://127.0.0.1:9/api/v1/"),
            ["api_key"] = SettingsNode.ScalarNode("api_key", "env:UNUSED"),
        });
        var source = (BambooHrSource)factory.Create("bamboo", settings, factory.DefaultStatuses, new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new NoSecrets()));
        var person = Some.Person("4711", timeZone: "Europe/Paris");
        using var doc = JsonDocument.Parse("""{"id":"4711","employmentHistoryStatus":"Terminated","terminationDate":"2026-11-30"}""");

        var record = source.Map(doc.RootElement, "4711", "$");
        var decision = HrSync.Decide("bamboohr", [record], _ => person, false, null, 0, new HrSyncRules(factory.DefaultStatuses, "UTC"),
            new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));

        var e = Assert.Single(decision.Events);
        Assert.Equal(EventKind.Leave, e.Kind);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero), e.EffectiveAt);
        Assert.Equal("bamboohr:leave:4711:2026-11-30", e.IdempotencyKey);
        Assert.Equal(person.Department, Assert.Single(decision.Updated).Department);
    }

    private sealed class NoSecrets : ISecretResolver
    {
        public string Resolve(string reference, string usedFor) => throw new InvalidOperationException("no call is made");
    }
}
