using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Scim;
using Xunit.Abstractions;

namespace Deprov.Connectors.Scim.Tests.Confirmation;

/// <summary>
/// Every profile against the fake with each bad habit of real servers: no read may confirm a cut while the access
/// remains. Counts false confirmations over the whole matrix (target 0), and checks that a faithful server still
/// gets its cuts confirmed (a connector that never confirms would pass the first count trivially).
/// </summary>
public sealed class ScimBadHabitsTests(ITestOutputHelper output)
{
    public enum Habit
    {
        Faithful,
        LenientFilters,
        IgnoredWrites,
        PutOnlyNoEtag,
        OmitsMembers,
        OmitsMembersWithUserGroups,
        OmitsMembersLenient,
        CappedMembers,
        OmitEmptyMembers,
    }

    private static readonly string[] Profiles = ["generic", "slack", "okta", "entra", "salesforce", "zoom", "github_emu", "github_org"];

    private static ScimServerOptions Options(string profile, Habit habit)
    {
        var o = profile switch
        {
            "slack" => new ScimServerOptions { DeleteDeactivates = true, EtagSupported = false },
            "entra" => new ScimServerOptions { PatchReturnsNoContent = true },
            "github_emu" => new ScimServerOptions { RejectFilterInPatchPath = true },
            "github_org" => new ScimServerOptions { NoGroups = true },
            _ => new ScimServerOptions(),
        };
        return habit switch
        {
            Habit.LenientFilters => o with { LenientFilters = true },
            Habit.IgnoredWrites => o with { IgnoreWrites = true },
            Habit.PutOnlyNoEtag => o with { PatchSupported = false, EtagSupported = false },
            Habit.OmitsMembers => o with { GroupReadsOmitMembers = true },
            Habit.OmitsMembersWithUserGroups => o with { GroupReadsOmitMembers = true, UserGroups = true },
            Habit.OmitsMembersLenient => o with { GroupReadsOmitMembers = true, LenientFilters = true },
            Habit.CappedMembers => o with { MembersCap = 2 },
            Habit.OmitEmptyMembers => o with { OmitEmptyMembers = true },
            _ => o,
        };
    }

    private sealed record Tally(List<string> FalseConfirmations, List<string> MissedOnFaithful);

    [Fact]
    public async Task ReadBack_EveryProfileAgainstEveryHabit_NeverConfirmsWhileAccessRemains()
    {
        var tally = new Tally([], []);
        var reads = 0;
        var scenarios = 0;
        foreach (var profile in Profiles)
        {
            foreach (var habit in Enum.GetValues<Habit>())
            {
                scenarios++;
                reads += await RunAsync(profile, habit, tally);
            }
        }

        output.WriteLine($"scenarios: {scenarios}, confirming reads checked: {reads}, false confirmations: {tally.FalseConfirmations.Count}, "
            + $"faithful cuts left unconfirmed: {tally.MissedOnFaithful.Count}");
        Assert.True(tally.FalseConfirmations.Count == 0, "confirmed while access remains:\n" + string.Join("\n", tally.FalseConfirmations));
        Assert.True(tally.MissedOnFaithful.Count == 0, "a faithful server's cut was not confirmed:\n" + string.Join("\n", tally.MissedOnFaithful));
    }

    /// <summary>One profile against one habit: a leaver in a big group and alone in a small one, disabled and removed.</summary>
    private static async Task<int> RunAsync(string profile, Habit habit, Tally tally)
    {
        await using var server = await ScimTestServer.StartAsync(Options(profile, habit));
        var leaver = server.AddUser(ScimTest.Unique("leaver"));
        var others = Enumerable.Range(0, 3).Select(i => server.AddUser(ScimTest.Unique($"peer{i}"))).ToArray();
        using var connector = ScimTest.Connect(server, profile, s =>
        {
            if (habit is Habit.CappedMembers)
            {
                s["members_cap"] = "2";
            }
        });
        var reads = 0;
        var label = $"{profile}/{habit}";

        // Disable: the account stays active on the server unless the write really happened.
        var disable = ScimTest.Action(ActionKind.DisableAccount, leaver);
        await connector.ExecuteAsync(disable, default);
        reads += await CheckAsync(connector, disable, label + " disable", stillHas: server.IsActive(leaver), mustConfirm: habit is Habit.Faithful, tally);

        if (!connector.Describe().Supported.Contains(ActionKind.RemoveEntitlement))
        {
            return reads;
        }

        // The leaver is the last of four members (beyond a cap of two), and the only member of a second group.
        var admins = server.AddGroup("admins", [.. others, leaver]);
        var solo = server.AddGroup("solo", leaver);
        foreach (var group in new[] { admins, solo })
        {
            var remove = ScimTest.Action(ActionKind.RemoveEntitlement, leaver, group);
            try
            {
                await connector.ExecuteAsync(remove, default);
            }
            catch (ConnectorException e) when (!e.IsTransient)
            {
                // A refusal (e.g. a PUT that would drop members the read does not show) is loud, not a confirmation.
            }

            reads += await CheckAsync(connector, remove, $"{label} remove from {(group == admins ? "admins" : "solo")}",
                stillHas: server.IsMember(group, leaver), mustConfirm: habit is Habit.Faithful, tally);
        }

        // The issue's case: inventory says member, nothing was cut yet. No read may say the membership is gone.
        var untouched = server.AddGroup("untouched", leaver, others[0]);
        reads += await CheckAsync(connector, ScimTest.Action(ActionKind.RemoveEntitlement, leaver, untouched), label + " untouched membership",
            stillHas: true, mustConfirm: false, tally);
        return reads;
    }

    private static async Task<int> CheckAsync(ScimConnector connector, ConnectorAction action, string label, bool stillHas, bool mustConfirm, Tally tally)
    {
        var first = await connector.ReadBackAsync(action, default);
        var second = await connector.ReadIndependentlyAsync(action, default);
        foreach (var (read, name) in new[] { (first, "read-back"), (second, "independent read") })
        {
            if (read is { Confirmed: true } && stillHas)
            {
                tally.FalseConfirmations.Add($"{label}: {name} confirmed; observed {string.Join(", ", read.Observed.Select(kv => $"{kv.Key}={kv.Value}"))}");
            }
        }

        if (mustConfirm && !first.Confirmed)
        {
            tally.MissedOnFaithful.Add($"{label}: observed {string.Join(", ", first.Observed.Select(kv => $"{kv.Key}={kv.Value}"))}");
        }

        return second is null ? 1 : 2;
    }
}
