namespace Deprov.Connectors.Scim.Profiles;

/// <summary>The vendor profiles a system can select with <c>profile:</c>.</summary>
public enum ScimProfileName
{
    Generic,
    Slack,
    GithubOrg,
    GithubEmu,
    Okta,
    Entra,
    Salesforce,
    Zoom,
}

/// <summary>How a user is deactivated on the wire.</summary>
internal enum DisableWire
{
    /// <summary>RFC 7644 §3.5.2: <c>{"op":"replace","path":"active","value":false}</c>.</summary>
    PatchPath,

    /// <summary>Okta / GitHub org form: <c>{"op":"replace","value":{"active":false}}</c>.</summary>
    PatchNoPath,

    /// <summary><c>DELETE /Users/{id}</c> deactivates (Slack); re-activation is a PATCH.</summary>
    Delete,
}

/// <summary>How a member is removed from (or added to) a group on the wire.</summary>
internal enum MemberWire
{
    /// <summary>RFC form: <c>{"op":"remove","path":"members[value eq \"id\"]"}</c>.</summary>
    ValueFilterPath,

    /// <summary>Entra / Salesforce form: <c>{"op":"remove","path":"members","value":[{"value":"id"}]}</c>.</summary>
    ValueList,
}

/// <summary>
/// A vendor's wire quirks. A profile changes what is sent, never what the engine does: the same actions, idempotency
/// and read-back rules hold for every profile.
/// </summary>
internal sealed record ScimProfile(
    ScimProfileName Name,
    DisableWire Disable,
    MemberWire Members,
    bool CapitalisedOps,
    bool StringBooleans,
    bool SupportsGroups,
    bool SupportsEnable,
    bool SupportsDelete,
    bool ExcludeMembersOnGroupList,
    bool MembershipFilterOnMembersAttribute,
    string ServiceProviderConfigPath,
    string? FallbackServiceProviderConfigPath)
{
    public static ScimProfile For(ScimProfileName name) => name switch
    {
        ScimProfileName.Generic => Generic,
        // DELETE /Users/{id} sets the user deactivated; there is no hard delete over SCIM, so DeleteAccount is not claimed.
        ScimProfileName.Slack => Generic with
        {
            Name = name,
            Disable = DisableWire.Delete,
            SupportsDelete = false,
            FallbackServiceProviderConfigPath = "ServiceProviderConfigs",
        },
        // Organisation SCIM: no /Groups, no filters in PATCH paths; active=false removes the user from the org and
        // deletes the SCIM identity, so it cannot be undone with active=true.
        ScimProfileName.GithubOrg => Generic with
        {
            Name = name,
            Disable = DisableWire.PatchNoPath,
            SupportsGroups = false,
            SupportsEnable = false,
        },
        // Enterprise Managed Users: active=false is a reversible suspension; DELETE is an irreversible hard deprovision.
        // GitHub does not take filters in PATCH paths, so members are removed by value list.
        ScimProfileName.GithubEmu => Generic with { Name = name, Members = MemberWire.ValueList },
        ScimProfileName.Okta => Generic with { Name = name, Disable = DisableWire.PatchNoPath },
        // Entra's default (non-aadOptscim062020) dialect: capitalised ops, "False" strings, value-list member removal,
        // groups listed without members.
        ScimProfileName.Entra => Generic with
        {
            Name = name,
            Members = MemberWire.ValueList,
            CapitalisedOps = true,
            StringBooleans = true,
            ExcludeMembersOnGroupList = true,
            MembershipFilterOnMembersAttribute = true,
        },
        ScimProfileName.Salesforce => Generic with { Name = name, Members = MemberWire.ValueList },
        ScimProfileName.Zoom => Generic with { Name = name, Disable = DisableWire.PatchNoPath, ExcludeMembersOnGroupList = true },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown SCIM profile"),
    };

    private static readonly ScimProfile Generic = new(
        ScimProfileName.Generic,
        DisableWire.PatchPath,
        MemberWire.ValueFilterPath,
        CapitalisedOps: false,
        StringBooleans: false,
        SupportsGroups: true,
        SupportsEnable: true,
        SupportsDelete: true,
        ExcludeMembersOnGroupList: false,
        MembershipFilterOnMembersAttribute: false,
        ServiceProviderConfigPath: "ServiceProviderConfig",
        FallbackServiceProviderConfigPath: null);
}
