using System.Text.Json;
using Deprov.Testing;
using Deprov.Testing.Ldap;

namespace Deprov.Cli.Tests;

/// <summary>
/// <c>check</c>, <c>discover</c> and <c>reconcile</c> against a real slapd, run as a user runs them: the doctor's table and
/// exit code, connector and configuration errors as one message with the system, the whole cause and the fix (never a
/// stack trace), and the shrink guard refusing a listing that would drop the inventory.
/// </summary>
public sealed class CheckCliTests : IClassFixture<CheckCliTests.Directory>, IDisposable
{
    private const string Password = "DEPROV_CHECK_CLI_PASSWORD";
    private const string Ou = "ou=checkcli," + SlapdServer.Suffix;
    private readonly SlapdServer _slapd;
    private readonly string _dir = TestEnvironment.NewTempDirectory("deprov-checkcli");

    public CheckCliTests(Directory directory) => _slapd = directory.Server;

    /// <summary>One slapd for the class, read only: three people in ou=people, a group of all three, an empty OU.</summary>
    public sealed class Directory : IAsyncLifetime
    {
        public SlapdServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var ldif = $"dn: {Ou}\nobjectClass: organizationalUnit\nou: checkcli\n\n" +
                string.Concat(new[] { "people", "groups", "empty" }.Select(o => $"dn: ou={o},{Ou}\nobjectClass: organizationalUnit\nou: {o}\n\n")) +
                string.Concat(Enumerable.Range(0, 3).Select(i =>
                    $"dn: uid=u{i},ou=people,{Ou}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: User {i}\nsn: {i}\nmail: u{i}@example.com\nemployeeNumber: E{i}\n\n")) +
                $"dn: cn=staff,ou=groups,{Ou}\nobjectClass: groupOfNames\ncn: staff\n" + string.Concat(Enumerable.Range(0, 3).Select(i => $"member: uid=u{i},ou=people,{Ou}\n")) + "\n";
            Server = await SlapdServer.StartAsync(ldif);
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS temp cleaner
        }
    }

    /// <summary>Writes deprov.yaml with the LDAP system over <paramref name="usersBase"/> (relative to the test's OU).</summary>
    private async Task ConfigureAsync(string usersBase = "ou=people")
    {
        var yaml = $$"""
            store:
              path: deprov.db
              durability: normal
            systems:
              - id: corp-ldap
                kind: ldap
                role: directory
                correlate: [employee_id]
                settings:
                  host: {{_slapd.Host}}
                  port: {{_slapd.Port}}
                  security: none
                  bind_dn: "{{SlapdServer.ServiceDn}}"
                  bind_password: env:{{Password}}
                  flavour: openldap
                  users: { base: "{{usersBase}},{{Ou}}" }
                  groups: { base: "ou=groups,{{Ou}}" }
                  correlate_attribute: employeeNumber
                  timeout_seconds: 5
            """;
        await File.WriteAllTextAsync(Path.Combine(_dir, "deprov.yaml"), yaml);
    }

    private Task<CliResult> DeprovWith(string? password, params string[] args) =>
        Cli.RunAsync(_dir, password is null ? null : new Dictionary<string, string> { [Password] = password }, args);

    private Task<CliResult> Deprov(params string[] args) => DeprovWith(_slapd.ServicePassword, args);

    private static void AssertNoStackTrace(CliResult r)
    {
        Assert.DoesNotContain("   at ", r.All, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", r.All, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", r.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_CorrectConfiguration_ExitsZero_EveryProbePasses()
    {
        await ConfigureAsync();

        var r = await Deprov("check", "--json");

        Assert.True(r.ExitCode == 0, r.All);
        var system = Assert.Single(JsonDocument.Parse(r.Out).RootElement.EnumerateArray());
        Assert.True(system.GetProperty("passed").GetBoolean());
        Assert.Equal(["connect", "accounts", "confirm_membership", "confirm_disable"],
            system.GetProperty("probes").EnumerateArray().Select(p => p.GetProperty("probe").GetString()));
        Assert.All(system.GetProperty("probes").EnumerateArray(), p => Assert.Equal("pass", p.GetProperty("status").GetString()));

        r = await Deprov("check");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("confirm_membership", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WrongSubtree_ExitsCheckFailed_WithTheFix()
    {
        await ConfigureAsync("ou=empty");

        var r = await Deprov("check", "corp-ldap");

        Assert.Equal(8, r.ExitCode);
        Assert.Contains("FAIL corp-ldap accounts", r.Out, StringComparison.Ordinal);
        Assert.Contains("users.base", r.Out, StringComparison.Ordinal);
        AssertNoStackTrace(r);
    }

    [Fact]
    public async Task Discover_WrongPassword_OneMessageWithSystemCauseAndFix_ExitSystemError()
    {
        await ConfigureAsync();

        var r = await DeprovWith("wrong-password", "discover");

        Assert.Equal(7, r.ExitCode);
        Assert.Contains("error: ldap system 'corp-ldap':", r.Err, StringComparison.Ordinal);
        Assert.Contains("fix:", r.Err, StringComparison.Ordinal);
        AssertNoStackTrace(r);

        r = await DeprovWith("wrong-password", "reconcile");
        Assert.Equal(7, r.ExitCode);
        Assert.Contains("error: ldap system 'corp-ldap':", r.Err, StringComparison.Ordinal);
        AssertNoStackTrace(r);

        r = await DeprovWith("wrong-password", "check");
        Assert.Equal(8, r.ExitCode);
        Assert.Contains("FAIL corp-ldap connect", r.Out, StringComparison.Ordinal);
        AssertNoStackTrace(r);
    }

    [Fact]
    public async Task Discover_UnsetEnvVariable_NamesTheVariableAndTheFix_ExitInvalidInput()
    {
        await ConfigureAsync();

        var r = await DeprovWith(null, "discover");

        Assert.True(r.ExitCode == 2, r.All);
        Assert.Contains("corp-ldap", r.Err, StringComparison.Ordinal);
        Assert.Contains($"export {Password}=", r.Err, StringComparison.Ordinal);
        AssertNoStackTrace(r);
    }

    [Fact]
    public async Task Discover_MissingBase_OneMessageWithTheBase_NoStackTrace()
    {
        await ConfigureAsync("ou=nosuch");

        var r = await Deprov("discover");

        Assert.Equal(7, r.ExitCode);
        Assert.Contains("error: ldap system 'corp-ldap':", r.Err, StringComparison.Ordinal);
        Assert.Contains("ou=nosuch", r.Err, StringComparison.Ordinal);
        AssertNoStackTrace(r);
    }

    [Fact]
    public async Task Reconcile_WrongSubtreeAfterADiscovery_IsRefusedKeepingTheInventory_UntilAccepted()
    {
        await ConfigureAsync();
        var r = await Deprov("discover");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("confirm_membership", r.Out, StringComparison.Ordinal); // the doctor's probes follow a discovery

        await ConfigureAsync("ou=empty");
        r = await Deprov("reconcile");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("listed 0 account(s) where the inventory holds 3", r.Err, StringComparison.Ordinal);
        Assert.Contains("--accept-shrink", r.Err, StringComparison.Ordinal);
        AssertNoStackTrace(r);

        r = await Deprov("discover");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--accept-shrink", r.Err, StringComparison.Ordinal);

        r = await Deprov("licences", "--json"); // the inventory is kept
        Assert.Equal(3, Assert.Single(JsonDocument.Parse(r.Out).RootElement.GetProperty("systems").EnumerateArray()).GetProperty("activeAccounts").GetInt32());

        r = await Deprov("findings", "--kind", "inventory_shrink", "--json");
        var id = Assert.Single(JsonDocument.Parse(r.Out).RootElement.EnumerateArray()).GetProperty("id").GetString()!;
        r = await Deprov("findings", "accept", id);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("accepted: corp-ldap now holds 0 account(s)", r.Out, StringComparison.Ordinal);
        r = await Deprov("findings", "--kind", "inventory_shrink", "--json");
        Assert.Equal(0, JsonDocument.Parse(r.Out).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Reconcile_AcceptShrink_WritesTheSmallerListing()
    {
        await ConfigureAsync();
        Assert.Equal(0, (await Deprov("reconcile")).ExitCode);

        await ConfigureAsync("ou=empty");
        var r = await Deprov("reconcile", "--accept-shrink", "--json");

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal(0, Assert.Single(JsonDocument.Parse(r.Out).RootElement.EnumerateArray()).GetProperty("discovery").GetProperty("accounts").GetInt32());
    }
}
