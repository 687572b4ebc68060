using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>
/// The Admin SDK Directory API v1 and Google's OAuth token endpoint, in memory on 127.0.0.1 and a free port, as
/// docs/connectors/google.md and the vendor reference describe them. The token endpoint takes only the JWT-bearer grant
/// and verifies the assertion: RS256 signature with the service account's public key, <c>iss</c>, <c>sub</c> (a user of
/// the domain), <c>aud</c>, <c>iat</c>/<c>exp</c> (at most an hour) and <c>scope</c> (each delegated), answering Google's
/// OAuth error body otherwise. API requests need a token it issued (401 <c>authError</c>) with the scope the method needs
/// (403 <c>insufficientPermissions</c>). Listings page with <c>maxResults</c>/<c>pageToken</c>/<c>nextPageToken</c>.
/// Injectable faults (<see cref="Faults"/>) answer with Google's error body.
/// </summary>
public sealed partial class GoogleTestServer : IAsyncDisposable
{
    private const string ScopePrefix = "https://www.googleapis.com/auth/";

    /// <summary>The scopes docs/connectors/google.md asks to delegate.</summary>
    public static readonly string[] LeastPrivilege =
    [
        ScopePrefix + "admin.directory.user", ScopePrefix + "admin.directory.user.security", ScopePrefix + "admin.directory.group.readonly",
        ScopePrefix + "admin.directory.group.member", ScopePrefix + "admin.directory.device.mobile.readonly", ScopePrefix + "admin.directory.device.mobile.action",
    ];

    public const string ClientEmail = "deprov@acme-deprov.iam.gserviceaccount.com";

    public const string ClientId = "104729384756102938475";

    public const string AdminEmail = "admin@example.com";

    /// <summary>The Enterprise License Manager API's only scope.</summary>
    public const string LicensingScope = ScopePrefix + "apps.licensing";

    /// <summary>The customer id users carry (<c>customerId</c>); the Licensing API takes only this, never <c>my_customer</c>.</summary>
    public const string CustomerId = "C03az79cb";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<FakeUser> _users = [];
    private readonly List<FakeGroup> _groups = [];
    private readonly List<FakeDevice> _devices = [];
    private readonly List<FakeSku> _skus = [];
    private readonly ConcurrentDictionary<string, HashSet<string>> _tokens = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly RSA _key = RSA.Create(2048);
    private int _tokensIssued;
    private int _nextId = 100_000;

    private GoogleTestServer(WebApplication app, Uri root, TimeProvider time)
    {
        _app = app;
        Root = root;
        _time = time;
    }

    public Uri Root { get; }

    public Uri TokenUrl => new(Root, "/token");

    public GoogleFaults Faults { get; } = new();

    /// <summary>Bad habits of real servers, off by default.</summary>
    public GoogleFakeHabits Habits { get; } = new();

    /// <summary>The scopes delegated to the service account's client id in the Admin console.</summary>
    public HashSet<string> Delegated { get; } = new([.. LeastPrivilege, LicensingScope], StringComparer.Ordinal);

    /// <summary>Items per page when the request asks for more (Google's own maximums are larger).</summary>
    public int PageSize { get; set; } = 100;

    /// <summary>When true, devices carry out an account wipe at once (<c>ACCOUNT_WIPED</c>); otherwise they stay <c>ACCOUNT_WIPING</c>.</summary>
    public bool DevicesSyncAtOnce { get; set; } = true;

    public ConcurrentQueue<GoogleRecordedRequest> Requests { get; } = new();

    public IEnumerable<GoogleRecordedRequest> ApiRequests => Requests.Where(r => r.Path.StartsWith("/admin/", StringComparison.Ordinal));

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>The claims of the last assertion the token endpoint accepted.</summary>
    public JsonObject? LastClaims { get; private set; }

    /// <summary>The service account's JSON key, as the Cloud console downloads it, with <c>token_uri</c> pointing here.</summary>
    public string KeyJson(RSA? key = null) => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = "acme-deprov",
        ["private_key_id"] = "3f2a9c0d1e",
        ["private_key"] = (key ?? _key).ExportPkcs8PrivateKeyPem() + "\n",
        ["client_email"] = ClientEmail,
        ["client_id"] = ClientId,
        ["auth_uri"] = "https://accounts.google.com/o/oauth2/auth",
        ["token_uri"] = TokenUrl.AbsoluteUri,
    }.ToJsonString();

    public static Task<GoogleTestServer> StartAsync(TimeProvider? time = null) =>
        LoopbackHost.StartAsync((app, root) => new GoogleTestServer(app, root, time ?? TimeProvider.System), s => s.HandleAsync);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
    }

    /// <summary>Makes every issued token invalid, as an expiry or a revoked delegation would.</summary>
    public void RevokeTokens() => _tokens.Clear();

    public FakeUser AddUser(string email, bool suspended = false, string? employeeId = null, DateTimeOffset? lastLogin = null, bool isAdmin = false)
    {
        lock (_lock)
        {
            var user = new FakeUser { Id = (++_nextId).ToString("D21", System.Globalization.CultureInfo.InvariantCulture), PrimaryEmail = email, Suspended = suspended, EmployeeId = employeeId, LastLogin = lastLogin, IsAdmin = isAdmin };
            _users.Add(user);
            return user;
        }
    }

    public FakeGroup AddGroup(string email, params FakeUser[] members)
    {
        lock (_lock)
        {
            var group = new FakeGroup { Id = "0" + (++_nextId).ToString("x14", System.Globalization.CultureInfo.InvariantCulture), Email = email, Name = email.Split('@')[0] };
            foreach (var m in members)
            {
                group.Members[m.Id] = "MEMBER";
            }

            _groups.Add(group);
            return group;
        }
    }

    public FakeDevice AddDevice(string serial, string model, string email)
    {
        lock (_lock)
        {
            var device = new FakeDevice { ResourceId = "AFiQxQ8" + (++_nextId).ToString(System.Globalization.CultureInfo.InvariantCulture), SerialNumber = serial, Model = model, Email = email };
            _devices.Add(device);
            return device;
        }
    }

    /// <summary>A product SKU the customer subscribes to, with a licence for each of <paramref name="holders"/>.</summary>
    public FakeSku AddSku(string productId, string skuId, string skuName, params FakeUser[] holders)
    {
        lock (_lock)
        {
            var sku = new FakeSku { ProductId = productId, SkuId = skuId, SkuName = skuName, ProductName = productId == "Google-Apps" ? "Google Workspace" : productId };
            sku.Holders.AddRange(holders.Select(h => h.Id));
            _skus.Add(sku);
            return sku;
        }
    }

    public T Read<T>(Func<T> read)
    {
        lock (_lock)
        {
            return read();
        }
    }

    /// <summary>The groups, for a test to inspect inside <see cref="Read{T}"/>.</summary>
    public IReadOnlyList<FakeGroup> Groups() => _groups;

    public FakeUser? User(string id) => Read(() => _users.FirstOrDefault(u => u.Id == id));

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
        Requests.Enqueue(new GoogleRecordedRequest(request.Method, path, request.QueryString.Value ?? string.Empty, path == "/token" ? null : Redacted(body)));
        if (path == "/token")
        {
            await TokenAsync(ctx, request.Method, body ?? string.Empty);
            return;
        }

        var auth = request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.TryGetValue(auth[7..], out var scopes))
        {
            await ErrorAsync(ctx, 401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED");
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

                var (message, status) = fault.Reason switch
                {
                    "userRateLimitExceeded" => ("Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.", "PERMISSION_DENIED"),
                    "rateLimitExceeded" or "quotaExceeded" => ("Quota exceeded.", "PERMISSION_DENIED"),
                    "backendError" => ("Service unavailable. Please try again", "UNAVAILABLE"),
                    _ when fault.Status == 429 => ("Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
                    "forbidden" => ("Not Authorized to access this resource/api", "PERMISSION_DENIED"),
                    _ => ("Internal error encountered.", "INTERNAL"),
                };
                await ErrorAsync(ctx, fault.Status, fault.Reason, message, status);
                return;
            }
        }

        const string prefix = "/admin/directory/v1/";
        const string licensing = "/apps/licensing/v1/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal) && !path.StartsWith(licensing, StringComparison.Ordinal))
        {
            await ErrorAsync(ctx, 404, "notFound", "Not Found");
            return;
        }

        JsonObject? json = null;
        if (!string.IsNullOrEmpty(body))
        {
            try
            {
                json = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                await ErrorAsync(ctx, 400, "parseError", "Parse Error", "INVALID_ARGUMENT");
                return;
            }
        }

        if (path.StartsWith(licensing, StringComparison.Ordinal))
        {
            await LicensingRouteAsync(ctx, request.Method, Segments(path[licensing.Length..]), json, scopes);
            return;
        }

        await RouteAsync(ctx, request.Method, Segments(path[prefix.Length..]), json, scopes);
    }

    private async Task TokenAsync(HttpContext ctx, string method, string body)
    {
        static Task OAuthErrorAsync(HttpContext ctx, int status, string error, string description) =>
            JsonAsync(ctx, status, new JsonObject { ["error"] = error, ["error_description"] = description });

        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : string.Empty, StringComparer.Ordinal);
        if (method != "POST" || form.GetValueOrDefault("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            await OAuthErrorAsync(ctx, 400, "unsupported_grant_type", $"Invalid grant_type: {form.GetValueOrDefault("grant_type")}");
            return;
        }

        var parts = form.GetValueOrDefault("assertion")?.Split('.') ?? [];
        JsonObject? header = null;
        JsonObject? claims = null;
        try
        {
            if (parts.Length == 3)
            {
                header = JsonNode.Parse(FromBase64Url(parts[0])) as JsonObject;
                claims = JsonNode.Parse(FromBase64Url(parts[1])) as JsonObject;
            }
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            header = null;
        }

        if (header is null || claims is null || header["alg"]?.GetValue<string>() != "RS256")
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
            return;
        }

        if (!_key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid JWT Signature.");
            return;
        }

        string? Claim(string name) => claims[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        long? Seconds(string name) => claims[name] is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Claim("iss") != ClientEmail)
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid JWT: iss is not a known service account.");
            return;
        }

        if (Claim("aud") != TokenUrl.AbsoluteUri)
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid JWT: aud must be the token endpoint.");
            return;
        }

        if (Seconds("iat") is not { } iat || Seconds("exp") is not { } exp || exp <= now || exp - iat > 3600 || iat > now + 300)
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
            return;
        }

        var sub = Claim("sub");
        if (sub is null || Read(() => _users.All(u => !string.Equals(u.PrimaryEmail, sub, StringComparison.OrdinalIgnoreCase))) && !string.Equals(sub, AdminEmail, StringComparison.OrdinalIgnoreCase))
        {
            await OAuthErrorAsync(ctx, 400, "invalid_grant", "Invalid email or User ID");
            return;
        }

        var asked = (Claim("scope") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (asked.Length == 0 || asked.Any(s => !Delegated.Contains(s)))
        {
            await OAuthErrorAsync(ctx, 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.");
            return;
        }

        LastClaims = claims;
        var token = "ya29.c." + Guid.NewGuid().ToString("N");
        _tokens[token] = new HashSet<string>(asked, StringComparer.Ordinal);
        Interlocked.Increment(ref _tokensIssued);
        await JsonAsync(ctx, 200, new JsonObject { ["access_token"] = token, ["expires_in"] = 3599, ["token_type"] = "Bearer" });
    }

    /// <summary>A request body as recorded: a <c>password</c> is replaced by its length, so nothing the tests read echoes it.</summary>
    private static string? Redacted(string? body)
    {
        try
        {
            if (body is not null && JsonNode.Parse(body) is JsonObject o && o["password"] is JsonValue v && v.TryGetValue<string>(out var password))
            {
                o["password"] = $"redacted, {password.Length} characters";
                return o.ToJsonString();
            }
        }
        catch (JsonException)
        {
            // Not JSON: recorded as sent (the request is answered 400 below).
        }

        return body;
    }

    private static string[] Segments(string rest) => [.. rest.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString)];

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    /// <summary>Google's error body: <c>{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}</c>.</summary>
    internal static Task ErrorAsync(HttpContext ctx, int status, string reason, string message, string? canonical = null) =>
        JsonAsync(ctx, status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject { ["message"] = message, ["domain"] = "global", ["reason"] = reason }),
                ["status"] = canonical ?? status switch
                {
                    400 => "INVALID_ARGUMENT",
                    403 => "PERMISSION_DENIED",
                    404 => "NOT_FOUND",
                    409 => "ALREADY_EXISTS",
                    _ => "UNKNOWN",
                },
            },
        });

    internal static async Task JsonAsync(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=UTF-8";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    internal static Task NoContent(HttpContext ctx)
    {
        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }
}
