using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Deprov.Connectors.Okta.Tests.Fake;

public sealed partial class OktaFakeServer
{
    private const int MaxUserPage = 200;
    private const int MaxGroupPage = 10_000;
    private const int MaxRolePage = 100;

    private static readonly Dictionary<string, string> StandardRoles = new(StringComparer.Ordinal)
    {
        ["SUPER_ADMIN"] = "Super Administrator",
        ["ORG_ADMIN"] = "Organizational Administrator",
        ["APP_ADMIN"] = "Application Administrator",
        ["USER_ADMIN"] = "Group Administrator",
        ["HELP_DESK_ADMIN"] = "Help Desk Administrator",
        ["READ_ONLY_ADMIN"] = "Read-only Administrator",
        ["MOBILE_ADMIN"] = "Mobile Administrator",
        ["API_ACCESS_MANAGEMENT_ADMIN"] = "API Access Management Administrator",
        ["REPORT_ADMIN"] = "Report Administrator",
        ["GROUP_MEMBERSHIP_ADMIN"] = "Group Membership Administrator",
    };

    private static string StandardLabel(string type) => StandardRoles.GetValueOrDefault(type, type);

    private Task RouteAsync(HttpContext ctx, string[] s)
    {
        var method = ctx.Request.Method;
        if (HabitAnswer(ctx, s, method) is { } habit)
        {
            return habit;
        }

        return (s.Length, s[0], method) switch
        {
            (1, "logs", "GET") => ListLogsAsync(ctx),
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
            (3, "iam", "GET") when s[1] == "assignees" && s[2] == "users" => ListRoleAssigneesAsync(ctx),
            (3, "users", "GET") when s[2] == "roles" => PageAsync(ctx, $"api/v1/users/{s[1]}/roles", Locked(() => RolesOf(RequireUser(s[1])).Select(r => (r.Id, RoleJson(r))).ToList()), MaxRolePage, null),
            (4, "users", "GET") when s[2] == "roles" => WriteJsonAsync(ctx, Locked(() => RoleJson(RolesOf(RequireUser(s[1])).FirstOrDefault(r => r.Id == s[3] && r.UserId is not null)
                ?? throw new OktaError(404, "E0000007", $"Not found: Resource not found: {s[3]} (Role)")))),
            (4, "users", "DELETE") when s[2] == "roles" => UnassignRoleAsync(ctx, s[1], s[3]),
            (3, "users", "POST") when s[2] == "roles" => AssignRoleAsync(ctx, s[1]),
            _ => throw new OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method"),
        };
    }

    /// <summary>The answer a bad habit gives instead of the documented behaviour, or null when none applies.</summary>
    private Task? HabitAnswer(HttpContext ctx, string[] s, string method)
    {
        var userId = s[0] == "users" && s.Length >= 2 ? s[1] : s[0] == "groups" && s.Length >= 4 && s[2] == "users" ? s[3] : null;
        if (userId is not null && Habits.HiddenById.ContainsKey(userId))
        {
            throw new OktaError(404, "E0000007", $"Not found: Resource not found: {userId} (User)");
        }

        if (Habits.IgnoreWrites && method != "GET")
        {
            // Accepted as documented, and nothing happens.
            Locked(() => userId is null ? null : RequireUser(userId));
            ctx.Response.StatusCode = s.Length == 4 && s[2] == "lifecycle" ? 200 : method == "POST" ? 201 : 204;
            return s.Length == 4 && s[2] == "lifecycle" ? WriteJsonAsync(ctx, new JsonObject()) : Task.CompletedTask;
        }

        var list = (s.Length, s[0], method) switch
        {
            (1, "logs", "GET") => true,
            (3, "users", "GET") when s[2] is "groups" or "roles" => true,
            (3, "groups", "GET") when s[2] == "users" => true,
            (3, "iam", "GET") => true,
            _ => false,
        };
        if (Habits.LenientLists && list)
        {
            return s[0] == "iam"
                ? WriteJsonAsync(ctx, new JsonObject { ["value"] = new JsonArray(), ["_links"] = new JsonObject() })
                : WriteJsonAsync(ctx, new JsonArray());
        }

        return null;
    }

    /// <summary>
    /// <c>GET /api/v1/logs</c>: the System Log, with <c>since</c>, <c>filter</c> (only
    /// <c>eventType eq "..." and target.id eq "..."</c>, or either alone; anything else is a 400) and <c>sortOrder</c>.
    /// </summary>
    private Task ListLogsAsync(HttpContext ctx)
    {
        string? filter = ctx.Request.Query["filter"];
        string? type = null, target = null;
        if (!string.IsNullOrEmpty(filter) && !Habits.IgnoreLogFilter)
        {
            foreach (var clause in filter.Split(" and ", StringSplitOptions.TrimEntries))
            {
                var m = LogClause().Match(clause);
                if (!m.Success)
                {
                    throw new OktaError(400, "E0000001", "Api validation failed: filter", $"filter: unsupported expression '{clause}'");
                }

                if (m.Groups[1].Value == "eventType")
                {
                    type = m.Groups[2].Value;
                }
                else
                {
                    target = m.Groups[2].Value;
                }
            }
        }

        var since = DateTimeOffset.TryParse(ctx.Request.Query["since"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sc)
            ? sc
            : TimeProvider.System.GetUtcNow().AddDays(-7);
        var events = Locked(() => _log.Where(e => e.Published >= since && (type is null || e.EventType == type) && (target is null || e.TargetId == target)).ToList());
        if (ctx.Request.Query["sortOrder"] == "DESCENDING")
        {
            events.Reverse();
        }

        var array = new JsonArray();
        foreach (var e in events)
        {
            array.Add(new JsonObject
            {
                ["uuid"] = e.Uuid,
                ["published"] = e.Published.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["eventType"] = e.EventType,
                ["version"] = "0",
                ["severity"] = "INFO",
                ["displayMessage"] = "Clear user session",
                ["actor"] = new JsonObject { ["id"] = "00uadmin", ["type"] = "User", ["alternateId"] = "admin@example.com" },
                ["outcome"] = new JsonObject { ["result"] = e.Result },
                ["target"] = new JsonArray(new JsonObject { ["id"] = e.TargetId, ["type"] = "User", ["alternateId"] = e.TargetLogin }),
            });
        }

        return WriteJsonAsync(ctx, array);
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
            _log.Add(new FakeLogEvent(Guid.NewGuid().ToString("N"), "user.session.clear", u.Id, u.Login, "SUCCESS", TimeProvider.System.GetUtcNow()));
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

    /// <summary>A user's roles: assigned to the user, then held through the groups the user is a member of.</summary>
    private List<FakeRole> RolesOf(FakeUser u) =>
        [.. _roles.Where(r => r.UserId == u.Id), .. _roles.Where(r => r.GroupId is { } g && _groups.Any(x => x.Id == g && x.Members.Contains(u.Id)))];

    /// <summary>
    /// <c>GET /api/v1/iam/assignees/users</c>: every user holding a role, directly or through a group, as
    /// <c>{"value": [{id, orn, _links}], "_links": {"next": {"href"}}}</c> (the page link is in the body, not a header).
    /// </summary>
    private async Task ListRoleAssigneesAsync(HttpContext ctx)
    {
        var limit = int.TryParse(ctx.Request.Query["limit"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, MaxRolePage) : MaxRolePage;
        var ids = Locked(() => _users.Where(u => RolesOf(u).Count > 0).Select(u => u.Id).ToList());
        var start = 0;
        if (ctx.Request.Query["after"].ToString() is { Length: > 0 } after)
        {
            var i = ids.IndexOf(after);
            start = i < 0 ? ids.Count : i + 1;
        }

        var page = ids.Skip(start).Take(limit).ToList();
        var origin = Options.NextLinkOrigin ?? OrgUrl;
        var value = new JsonArray();
        foreach (var id in page)
        {
            value.Add(new JsonObject
            {
                ["id"] = id,
                ["orn"] = $"orn:okta:directory:00ofake:users:{id}",
                ["_links"] = new JsonObject
                {
                    ["self"] = new JsonObject { ["href"] = $"{OrgUrl}api/v1/users/{id}" },
                    ["roles"] = new JsonObject { ["href"] = $"{OrgUrl}api/v1/users/{id}/roles" },
                },
            });
        }

        var links = new JsonObject();
        if (start + page.Count < ids.Count)
        {
            links["next"] = new JsonObject { ["href"] = $"{origin}api/v1/iam/assignees/users?after={Uri.EscapeDataString(page[^1])}&limit={limit}" };
        }

        await WriteJsonAsync(ctx, new JsonObject { ["value"] = value, ["_links"] = links });
    }

    private Task UnassignRoleAsync(HttpContext ctx, string userId, string assignmentId)
    {
        RequireRoleAdmin();
        lock (_lock)
        {
            var u = RequireUser(userId);
            // Only the user's own assignments: one held through a group is unassigned from the group.
            if (_roles.RemoveAll(r => r.Id == assignmentId && r.UserId == u.Id) == 0)
            {
                throw new OktaError(404, "E0000007", $"Not found: Resource not found: {assignmentId} (Role)");
            }
        }

        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private async Task AssignRoleAsync(HttpContext ctx, string userId)
    {
        RequireRoleAdmin();
        var body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted) as JsonObject;
        var type = body?["type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t : null;
        JsonObject json;
        lock (_lock)
        {
            var u = RequireUser(userId);
            if (type is null || !StandardRoles.ContainsKey(type))
            {
                throw new OktaError(400, "E0000001", "Api validation failed: type", $"type: '{type}' is not a standard role type");
            }

            if (_roles.Any(r => r.UserId == u.Id && r.Type == type))
            {
                throw new OktaError(409, "E0000090", "Duplicate role assignment exception.");
            }

            json = RoleJson(AddRoleLocked(u.Id, null, type, null, null, null));
        }

        await WriteJsonAsync(ctx, json, 201);
    }

    private void RequireRoleAdmin()
    {
        if (!Options.SuperAdmin)
        {
            throw new OktaError(403, "E0000006", "You do not have permission to perform the requested action");
        }
    }

    private JsonObject RoleJson(FakeRole r)
    {
        var json = new JsonObject
        {
            ["id"] = r.Id,
            ["label"] = r.Label,
            ["type"] = r.Type,
            ["status"] = "ACTIVE",
            ["created"] = "2024-01-02T03:04:05.000Z",
            ["lastUpdated"] = "2024-01-02T03:04:05.000Z",
            ["assignmentType"] = r.UserId is null ? "GROUP" : "USER",
            ["_links"] = new JsonObject
            {
                ["assignee"] = new JsonObject { ["href"] = r.UserId is { } uid ? $"{OrgUrl}api/v1/users/{uid}" : $"{OrgUrl}api/v1/groups/{r.GroupId}" },
            },
        };
        if (r.CustomRole is not null)
        {
            json["role"] = r.CustomRole;
            json["resource-set"] = r.ResourceSet;
        }

        return json;
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

    [GeneratedRegex("^(eventType|target\\.id) eq \"([^\"]+)\"$", RegexOptions.CultureInvariant)]
    private static partial Regex LogClause();

    [GeneratedRegex("^status eq \"([A-Z_]+)\"$", RegexOptions.CultureInvariant)]
    private static partial Regex StatusFilter();
}
