using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Deprov.Connectors.Okta.Tests.Fake;

public sealed partial class OktaFakeServer
{
    private const int MaxUserPage = 200;
    private const int MaxGroupPage = 10_000;

    private Task RouteAsync(HttpContext ctx, string[] s)
    {
        var method = ctx.Request.Method;
        return (s.Length, s[0], method) switch
        {
            (1, "users", "GET") => ListUsersAsync(ctx),
            (2, "users", "GET") => WriteJsonAsync(ctx, Locked(() => UserJson(RequireUser(s[1])))),
            (2, "users", "DELETE") => DeleteUserAsync(ctx, s[1]),
            (4, "users", "POST") when s[2] == "lifecycle" => LifecycleAsync(ctx, s[1], s[3]),
            (3, "users", "DELETE") when s[2] == "sessions" => ClearSessionsAsync(ctx, s[1]),
            (3, "users", "GET") when s[2] == "grants" => PageAsync(ctx, $"api/v1/users/{s[1]}/grants",
                Locked(() => RequireUser(s[1]).Grants.Select(g => (g, GrantJson(g, s[1]))).ToList()), MaxUserPage, null),
            (3, "users", "DELETE") when s[2] == "grants" => RevokeGrantsAsync(ctx, s[1]),
            (3, "users", "GET") when s[2] == "groups" => PageAsync(ctx, $"api/v1/users/{s[1]}/groups",
                Locked(() =>
                {
                    var id = RequireUser(s[1]).Id;
                    return _groups.Where(g => g.Members.Contains(id)).Select(g => (g.Id, GroupJson(g))).ToList();
                }), MaxGroupPage, null),
            (1, "groups", "GET") => PageAsync(ctx, "api/v1/groups", Locked(() => _groups.Select(g => (g.Id, GroupJson(g))).ToList()), MaxGroupPage, null),
            (3, "groups", "GET") when s[2] == "users" => PageAsync(ctx, $"api/v1/groups/{s[1]}/users",
                Locked(() => RequireGroup(s[1]).Members.Select(FindUser).OfType<FakeUser>().Select(u => (u.Id, UserJson(u))).ToList()), MaxUserPage, null),
            (4, "groups", "PUT" or "DELETE") when s[2] == "users" => MembershipAsync(ctx, s[1], s[3], add: method == "PUT"),
            _ => throw new OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method"),
        };
    }

    private T Locked<T>(Func<T> f)
    {
        lock (_lock)
        {
            return f();
        }
    }

    private Task ListUsersAsync(HttpContext ctx)
    {
        string? filter = ctx.Request.Query["filter"];
        string? status = null;
        if (!string.IsNullOrEmpty(filter))
        {
            var m = StatusFilter().Match(filter);
            if (!m.Success)
            {
                throw new OktaError(400, "E0000001", "Api validation failed: filter", $"filter: unsupported expression '{filter}'");
            }

            status = m.Groups[1].Value;
        }

        // A listing without a filter leaves DEPROVISIONED users out, as Okta does.
        var users = Locked(() => _users
            .Where(u => status is null ? u.Status != "DEPROVISIONED" : u.Status == status)
            .Select(u => (u.Id, UserJson(u))).ToList());
        var extra = string.IsNullOrEmpty(filter) ? null : "filter=" + Uri.EscapeDataString(filter);
        return PageAsync(ctx, "api/v1/users", users, MaxUserPage, extra);
    }

    /// <summary>Cursor paging: <c>limit</c>, <c>after</c> (the last id of the previous page), <c>Link</c> self and next.</summary>
    private async Task PageAsync(HttpContext ctx, string path, List<(string Id, JsonObject Json)> items, int maxLimit, string? extraQuery)
    {
        var limit = int.TryParse(ctx.Request.Query["limit"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, maxLimit) : maxLimit;
        var start = 0;
        if (ctx.Request.Query["after"].ToString() is { Length: > 0 } after)
        {
            var i = items.FindIndex(x => x.Id == after);
            start = i < 0 ? items.Count : i + 1;
        }

        var page = items.Skip(start).Take(limit).ToList();
        var origin = Options.NextLinkOrigin ?? OrgUrl;
        var query = $"limit={limit}" + (extraQuery is null ? string.Empty : "&" + extraQuery);
        ctx.Response.Headers.Append("Link", $"<{origin}{path}?{query}>; rel=\"self\"");
        if (start + page.Count < items.Count)
        {
            ctx.Response.Headers.Append("Link", $"<{origin}{path}?{query}&after={Uri.EscapeDataString(page[^1].Id)}>; rel=\"next\"");
        }

        var array = new JsonArray();
        foreach (var (_, json) in page)
        {
            array.Add(json);
        }

        await WriteJsonAsync(ctx, array);
    }

    private async Task LifecycleAsync(HttpContext ctx, string userId, string operation)
    {
        JsonObject body;
        lock (_lock)
        {
            var u = RequireUser(userId);
            body = [];
            switch (operation)
            {
                case "suspend" when u.Status == "ACTIVE":
                    u.Status = "SUSPENDED";
                    break;
                case "suspend":
                    throw new OktaError(400, "E0000001", "Api validation failed: Cannot suspend a user that is not active");
                case "unsuspend" when u.Status == "SUSPENDED":
                    u.Status = "ACTIVE";
                    break;
                case "unsuspend":
                    throw new OktaError(400, "E0000001", "Api validation failed: Cannot unsuspend a user that is not suspended");
                case "deactivate" when u.Status != "DEPROVISIONED":
                    Deactivate(u);
                    break;
                case "deactivate":
                    throw new OktaError(400, "E0000001", "Api validation failed: The user is already deactivated");
                case "activate" when u.Status is "STAGED" or "DEPROVISIONED":
                    u.Status = u.HasPassword ? "ACTIVE" : "PROVISIONED";
                    if (ctx.Request.Query["sendEmail"] == "false")
                    {
                        // Okta hands the activation link to the caller instead of mailing it: a credential.
                        var token = $"actTok{Guid.NewGuid():N}";
                        body = new JsonObject { ["activationUrl"] = $"{OrgUrl}welcome/{token}", ["activationToken"] = token };
                    }

                    break;
                case "activate" when u.Status == "ACTIVE":
                    throw new OktaError(403, "E0000016", "Activation failed because the user is already active");
                case "activate":
                    throw new OktaError(400, "E0000001", $"Api validation failed: Cannot activate a user with status {u.Status}");
                default:
                    throw new OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method");
            }
        }

        if (Options.EmptyLifecycleBodies && body.Count == 0)
        {
            ctx.Response.StatusCode = 200;
            return;
        }

        await WriteJsonAsync(ctx, body);
    }

    private static void Deactivate(FakeUser u)
    {
        u.Status = "DEPROVISIONED";
        u.Sessions = 0;
        u.OAuthTokens = 0;
    }

    private Task DeleteUserAsync(HttpContext ctx, string userId)
    {
        lock (_lock)
        {
            var u = RequireUser(userId);
            if (u.Status != "DEPROVISIONED")
            {
                // The first DELETE of a user that is not deactivated yet only deactivates it.
                Deactivate(u);
            }
            else
            {
                _users.Remove(u);
                foreach (var g in _groups)
                {
                    g.Members.Remove(u.Id);
                }
            }
        }

        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private Task ClearSessionsAsync(HttpContext ctx, string userId)
    {
        lock (_lock)
        {
            var u = RequireUser(userId);
            u.Sessions = 0;
            if (ctx.Request.Query["oauthTokens"] == "true")
            {
                u.OAuthTokens = 0;
            }

            // forgetDevices defaults to true (Identity Engine).
            if (ctx.Request.Query["forgetDevices"] != "false")
            {
                u.DevicesRemembered = false;
            }
        }

        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private Task RevokeGrantsAsync(HttpContext ctx, string userId)
    {
        lock (_lock)
        {
            RequireUser(userId).Grants.Clear();
        }

        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private Task MembershipAsync(HttpContext ctx, string groupId, string userId, bool add)
    {
        lock (_lock)
        {
            var g = RequireGroup(groupId);
            var u = RequireUser(userId);
            if (g.Type != "OKTA_GROUP")
            {
                throw new OktaError(400, "E0000001", "Api validation failed: You can only modify memberships of OKTA_GROUP groups");
            }

            if (add && !g.Members.Contains(u.Id))
            {
                g.Members.Add(u.Id);
            }
            else if (!add)
            {
                g.Members.Remove(u.Id);
            }
        }

        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private FakeUser RequireUser(string idOrLogin) =>
        FindUser(idOrLogin) ?? throw new OktaError(404, "E0000007", $"Not found: Resource not found: {idOrLogin} (User)");

    private FakeGroup RequireGroup(string id) =>
        _groups.Find(g => g.Id == id) ?? throw new OktaError(404, "E0000007", $"Not found: Resource not found: {id} (UserGroup)");

    private static JsonObject UserJson(FakeUser u)
    {
        var profile = new JsonObject { ["firstName"] = u.Login.Split('@')[0], ["lastName"] = "Test", ["login"] = u.Login, ["email"] = u.Email };
        if (u.EmployeeNumber is not null)
        {
            profile["employeeNumber"] = u.EmployeeNumber;
        }

        return new JsonObject
        {
            ["id"] = u.Id,
            ["status"] = u.Status,
            ["created"] = "2024-01-02T03:04:05.000Z",
            ["activated"] = null,
            ["statusChanged"] = "2024-01-02T03:04:05.000Z",
            ["lastLogin"] = u.LastLogin?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["lastUpdated"] = "2024-01-02T03:04:05.000Z",
            ["passwordChanged"] = u.HasPassword ? "2024-01-02T03:04:05.000Z" : null,
            ["type"] = new JsonObject { ["id"] = "otyfake" },
            ["profile"] = profile,
            ["credentials"] = new JsonObject
            {
                ["password"] = new JsonObject(),
                ["provider"] = new JsonObject { ["type"] = "OKTA", ["name"] = "OKTA" },
            },
            ["_links"] = new JsonObject(),
        };
    }

    private static JsonObject GroupJson(FakeGroup g) => new()
    {
        ["id"] = g.Id,
        ["created"] = "2024-01-02T03:04:05.000Z",
        ["lastUpdated"] = "2024-01-02T03:04:05.000Z",
        ["lastMembershipUpdated"] = "2024-01-02T03:04:05.000Z",
        ["objectClass"] = new JsonArray("okta:user_group"),
        ["type"] = g.Type,
        ["profile"] = new JsonObject { ["name"] = g.Name, ["description"] = null },
        ["_links"] = new JsonObject(),
    };

    private static JsonObject GrantJson(string id, string userId) => new()
    {
        ["id"] = id,
        ["status"] = "ACTIVE",
        ["userId"] = userId,
        ["clientId"] = "0oaclient",
        ["scopeId"] = "scpfake",
        ["source"] = "END_USER",
    };

    [GeneratedRegex("^status eq \"([A-Z_]+)\"$", RegexOptions.CultureInvariant)]
    private static partial Regex StatusFilter();
}
