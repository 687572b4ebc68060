using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>
/// Discovery: users (with last sign-in, admin flags and the employee id from <c>externalIds</c>), one credential per
/// user for their OAuth grants, app passwords and backup codes, groups and their direct user members, and mobile devices
/// with their owners, and the licence assignments of the configured product SKUs. Every listing follows
/// <c>nextPageToken</c> to the end.
/// </summary>
internal sealed partial class GoogleConnector
{
    /// <summary>What Google reports as <c>lastLoginTime</c> for a user who never signed in.</summary>
    private static readonly DateTimeOffset NeverSignedIn = DateTimeOffset.UnixEpoch;

    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Device records carry the owner's address as the device registered it (primary address or an alias, any
        // case); accounts are reported under their primary address, and discovery links a device to the person whose
        // account has exactly that user name.
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var userIds = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var customer = Escape(_settings.Customer);
        await foreach (var user in PagesAsync($"{Users}?customer={customer}&maxResults={Math.Min(_settings.PageSize, 500)}&projection=full", "users", "discover users", Scopes.User, cancellationToken))
        {
            if (GoogleResponse.Text(user, "id") is not { } id)
            {
                continue;
            }

            var email = GoogleResponse.Text(user, "primaryEmail") ?? id;
            owners[email] = email;
            userIds[email] = id;
            foreach (var alias in (user["aliases"] as JsonArray)?.Select(a => a is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>() ?? [])
            {
                owners.TryAdd(alias, email);
            }

            var isAdmin = GoogleResponse.Flag(user, "isAdmin");
            var isDelegatedAdmin = GoogleResponse.Flag(user, "isDelegatedAdmin");
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["primaryEmail"] = email,
                ["isAdmin"] = Bool(isAdmin),
                ["isDelegatedAdmin"] = Bool(isDelegatedAdmin),
                ["privileged"] = Bool(isAdmin || isDelegatedAdmin),
            };
            AddIfPresent(attributes, "orgUnitPath", GoogleResponse.Text(user, "orgUnitPath"));
            AddIfPresent(attributes, "employeeId", EmployeeId(user));
            yield return new DiscoveredAccount(id, email, email, !Suspended(user), AccountKind.User, LastSignIn(user), attributes);
            if (_settings.Tokens)
            {
                // Listing every user's grants would cost three requests per user; the credential stands for all of
                // them, and revoke_token reads the lists when it runs (and says "already in state" when they are empty).
                yield return new DiscoveredCredential(CredentialPrefix + id, $"OAuth grants, app passwords and backup codes of {email}", CredentialKind.ApiToken,
                    email, [], Active: true, LastRotatedAt: null);
            }
        }

        await foreach (var licence in DiscoverLicencesAsync(userIds, cancellationToken))
        {
            yield return licence;
        }

        var groups = new List<string>();
        await foreach (var group in PagesAsync($"{Groups}?customer={customer}&maxResults={Math.Min(_settings.PageSize, 200)}", "groups", "discover groups", Scopes.ReadGroups, cancellationToken))
        {
            if (GoogleResponse.Text(group, "id") is not { } id)
            {
                continue;
            }

            var email = GoogleResponse.Text(group, "email") ?? id;
            var name = GoogleResponse.Text(group, "name") ?? email;
            groups.Add(id);
            yield return new DiscoveredEntitlement(id, email, EntitlementKind.Group, _privileged.Any(p => p.IsMatch(email) || p.IsMatch(name)));
        }

        foreach (var groupId in groups)
        {
            await foreach (var member in PagesAsync($"{Groups}/{Escape(groupId)}/members?maxResults={Math.Min(_settings.PageSize, 200)}", "members", "discover members", Scopes.Members, cancellationToken))
            {
                // Nested groups and the whole-customer member are members too; only users hold accounts here.
                if (GoogleResponse.Text(member, "type") == "USER" && GoogleResponse.Text(member, "id") is { } memberId)
                {
                    yield return new DiscoveredMembership(memberId, groupId);
                }
            }
        }

        if (!_settings.Devices)
        {
            yield break;
        }

        await foreach (var device in PagesAsync($"admin/directory/v1/customer/{customer}/devices/mobile?maxResults={Math.Min(_settings.PageSize, 100)}&projection=BASIC",
            "mobiledevices", "discover mobile devices", Scopes.ReadDevices, cancellationToken))
        {
            if (GoogleResponse.Text(device, "resourceId") is not { } id)
            {
                continue;
            }

            var address = (device["email"] as JsonArray)?.Select(e => e is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>().FirstOrDefault();
            var owner = address is { Length: > 0 } ? owners.GetValueOrDefault(address, address) : null;
            var status = GoogleResponse.Text(device, "status") ?? string.Empty;
            yield return new DiscoveredDevice(id, GoogleResponse.Text(device, "serialNumber") ?? string.Empty, GoogleResponse.Text(device, "model") ?? string.Empty,
                owner, WipeDone.Contains(status) || WipePending.Contains(status) ? DeviceStatus.Wiped : DeviceStatus.Active);
        }
    }

    /// <summary>Every item of a listing (<paramref name="field"/> holds the page's items), page after page along <c>nextPageToken</c>.</summary>
    private IAsyncEnumerable<JsonObject> PagesAsync(string first, string field, string what, string scope, CancellationToken cancellationToken) =>
        PagesAsync(Client, first, field, what, scope, cancellationToken);

    private static async IAsyncEnumerable<JsonObject> PagesAsync(GoogleClient client, string first, string field, string what, string scope,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? pageToken = null;
        do
        {
            var path = pageToken is null ? first : $"{first}&pageToken={Uri.EscapeDataString(pageToken)}";
            var r = await client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw client.Failure(r, HttpMethod.Get, first, what, scope);
            }

            foreach (var item in (page[field] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                yield return item;
            }

            pageToken = GoogleResponse.Text(page, "nextPageToken") is { Length: > 0 } next ? next : null;
        }
        while (pageToken is not null);
    }

    /// <summary>The <c>externalIds</c> entry of type <c>organization</c> (the Admin console's "Employee ID"); a custom
    /// type named like an employee id otherwise.</summary>
    private static string? EmployeeId(JsonObject user)
    {
        var ids = (user["externalIds"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        return ids.Where(e => GoogleResponse.Text(e, "type") == "organization").Select(e => GoogleResponse.Text(e, "value")).FirstOrDefault(v => !string.IsNullOrEmpty(v))
            ?? ids.Where(e => GoogleResponse.Text(e, "type") == "custom"
                    && GoogleResponse.Text(e, "customType")?.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal)
                        .Equals("employeeid", StringComparison.OrdinalIgnoreCase) == true)
                .Select(e => GoogleResponse.Text(e, "value")).FirstOrDefault(v => !string.IsNullOrEmpty(v));
    }

    private static DateTimeOffset? LastSignIn(JsonObject user) =>
        GoogleResponse.Text(user, "lastLoginTime") is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
        && at > NeverSignedIn ? at : null;

    private static void AddIfPresent(Dictionary<string, string> map, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            map[key] = value;
        }
    }
}
