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

namespace Deprov.Connectors.Jamf.Tests.Fake;

/// <summary>One request as the fake received it, for wire-format assertions.</summary>
public sealed record JamfRecordedRequest(string Method, string Path, string Query, string? Body, string? AuthScheme);

/// <summary>What the fake knows about a queued MDM command (including the PIN, which Jamf keeps and Deprov must not).</summary>
public sealed record JamfFakeCommand(string Uuid, string ManagementId, string ClientType, string CommandType, JsonObject CommandData, DateTimeOffset DateSent)
{
    public string State { get; set; } = "PENDING";

    public DateTimeOffset? DateCompleted { get; set; }

    public string? Pin => CommandData["pin"]?.GetValue<string>();
}

/// <summary>Options of the fake; credentials are what the fake accepts.</summary>
public sealed class JamfFakeOptions
{
    public string ClientId { get; init; } = "deprov-client";

    public string ClientSecret { get; init; } = "client-secret-s3cr3t";

    public string Username { get; init; } = "deprov-api";

    public string Password { get; init; } = "user-password-s3cr3t";

    /// <summary>Token lifetime for both flows (Jamf: 30 minutes for user tokens, configurable for API clients).</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The fake's clock (token expiry, command dates); share the test's FakeTimeProvider to test expiry.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// A Jamf Pro server on 127.0.0.1 and a free port, in memory, following docs/connectors/jamf.md (and its assumptions):
/// API-client OAuth (<c>POST /api/oauth/token</c>) and user bearer tokens (<c>/api/v1/auth/token</c>, <c>keep-alive</c>,
/// <c>invalidate-token</c>); <c>GET /api/v1/computers-inventory</c> and <c>GET /api/v2/mobile-devices/detail</c> with
/// sections and <c>page</c>/<c>page-size</c>/<c>totalCount</c> paging; one record of each; <c>POST /api/v2/mdm/commands</c>
/// (DEVICE_LOCK, ERASE_DEVICE) and <c>GET /api/v2/mdm/commands</c> with an RSQL filter; Jamf's error body; devices that
/// acknowledge commands when they "check in" (<see cref="CheckIn"/>); injectable faults (<see cref="Faults"/>).
/// </summary>
public sealed class JamfFakeServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<Device> _computers = [];
    private readonly List<Device> _mobiles = [];
    private readonly List<JamfFakeCommand> _commands = [];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new(StringComparer.Ordinal);
    private int _nextId;
    private int _oauthTokens;
    private int _signIns;
    private int _keepAlives;

    private sealed record Device(int Id, string? ManagementId, string Serial, string Model, string? UserName, string? Email, bool IsComputer);

    private JamfFakeServer(WebApplication app, JamfFakeOptions options, Uri baseUrl)
    {
        _app = app;
        Options = options;
        BaseUrl = baseUrl;
    }

    public JamfFakeOptions Options { get; }

    /// <summary>A bad habit of real servers: an MDM command is answered 201 with an id and never queued.</summary>
    public bool IgnoreCommands { get; set; }

    /// <summary>A bad habit of real servers: the RSQL <c>filter</c> of the command history is not evaluated; every
    /// device's commands are listed.</summary>
    public bool IgnoreCommandFilter { get; set; }

    /// <summary>The device enrols in MDM again (a wipe and re-enrolment, or a new MDM profile): it gets a new managementId.</summary>
    public void ReEnrolComputer(int id)
    {
        lock (_lock)
        {
            var i = _computers.FindIndex(d => d.Id == id);
            _computers[i] = _computers[i] with { ManagementId = Guid.NewGuid().ToString() };
        }
    }

    public JamfFaults Faults { get; } = new();

    /// <summary>The server URL, e.g. <c>http://127.0.0.1:5123/</c> (the API is below <c>/api/</c>).</summary>
    public Uri BaseUrl { get; }

    public ConcurrentQueue<JamfRecordedRequest> Requests { get; } = new();

    public int OAuthTokensIssued => Volatile.Read(ref _oauthTokens);

    public int SignIns => Volatile.Read(ref _signIns);

    public int KeepAlives => Volatile.Read(ref _keepAlives);

    public static Task<JamfFakeServer> StartAsync(JamfFakeOptions? options = null, CancellationToken cancellationToken = default) =>
        LoopbackHost.StartAsync((app, root) => new JamfFakeServer(app, options ?? new JamfFakeOptions(), root), s => s.HandleAsync, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Adds a computer; returns its Jamf id. <paramref name="managed"/> false leaves it without a managementId.</summary>
    public int AddComputer(string serial, string? userName = null, string? email = null, string model = "MacBook Pro (14-inch, M3, 2023)", bool managed = true) =>
        Add(_computers, serial, model, userName, email, managed, isComputer: true);

    public int AddMobileDevice(string serial, string? userName = null, string? email = null, string model = "iPhone 15", bool managed = true) =>
        Add(_mobiles, serial, model, userName, email, managed, isComputer: false);

    public string ManagementIdOfComputer(int id)
    {
        lock (_lock)
        {
            return _computers.Single(d => d.Id == id).ManagementId!;
        }
    }

    public string ManagementIdOfMobile(int id)
    {
        lock (_lock)
        {
            return _mobiles.Single(d => d.Id == id).ManagementId!;
        }
    }

    public void RemoveComputer(int id)
    {
        lock (_lock)
        {
            _computers.RemoveAll(d => d.Id == id);
        }
    }

    public IReadOnlyList<JamfFakeCommand> CommandsFor(string managementId)
    {
        lock (_lock)
        {
            return [.. _commands.Where(c => c.ManagementId == managementId)];
        }
    }

    /// <summary>The device comes online: its pending commands are acknowledged.</summary>
    public void CheckIn(string managementId)
    {
        lock (_lock)
        {
            foreach (var c in _commands.Where(c => c.ManagementId == managementId && c.State is "PENDING" or "NOT_NOW"))
            {
                c.State = "ACKNOWLEDGED";
                c.DateCompleted = Options.Time.GetUtcNow();
            }
        }
    }

    /// <summary>The device answers with an error (e.g. no recovery partition for a Mac DeviceLock).</summary>
    public void Refuse(string managementId)
    {
        lock (_lock)
        {
            foreach (var c in _commands.Where(c => c.ManagementId == managementId && c.State == "PENDING"))
            {
                c.State = "ERROR";
                c.DateCompleted = Options.Time.GetUtcNow();
            }
        }
    }

    /// <summary>Makes every issued token invalid, as an expiry or an invalidate-token would.</summary>
    public void RevokeTokens() => _tokens.Clear();

    private int Add(List<Device> list, string serial, string model, string? userName, string? email, bool managed, bool isComputer)
    {
        lock (_lock)
        {
            var id = ++_nextId;
            list.Add(new Device(id, managed ? Guid.NewGuid().ToString() : null, serial, model, userName, email, isComputer));
            return id;
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        string? body = null;
        if (req.ContentLength is > 0 || req.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(req.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync(ctx.RequestAborted);
        }

        var auth = req.Headers.Authorization.ToString();
        var scheme = auth.Length == 0 ? null : auth.Split(' ')[0];
        var path = req.Path.Value ?? "/";
        Requests.Enqueue(new JamfRecordedRequest(req.Method, path, req.QueryString.Value ?? string.Empty, body, scheme));

        if (Faults.Take(req.Method, path) is { } fault)
        {
            if (fault.Hang)
            {
                // Answer only when the client gives up (its attempt timeout) or the server stops.
                var gone = new TaskCompletionSource();
                using (ctx.RequestAborted.Register(() => gone.TrySetResult()))
                using (_app.Lifetime.ApplicationStopping.Register(() => gone.TrySetResult()))
                {
                    await gone.Task;
                }

                return;
            }

            if (fault.RetryAfter is { } ra)
            {
                ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            if (fault.HtmlBody)
            {
                ctx.Response.StatusCode = fault.Status;
                ctx.Response.ContentType = "text/html";
                await ctx.Response.WriteAsync("<html><body><h1>Service Unavailable</h1></body></html>", ctx.RequestAborted);
                return;
            }

            await ErrorAsync(ctx, fault.Status, fault.Status == 429 ? "TOO_MANY_REQUESTS" : "SERVER_ERROR", null, $"injected {fault.Status}");
            return;
        }

        switch (req.Method, path)
        {
            case ("POST", "/api/oauth/token"):
                await OAuthTokenAsync(ctx, body);
                return;
            case ("POST", "/api/v1/auth/token"):
                await UserTokenAsync(ctx, auth);
                return;
            case ("POST", "/api/v1/auth/keep-alive"):
                await KeepAliveAsync(ctx, auth);
                return;
            case ("POST", "/api/v1/auth/invalidate-token"):
                if (Bearer(auth) is { } t)
                {
                    _tokens.TryRemove(t, out _);
                }

                ctx.Response.StatusCode = 204;
                return;
        }

        if (!IsAuthorized(auth))
        {
            await ErrorAsync(ctx, 401, "INVALID_TOKEN", null, "Unauthorized");
            return;
        }

        var segments = path.Trim('/').Split('/');
        switch (req.Method)
        {
            case "GET" when path == "/api/v1/computers-inventory":
                await ListAsync(ctx, _computers);
                return;
            case "GET" when path == "/api/v2/mobile-devices/detail":
                await ListAsync(ctx, _mobiles);
                return;
            case "GET" when segments is ["api", "v1", "computers-inventory", var id]:
                await OneAsync(ctx, _computers, id);
                return;
            case "GET" when segments is ["api", "v2", "mobile-devices", var id, "detail"]:
                await OneAsync(ctx, _mobiles, id);
                return;
            case "POST" when path == "/api/v2/mdm/commands":
                await PostCommandAsync(ctx, body);
                return;
            case "GET" when path == "/api/v2/mdm/commands":
                await ListCommandsAsync(ctx);
                return;
        }

        await ErrorAsync(ctx, 404, "NOT_FOUND", null, $"{req.Method} {path} is not part of the fake");
    }

    private async Task OAuthTokenAsync(HttpContext ctx, string? body)
    {
        var form = System.Web.HttpUtility.ParseQueryString(body ?? string.Empty);
        if (!string.Equals(ctx.Request.ContentType?.Split(';')[0], "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            || form["grant_type"] != "client_credentials" || form["client_id"] != Options.ClientId || form["client_secret"] != Options.ClientSecret)
        {
            await JsonAsync(ctx, 401, new JsonObject { ["error"] = "invalid_client" });
            return;
        }

        Interlocked.Increment(ref _oauthTokens);
        var token = Issue();
        await JsonAsync(ctx, 200, new JsonObject
        {
            ["access_token"] = token,
            ["scope"] = "api-role:1",
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Options.TokenLifetime.TotalSeconds,
        });
    }

    private async Task UserTokenAsync(HttpContext ctx, string auth)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Options.Username}:{Options.Password}"));
        if (auth != expected)
        {
            await ErrorAsync(ctx, 401, "INVALID_CREDENTIALS", null, "Unauthorized");
            return;
        }

        Interlocked.Increment(ref _signIns);
        await TokenAnswerAsync(ctx);
    }

    private async Task KeepAliveAsync(HttpContext ctx, string auth)
    {
        if (Bearer(auth) is not { } old || !IsAuthorized(auth))
        {
            await ErrorAsync(ctx, 401, "INVALID_TOKEN", null, "Unauthorized");
            return;
        }

        // The old token is replaced by the new one.
        _tokens.TryRemove(old, out _);
        Interlocked.Increment(ref _keepAlives);
        await TokenAnswerAsync(ctx);
    }

    private async Task TokenAnswerAsync(HttpContext ctx)
    {
        var token = Issue();
        await JsonAsync(ctx, 200, new JsonObject
        {
            ["token"] = token,
            ["expires"] = _tokens[token].UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        });
    }

    private string Issue()
    {
        var token = "jamf-" + Convert.ToHexString(Guid.NewGuid().ToByteArray());
        _tokens[token] = Options.Time.GetUtcNow() + Options.TokenLifetime;
        return token;
    }

    private static string? Bearer(string auth) => auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null;

    private bool IsAuthorized(string auth) =>
        Bearer(auth) is { } t && _tokens.TryGetValue(t, out var expires) && expires > Options.Time.GetUtcNow();

    private async Task ListAsync(HttpContext ctx, List<Device> list)
    {
        var q = ctx.Request.Query;
        if (!TryPaging(q, out var page, out var size))
        {
            await ErrorAsync(ctx, 400, "INVALID_FIELD", "page-size", "page must be >= 0 and page-size between 1 and 2000");
            return;
        }

        var sections = Sections(q);
        JsonArray results;
        int total;
        lock (_lock)
        {
            total = list.Count;
            results = [.. list.OrderBy(d => d.Id).Skip(page * size).Take(size).Select(d => (JsonNode)Record(d, sections))];
        }

        await JsonAsync(ctx, 200, new JsonObject { ["totalCount"] = total, ["results"] = results });
    }

    private async Task OneAsync(HttpContext ctx, List<Device> list, string id)
    {
        Device? d;
        lock (_lock)
        {
            d = list.FirstOrDefault(x => x.Id.ToString(CultureInfo.InvariantCulture) == id);
        }

        if (d is null)
        {
            await ErrorAsync(ctx, 404, "INVALID_ID", "id", $"Device with id {id} not found");
            return;
        }

        await JsonAsync(ctx, 200, Record(d, Sections(ctx.Request.Query)));
    }

    private static HashSet<string> Sections(IQueryCollection q)
    {
        var sections = q["section"].Where(s => s is not null).Select(s => s!.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        if (sections.Count == 0)
        {
            sections.Add("GENERAL");
        }

        return sections;
    }

    private static JsonObject Record(Device d, HashSet<string> sections)
    {
        var o = d.IsComputer
            ? new JsonObject { ["id"] = d.Id.ToString(CultureInfo.InvariantCulture), ["udid"] = Guid.Empty.ToString() }
            : new JsonObject { ["mobileDeviceId"] = d.Id.ToString(CultureInfo.InvariantCulture), ["deviceType"] = "iOS" };
        if (sections.Contains("GENERAL"))
        {
            o["general"] = d.IsComputer
                ? new JsonObject { ["name"] = $"{d.UserName ?? "spare"}'s Mac", ["managementId"] = d.ManagementId, ["remoteManagement"] = new JsonObject { ["managed"] = d.ManagementId is not null } }
                : new JsonObject { ["displayName"] = $"{d.UserName ?? "spare"}'s iPhone", ["managementId"] = d.ManagementId, ["managed"] = d.ManagementId is not null };
        }

        if (sections.Contains("HARDWARE"))
        {
            o["hardware"] = new JsonObject { ["serialNumber"] = d.Serial, ["model"] = d.Model };
        }

        if (sections.Contains("USER_AND_LOCATION"))
        {
            o["userAndLocation"] = d.IsComputer
                ? new JsonObject { ["username"] = d.UserName, ["realname"] = d.UserName, ["email"] = d.Email }
                : new JsonObject { ["username"] = d.UserName, ["realName"] = d.UserName, ["emailAddress"] = d.Email };
        }

        return o;
    }

    private async Task PostCommandAsync(HttpContext ctx, string? body)
    {
        JsonObject? request;
        try
        {
            request = body is null ? null : JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            request = null;
        }

        if (request?["clientData"] is not JsonArray { Count: > 0 } clients || request["commandData"] is not JsonObject data)
        {
            await ErrorAsync(ctx, 400, "INVALID_FIELD", "clientData", "clientData and commandData are required");
            return;
        }

        var type = data["commandType"]?.GetValue<string>();
        if (type is not ("DEVICE_LOCK" or "ERASE_DEVICE"))
        {
            await ErrorAsync(ctx, 400, "INVALID_FIELD", "commandData.commandType", $"commandType '{type}' is not supported by the fake");
            return;
        }

        var created = new JsonArray();
        var now = Options.Time.GetUtcNow();
        lock (_lock)
        {
            var targets = new List<Device>();
            foreach (var c in clients.OfType<JsonObject>())
            {
                var id = c["managementId"]?.GetValue<string>();
                var device = _computers.Concat(_mobiles).FirstOrDefault(d => d.ManagementId is not null && d.ManagementId == id);
                if (device is null)
                {
                    created = null;
                    break;
                }

                targets.Add(device);
            }

            if (created is not null)
            {
                foreach (var device in targets)
                {
                    var pin = data["pin"]?.GetValue<string>();
                    if (device.IsComputer && type == "DEVICE_LOCK" && (pin is null || pin.Length != 6 || !pin.All(char.IsAsciiDigit)))
                    {
                        created = null;
                        break;
                    }
                }
            }

            if (created is not null)
            {
                foreach (var device in targets)
                {
                    var command = new JamfFakeCommand(Guid.NewGuid().ToString(), device.ManagementId!, device.IsComputer ? "COMPUTER" : "MOBILE_DEVICE", type,
                        (JsonObject)data.DeepClone(), now);
                    if (!IgnoreCommands)
                    {
                        _commands.Add(command);
                    }

                    created.Add(new JsonObject { ["id"] = command.Uuid, ["href"] = $"/api/v2/mdm/commands?filter=uuid=={command.Uuid}" });
                }
            }
        }

        if (created is null)
        {
            await ErrorAsync(ctx, 400, "INVALID_FIELD", "clientData.managementId / commandData.pin", "unknown managementId, or a computer DEVICE_LOCK without a 6-digit pin");
            return;
        }

        await JsonAsync(ctx, 201, created);
    }

    private async Task ListCommandsAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        var filter = q["filter"].ToString();
        if (filter.Length == 0)
        {
            // Documented: "All url must contain minimum one filter field".
            await ErrorAsync(ctx, 400, "INVALID_FILTER", "filter", "a filter is required");
            return;
        }

        if (!TryPaging(q, out var page, out var size))
        {
            await ErrorAsync(ctx, 400, "INVALID_FIELD", "page-size", "bad paging");
            return;
        }

        var clauses = new List<(string Field, string Value)>();
        foreach (var part in filter.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = part.IndexOf("==", StringComparison.Ordinal);
            var field = at < 0 ? part : part[..at];
            if (at < 0 || field is not ("uuid" or "clientManagementId" or "command" or "status" or "clientType"))
            {
                await ErrorAsync(ctx, 400, "INVALID_FILTER", "filter", $"cannot filter on '{part}'");
                return;
            }

            clauses.Add((field, part[(at + 2)..]));
        }

        var descending = q["sort"].ToString().Equals("dateSent:desc", StringComparison.Ordinal);
        JsonArray results;
        int total;
        lock (_lock)
        {
            var matching = _commands.Where(c => IgnoreCommandFilter || clauses.All(cl => cl.Field switch
            {
                "uuid" => c.Uuid == cl.Value,
                "clientManagementId" => c.ManagementId == cl.Value,
                "command" => c.CommandType == cl.Value,
                "clientType" => c.ClientType == cl.Value,
                _ => string.Equals(c.State, cl.Value, StringComparison.OrdinalIgnoreCase),
            })).ToList();
            total = matching.Count;
            var ordered = descending ? matching.OrderByDescending(c => c.DateSent) : matching.OrderBy(c => c.DateSent);
            results = [.. ordered.Skip(page * size).Take(size).Select(c => (JsonNode)new JsonObject
            {
                ["uuid"] = c.Uuid,
                ["client"] = new JsonObject { ["managementId"] = c.ManagementId, ["clientType"] = c.ClientType },
                ["commandState"] = c.State,
                ["commandType"] = c.CommandType,
                ["dateSent"] = Iso(c.DateSent),
                ["dateCompleted"] = c.DateCompleted is { } d ? Iso(d) : null,
            })];
        }

        await JsonAsync(ctx, 200, new JsonObject { ["totalCount"] = total, ["results"] = results });
    }

    private static string Iso(DateTimeOffset d) => d.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static bool TryPaging(IQueryCollection q, out int page, out int size)
    {
        page = 0;
        size = 100;
        return (!q.ContainsKey("page") || (int.TryParse(q["page"], CultureInfo.InvariantCulture, out page) && page >= 0))
            && (!q.ContainsKey("page-size") || (int.TryParse(q["page-size"], CultureInfo.InvariantCulture, out size) && size is >= 1 and <= 2000));
    }

    private static Task ErrorAsync(HttpContext ctx, int status, string code, string? field, string description) =>
        JsonAsync(ctx, status, new JsonObject
        {
            ["httpStatus"] = status,
            ["errors"] = new JsonArray(new JsonObject { ["code"] = code, ["field"] = field, ["description"] = description, ["id"] = "0" }),
        });

    private static async Task JsonAsync(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(Compact), ctx.RequestAborted);
    }
}
