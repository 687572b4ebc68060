using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Core.Tests.Connectors;

public sealed class DiscoveredAccountsTests
{
    private static readonly DateTimeOffset SignIn = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    private static readonly DiscoveredAccount[] Objects =
    [
        new("u1", "ann", "ann@example.com", true, AccountKind.User, SignIn, new Dictionary<string, string> { ["uid"] = "ann", ["employeeNumber"] = "e1" }),
        new("u2", "svc-build", null, false, AccountKind.Service, null, new Dictionary<string, string> { ["uid"] = "svc-build" }),
        new("u3", "bob", "bob@example.com", true, AccountKind.User, null, new Dictionary<string, string>()),
    ];

    [Fact]
    public void From_Objects_EachRowReadsBackAsTheSameAccount()
    {
        var block = DiscoveredAccounts.From(Objects);

        Assert.Equal(3, block.Count);
        for (var i = 0; i < Objects.Length; i++)
        {
            var (expected, actual) = (Objects[i], block[i]);
            Assert.Equal((expected.ExternalId, expected.UserName, expected.Email, expected.Enabled, expected.Kind, expected.LastSignInAt),
                (actual.ExternalId, actual.UserName, actual.Email, actual.Enabled, actual.Kind, actual.LastSignInAt));
            Assert.Equal(expected.Attributes.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.Attributes.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }

        Assert.Equal(["ann", "svc-build", "bob"], block.Select(a => a.UserName));
    }

    [Fact]
    public void AttributeAt_ByName_ValueOrNullWhereTheRowHasNone()
    {
        var names = new[] { "ann", "bob" };
        var block = new DiscoveredAccounts(["u1", "u2"], names, [null, null], [true, true], [AccountKind.User, AccountKind.User], [null, null],
            new Dictionary<string, string?[]> { ["uid"] = names, ["employeeNumber"] = ["e1", null] });

        Assert.Equal(("ann", "e1"), (block.AttributeAt(0, "uid"), block.AttributeAt(0, "employeeNumber")));
        Assert.Null(block.AttributeAt(1, "employeeNumber"));
        Assert.Null(block.AttributeAt(1, "mail"));
        Assert.Equal(["uid"], block[1].Attributes.Keys);
    }

    [Fact]
    public void Constructor_ColumnShorterThanTheIds_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DiscoveredAccounts(["u1", "u2"], ["ann", "bob"], [null, null], [true], [AccountKind.User, AccountKind.User],
            [null, null], new Dictionary<string, string?[]>()));
        Assert.Equal("enabled", ex.ParamName);

        var attribute = Assert.Throws<ArgumentException>(() => new DiscoveredAccounts(["u1"], ["ann"], [null], [true], [AccountKind.User], [null],
            new Dictionary<string, string?[]> { ["uid"] = ["ann", "bob"] }));
        Assert.Contains("uid", attribute.Message, StringComparison.Ordinal);
    }
}
