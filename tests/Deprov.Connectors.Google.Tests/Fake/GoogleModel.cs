namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>A Workspace user as the fake holds it. Mutable; guarded by the server's lock.</summary>
public sealed class FakeUser
{
    public required string Id { get; init; }

    public required string PrimaryEmail { get; init; }

    public List<string> Aliases { get; } = [];

    public bool Suspended { get; set; }

    public bool IsAdmin { get; set; }

    public bool IsDelegatedAdmin { get; set; }

    /// <summary>Null: never signed in (Google then reports 1970-01-01T00:00:00.000Z).</summary>
    public DateTimeOffset? LastLogin { get; set; }

    public string? EmployeeId { get; set; }

    /// <summary>Client ids of the apps the user granted OAuth access to.</summary>
    public List<string> Tokens { get; } = [];

    /// <summary>codeIds of the user's application-specific passwords.</summary>
    public List<int> Asps { get; } = [];

    /// <summary>The user's valid backup verification codes.</summary>
    public List<string> BackupCodes { get; } = [];

    public int SignOuts { get; set; }

    /// <summary>The password last set through the API: held for assertions only, never in an answer (Google returns none).</summary>
    public string? Password { get; set; }

    public int PasswordSets { get; set; }

    public bool ChangePasswordAtNextLogin { get; set; }
}

public sealed class FakeGroup
{
    public required string Id { get; init; }

    public required string Email { get; init; }

    public required string Name { get; init; }

    /// <summary>Direct members: user id → role (OWNER, MANAGER, MEMBER).</summary>
    public Dictionary<string, string> Members { get; } = new(StringComparer.Ordinal);
}

public sealed class FakeDevice
{
    public required string ResourceId { get; init; }

    public required string SerialNumber { get; init; }

    public required string Model { get; init; }

    /// <summary>The account address the device registered with (any case, possibly an alias).</summary>
    public required string Email { get; init; }

    public string Status { get; set; } = "APPROVED";

    public List<string> Actions { get; } = [];
}

/// <summary>A product SKU the customer subscribes to, and who holds its licences.</summary>
public sealed class FakeSku
{
    public required string ProductId { get; init; }

    public required string SkuId { get; init; }

    public required string ProductName { get; init; }

    public required string SkuName { get; init; }

    /// <summary>Ids of the users holding a licence, in assignment order.</summary>
    public List<string> Holders { get; } = [];
}

public sealed record GoogleRecordedRequest(string Method, string Path, string Query, string? Body);
