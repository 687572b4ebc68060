using Deprov.Core.Model;

namespace Deprov.Connectors.Sandbox;

/// <summary>The kind of system a sandbox simulates; decides which actions it supports.</summary>
public enum SandboxFlavour
{
    Directory,
    Idp,
    App,
    Mdm,
    Badge,
    Vault,
}

/// <summary>A simulated account. Mutable: only touched under its system's lock.</summary>
public sealed class SbAccount
{
    public required string Id { get; init; }

    public required string UserName { get; init; }

    public string? Email { get; init; }

    public string? EmployeeId { get; init; }

    public AccountKind Kind { get; init; }

    public bool Active { get; set; } = true;

    public bool Deleted { get; set; }

    public int Sessions { get; set; }

    public string? PasswordResetKey { get; set; }

    public DateTimeOffset? LastSignIn { get; set; }
}

public sealed class SbGroup
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public EntitlementKind Kind { get; init; }

    public bool Privileged { get; init; }
}

public sealed class SbDevice
{
    public required string Id { get; init; }

    public required string Serial { get; init; }

    public required string Model { get; init; }

    public string? Owner { get; set; }

    public DeviceStatus Status { get; set; }
}

public sealed class SbCredential
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public CredentialKind Kind { get; init; }

    public string? Owner { get; set; }

    public List<string> KnownBy { get; init; } = [];

    public bool Active { get; set; } = true;

    public int Version { get; set; } = 1;

    /// <summary>Idempotency keys of every rotation applied, oldest first (comma-separated in storage).</summary>
    public List<string> Rotations { get; init; } = [];

    public DateTimeOffset? RotatedAt { get; set; }
}

/// <summary>The state of one simulated system.</summary>
public sealed class SandboxSystemState
{
    public object Sync { get; } = new();

    public Dictionary<string, SbAccount> Accounts { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, SbGroup> Groups { get; } = new(StringComparer.Ordinal);

    /// <summary>Members per group id.</summary>
    public Dictionary<string, HashSet<string>> Members { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, SbDevice> Devices { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, SbCredential> Credentials { get; } = new(StringComparer.Ordinal);

    /// <summary>Bumped on every change; with the world's instance id it is the discovery watermark. Code that changes
    /// the state outside a connector (tests, set-up) calls <see cref="Touch"/> under <see cref="Sync"/>.</summary>
    public long Version { get; private set; }

    public void Touch() => Version++;

    public bool IsMember(string groupId, string accountId) => Members.TryGetValue(groupId, out var m) && m.Contains(accountId);
}
