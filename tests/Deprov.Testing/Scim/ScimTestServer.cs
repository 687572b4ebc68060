using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Testing.Scim;

/// <summary>One request as the fake received it, for wire-format assertions.</summary>
public sealed record ScimRecordedRequest(string Method, string Path, string Query, string? Body, string? IfMatch, string? AuthScheme, string? UserAgent);

/// <summary>
/// A SCIM 2.0 service provider (RFC 7643/7644) on 127.0.0.1 and a free port, in memory: Users and Groups with filters,
/// paging, PATCH, PUT, DELETE, ETags, the error schema and ServiceProviderConfig; bearer, basic and OAuth
/// client-credentials authentication; and injectable faults (<see cref="Faults"/>). Test infrastructure only.
/// </summary>
public sealed class ScimTestServer : IAsyncDisposable
{
    private const string Prefix = "/scim/v2/";
    private static readonly string[] ListSchema = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"];

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<string> _userOrder = [];
    private readonly List<string> _groupOrder = [];
    private readonly Dictionary<string, Stored> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Stored> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _issuedTokens = new(StringComparer.Ordinal);
    private int _tokensIssued;
    private int _gzippedResponses;
    private long _nextId;

    private sealed class Stored(JsonObject data)
    {
        public JsonObject Data { get; set; } = data;

        public long Version { get; set; } = 1;
    }

    private ScimTestServer(WebApplication app, ScimServerOptions options, Uri root)
    {
        _app = app;
        Options = options;
        Root = root;
        BaseUrl = new Uri(root, Prefix);
    }

    public ScimServerOptions Options { get; }

    public ScimFaults Faults { get; } = new();

    public Uri Root { get; }

    /// <summary>The SCIM base URL, e.g. <c>http://127.0.0.1:5123/scim/v2/</c>.</summary>
    public Uri BaseUrl { get; }

    public Uri TokenUrl => new(Root, "/oauth/token");

    public ConcurrentQueue<ScimRecordedRequest> Requests { get; } = new();

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>How the last token request authenticated the client: <c>basic</c> (header) or <c>post</c> (form body).</summary>
    public string? LastTokenClientAuth { get; private set; }

    /// <summary>JSON answers sent gzipped (option <see cref="ScimServerOptions.GzipResponses"/>).</summary>
    public int GzippedResponses => Volatile.Read(ref _gzippedResponses);

    public static Task<ScimTestServer> StartAsync(ScimServerOptions? options = null, CancellationToken cancellationToken = default) =>
        LoopbackHost.StartAsync((app, root) => new ScimTestServer(app, options ?? new ScimServerOptions(), root), s => s.HandleAsync, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Makes every issued OAuth token invalid, as an expiry or revocation would.</summary>
    public void RevokeTokens() => _issuedTokens.Clear();

    public string AddUser(string userName, bool active = true, string? email = null, string? employeeNumber = null, string? externalId = null)
    {
        var user = new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:User"),
            ["userName"] = userName,
            ["active"] = active,
            ["emails"] = new JsonArray(new JsonObject { ["value"] = email ?? userName, ["type"] = "work", ["primary"] = true }),
        };
        if (employeeNumber is not null)
        {
            user["schemas"]!.AsArray().Add(ScimPaths.EnterpriseUser);
            user[ScimPaths.EnterpriseUser] = new JsonObject { ["employeeNumber"] = employeeNumber };
        }

        if (externalId is not null)
        {
            user["externalId"] = externalId;
        }

        return Create(user, isUser: true);
    }

    public string AddGroup(string displayName, params string[] memberIds)
    {
        var members = new JsonArray();
        foreach (var m in memberIds)
        {
            members.Add(new JsonObject { ["value"] = m, ["type"] = "User" });
        }

        return Create(new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:Group"),
            ["displayName"] = displayName,
            ["members"] = members,
        }, isUser: false);
    }

    /// <summary>A copy of the stored user, or null.</summary>
    public JsonObject? GetUser(string id)
    {
        lock (_lock)
        {
            return _users.TryGetValue(id, out var s) ? s.Data.DeepClone().AsObject() : null;
        }
    }

    public bool IsActive(string id) => GetUser(id)?["active"]?.GetValue<bool>() ?? false;

    public bool IsMember(string groupId, string userId)
    {
        lock (_lock)
        {
            return _groups.TryGetValue(groupId, out var g) && g.Data["members"] is JsonArray m
                && m.OfType<JsonObject>().Any(x => (string?)x["value"] == userId);
        }
    }

    /// <summary>Adds a member behind the client's back, as another admin would.</summary>
    public void AddMember(string groupId, string userId)
    {
        lock (_lock)
        {
            var s = _groups[groupId];
            var members = s.Data["members"] as JsonArray ?? [];
            s.Data["members"] = members;
            members.Add(new JsonObject { ["value"] = userId, ["type"] = "User" });
            s.Version++;
        }
    }

    /// <summary>Removes a member behind the client's back, as another admin would.</summary>
    public void RemoveMember(string groupId, string userId)
    {
        lock (_lock)
        {
            var s = _groups[groupId];
            if (s.Data["members"] is JsonArray members)
            {
                foreach (var m in members.OfType<JsonObject>().Where(x => (string?)x["value"] == userId).ToList())
                {
                    members.Remove(m);
                }
            }

            s.Version++;
        }
    }

    /// <summary>Changes a user behind the client's back (bumps its version), as another admin would.</summary>
    public void Touch(string userId, string attribute, JsonNode? value)
    {
        lock (_lock)
        {
            var s = _users[userId];
            s.Data[attribute] = value;
            s.Version++;
        }
    }

    private string Create(JsonObject resource, bool isUser)
    {
        lock (_lock)
        {
            var id = $"{(isUser ? "u" : "g")}{++_nextId:D6}-{Guid.NewGuid():N}"[..24];
            resource["id"] = id;
            (isUser ? _users : _groups)[id] = new Stored(resource);
            (isUser ? _userOrder : _groupOrder).Add(id);
            return id;
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        Faults.Count(req.Method);
        string? body = null;
        if (req.ContentLength is > 0 || req.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(req.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync(ctx.RequestAborted);
        }

        if (Options.RecordRequests)
        {
            var auth = req.Headers.Authorization.ToString();
            Requests.Enqueue(new ScimRecordedRequest(req.Method, req.Path.Value ?? string.Empty, req.QueryString.Value ?? string.Empty, body,
                req.Headers.IfMatch.Count > 0 ? req.Headers.IfMatch.ToString() : null,
                auth.Length == 0 ? null : auth.Split(' ')[0], req.Headers.UserAgent.ToString()));
        }

        if (Faults.TakeFault(req.Method) is { } fault)
        {
            if (fault.Drop)
            {
                Faults.CountDrop();
                ctx.Abort();
                return;
            }

            if (fault.Delay is { } delay)
            {
                await Task.Delay(delay, ctx.RequestAborted);
            }

            if (fault.Status > 0)
            {
                if (fault.RetryAfter is { } ra)
                {
                    ctx.Response.Headers.RetryAfter = Math.Ceiling(ra.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                }

                if (fault.Status == 429)
                {
                    Faults.Count429();
                }

                await WriteError(ctx, new ScimProtocolException(fault.Status, fault.ScimType, $"injected fault {fault.Status}"));
                return;
            }
        }

        if (Faults.TakeQuota(TimeProvider.System) is { } quota)
        {
            ctx.Response.Headers["X-Rate-Limit-Limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture);
            ctx.Response.Headers["X-Rate-Limit-Remaining"] = quota.Remaining.ToString(CultureInfo.InvariantCulture);
            ctx.Response.Headers["X-Rate-Limit-Reset"] = quota.Reset.ToString(CultureInfo.InvariantCulture);
            if (!quota.Allowed)
            {
                Faults.Count429();
                await WriteError(ctx, new ScimProtocolException(429, null, "API call exceeded rate limit due to too many requests."));
                return;
            }
        }

        var (allowed, wait) = Faults.TryTakeToken();
        if (!allowed)
        {
            Faults.Count429();
            // RFC 9110 delay-seconds is a whole number: round up so a client that honours it never comes back early.
            ctx.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await WriteError(ctx, new ScimProtocolException(429, null, "Too many requests"));
            return;
        }

        try
        {
            var path = req.Path.Value ?? "/";
            if (path == "/oauth/token" && req.Method == "POST")
            {
                await IssueTokenAsync(ctx, body);
                return;
            }

            if (!path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                throw new ScimProtocolException(404, null, $"no endpoint at {path}");
            }

            if (Options.RequireUserAgent && string.IsNullOrEmpty(req.Headers.UserAgent))
            {
                throw new ScimProtocolException(400, null, "User-Agent header is required");
            }

            Authenticate(req);
            await RouteAsync(ctx, path[Prefix.Length..], body);
        }
        catch (ScimProtocolException e)
        {
            await WriteError(ctx, e);
        }
    }

    private void Authenticate(HttpRequest req)
    {
        var header = req.Headers.Authorization.ToString();
        var ok = Options.Auth switch
        {
            ScimAuthMode.None => true,
            ScimAuthMode.Bearer => header == $"{Options.TokenScheme} {Options.Token}",
            ScimAuthMode.Basic => header == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Options.Username}:{Options.Password}")),
            _ => header.StartsWith("Bearer ", StringComparison.Ordinal)
                && _issuedTokens.TryGetValue(header["Bearer ".Length..], out var exp) && exp > TimeProvider.System.GetUtcNow(),
        };
        if (!ok)
        {
            throw new ScimProtocolException(401, null, "Authorization failure. The authorization header is invalid or missing.");
        }
    }

    private async Task IssueTokenAsync(HttpContext ctx, string? body)
    {
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body ?? string.Empty);
        string? id = form.TryGetValue("client_id", out var i) ? i.ToString() : null;
        string? secret = form.TryGetValue("client_secret", out var s) ? s.ToString() : null;
        var header = ctx.Request.Headers.Authorization.ToString();
        LastTokenClientAuth = "post";
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            LastTokenClientAuth = "basic";
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
            id = Uri.UnescapeDataString(decoded[0]);
            secret = decoded.Length > 1 ? Uri.UnescapeDataString(decoded[1]) : null;
        }

        ctx.Response.ContentType = "application/json";
        if (!form.TryGetValue("grant_type", out var grant) || grant != "client_credentials")
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync("""{"error":"unsupported_grant_type"}""");
            return;
        }

        if (id != Options.ClientId || secret != Options.ClientSecret)
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsync("""{"error":"invalid_client","error_description":"client authentication failed"}""");
            return;
        }

        var token = Guid.NewGuid().ToString("N");
        _issuedTokens[token] = TimeProvider.System.GetUtcNow() + Options.TokenLifetime;
        Interlocked.Increment(ref _tokensIssued);
        await ctx.Response.WriteAsync(new JsonObject
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Options.TokenLifetime.TotalSeconds,
        }.ToJsonString());
    }

    private async Task RouteAsync(HttpContext ctx, string path, string? body)
    {
        var method = ctx.Request.Method;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 1 && string.Equals(parts[0], Options.ServiceProviderConfigPath, StringComparison.Ordinal) && method == "GET")
        {
            await WriteJson(ctx, 200, ServiceProviderConfig(), null);
            return;
        }

        var isUser = parts.Length > 0 && parts[0] == "Users";
        if (parts.Length == 0 || !(isUser || (parts[0] == "Groups" && !Options.NoGroups)) || parts.Length > 2)
        {
            throw new ScimProtocolException(404, null, $"no endpoint at {Prefix}{path}");
        }

        var query = ctx.Request.Query;
        if (parts.Length == 1)
        {
            switch (method)
            {
                case "GET":
                    await WriteJson(ctx, 200, List(isUser, query), null);
                    return;
                case "POST":
                    var created = ParseBody(body);
                    created.Remove("id");
                    var newId = Create(created, isUser);
                    var (c, cv) = Snapshot(isUser, newId);
                    await WriteJson(ctx, 201, c, cv);
                    return;
                default:
                    throw new ScimProtocolException(405, null, $"{method} not allowed on {parts[0]}");
            }
        }

        var id = Uri.UnescapeDataString(parts[1]);
        switch (method)
        {
            case "GET":
            {
                var (r, v) = Snapshot(isUser, id);
                await WriteJson(ctx, 200, Project(r, query), v);
                return;
            }

            case "PATCH" when !Options.PatchSupported:
                throw new ScimProtocolException(501, null, "PATCH is not supported by this service provider");
            case "PATCH":
            {
                var (r, v) = Write(isUser, id, ctx.Request, current =>
                {
                    if (Options.RejectFilterInPatchPath && JsonNode.Parse(body ?? "{}")?["Operations"] is JsonArray ops
                        && ops.Any(o => ((string?)o?["path"])?.Contains('[', StringComparison.Ordinal) == true))
                    {
                        throw ScimProtocolException.InvalidPath("Complicated SCIM path selectors that include filters are not supported");
                    }

                    return ScimPatchEngine.Apply(current, JsonNode.Parse(body ?? "null"));
                });
                if (Options.PatchReturnsNoContent)
                {
                    SetEtag(ctx, v);
                    ctx.Response.StatusCode = 204;
                    return;
                }

                await WriteJson(ctx, 200, r, v);
                return;
            }

            case "PUT":
            {
                var (r, v) = Write(isUser, id, ctx.Request, current =>
                {
                    var replacement = ParseBody(body);
                    replacement["id"] = id;
                    return replacement;
                });
                await WriteJson(ctx, 200, r, v);
                return;
            }

            case "DELETE":
                if (isUser && Options.DeleteDeactivates)
                {
                    Write(isUser, id, ctx.Request, current =>
                    {
                        var copy = current.DeepClone().AsObject();
                        copy["active"] = false;
                        return copy;
                    });
                }
                else
                {
                    lock (_lock)
                    {
                        var store = isUser ? _users : _groups;
                        var stored = store.TryGetValue(id, out var s) ? s : throw new ScimProtocolException(404, null, $"Resource {id} not found");
                        CheckIfMatch(ctx.Request, stored);
                        store.Remove(id);
                        (isUser ? _userOrder : _groupOrder).Remove(id);
                        if (isUser)
                        {
                            // RFC 7644 §3.6: the deleted user disappears everywhere, memberships included.
                            foreach (var g in _groups.Values)
                            {
                                if (g.Data["members"] is JsonArray m && m.OfType<JsonObject>().FirstOrDefault(x => (string?)x["value"] == id) is { } member)
                                {
                                    m.Remove(member);
                                    g.Version++;
                                }
                            }
                        }
                    }
                }

                ctx.Response.StatusCode = 204;
                return;
            default:
                throw new ScimProtocolException(405, null, $"{method} not allowed");
        }
    }

    private (JsonObject Resource, long Version) Write(bool isUser, string id, HttpRequest request, Func<JsonObject, JsonObject> change)
    {
        lock (_lock)
        {
            var store = isUser ? _users : _groups;
            var stored = store.TryGetValue(id, out var s) ? s : throw new ScimProtocolException(404, null, $"Resource {id} not found");
            CheckIfMatch(request, stored);
            var updated = change(stored.Data);
            if (Options.IgnoreWrites && request.Method is "PATCH" or "PUT")
            {
                // Answers as if the write had applied; nothing is stored.
                return (Render(isUser, id, new Stored(updated) { Version = stored.Version + 1 }), stored.Version + 1);
            }

            if (!JsonNode.DeepEquals(updated, stored.Data))
            {
                stored.Data = updated;
                stored.Version++;
            }

            return (Render(isUser, id, stored), stored.Version);
        }
    }

    private void CheckIfMatch(HttpRequest request, Stored stored)
    {
        if (!Options.EtagSupported || request.Headers.IfMatch.Count == 0)
        {
            return;
        }

        if (Faults.TakeStaleEtag())
        {
            stored.Version++;
        }

        var want = request.Headers.IfMatch.ToString();
        if (want != "*" && want != Etag(stored.Version))
        {
            throw new ScimProtocolException(412, null, "Failed to update. Resource has changed on the server.");
        }
    }

    private (JsonObject Resource, long Version) Snapshot(bool isUser, string id)
    {
        lock (_lock)
        {
            var store = isUser ? _users : _groups;
            return store.TryGetValue(id, out var s) ? (Render(isUser, id, s), s.Version) : throw new ScimProtocolException(404, null, $"Resource {id} not found");
        }
    }

    private JsonObject Render(bool isUser, string id, Stored s)
    {
        var r = s.Data.DeepClone().AsObject();
        if (isUser && Options.UserGroups)
        {
            r["groups"] = UserGroupsOf(id);
        }
        else if (!isUser)
        {
            ShapeMembers(r);
        }

        var meta = new JsonObject
        {
            ["resourceType"] = isUser ? "User" : "Group",
            ["location"] = new Uri(BaseUrl, $"{(isUser ? "Users" : "Groups")}/{id}").ToString(),
        };
        if (Options.EtagSupported)
        {
            meta["version"] = Etag(s.Version);
        }

        r["meta"] = meta;
        return r;
    }

    /// <summary>The user's direct groups, as the read-only <c>groups</c> attribute (caller holds the lock).</summary>
    private JsonArray UserGroupsOf(string userId)
    {
        var groups = new JsonArray();
        foreach (var gid in _groupOrder)
        {
            var g = _groups[gid].Data;
            if (g["members"] is JsonArray m && m.OfType<JsonObject>().Any(x => (string?)x["value"] == userId))
            {
                groups.Add(new JsonObject { ["value"] = gid, ["display"] = (string?)g["displayName"], ["type"] = "direct" });
            }
        }

        return groups;
    }

    /// <summary>Applies the group-read habits: omitted, capped or (when empty) absent members.</summary>
    private void ShapeMembers(JsonObject group)
    {
        if (Options.GroupReadsOmitMembers || (Options.OmitEmptyMembers && group["members"] is not JsonArray { Count: > 0 }))
        {
            group.Remove("members");
        }
        else if (Options.MembersCap is { } cap && group["members"] is JsonArray m && m.Count > cap)
        {
            group["members"] = new JsonArray([.. m.Take(cap).Select(x => x?.DeepClone())]);
        }
    }

    /// <summary>Lenient mode: a filter this fake pretends not to support, answered with an empty list.</summary>
    private static bool UnsupportedWhenLenient(string filter) =>
        filter.Contains('[', StringComparison.Ordinal)
        || filter.Contains("members", StringComparison.OrdinalIgnoreCase)
        || filter.Contains("groups", StringComparison.OrdinalIgnoreCase);

    private JsonObject List(bool isUser, IQueryCollection query)
    {
        var filterText = query.TryGetValue("filter", out var f) ? f.ToString() : string.Empty;
        ScimFilter? filter = null;
        var answerEmpty = false;
        if (filterText.Length > 0)
        {
            if (Options.LenientFilters && UnsupportedWhenLenient(filterText))
            {
                answerEmpty = true;
            }
            else
            {
                try
                {
                    filter = ScimFilter.Parse(filterText);
                }
                catch (ScimProtocolException) when (Options.LenientFilters)
                {
                    answerEmpty = true;
                }
            }
        }

        var startIndex = Math.Max(1, ParseInt(query, "startIndex") ?? 1);
        var count = Math.Clamp(ParseInt(query, "count") ?? Options.MaxPageSize, 0, Options.MaxPageSize);
        JsonNode[] page;
        int total;
        lock (_lock)
        {
            var store = isUser ? _users : _groups;
            var order = isUser ? _userOrder : _groupOrder;
            if (answerEmpty)
            {
                total = 0;
                page = [];
            }
            else if (filter is null)
            {
                // Unfiltered pages are slices: listing N resources in pages must not cost N²/page (it held the lock
                // against every other request while it copied the whole store).
                total = order.Count;
                var from = Math.Min(startIndex - 1, total);
                page = [.. order.GetRange(from, Math.Min(count, total - from)).Select(id => (JsonNode)Project(Render(isUser, id, store[id]), query))];
            }
            else
            {
                var matches = order.Select(id => (id, s: store[id])).Where(x => filter.Matches(x.s.Data)).ToList();
                total = matches.Count;
                page = [.. matches.Skip(startIndex - 1).Take(count).Select(x => (JsonNode)Project(Render(isUser, x.id, x.s), query))];
            }
        }

        return new JsonObject
        {
            ["schemas"] = new JsonArray([.. ListSchema.Select(s => (JsonNode)s)]),
            ["totalResults"] = total,
            ["startIndex"] = startIndex,
            ["itemsPerPage"] = page.Length,
            ["Resources"] = new JsonArray(page),
        };
    }

    private static JsonObject Project(JsonObject resource, IQueryCollection query)
    {
        if (query.TryGetValue("attributes", out var attrs) && attrs.ToString().Length > 0)
        {
            var keep = attrs.ToString().Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
            keep.UnionWith(["id", "schemas", "meta"]);
            foreach (var key in resource.Select(kv => kv.Key).Where(k => !keep.Contains(k)).ToList())
            {
                resource.Remove(key);
            }
        }

        if (query.TryGetValue("excludedAttributes", out var ex))
        {
            foreach (var name in ex.ToString().Split(',', StringSplitOptions.TrimEntries))
            {
                if (ScimPaths.Key(resource, name) is { } key)
                {
                    resource.Remove(key);
                }
            }
        }

        return resource;
    }

    private JsonObject ServiceProviderConfig() => new()
    {
        ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"),
        ["patch"] = new JsonObject { ["supported"] = Options.PatchSupported },
        ["bulk"] = new JsonObject { ["supported"] = false, ["maxOperations"] = 0, ["maxPayloadSize"] = 0 },
        ["filter"] = new JsonObject { ["supported"] = true, ["maxResults"] = Options.MaxPageSize },
        ["changePassword"] = new JsonObject { ["supported"] = false },
        ["sort"] = new JsonObject { ["supported"] = false },
        ["etag"] = new JsonObject { ["supported"] = Options.EtagSupported },
        ["authenticationSchemes"] = new JsonArray(new JsonObject
        {
            ["type"] = Options.Auth is ScimAuthMode.Basic ? "httpbasic" : "oauthbearertoken",
            ["name"] = Options.Auth.ToString(),
            ["primary"] = true,
        }),
    };

    private static JsonObject ParseBody(string? body)
    {
        try
        {
            return JsonNode.Parse(body ?? string.Empty) as JsonObject ?? throw new ScimProtocolException(400, "invalidSyntax", "body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new ScimProtocolException(400, "invalidSyntax", e.Message);
        }
    }

    private static int? ParseInt(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var v) && int.TryParse(v.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string Etag(long version) => $"W/\"{version}\"";

    private void SetEtag(HttpContext ctx, long? version)
    {
        if (Options.EtagSupported && version is { } v)
        {
            ctx.Response.Headers.ETag = Etag(v);
        }
    }

    private async Task WriteJson(HttpContext ctx, int status, JsonObject body, long? version)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/scim+json";
        SetEtag(ctx, version);
        if (Options.GzipResponses && ctx.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref _gzippedResponses);
            using var buffer = new MemoryStream();
            await using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                await gzip.WriteAsync(Encoding.UTF8.GetBytes(body.ToJsonString()));
            }

            ctx.Response.Headers.ContentEncoding = "gzip";
            await ctx.Response.Body.WriteAsync(buffer.ToArray());
            return;
        }

        await ctx.Response.WriteAsync(body.ToJsonString());
    }

    private static async Task WriteError(HttpContext ctx, ScimProtocolException e)
    {
        ctx.Response.StatusCode = e.Status;
        ctx.Response.ContentType = "application/scim+json";
        var body = new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:api:messages:2.0:Error"),
            ["status"] = e.Status.ToString(CultureInfo.InvariantCulture),
            ["detail"] = e.Message,
        };
        if (e.ScimType is not null)
        {
            body["scimType"] = e.ScimType;
        }

        await ctx.Response.WriteAsync(body.ToJsonString());
    }
}
