using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Aws.Protocol;

/// <summary>One IAM answer: the <c>&lt;Action&gt;Result</c> element of a success, or the code and message of an <c>ErrorResponse</c>.</summary>
internal sealed record IamResponse(HttpStatusCode Status, XElement? Result, string? ErrorCode, string? ErrorMessage, string? RequestId)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300 && ErrorCode is null;

    public bool IsNoSuchEntity => ErrorCode == "NoSuchEntity";
}

/// <summary>
/// The IAM Query API (<c>POST</c>, form-encoded <c>Action=...&amp;Version=2010-05-08</c>, XML answers in the
/// <c>https://iam.amazonaws.com/doc/2010-05-08/</c> namespace) over the shared <see cref="ResilientHttp"/> client with
/// <see cref="SigV4Handler"/> signing each attempt. The pipeline retries 5xx (<c>ServiceFailure</c>) and lost connections
/// briefly; IAM's <c>Throttling</c> comes back as HTTP 400, which the pipeline does not retry: it is reported to the rate
/// limiter (so the following calls slow down) and thrown as a rate-limited transient error for the engine to wait out.
/// </summary>
internal sealed class IamClient : IDisposable
{
    public const string Version = "2010-05-08";

    public static readonly XNamespace Ns = "https://iam.amazonaws.com/doc/2010-05-08/";

    /// <summary>IAM sends no <c>Retry-After</c> with <c>Throttling</c>: the wait the engine is told before it tries again.</summary>
    public static readonly TimeSpan ThrottleWait = TimeSpan.FromSeconds(2);

    private readonly HttpClient _http;
    private readonly string _label;
    private readonly AwsIamSettings _settings;
    private readonly AdaptiveRateLimiter _limiter;
    private readonly TimeProvider _time;

    public IamClient(string label, AwsIamSettings settings, ISecretResolver secrets, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _label = label;
        _settings = settings;
        _limiter = limiter;
        _time = time;
        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.Endpoint, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter),
            new SigV4Handler(label, settings, secrets, time),
            limiter,
            time);
    }

    /// <summary>Calls <paramref name="action"/> once; failures come back as data for the caller to interpret.</summary>
    /// <param name="what">The Deprov action, for messages (<c>disable</c>, <c>discover users</c>).</param>
    public async Task<IamResponse> CallAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, string what, CancellationToken cancellationToken)
    {
        var form = new StringBuilder($"Action={action}&Version={Version}");
        foreach (var (key, value) in parameters)
        {
            form.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, string.Empty)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(form.ToString())),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        var answer = await HttpExchange.SendAsync(_http, request, _label, action, what, _settings.Timeout, _time, cancellationToken);
        var response = Parse(answer, action, what);
        if (response.ErrorCode is "Throttling" || answer.Status == HttpStatusCode.TooManyRequests)
        {
            _limiter.OnResponse(429, ThrottleWait, null, null);
        }

        return response;
    }

    /// <summary>Calls <paramref name="action"/> and returns its result element, or throws <see cref="Failure"/>.</summary>
    public async Task<XElement> RequireAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, string what, CancellationToken cancellationToken)
    {
        var r = await CallAsync(action, parameters, what, cancellationToken);
        return r.IsSuccess ? r.Result ?? new XElement(Ns + $"{action}Result") : throw Failure(r, action, what);
    }

    /// <summary>
    /// Every <c>member</c> of the list element <paramref name="listName"/>, page after page: <c>MaxItems</c> per request,
    /// the answer's <c>Marker</c> sent back while <c>IsTruncated</c> is true. Any error answer is thrown.
    /// </summary>
    public async IAsyncEnumerable<XElement> ListAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, string listName, string what,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? marker = null;
        do
        {
            var r = await PageAsync(action, parameters, marker, what, cancellationToken);
            var result = r.IsSuccess ? r.Result : throw Failure(r, action, what);
            foreach (var member in result?.Element(Ns + listName)?.Elements(Ns + "member") ?? [])
            {
                yield return member;
            }

            marker = Next(result);
        }
        while (marker is not null);
    }

    /// <summary>The whole listing, or null when IAM answers <c>NoSuchEntity</c> (the user or group does not exist).</summary>
    public async Task<List<XElement>?> ListOrNullAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, string listName, string what,
        CancellationToken cancellationToken)
    {
        var all = new List<XElement>();
        string? marker = null;
        do
        {
            var r = await PageAsync(action, parameters, marker, what, cancellationToken);
            if (r.IsNoSuchEntity)
            {
                return null;
            }

            var result = r.IsSuccess ? r.Result : throw Failure(r, action, what);
            all.AddRange(result?.Element(Ns + listName)?.Elements(Ns + "member") ?? []);
            marker = Next(result);
        }
        while (marker is not null);
        return all;
    }

    private Task<IamResponse> PageAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, string? marker, string what, CancellationToken cancellationToken)
    {
        var page = new List<KeyValuePair<string, string>>(parameters) { new("MaxItems", _settings.PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (marker is not null)
        {
            page.Add(new("Marker", marker));
        }

        return CallAsync(action, page, what, cancellationToken);
    }

    private static string? Next(XElement? result) => Text(result, "IsTruncated") == "true" ? Text(result, "Marker") : null;

    /// <summary>
    /// Turns an error answer into a <see cref="ConnectorException"/> naming the system, the IAM action, IAM's code and
    /// message, and what to do: <c>Throttling</c> is a rate limit; 5xx, <c>ServiceFailure</c>, <c>ServiceUnavailable</c>,
    /// <c>EntityTemporarilyUnmodifiable</c> and <c>ConcurrentModification</c> are transient; <c>AccessDenied</c> names the
    /// missing permission (<c>iam:&lt;Action&gt;</c>); credential errors name the settings to check; the rest is permanent.
    /// </summary>
    public ConnectorException Failure(IamResponse response, string action, string what)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var code = response.ErrorCode ?? response.Status.ToString();
        var throttled = code is "Throttling" or "ThrottlingException" or "RequestLimitExceeded" || status == 429;
        var transient = throttled || status >= 500
            || code is "ServiceFailure" or "ServiceUnavailable" or "EntityTemporarilyUnmodifiable" or "ConcurrentModification" or "RequestExpired";
        var explanation = code switch
        {
            _ when throttled => "IAM is throttling this account's API calls",
            "AccessDenied" or "AccessDeniedException" or "UnauthorizedOperation" => $"the credentials lack the permission iam:{action}",
            "SignatureDoesNotMatch" or "IncompleteSignature" =>
                $"IAM did not accept the signature: check that secret_access_key references the secret of access key '{_settings.AccessKeyId}', and the clock",
            "InvalidClientTokenId" or "UnrecognizedClientException" =>
                $"IAM does not know access key '{_settings.AccessKeyId}' (access_key_id): it was deleted, deactivated or is from another partition",
            "NoSuchEntity" => "not found",
            "DeleteConflict" => "the user still has something IAM requires to be removed first",
            "EntityTemporarilyUnmodifiable" => "the entity is temporarily unmodifiable (recently deleted and re-created)",
            _ when transient => "IAM failed; trying again later may succeed",
            _ => "refused",
        };
        var message = response.ErrorMessage is { Length: > 0 } m ? $" \"{m}\"" : string.Empty;
        var request = response.RequestId is { } id ? $" (request id {id})" : string.Empty;
        return new ConnectorException(
            $"{_label}: {action} ({what}) failed: {status} {code}{message}: {explanation}{request}",
            transient,
            null,
            retryAfter: throttled ? ThrottleWait : null,
            rateLimited: throttled);
    }

    public static string? Text(XElement? element, string name) => element?.Element(Ns + name)?.Value;

    public static DateTimeOffset? Date(XElement? element, string name) =>
        Text(element, name) is { Length: > 0 } text
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    private IamResponse Parse(HttpAnswer answer, string action, string what)
    {
        XDocument doc;
        try
        {
            using var stream = new MemoryStream(answer.Body);
            doc = XDocument.Load(stream, LoadOptions.None);
        }
        catch (XmlException e)
        {
            var status = (int)answer.Status;
            throw new ConnectorException($"{_label}: {action} ({what}) answered {status} with a body that is not XML: {e.Message}",
                isTransient: status >= 500 || status == 429, e);
        }

        var root = doc.Root!;
        if (root.Name.LocalName == "ErrorResponse")
        {
            // IAM's error body; the RequestId sits beside the Error element.
            var error = root.Element(Ns + "Error") ?? root.Elements().FirstOrDefault(e => e.Name.LocalName == "Error");
            return new IamResponse(answer.Status, null, Child(error, "Code") ?? answer.Status.ToString(), Child(error, "Message"), Child(root, "RequestId"));
        }

        var requestId = root.Element(Ns + "ResponseMetadata")?.Element(Ns + "RequestId")?.Value;
        if (!answer.IsSuccess)
        {
            return new IamResponse(answer.Status, null, answer.Status.ToString(), null, requestId);
        }

        return new IamResponse(answer.Status, root.Element(Ns + $"{action}Result"), null, null, requestId);
    }

    private static string? Child(XElement? element, string name) =>
        element?.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    public void Dispose() => _http.Dispose();
}
