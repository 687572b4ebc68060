using System.Globalization;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Okta.Protocol;

/// <summary>
/// The parts of an Okta user the connector reports and decides on. Never holds the <c>credentials</c> object, so nothing
/// secret can reach a result, a message or the audit trail.
/// </summary>
internal sealed record OktaUser(string Id, string Status, string? TransitioningTo, string Login, string? Email, string? EmployeeNumber, DateTimeOffset? LastLogin)
{
    public const string Active = "ACTIVE";
    public const string Suspended = "SUSPENDED";
    public const string Deprovisioned = "DEPROVISIONED";
    public const string Staged = "STAGED";

    /// <summary>
    /// Whether the user can sign in, or get back in without an admin: ACTIVE, and also PROVISIONED (activation link
    /// pending), RECOVERY, PASSWORD_EXPIRED and LOCKED_OUT, which self-service can turn into a sign-in. STAGED users were
    /// never sent an activation; SUSPENDED and DEPROVISIONED ones are cut.
    /// </summary>
    public bool CanSignIn => !IsCut(Status) && Status != Staged;

    public static bool IsCut(string status) => status is Suspended or Deprovisioned;

    public static OktaUser From(JsonObject user)
    {
        var profile = user["profile"] as JsonObject;
        return new OktaUser(
            Text(user, "id") ?? string.Empty,
            Text(user, "status") ?? "UNKNOWN",
            Text(user, "transitioningToStatus"),
            Text(profile, "login") ?? Text(user, "id") ?? string.Empty,
            Text(profile, "email"),
            Text(profile, "employeeNumber"),
            Text(user, "lastLogin") is { } t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null);
    }

    public Dictionary<string, string> ToMap()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["status"] = Status,
            ["login"] = Login,
        };
        if (TransitioningTo is not null)
        {
            map["transitioningToStatus"] = TransitioningTo;
        }

        return map;
    }

    public OktaUser WithStatus(string status) => this with { Status = status, TransitioningTo = null };

    public static string? Text(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
