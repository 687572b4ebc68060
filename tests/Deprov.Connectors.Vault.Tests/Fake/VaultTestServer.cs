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

namespace Deprov.Connectors.Vault.Tests.Fake;

/// <summary>One request as the fake saw it (the body may hold secret values: it is the server's view).</summary>
public sealed record VaultRecordedRequest(string Method, string Path, string Query, string Body);

/// <summary>
/// HashiCorp Vault's HTTP API, in memory on 127.0.0.1 and a free port, as the Vault API documentation describes it: a KV
/// version 2 mount (<c>secret/</c>) with versions, check-and-set and custom_metadata; LIST (the LIST verb or
/// <c>GET ?list=true</c>) answering 404 <c>{"errors":[]}</c> when empty; login leases filed under
/// <c>auth/&lt;mount&gt;/login/&lt;user&gt;/</c>, listed by <c>sys/leases/lookup</c> and revoked by
/// <c>sys/leases/revoke-prefix</c> (both needing sudo); AppRole login; tokens in <c>X-Vault-Token</c> or
/// <c>Authorization: Bearer</c> (403 "permission denied" otherwise); the <c>{"errors":[...]}</c> body; injectable faults.
/// Not modelled: policies beyond a per-token sudo flag, KV deletes and destroys, namespaces, the database engine.
/// </summary>
public sealed class VaultTestServer : IAsyncDisposable
{
    public const string Mount = "secret";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FakeSecret> _secrets = new(StringComparer.Ordinal);
    private readonly List<string> _leases = [];
    private readonly ConcurrentDictionary<string, bool> _tokens = new(StringComparer.Ordinal);

    // Token → (accessor, the path that created it), as the token store keeps them; guarded by _lock.
    private readonly Dictionary<string, (string Accessor, string Path)> _tokenInfo = new(StringComparer.Ordinal);
    private int _appRoleLogins;

    private VaultTestServer(WebApplication app, Uri root)
    {
        _app = app;
        Address = root;
        _tokens[RootToken] = true;
        _tokenInfo[RootToken] = (Guid.NewGuid().ToString(), "auth/token/root");
    }

    /// <summary>A bad habit of real servers: a revocation is answered 204 and changes nothing.</summary>
    public bool IgnoreRevokes { get; set; }

    /// <summary>A bad habit of real servers: every LIST of <c>sys/leases/lookup</c> answers 404 <c>{"errors":[]}</c>, the
    /// answer for an empty list, whatever it holds (a proxy or policy that hides the lease tree).</summary>
    public bool LeaseListsAnswer404 { get; set; }

    /// <summary>A bad habit of real servers: <c>LIST auth/token/accessors</c> answers 404, as if no token were alive.</summary>
    public bool AccessorListAnswers404 { get; set; }

    public Uri Address { get; }

    /// <summary>A token with sudo on everything.</summary>
    public string RootToken { get; } = "hvs.root" + Guid.NewGuid().ToString("N")[..16];

    public string RoleId { get; } = "role-" + Guid.NewGuid().ToString("N")[..8];

    public string SecretId { get; } = "secretid-" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>lease_duration of AppRole logins, in seconds.</summary>
    public int AppRoleTtlSeconds { get; set; } = 3600;

    /// <summary>Whether AppRole tokens carry sudo.</summary>
    public bool AppRoleSudo { get; set; } = true;

    public int AppRoleLogins => Volatile.Read(ref _appRoleLogins);

    /// <summary>Answers to send instead of the real one, in order, for API requests (not logins).</summary>
    public ConcurrentQueue<(int Status, string Body)> Faults { get; } = new();

    /// <summary>Called on a KV data write before its check-and-set is checked (to simulate a concurrent writer).</summary>
    public Action<string>? BeforeDataWrite { get; set; }

    public ConcurrentQueue<VaultRecordedRequest> Requests { get; } = new();

    /// <summary>Every token the fake issued (the root token and AppRole tokens).</summary>
    public IReadOnlyCollection<string> IssuedTokens => [.. _tokens.Keys];

    public static Task<VaultTestServer> StartAsync() =>
        LoopbackHost.StartAsync((app, root) => new VaultTestServer(app, root), s => s.HandleAsync);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public string IssueToken(bool sudo, string path = "auth/token/create")
    {
        var token = "hvs." + Guid.NewGuid().ToString("N");
        lock (_lock)
        {
            _tokenInfo[token] = (Guid.NewGuid().ToString(), path);
        }

        _tokens[token] = sudo;
        return token;
    }

    /// <summary>How many live tokens were created by logging in at <paramref name="loginPath"/> (e.g. <c>auth/ldap/login/ann</c>).</summary>
    public int TokenCount(string loginPath)
    {
        lock (_lock)
        {
            return _tokenInfo.Count(t => t.Value.Path == loginPath && _tokens.ContainsKey(t.Key));
        }
    }

    /// <summary>Makes every token but the root token invalid (an expiry or a revocation).</summary>
    public void RevokeIssuedTokens()
    {
        foreach (var t in _tokens.Keys.Where(t => t != RootToken))
        {
            _tokens.TryRemove(t, out _);
        }
    }

    public void PutSecret(string path, Dictionary<string, string> data, Dictionary<string, string>? custom = null)
    {
        lock (_lock)
        {
            if (!_secrets.TryGetValue(path, out var s))
            {
                s = new FakeSecret();
                _secrets[path] = s;
            }

            s.Versions.Add((new Dictionary<string, string>(data), TimeProvider.System.GetUtcNow()));
            foreach (var (k, v) in custom ?? [])
            {
                s.Custom[k] = v;
            }
        }
    }

    public int Version(string path)
    {
        lock (_lock)
        {
            return _secrets[path].Versions.Count;
        }
    }

    public IReadOnlyDictionary<string, string> Data(string path)
    {
        lock (_lock)
        {
            return new Dictionary<string, string>(_secrets[path].Versions[^1].Data);
        }
    }

    public IReadOnlyDictionary<string, string> Custom(string path)
    {
        lock (_lock)
        {
            return new Dictionary<string, string>(_secrets[path].Custom);
        }
    }

    /// <summary>A login through <paramref name="mount"/> by <paramref name="user"/>: one token lease, as Vault files it.</summary>
    public string Login(string mount, string user)
    {
        var id = $"auth/{mount}/login/{user}/h{Guid.NewGuid():N}";
        IssueToken(false, $"auth/{mount}/login/{user}");
        lock (_lock)
        {
            _leases.Add(id);
        }

        return id;
    }

    public int LeaseCount(string prefix)
    {
        lock (_lock)
        {
            return _leases.Count(l => l.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? string.Empty;
        var body = await new StreamReader(http.Request.Body, Encoding.UTF8).ReadToEndAsync();
        Requests.Enqueue(new VaultRecordedRequest(http.Request.Method, path, http.Request.QueryString.Value ?? string.Empty, body));
        if (!path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            await Answer(http, 404, Errors("unsupported path"));
            return;
        }

        path = path[4..];
        var isList = http.Request.Method == "LIST" || (HttpMethods.IsGet(http.Request.Method) && http.Request.Query["list"] == "true");
        var write = HttpMethods.IsPost(http.Request.Method) || HttpMethods.IsPut(http.Request.Method);

        if (path == "auth/approle/login" && write)
        {
            await AppRoleLoginAsync(http, body);
            return;
        }

        var token = http.Request.Headers["X-Vault-Token"].FirstOrDefault();
        var authz = http.Request.Headers.Authorization.FirstOrDefault();
        if (token is null && authz is not null && authz.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            token = authz[7..];
        }

        if (token is null || !_tokens.TryGetValue(token, out var sudo))
        {
            await Answer(http, 403, Errors("permission denied"));
            return;
        }

        if (Faults.TryDequeue(out var fault))
        {
            await Answer(http, fault.Status, fault.Body);
            return;
        }

        if ((path.StartsWith("sys/leases/", StringComparison.Ordinal) || path.StartsWith("auth/token/accessors", StringComparison.Ordinal)) && !sudo)
        {
            await Answer(http, 403, Errors("1 error occurred:\n\t* permission denied\n\n"));
            return;
        }

        if (TokenStore(path.TrimEnd('/'), isList, write, body, token) is { } tokenAnswer)
        {
            await Answer(http, tokenAnswer.Status, tokenAnswer.Body);
            return;
        }

        if (write && path.StartsWith($"{Mount}/data/", StringComparison.Ordinal))
        {
            BeforeDataWrite?.Invoke(path[$"{Mount}/data/".Length..]);
        }

        var (status, answer) = Route(path.TrimEnd('/'), path.EndsWith('/'), isList, write, body, http.Request.Method);
        await Answer(http, status, answer);
    }

    /// <summary><c>auth/token/lookup-self</c>, <c>LIST auth/token/accessors</c> (sudo) and <c>auth/token/lookup-accessor</c>
    /// (400 "invalid accessor" for an unknown one); null for any other path.</summary>
    private (int Status, string? Body)? TokenStore(string path, bool isList, bool write, string body, string token)
    {
        lock (_lock)
        {
            JsonObject Info(string t) => new()
            {
                ["accessor"] = _tokenInfo[t].Accessor,
                ["path"] = _tokenInfo[t].Path,
                ["display_name"] = _tokenInfo[t].Path.Replace('/', '-'),
                ["policies"] = new JsonArray("default"),
                ["ttl"] = 3600,
            };

            switch (path)
            {
                case "auth/token/lookup-self" when !write && !isList:
                    return (200, Wrap(Info(token)));
                case "auth/token/accessors" when isList:
                    var live = _tokenInfo.Where(t => _tokens.ContainsKey(t.Key)).Select(t => (JsonNode)t.Value.Accessor).ToList();
                    return AccessorListAnswers404 || live.Count == 0 ? (404, Errors()) : (200, Wrap(new JsonObject { ["keys"] = new JsonArray([.. live]) }));
                case "auth/token/lookup-accessor" when write:
                    var accessor = JsonNode.Parse(body)?["accessor"]?.GetValue<string>();
                    var found = _tokenInfo.FirstOrDefault(t => t.Value.Accessor == accessor && _tokens.ContainsKey(t.Key));
                    return found.Key is null ? (400, Errors("invalid accessor")) : (200, Wrap(Info(found.Key)));
                default:
                    return null;
            }
        }
    }

    private (int, string?) Route(string path, bool trailingSlash, bool isList, bool write, string body, string method)
    {
        lock (_lock)
        {
            if (path.StartsWith("sys/leases/lookup/", StringComparison.Ordinal) && isList)
            {
                return LeaseListsAnswer404 ? (404, Errors()) : ListUnder(_leases, path["sys/leases/lookup/".Length..] + "/");
            }

            if (path.StartsWith("sys/leases/revoke-prefix/", StringComparison.Ordinal) && write)
            {
                if (IgnoreRevokes)
                {
                    return (204, null);
                }

                // Revoking a login's token lease revokes the token too.
                var prefix = path["sys/leases/revoke-prefix/".Length..] + (trailingSlash ? "/" : string.Empty);
                _leases.RemoveAll(l => l.StartsWith(prefix, StringComparison.Ordinal));
                foreach (var t in _tokenInfo.Where(t => (t.Value.Path + "/").StartsWith(prefix, StringComparison.Ordinal)).Select(t => t.Key).ToList())
                {
                    _tokens.TryRemove(t, out _);
                }

                return (204, null);
            }

            if (path == $"{Mount}/metadata" && isList)
            {
                return ListUnder(_secrets.Keys, string.Empty);
            }

            if (path.StartsWith($"{Mount}/metadata/", StringComparison.Ordinal))
            {
                var p = path[$"{Mount}/metadata/".Length..];
                if (isList)
                {
                    return ListUnder(_secrets.Keys, p + "/");
                }

                if (!_secrets.TryGetValue(p, out var s))
                {
                    return (404, Errors());
                }

                if (write)
                {
                    var custom = JsonNode.Parse(body)?["custom_metadata"] as JsonObject;
                    if (custom is not null)
                    {
                        s.Custom.Clear();
                        foreach (var (k, v) in custom)
                        {
                            s.Custom[k] = v!.GetValue<string>();
                        }
                    }

                    return (204, null);
                }

                return (200, Wrap(Metadata(s)));
            }

            if (path.StartsWith($"{Mount}/data/", StringComparison.Ordinal))
            {
                var p = path[$"{Mount}/data/".Length..];
                if (write)
                {
                    return WriteData(p, body);
                }

                if (!_secrets.TryGetValue(p, out var s))
                {
                    return (404, Errors());
                }

                var (data, created) = s.Versions[^1];
                var d = new JsonObject();
                foreach (var (k, v) in data)
                {
                    d[k] = v;
                }

                return (200, Wrap(new JsonObject { ["data"] = d, ["metadata"] = VersionMeta(s.Versions.Count, created) }));
            }

            return (method == "LIST" || isList ? 404 : 405, Errors(isList ? null : "unsupported operation"));
        }
    }

    private (int, string?) WriteData(string path, string body)
    {
        var request = JsonNode.Parse(body)!;
        _secrets.TryGetValue(path, out var s);
        if (request["options"]?["cas"] is JsonValue cas && cas.GetValue<int>() != (s?.Versions.Count ?? 0))
        {
            return (400, Errors($"check-and-set parameter did not match the current version"));
        }

        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in request["data"] as JsonObject ?? [])
        {
            data[k] = v!.GetValue<string>();
        }

        if (s is null)
        {
            s = new FakeSecret();
            _secrets[path] = s;
        }

        var now = TimeProvider.System.GetUtcNow();
        s.Versions.Add((data, now));
        return (200, Wrap(VersionMeta(s.Versions.Count, now)));
    }

    private async Task AppRoleLoginAsync(HttpContext http, string body)
    {
        var request = JsonNode.Parse(body);
        if (request?["role_id"]?.GetValue<string>() != RoleId || request?["secret_id"]?.GetValue<string>() != SecretId)
        {
            await Answer(http, 400, Errors("invalid role or secret ID"));
            return;
        }

        Interlocked.Increment(ref _appRoleLogins);
        var token = IssueToken(AppRoleSudo, "auth/approle/login");
        var answer = new JsonObject
        {
            ["request_id"] = Guid.NewGuid().ToString(),
            ["lease_id"] = string.Empty,
            ["renewable"] = false,
            ["lease_duration"] = 0,
            ["data"] = null,
            ["auth"] = new JsonObject
            {
                ["client_token"] = token,
                ["accessor"] = Guid.NewGuid().ToString(),
                ["policies"] = new JsonArray("default", "deprov"),
                ["lease_duration"] = AppRoleTtlSeconds,
                ["renewable"] = true,
            },
        };
        await Answer(http, 200, answer.ToJsonString());
    }

    /// <summary>The next path segment of every item under <paramref name="prefix"/>: folders end with '/'. Empty is 404.</summary>
    private static (int, string?) ListUnder(IEnumerable<string> items, string prefix)
    {
        var keys = items.Where(i => i.StartsWith(prefix, StringComparison.Ordinal))
            .Select(i => i[prefix.Length..])
            .Select(rest => rest.Contains('/', StringComparison.Ordinal) ? rest[..(rest.IndexOf('/', StringComparison.Ordinal) + 1)] : rest)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return keys.Count == 0 ? (404, Errors()) : (200, Wrap(new JsonObject { ["keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k)]) }));
    }

    private static JsonObject Metadata(FakeSecret s)
    {
        var versions = new JsonObject();
        for (var i = 0; i < s.Versions.Count; i++)
        {
            versions[(i + 1).ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["created_time"] = Time(s.Versions[i].Created), ["deletion_time"] = string.Empty, ["destroyed"] = false };
        }

        var custom = new JsonObject();
        foreach (var (k, v) in s.Custom)
        {
            custom[k] = v;
        }

        return new JsonObject
        {
            ["cas_required"] = false,
            ["created_time"] = Time(s.Versions[0].Created),
            ["current_version"] = s.Versions.Count,
            ["custom_metadata"] = s.Custom.Count == 0 ? null : custom,
            ["delete_version_after"] = "0s",
            ["max_versions"] = 0,
            ["oldest_version"] = 0,
            ["updated_time"] = Time(s.Versions[^1].Created),
            ["versions"] = versions,
        };
    }

    private static JsonObject VersionMeta(int version, DateTimeOffset created) => new()
    {
        ["created_time"] = Time(created),
        ["custom_metadata"] = null,
        ["deletion_time"] = string.Empty,
        ["destroyed"] = false,
        ["version"] = version,
    };

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string Wrap(JsonObject data) => new JsonObject
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["lease_id"] = string.Empty,
        ["renewable"] = false,
        ["lease_duration"] = 0,
        ["data"] = data,
        ["wrap_info"] = null,
        ["warnings"] = null,
        ["auth"] = null,
    }.ToJsonString();

    public static string Errors(params string?[] messages) =>
        JsonSerializer.Serialize(new { errors = messages.OfType<string>().ToArray() });

    private static async Task Answer(HttpContext http, int status, string? body)
    {
        http.Response.StatusCode = status;
        if (body is not null)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(body);
        }
    }

    private sealed class FakeSecret
    {
        public List<(Dictionary<string, string> Data, DateTimeOffset Created)> Versions { get; } = [];

        public Dictionary<string, string> Custom { get; } = new(StringComparer.Ordinal);
    }
}
