using Deprov.Core.Model;

namespace Deprov.Core.Tests.Model;

public sealed class AccountColumnsTests
{
    private static readonly Account[] Accounts =
    [
        new("app/u1", "app", "u1", "ann", "ann@example.com", "p1", AccountKind.User, AccountStatus.Active, new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero), "email"),
        new("app/u2", "app", "u2", "svc", null, null, AccountKind.Service, AccountStatus.Disabled, null, null),
    ];

    [Fact]
    public void From_AccountList_ReadsBackTheSameAccounts_FromColumns_IsTheSameInstance()
    {
        var columns = AccountColumns.From(Accounts);

        Assert.Equal(Accounts, columns);
        Assert.Equal("app", columns.SystemId);
        Assert.Equal(("app/u2", AccountStatus.Disabled, (string?)null), (columns.IdAt(1), columns.StatusAt(1), columns.PersonIdAt(1)));
        Assert.Same(columns, AccountColumns.From(columns));
    }

    [Fact]
    public void From_AccountsOfTwoSystems_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccountColumns.From([Accounts[0], Accounts[1] with { Id = "crm/u2", SystemId = "crm" }]));
        Assert.Contains("crm/u2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_NoAccounts_IsEmpty()
    {
        Assert.Empty(AccountColumns.From([]));
    }
}
