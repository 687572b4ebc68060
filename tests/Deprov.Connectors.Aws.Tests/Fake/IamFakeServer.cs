using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Deprov.Connectors.Aws.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Deprov.Connectors.Aws.Tests.Fake;

/// <summary>One call as the fake received it.</summary>
public sealed record IamRecordedRequest(string Method, string? Action, IReadOnlyDictionary<string, string> Parameters, string? Authorization);

/// <summary>How the fake is set up: the one access key it knows, and what it refuses.</summary>
public sealed class IamFakeOptions
{
    public string AccessKeyId { get; init; } = "AKIAFAKEDEPROV000001";

    public string SecretAccessKey { get; init; } = "fake/Secret+Access+Key/0123456789abcdefghij";

    public string Region { get; init; } = "us-east-1";

    /// <summary>IAM actions the signing identity may not call (answered <c>403 AccessDenied</c>).</summary>
    public ISet<string> Denied { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The fake's clock, for the 15-minute signature window.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The IAM Query API on 127.0.0.1 and a free port, in memory, as AWS documents it (connector-facts §8 and the IAM API
/// reference): form-encoded POST (or GET with a query) with <c>Action</c> and <c>Version=2010-05-08</c> required; XML
/// answers in the <c>https://iam.amazonaws.com/doc/2010-05-08/</c> namespace with a <c>RequestId</c>; <c>Marker</c>/
/// <c>MaxItems</c>/<c>IsTruncated</c> paging; <c>ErrorResponse</c> bodies (NoSuchEntity 404, AccessDenied 403, Throttling
/// 400, ServiceFailure 500, DeleteConflict and EntityTemporarilyUnmodifiable 409); a SigV4 <c>Authorization</c> header
/// checked field by field and recomputed with the known secret (403 SignatureDoesNotMatch when wrong). The recomputation
/// uses the connector's own <see cref="SigV4Signer"/>, which its unit tests check against AWS's published example.
/// Injectable faults. Test only.
/// </summary>
public sealed partial class IamFakeServer : IAsyncDisposable
{
    public const string AccountId = "123456789012";
    private static readonly XNamespace Ns = "https://iam.amazonaws.com/doc/2010-05-08/";
    private static readonly DateTimeOffset Created = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FakeUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeGroup> _groups = new(StringComparer.Ordinal);
    private long _nextId;

    private IamFakeServer(WebApplication app, IamFakeOptions options, Uri root)
    {
        _app = app;
        Options = options;
        Endpoint = root;
    }

    /// <summary>A bad habit of real services: group, key and password writes are answered with success and change nothing.</summary>
    public bool IgnoreWrites { get; set; }

    /// <summary>A bad habit of real services: <c>ListGroupsForUser</c> answers an empty list whatever the user belongs to.</summary>
    public bool EmptyGroupsForUser { get; set; }

    public IamFakeOptions Options { get; }

    public IamFakeFaults Faults { get; } = new();

    /// <summary>The endpoint, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri Endpoint { get; }

    public ConcurrentQueue<IamRecordedRequest> Requests { get; } = new();

    public static Task<IamFakeServer> StartAsync(IamFakeOptions? options = null, CancellationToken cancellationToken = default) =>
        LoopbackHost.StartAsync((app, root) => new IamFakeServer(app, options ?? new IamFakeOptions(), root), s => s.HandleAsync, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- Seeding and inspection -------------------------------------------------------------------------------------

    /// <summary>Adds a user with <paramref name="keys"/> access keys (all Active unless <paramref name="inactiveKeys"/>); returns its name.</summary>
    public string AddUser(string name, bool loginProfile = true, int keys = 1, int inactiveKeys = 0, DateTimeOffset? passwordLastUsed = null,
        DateTimeOffset? keyLastUsed = null, string? emailTag = null, string[]? policies = null, string[]? inlinePolicies = null, int mfaDevices = 0)
    {
        lock (_lock)
        {
            var user = new FakeUser(name, $"AIDA{++_nextId:D17}", passwordLastUsed) { LoginProfile = loginProfile, MfaDevices = mfaDevices };
            for (var i = 0; i < keys + inactiveKeys; i++)
            {
                user.Keys.Add(new FakeKey($"AKIA{++_nextId:D16}", i < keys ? "Active" : "Inactive", keyLastUsed));
            }

            if (emailTag is not null)
            {
                user.Tags["email"] = emailTag;
            }

            user.Policies.AddRange((policies ?? []).Select(PolicyArn));
            user.InlinePolicies.AddRange(inlinePolicies ?? []);
            _users.Add(name, user);
            return name;
        }
    }

    /// <summary>Removes a member as an administrator in the IAM console would.</summary>
    public void RemoveFromGroup(string group, string user)
    {
        lock (_lock)
        {
            _groups[group].Members.Remove(user);
        }
    }

    public string AddGroup(string name, string[]? policies = null, params string[] members)
    {
        lock (_lock)
        {
            var group = new FakeGroup(name, $"AGPA{++_nextId:D17}");
            group.Policies.AddRange((policies ?? []).Select(PolicyArn));
            group.Members.AddRange(members);
            _groups.Add(name, group);
            return name;
        }
    }

    public IReadOnlyList<string> KeysOf(string user)
    {
        lock (_lock)
        {
            return [.. _users[user].Keys.Select(k => k.Id)];
        }
    }

    /// <summary>The key's status, or null when the key (or user) is gone.</summary>
    public string? KeyStatus(string user, string keyId)
    {
        lock (_lock)
        {
            return _users.TryGetValue(user, out var u) ? u.Keys.Find(k => k.Id == keyId)?.Status : null;
        }
    }

    public void SetKeyStatus(string user, string keyId, string status)
    {
        lock (_lock)
        {
            _users[user].Keys.Find(k => k.Id == keyId)!.Status = status;
        }
    }

    public bool HasLoginProfile(string user)
    {
        lock (_lock)
        {
            return _users.TryGetValue(user, out var u) && u.LoginProfile;
        }
    }

    public bool UserExists(string user)
    {
        lock (_lock)
        {
            return _users.ContainsKey(user);
        }
    }

    public bool IsMember(string group, string user)
    {
        lock (_lock)
        {
            return _groups.TryGetValue(group, out var g) && g.Members.Contains(user);
        }
    }

    /// <summary>Deletes a group behind the client's back, as another administrator would.</summary>
    public void RemoveGroup(string group)
    {
        lock (_lock)
        {
            _groups.Remove(group);
        }
    }

    public int Calls(string action) => Requests.Count(r => r.Action == action);

    private static string PolicyArn(string name) =>
        name.StartsWith("arn:", StringComparison.Ordinal) ? name
        : name is "AdministratorAccess" or "ReadOnlyAccess" or "IAMFullAccess" ? $"arn:aws:iam::aws:policy/{name}"
        : $"arn:aws:iam::{AccountId}:policy/{name}";

    // ---- Pipeline ---------------------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        Faults.Count();
        using var buffer = new MemoryStream();
        await req.Body.CopyToAsync(buffer, ctx.RequestAborted);
        var body = buffer.ToArray();
        var form = req.Method == "POST"
            ? QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body))
            : QueryHelpers.ParseQuery(req.QueryString.Value);
        var parameters = form.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        parameters.TryGetValue("Action", out var action);
        Requests.Enqueue(new IamRecordedRequest(req.Method, action, parameters, req.Headers.Authorization.ToString()));

        if (Faults.Take(action) is { } fault)
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

            if (fault.Status > 0)
            {
                await WriteAsync(ctx, Error(fault.Status, fault.Code!, fault.Code == "Throttling" ? "Rate exceeded" : $"Injected fault {fault.Code}."));
                return;
            }
        }

        if (req.Method is not ("POST" or "GET"))
        {
            await WriteAsync(ctx, Error(405, "InvalidAction", $"The HTTP method {req.Method} is not supported."));
            return;
        }

        if (CheckSignature(req, body) is { } refused)
        {
            await WriteAsync(ctx, refused);
            return;
        }

        if (string.IsNullOrEmpty(action))
        {
            await WriteAsync(ctx, Error(400, "MissingAction", "Missing Action"));
            return;
        }

        if (!parameters.TryGetValue("Version", out var version) || version != IamClient.Version)
        {
            await WriteAsync(ctx, Error(400, version is null ? "MissingParameter" : "InvalidParameterValue",
                version is null ? "The request must contain the parameter Version." : $"Could not find operation {action} for version {version}"));
            return;
        }

        if (Options.Denied.Contains(action))
        {
            await WriteAsync(ctx, Error(403, "AccessDenied",
                $"User: arn:aws:iam::{AccountId}:user/deprov is not authorized to perform: iam:{action} on resource: user {parameters.GetValueOrDefault("UserName")}"));
            return;
        }

        Answer answer;
        lock (_lock)
        {
            answer = Dispatch(action, parameters);
        }

        await WriteAsync(ctx, answer);
    }

    /// <summary>Checks the SigV4 header as IAM does; null when it holds.</summary>
    private Answer? CheckSignature(HttpRequest req, byte[] body)
    {
        var auth = req.Headers.Authorization.ToString();
        if (auth.Length == 0)
        {
            return Error(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        }

        var m = AuthorizationPattern().Match(auth);
        if (!m.Success)
        {
            return Error(400, "IncompleteSignature", $"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization={auth.Split(' ')[0]}");
        }

        var (keyId, date, region, service, signedHeaders, signature) =
            (m.Groups["key"].Value, m.Groups["date"].Value, m.Groups["region"].Value, m.Groups["service"].Value, m.Groups["signed"].Value, m.Groups["signature"].Value);
        if (keyId != Options.AccessKeyId)
        {
            return Error(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
        }

        if (region != Options.Region || service != "iam")
        {
            return Error(403, "SignatureDoesNotMatch", $"Credential should be scoped to a valid region and service 'iam', not '{region}/{service}'.");
        }

        var amzDate = req.Headers["X-Amz-Date"].ToString();
        var names = signedHeaders.Split(';');
        if (amzDate.Length != 16 || !amzDate.StartsWith(date, StringComparison.Ordinal) || !names.Contains("host") || !names.Contains("x-amz-date"))
        {
            return Error(400, "IncompleteSignature", "The request signature must sign host and x-amz-date, dated the day of its credential scope.");
        }

        var at = DateTimeOffset.ParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        if ((Options.Time.GetUtcNow() - at).Duration() > TimeSpan.FromMinutes(15))
        {
            return Error(403, "SignatureDoesNotMatch", $"Signature expired: {amzDate} is now earlier or later than 15 minutes from the server's time.");
        }

        var headers = names.Select(n => new KeyValuePair<string, string>(n, req.Headers[n].ToString())).ToList();
        var expected = SigV4Signer.Signature(new SigV4Request(req.Method, req.Path.Value ?? "/", req.QueryString.Value?.TrimStart('?') ?? string.Empty, headers, body),
            Options.SecretAccessKey, region, service);
        return expected == signature ? null
            : Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<key>[A-Za-z0-9]+)/(?<date>\d{8})/(?<region>[a-z0-9-]+)/(?<service>[a-z0-9]+)/aws4_request, SignedHeaders=(?<signed>[a-z0-9;-]+), Signature=(?<signature>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationPattern();

    private static async Task WriteAsync(HttpContext ctx, Answer answer)
    {
        ctx.Response.StatusCode = answer.Status;
        ctx.Response.ContentType = "text/xml";
        await ctx.Response.WriteAsync(answer.Body.ToString(SaveOptions.DisableFormatting), ctx.RequestAborted);
    }

    private sealed record Answer(int Status, XElement Body);

    private static Answer Ok(string action, params object[] result)
    {
        var root = new XElement(Ns + $"{action}Response");
        if (result.Length > 0)
        {
            root.Add(new XElement(Ns + $"{action}Result", result));
        }

        root.Add(new XElement(Ns + "ResponseMetadata", new XElement(Ns + "RequestId", Guid.NewGuid().ToString())));
        return new Answer(200, root);
    }

    private static Answer Error(int status, string code, string message) => new(status,
        new XElement(Ns + "ErrorResponse",
            new XElement(Ns + "Error", new XElement(Ns + "Type", status >= 500 ? "Receiver" : "Sender"), new XElement(Ns + "Code", code), new XElement(Ns + "Message", message)),
            new XElement(Ns + "RequestId", Guid.NewGuid().ToString())));
}
