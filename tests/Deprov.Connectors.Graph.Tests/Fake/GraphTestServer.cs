using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Connectors.Graph.Tests.Fake;

/// <summary>
/// Microsoft Graph v1.0 and the Microsoft identity platform token endpoint, in memory on 127.0.0.1 and a free port, as
/// docs/connectors/graph.md and the vendor reference describe them: users ($select, $top, @odata.nextLink), PATCH
/// accountEnabled, revokeSignInSessions (200 + boolean, the known issue), DELETE, assignLicense (refused without
/// addLicenses), subscribedSkus, groups and members ($ref writes; a DELETE without /$ref deletes the user when the app
/// may write users, else 403), directory role definitions and role assignments (unified RBAC: list with $filter on
/// principalId, get, DELETE, POST), PATCH passwordProfile (permission and Entra role of the app, complexity, synced users
/// refused; the password is checked and dropped, never kept or echoed), Intune managedDevices with remoteLock and wipe; Graph's error body; application
/// permissions checked per request (403 Authorization_RequestDenied); injectable faults (<see cref="Faults"/>).
/// </summary>
public sealed partial class GraphTestServer : IAsyncDisposable
{
    /// <summary>The least-privileged application permissions docs/connectors/graph.md lists.</summary>
    public static readonly string[] LeastPrivilege =
    [
        "User.Read.All", "User.EnableDisableAccount.All", "User.RevokeSessions.All", "User.DeleteRestore.All", "AuditLog.Read.All",
        "GroupMember.ReadWrite.All", "LicenseAssignment.ReadWrite.All", "DeviceManagementManagedDevices.Read.All",
        "DeviceManagementManagedDevices.PrivilegedOperations.All", "RoleManagement.ReadWrite.Directory",
        "User-PasswordProfile.ReadWrite.All",
    ];

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<FakeUser> _users = [];
    private readonly List<FakeUser> _deletedUsers = [];
    private readonly List<FakeGroup> _groups = [];
    private readonly List<FakeSku> _skus = [];
    private readonly List<FakeDevice> _devices = [];
    private readonly List<FakeRoleDefinition> _roleDefinitions = [];
    private readonly List<FakeRoleAssignment> _roleAssignments = [];
    private readonly ConcurrentDictionary<string, byte> _tokens = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private int _tokensIssued;

    private GraphTestServer(WebApplication app, Uri root, TimeProvider time)
    {
        _app = app;
        Root = root;
        _time = time;
    }

    public const string Tenant = "contoso.onmicrosoft.com";

    public const string ClientId = "8d5b2a6e-1111-4c3f-9a55-2f0e4d6c7b10";

    public string ClientSecret { get; } = "graph-secret-" + Guid.NewGuid().ToString("N")[..12];

    public Uri Root { get; }

    /// <summary>The Graph base URL, e.g. <c>http://127.0.0.1:5123/v1.0/</c>.</summary>
    public Uri BaseUrl => new(Root, "/v1.0/");

    public Uri TokenUrl => new(Root, $"/{Tenant}/oauth2/v2.0/token");

    public GraphFaults Faults { get; } = new();

    /// <summary>The application permissions the app registration holds (admin-consented). Default: <see cref="LeastPrivilege"/>.</summary>
    public HashSet<string> Granted { get; } = new(LeastPrivilege, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The Microsoft Entra role held by the app's service principal, which Graph checks (beside the permission) for a
    /// password reset: User Administrator resets users without an admin role, Privileged Authentication Administrator (or
    /// Global Administrator) anyone. Null: no role, every reset is 403. Default: Privileged Authentication Administrator.
    /// </summary>
    public string? AppDirectoryRole { get; set; } = "Privileged Authentication Administrator";

    /// <summary>Items per page of every collection (Graph's own default varies by resource; tests use small pages).</summary>
    public int PageSize { get; set; } = 100;

    /// <summary>When true, devices carry out remoteLock and wipe at once (state <c>done</c>); otherwise they stay <c>pending</c>.</summary>
    public bool DevicesCheckInAtOnce { get; set; } = true;

    /// <summary>When set, <c>@odata.nextLink</c>s point at this host instead (a hostile or misconfigured proxy).</summary>
    public Uri? NextLinkRoot { get; set; }

    /// <summary>A bad habit of real services: every write is answered with success and changes nothing (a replica that
    /// drops it, a policy that reverts it).</summary>
    public bool IgnoreWrites { get; set; }

    /// <summary>A bad habit of real services: a <c>$filter</c> is answered with an empty collection instead of the objects
    /// it matches (an unsupported filter met with silence rather than a 400).</summary>
    public bool LenientFilters { get; set; }

    /// <summary>A bad habit of real services: a member read by key (<c>groups/{g}/members/{u}</c>) answers 404 although
    /// it is a member (a lagging replica).</summary>
    public bool MemberNotFoundByKey { get; set; }

    /// <summary>A bad habit of real services: a user read by key (<c>users/{id}</c>) answers 404 although it exists.</summary>
    public bool UserNotFoundByKey { get; set; }

    public ConcurrentQueue<GraphRecordedRequest> Requests { get; } = new();

    /// <summary>The Graph requests (not the token endpoint's).</summary>
    public IEnumerable<GraphRecordedRequest> ApiRequests => Requests.Where(r => r.Path.StartsWith("/v1.0/", StringComparison.Ordinal));

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>Users deleted by a member DELETE without <c>/$ref</c> (what the documentation warns about).</summary>
    public int UsersDeletedByMissingRef { get; private set; }

    public static Task<GraphTestServer> StartAsync(TimeProvider? time = null) =>
        LoopbackHost.StartAsync((app, root) => new GraphTestServer(app, root, time ?? TimeProvider.System), s => s.HandleAsync);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Makes every issued token invalid, as an expiry or a revoked consent would.</summary>
    public void RevokeTokens() => _tokens.Clear();

    public FakeUser AddUser(string upn, bool enabled = true, string? mail = null, string? employeeId = null, DateTimeOffset? lastSignIn = null)
    {
        var user = new FakeUser
        {
            Id = Guid.NewGuid().ToString(),
            UserPrincipalName = upn,
            Mail = mail,
            EmployeeId = employeeId,
            AccountEnabled = enabled,
            LastSignIn = lastSignIn,
            SignInSessionsValidFrom = _time.GetUtcNow().AddDays(-30),
            LastPasswordChange = _time.GetUtcNow().AddDays(-90),
        };
        lock (_lock)
        {
            _users.Add(user);
        }

        return user;
    }

    public FakeGroup AddGroup(string displayName, bool roleAssignable = false, bool dynamic = false, params FakeUser[] members)
    {
        var group = new FakeGroup { Id = Guid.NewGuid().ToString(), DisplayName = displayName, IsAssignableToRole = roleAssignable, Dynamic = dynamic };
        group.Members.AddRange(members.Select(m => m.Id));
        lock (_lock)
        {
            _groups.Add(group);
        }

        return group;
    }

    public FakeSku AddSku(string partNumber)
    {
        var sku = new FakeSku(Guid.NewGuid().ToString(), partNumber);
        lock (_lock)
        {
            _skus.Add(sku);
        }

        return sku;
    }

    public FakeDevice AddDevice(string serial, string model, string? ownerUpn)
    {
        var device = new FakeDevice { Id = Guid.NewGuid().ToString(), DeviceName = $"{model}-{serial}", SerialNumber = serial, Model = model, UserPrincipalName = ownerUpn };
        lock (_lock)
        {
            _devices.Add(device);
        }

        return device;
    }

    public FakeRoleDefinition AddRoleDefinition(string displayName)
    {
        var role = new FakeRoleDefinition(Guid.NewGuid().ToString(), displayName);
        lock (_lock)
        {
            _roleDefinitions.Add(role);
        }

        return role;
    }

    /// <summary>Assigns <paramref name="role"/> to a principal (a user, or any other object id) at <paramref name="scope"/>.</summary>
    public FakeRoleAssignment AssignRole(FakeRoleDefinition role, string principalId, string scope = "/")
    {
        lock (_lock)
        {
            return AssignRoleLocked(principalId, role.Id, scope);
        }
    }

    /// <summary>Removes an assignment as an administrator in the portal would.</summary>
    public void UnassignRole(FakeRoleAssignment assignment)
    {
        lock (_lock)
        {
            _roleAssignments.RemoveAll(a => a.Id == assignment.Id);
        }
    }

    /// <summary>The current assignments of <paramref name="principalId"/>.</summary>
    public List<FakeRoleAssignment> RoleAssignmentsOf(string principalId)
    {
        lock (_lock)
        {
            return [.. _roleAssignments.Where(a => a.PrincipalId == principalId)];
        }
    }

    // Graph's ids for role assignments are opaque strings (base64-like, not GUIDs); a fresh one each time.
    private FakeRoleAssignment AssignRoleLocked(string principalId, string roleDefinitionId, string scope)
    {
        var assignment = new FakeRoleAssignment(Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('/', '_').Replace('+', '-') + "-1",
            principalId, roleDefinitionId, scope);
        _roleAssignments.Add(assignment);
        return assignment;
    }

    public FakeUser? User(string id)
    {
        lock (_lock)
        {
            return _users.FirstOrDefault(u => u.Id == id);
        }
    }

    public bool IsMember(FakeGroup group, FakeUser user)
    {
        lock (_lock)
        {
            return group.Members.Contains(user.Id);
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        string? body = null;
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync(ctx.RequestAborted);
        }

        var path = request.Path.Value ?? "/";
        var auth = request.Headers.Authorization.ToString();
        Requests.Enqueue(new GraphRecordedRequest(request.Method, path, request.QueryString.Value ?? string.Empty,
            path.EndsWith("/token", StringComparison.Ordinal) ? null : body, auth.Split(' ')[0] is { Length: > 0 } s ? s : null));

        if (request.Method == "POST" && path == $"/{Tenant}/oauth2/v2.0/token")
        {
            await TokenAsync(ctx, body ?? string.Empty);
            return;
        }

        if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.ContainsKey(auth[7..]))
        {
            // Graph answers a missing or invalid token with 401 and the Graph error body.
            await ErrorAsync(ctx, 401, "InvalidAuthenticationToken", auth.Length == 0 ? "Access token is empty." : "Access token validation failure. Invalid audience.");
            return;
        }

        if (Faults.Take(request.Method, path) is { } fault)
        {
            if (fault.Hold is { } hold)
            {
                await hold.Task.WaitAsync(ctx.RequestAborted);
            }
            else
            {
                if (fault.RetryAfter is { } ra)
                {
                    ctx.Response.Headers["Retry-After"] = ra;
                }

                var (code, message) = fault.Status switch
                {
                    429 => ("TooManyRequests", "Please retry again later."),
                    503 => ("serviceNotAvailable", "Service unavailable."),
                    504 => ("UnknownError", "Gateway timeout."),
                    _ => ("generalException", "An unexpected error occurred."),
                };
                await ErrorAsync(ctx, fault.Status, code, message);
                return;
            }
        }

        if (!path.StartsWith("/v1.0/", StringComparison.Ordinal))
        {
            await ErrorAsync(ctx, 400, "BadRequest", "Invalid version.");
            return;
        }

        if (LenientFilters && request.Method == "GET" && request.Query.ContainsKey("$filter"))
        {
            await JsonAsync(ctx, 200, new JsonObject { ["@odata.context"] = $"{BaseUrl}$metadata#{path.Split('/').Last()}", ["value"] = new JsonArray() });
            return;
        }

        if (IgnoreWrites && request.Method is "PATCH" or "DELETE" or "POST")
        {
            await IgnoredWriteAsync(ctx, request.Method, path);
            return;
        }

        var segments = path["/v1.0/".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        JsonObject? json = null;
        if (!string.IsNullOrEmpty(body))
        {
            try
            {
                json = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                await ErrorAsync(ctx, 400, "BadRequest", "Unable to read JSON request payload.");
                return;
            }
        }

        await RouteAsync(ctx, request.Method, segments, json);
    }

    private async Task TokenAsync(HttpContext ctx, string body)
    {
        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : string.Empty, StringComparer.Ordinal);
        static Task OAuthErrorAsync(HttpContext ctx, int status, string error, string description) =>
            JsonAsync(ctx, status, new JsonObject { ["error"] = error, ["error_description"] = description });

        if (form.GetValueOrDefault("grant_type") != "client_credentials")
        {
            await OAuthErrorAsync(ctx, 400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
            return;
        }

        if (form.GetValueOrDefault("client_id") != ClientId)
        {
            await OAuthErrorAsync(ctx, 400, "unauthorized_client", $"AADSTS700016: Application with identifier '{form.GetValueOrDefault("client_id")}' was not found in the directory.");
            return;
        }

        if (form.GetValueOrDefault("client_secret") != ClientSecret)
        {
            await OAuthErrorAsync(ctx, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
            return;
        }

        if (form.GetValueOrDefault("scope") != "https://graph.microsoft.com/.default")
        {
            await OAuthErrorAsync(ctx, 400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
            return;
        }

        var token = "eyJ0eXAi." + Guid.NewGuid().ToString("N");
        _tokens[token] = 0;
        Interlocked.Increment(ref _tokensIssued);
        await JsonAsync(ctx, 200, new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = 3599, ["ext_expires_in"] = 3599, ["access_token"] = token });
    }

    /// <summary>The answer the write would have had, without its effect.</summary>
    private static Task IgnoredWriteAsync(HttpContext ctx, string method, string path)
    {
        if (method == "POST" && path.EndsWith("/assignLicense", StringComparison.Ordinal))
        {
            return JsonAsync(ctx, 200, new JsonObject { ["id"] = path.Split('/')[^2] });
        }

        if (method == "POST" && path.EndsWith("/revokeSignInSessions", StringComparison.Ordinal))
        {
            return JsonAsync(ctx, 200, new JsonObject { ["value"] = true });
        }

        return NoContent(ctx);
    }

    internal Task ErrorAsync(HttpContext ctx, int status, string code, string message) =>
        JsonAsync(ctx, status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = message,
                ["innerError"] = new JsonObject
                {
                    ["date"] = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
                    ["request-id"] = Guid.NewGuid().ToString(),
                    ["client-request-id"] = Guid.NewGuid().ToString(),
                },
            },
        });

    internal static async Task JsonAsync(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    internal static Task NoContent(HttpContext ctx)
    {
        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }
}
