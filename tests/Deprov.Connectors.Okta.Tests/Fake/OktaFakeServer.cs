using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Connectors.Okta.Tests.Fake;

/// <summary>One request as the fake received it.</summary>
public sealed record OktaRecordedRequest(string Method, string Path, string Query, string? AuthScheme);

/// <summary>
/// An Okta org's Management API on 127.0.0.1 and a free port, in memory, as documented (connector-facts §3): users and
/// their lifecycle (suspend only ACTIVE, unsuspend only SUSPENDED, deactivate, activate, DELETE that deactivates first
/// and deletes on the second call), sessions, OAuth grants, groups and memberships; cursor paging with <c>limit</c>/<c>after</c>
/// and <c>Link: &lt;...&gt;; rel="next"</c>; plain user listings without DEPROVISIONED users; Okta's error body;
/// admin role assignments (<c>iam/assignees/users</c> paged by <c>_links.next</c>, a user's roles with those held through
/// groups, unassign, assign a standard role; writes need a Super Admin); <c>X-Rate-Limit-*</c> headers on every answer; SSWS or OAuth client-credentials auth; injectable faults. Test only.
/// </summary>
public sealed partial class OktaFakeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<FakeUser> _users = [];
    private readonly List<FakeGroup> _groups = [];
    private readonly List<FakeRole> _roles = [];
    private readonly List<FakeLogEvent> _log = [];
    private readonly ConcurrentDictionary<string, bool> _issuedTokens = new(StringComparer.Ordinal);
    private int _tokensIssued;
    private long _nextId;

    private OktaFakeServer(WebApplication app, OktaFakeOptions options, Uri root)
    {
        _app = app;
        Options = options;
        OrgUrl = root;
    }

    public OktaFakeOptions Options { get; }

    public OktaFakeFaults Faults { get; } = new();

    /// <summary>Bad habits of real servers, off by default.</summary>
    public OktaFakeHabits Habits { get; } = new();

    /// <summary>The org URL, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri OrgUrl { get; }

    public Uri TokenUrl => new(OrgUrl, "/oauth2/v1/token");

    public ConcurrentQueue<OktaRecordedRequest> Requests { get; } = new();

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    public static Task<OktaFakeServer> StartAsync(OktaFakeOptions? options = null, CancellationToken cancellationToken = default) =>
        LoopbackHost.StartAsync((app, root) => new OktaFakeServer(app, options ?? new OktaFakeOptions(), root), s => s.HandleAsync, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- Seeding and inspection -------------------------------------------------------------------------------------

    public string AddUser(string login, string status = "ACTIVE", string? email = null, string? employeeNumber = null,
        DateTimeOffset? lastLogin = null, bool hasPassword = true, int sessions = 1, int grants = 0)
    {
        lock (_lock)
        {
            var user = new FakeUser($"00u{++_nextId:D6}fake", login, email ?? login, employeeNumber, status, lastLogin, hasPassword)
            {
                Sessions = sessions,
                OAuthTokens = sessions,
            };
            for (var i = 0; i < grants; i++)
            {
                user.Grants.Add($"oag{_nextId:D6}{i:D3}");
            }

            _users.Add(user);
            return user.Id;
        }
    }

    public string AddGroup(string name, params string[] memberIds) => AddGroupOfType(name, "OKTA_GROUP", memberIds);

    /// <param name="type"><c>OKTA_GROUP</c>, <c>APP_GROUP</c> (mastered in AD or an app) or <c>BUILT_IN</c> (Everyone).</param>
    public string AddGroupOfType(string name, string type, params string[] memberIds)
    {
        lock (_lock)
        {
            var group = new FakeGroup($"00g{++_nextId:D6}fake", name, type);
            group.Members.AddRange(memberIds);
            _groups.Add(group);
            return group.Id;
        }
    }

    /// <summary>Assigns a standard admin role (<c>SUPER_ADMIN</c>, <c>ORG_ADMIN</c>, …) to a user; returns the assignment id.</summary>
    public string AssignRole(string userId, string type) => AddRole(userId, null, type, null, null);

    /// <summary>Assigns a standard admin role to a group (its members hold it through the group).</summary>
    public string AssignGroupRole(string groupId, string type) => AddRole(null, groupId, type, null, null);

    /// <summary>Binds a custom role and a resource set to a user.</summary>
    public string AssignCustomRole(string userId, string roleId, string resourceSetId, string label) => AddRole(userId, null, "CUSTOM", roleId, resourceSetId, label);

    /// <summary>Unassigns a role behind the client's back, as another admin would.</summary>
    public void UnassignRole(string assignmentId)
    {
        lock (_lock)
        {
            _roles.RemoveAll(r => r.Id == assignmentId);
        }
    }

    /// <summary>The types of the roles assigned to the user directly (not through groups).</summary>
    public List<string> RoleTypesOf(string userId)
    {
        lock (_lock)
        {
            return [.. _roles.Where(r => r.UserId == userId).Select(r => r.Type)];
        }
    }

    /// <summary>The ids of the user's direct role assignments.</summary>
    public List<string> RoleAssignmentsOf(string userId)
    {
        lock (_lock)
        {
            return [.. _roles.Where(r => r.UserId == userId).Select(r => r.Id)];
        }
    }

    private string AddRole(string? userId, string? groupId, string type, string? customRole, string? resourceSet, string? label = null)
    {
        lock (_lock)
        {
            return AddRoleLocked(userId, groupId, type, customRole, resourceSet, label).Id;
        }
    }

    // Okta's role assignment ids are opaque strings (e.g. "ra1b8aahBZuGJRRa30g4", or a base32 text for older ones).
    private FakeRole AddRoleLocked(string? userId, string? groupId, string type, string? customRole, string? resourceSet, string? label)
    {
        var role = new FakeRole($"ra{++_nextId:D6}{Guid.NewGuid():N}"[..20], type, label ?? StandardLabel(type), userId, groupId, customRole, resourceSet);
        _roles.Add(role);
        return role;
    }

    /// <summary>The user's status, or null when it was deleted.</summary>
    public string? StatusOf(string userId)
    {
        lock (_lock)
        {
            return FindUser(userId)?.Status;
        }
    }

    public void SetStatus(string userId, string status)
    {
        lock (_lock)
        {
            FindUser(userId)!.Status = status;
        }
    }

    /// <summary>Deletes a group behind the client's back, as another admin would.</summary>
    public void RemoveGroup(string groupId)
    {
        lock (_lock)
        {
            _groups.RemoveAll(g => g.Id == groupId);
        }
    }

    public bool IsMember(string groupId, string userId)
    {
        lock (_lock)
        {
            return _groups.Any(g => g.Id == groupId && g.Members.Contains(userId));
        }
    }

    public (int Sessions, int OAuthTokens, int Grants, bool DevicesRemembered) SessionsOf(string userId)
    {
        lock (_lock)
        {
            var u = FindUser(userId)!;
            return (u.Sessions, u.OAuthTokens, u.Grants.Count, u.DevicesRemembered);
        }
    }

    /// <summary>The user signs in: a new session, and <c>lastLogin</c> moves to now (as Okta sets it).</summary>
    public void SignIn(string userId)
    {
        lock (_lock)
        {
            var u = FindUser(userId)!;
            u.Sessions++;
            // Strictly after any event already logged for the user, as the API shows both (to the millisecond): a
            // sign-in follows what came before it, and one within a millisecond of it would read as the same moment.
            var now = TimeProvider.System.GetUtcNow();
            var last = _log.Where(e => e.TargetId == u.Id).Select(e => e.Published).DefaultIfEmpty(now.AddSeconds(-1)).Max();
            u.LastLogin = now - last < TimeSpan.FromMilliseconds(1) ? last.AddSeconds(1) : now;
        }
    }

    /// <summary>The System Log events recorded so far, oldest first.</summary>
    public List<(string EventType, string TargetId, string Result, DateTimeOffset Published)> LogEvents()
    {
        lock (_lock)
        {
            return [.. _log.Select(e => (e.EventType, e.TargetId, e.Result, e.Published))];
        }
    }

    /// <summary>Makes every issued OAuth access token invalid, as an expiry or a revocation would.</summary>
    public void RevokeTokens() => _issuedTokens.Clear();

    private FakeUser? FindUser(string idOrLogin) =>
        _users.Find(u => u.Id == idOrLogin) ?? _users.Find(u => string.Equals(u.Login, idOrLogin, StringComparison.OrdinalIgnoreCase));

    // ---- Pipeline ---------------------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        Faults.Count();
        var auth = req.Headers.Authorization.ToString();
        Requests.Enqueue(new OktaRecordedRequest(req.Method, req.Path.Value ?? "/", req.QueryString.Value ?? string.Empty,
            auth.Length == 0 ? null : auth.Split(' ')[0]));

        // Every answer carries the window's headers, injected faults included (a dropped connection has no answer).
        var quota = Faults.TakeQuota();
        ctx.Response.Headers["X-Rate-Limit-Limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["X-Rate-Limit-Remaining"] = quota.Remaining.ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["X-Rate-Limit-Reset"] = quota.Reset.ToString(CultureInfo.InvariantCulture);
        if (Faults.Take(req.Method) is { } fault)
        {
            if (fault.Drop)
            {
                ctx.Abort();
                return;
            }

            if (fault.Delay is { } delay)
            {
                await Task.Delay(delay, ctx.RequestAborted);
            }

            if (fault.Status == 429)
            {
                // As Okta answers a concurrency-limit violation: Limit and Remaining 0, Reset an estimate.
                Faults.Count429();
                ctx.Response.Headers["X-Rate-Limit-Limit"] = "0";
                ctx.Response.Headers["X-Rate-Limit-Remaining"] = "0";
                await WriteErrorAsync(ctx, new OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests."));
                return;
            }

            if (fault.Status > 0)
            {
                await WriteErrorAsync(ctx, new OktaError(fault.Status, fault.ErrorCode ?? "E0000009", $"Injected fault {fault.Status}."));
                return;
            }
        }

        if (!quota.Allowed)
        {
            Faults.Count429();
            await WriteErrorAsync(ctx, new OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests."));
            return;
        }

        try
        {
            var path = req.Path.Value ?? "/";
            if (path == "/oauth2/v1/token" && req.Method == "POST")
            {
                await IssueTokenAsync(ctx);
                return;
            }

            if (!path.StartsWith("/api/v1/", StringComparison.Ordinal))
            {
                throw new OktaError(404, "E0000022", $"The endpoint does not support the provided HTTP method");
            }

            Authenticate(auth);
            if (Options.ReadOnlyAdmin && req.Method != "GET")
            {
                throw new OktaError(403, "E0000006", "You do not have permission to perform the requested action");
            }

            await RouteAsync(ctx, path["/api/v1/".Length..].Split('/'));
        }
        catch (OktaError e)
        {
            await WriteErrorAsync(ctx, e);
        }
    }

    private void Authenticate(string header)
    {
        var ok = Options.Auth switch
        {
            OktaFakeAuth.Ssws => header == $"SSWS {Options.ApiToken}",
            _ => header.StartsWith("Bearer ", StringComparison.Ordinal) && _issuedTokens.ContainsKey(header["Bearer ".Length..]),
        };
        if (!ok)
        {
            throw new OktaError(401, "E0000011", "Invalid token provided");
        }
    }

    private async Task IssueTokenAsync(HttpContext ctx)
    {
        var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
        string? id = form["client_id"];
        string? secret = form["client_secret"];
        var header = ctx.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
            id = Uri.UnescapeDataString(pair[0]);
            secret = pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : null;
        }

        ctx.Response.ContentType = "application/json";
        if (form["grant_type"] != "client_credentials" || id != Options.ClientId || secret != Options.ClientSecret)
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsync("""{"error":"invalid_client","error_description":"The client secret supplied for a confidential client is invalid."}""");
            return;
        }

        var token = $"eyJfake.{Guid.NewGuid():N}";
        _issuedTokens[token] = true;
        Interlocked.Increment(ref _tokensIssued);
        await ctx.Response.WriteAsync(new JsonObject
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = 3600,
            ["access_token"] = token,
            ["scope"] = form["scope"].ToString(),
        }.ToJsonString());
    }

    private static async Task WriteErrorAsync(HttpContext ctx, OktaError e)
    {
        ctx.Response.StatusCode = e.Status;
        ctx.Response.ContentType = "application/json";
        var causes = new JsonArray();
        foreach (var c in e.Causes)
        {
            causes.Add(new JsonObject { ["errorSummary"] = c });
        }

        await ctx.Response.WriteAsync(new JsonObject
        {
            ["errorCode"] = e.Code,
            ["errorSummary"] = e.Message,
            ["errorLink"] = e.Code,
            ["errorId"] = $"oae{Guid.NewGuid():N}"[..25],
            ["errorCauses"] = causes,
        }.ToJsonString());
    }

    private static async Task WriteJsonAsync(HttpContext ctx, JsonNode body, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString());
    }

    private sealed class FakeUser(string id, string login, string email, string? employeeNumber, string status, DateTimeOffset? lastLogin, bool hasPassword)
    {
        public string Id { get; } = id;

        public string Login { get; } = login;

        public string Email { get; } = email;

        public string? EmployeeNumber { get; } = employeeNumber;

        public string Status { get; set; } = status;

        public DateTimeOffset? LastLogin { get; set; } = lastLogin;

        public bool HasPassword { get; } = hasPassword;

        public int Sessions { get; set; }

        public int OAuthTokens { get; set; }

        public bool DevicesRemembered { get; set; } = true;

        public List<string> Grants { get; } = [];
    }

    private sealed class FakeGroup(string id, string name, string type)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public string Type { get; } = type;

        public List<string> Members { get; } = [];
    }

    private sealed record FakeLogEvent(string Uuid, string EventType, string TargetId, string TargetLogin, string Result, DateTimeOffset Published);

    private sealed record FakeRole(string Id, string Type, string Label, string? UserId, string? GroupId, string? CustomRole, string? ResourceSet);

    private sealed class OktaError(int status, string code, string summary, params string[] causes) : Exception(summary)
    {
        public int Status { get; } = status;

        public string Code { get; } = code;

        public IReadOnlyList<string> Causes { get; } = causes;
    }
}
