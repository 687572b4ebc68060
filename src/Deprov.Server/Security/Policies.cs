using Deprov.Core.Security;
using Microsoft.AspNetCore.Authorization;

namespace Deprov.Server.Security;

/// <summary>
/// The authorization policies. Every route names exactly one (or is explicitly anonymous); the authorization-matrix
/// test fails for a route that does neither.
/// </summary>
public static class Policies
{
    /// <summary>Read everything (cases, people, audit, metrics) and export evidence: admin, operator, auditor.</summary>
    public const string Read = "read";

    /// <summary>Run cases, complete tasks, set legal holds: admin, operator.</summary>
    public const string Operate = "operate";

    /// <summary>Submit HR events: admin, operator, hr.</summary>
    public const string Submit = "submit";

    /// <summary>Users, API keys, configuration: admin.</summary>
    public const string Admin = "admin";

    /// <summary>Any signed-in principal (sign out, the start page that routes by role).</summary>
    public const string SignedIn = "signed-in";

    public static readonly IReadOnlyDictionary<string, Role[]> Roles = new Dictionary<string, Role[]>(StringComparer.Ordinal)
    {
        [Read] = [Role.Admin, Role.Operator, Role.Auditor],
        [Operate] = [Role.Admin, Role.Operator],
        [Submit] = [Role.Admin, Role.Operator, Role.Hr],
        [Admin] = [Role.Admin],
        [SignedIn] = [Role.Admin, Role.Operator, Role.Auditor, Role.Hr],
    };

    public static string ClaimValue(this Role role) => role.ToString().ToLowerInvariant();

    public static void Add(AuthorizationOptions options)
    {
        foreach (var (name, roles) in Roles)
        {
            options.AddPolicy(name, p => p.RequireAuthenticatedUser().RequireRole(roles.Select(r => r.ClaimValue())));
        }

        // A route that forgot its rule is refused rather than opened.
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireRole(Role.Admin.ClaimValue()).Build();
    }

    public static bool Allows(string policy, Role role) => Roles[policy].Contains(role);
}
