namespace Deprov.Connectors.Graph.Tests.Fake;

/// <summary>The fake's directory objects. Mutable; guarded by the server's lock.</summary>
public sealed class FakeUser
{
    public required string Id { get; init; }

    public required string UserPrincipalName { get; set; }

    public string? Mail { get; set; }

    public string? EmployeeId { get; set; }

    public bool AccountEnabled { get; set; } = true;

    public string UserType { get; set; } = "Member";

    public DateTimeOffset? LastSignIn { get; set; }

    public DateTimeOffset SignInSessionsValidFrom { get; set; }

    /// <summary>Synchronized from on-premises AD by Microsoft Entra Connect: the password is mastered there.</summary>
    public bool OnPremisesSyncEnabled { get; set; }

    public DateTimeOffset? LastPasswordChange { get; set; }

    public bool ForceChangePasswordNextSignIn { get; set; }

    /// <summary>How many times a password was set through <c>passwordProfile</c>. The fake keeps no password.</summary>
    public int PasswordResets { get; set; }

    /// <summary>skuId → disabled service plan ids.</summary>
    public Dictionary<string, List<string>> Licences { get; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class FakeGroup
{
    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    public bool IsAssignableToRole { get; init; }

    /// <summary>Dynamic membership: the rule decides, member writes are refused.</summary>
    public bool Dynamic { get; init; }

    public List<string> Members { get; } = [];
}

public sealed record FakeSku(string SkuId, string SkuPartNumber);

public sealed class FakeDevice
{
    public required string Id { get; init; }

    public required string DeviceName { get; init; }

    public required string SerialNumber { get; init; }

    public required string Model { get; init; }

    public string? UserPrincipalName { get; init; }

    public string ManagementState { get; set; } = "managed";

    public List<FakeDeviceAction> Actions { get; } = [];

    /// <summary>The last wipe body as received, for wire-format assertions.</summary>
    public string? WipeBody { get; set; }
}

public sealed class FakeDeviceAction
{
    public required string ActionName { get; init; }

    public required string ActionState { get; set; }

    public required DateTimeOffset StartDateTime { get; init; }
}

/// <summary>One request as the fake received it.</summary>
public sealed record GraphRecordedRequest(string Method, string Path, string Query, string? Body, string? AuthScheme);

/// <summary>A directory role definition (<c>unifiedRoleDefinition</c>): built-in ones have the template id as their id.</summary>
public sealed record FakeRoleDefinition(string Id, string DisplayName);

/// <summary>A directory role assignment (<c>unifiedRoleAssignment</c>) of a role at a scope to a principal.</summary>
public sealed record FakeRoleAssignment(string Id, string PrincipalId, string RoleDefinitionId, string DirectoryScopeId);
