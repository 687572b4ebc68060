using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Polly.Timeout;

namespace Deprov.Connectors.Okta.Protocol;

/// <summary>
/// The Okta Management API over the shared <see cref="ResilientHttp"/> client (retry → adaptive rate limiter → attempt
/// timeout → authentication → sockets), with Okta's rate-limit rules on top: a 429 carries no <c>Retry-After</c> but
/// <c>X-Rate-Limit-Reset</c> (epoch seconds), so a 429 is not retried by the pipeline's short backoff (every early retry
/// would be one more 429 counted against the org) but waited out here until the reset, a bounded number of times.
/// </summary>
internal sealed partial class OktaClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly OktaSettings _settings;
    private readonly AdaptiveRateLimiter _limiter;
    private readonly TimeProvider _time;

    public OktaClient(string systemId, OktaSettings settings, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _limiter = limiter;
        _time = time;
        using (var probe = new HttpRequestMessage())
        {
            // Headers go out unvalidated per request; a malformed user_agent still fails here, at construction.
            probe.Headers.UserAgent.ParseAdd(settings.UserAgent);
        }

        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.OrgUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter)
            {
                IsRetryableStatus = status => status != 429 && HttpEndpoint.IsTransientStatus(status),
            },
            credentials,
            limiter,
            time);
    }

    /// <summary>Sends one request; <paramref name="target"/> is relative to the org URL (<c>api/v1/users/x</c>) or a next-page link.</summary>
    public Task<OktaResponse> SendAsync(HttpMethod method, string target, string what, CancellationToken cancellationToken) =>
        SendAsync(method, target, null, what, cancellationToken);

    /// <summary>Sends one request with a JSON <paramref name="body"/> (none when null).</summary>
    public async Task<OktaResponse> SendAsync(HttpMethod method, string target, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await SendOnceAsync(method, target, body, what, cancellationToken);
            if (response.Status != HttpStatusCode.TooManyRequests || attempt >= _settings.MaxRetries
                || response.RetryAfter is not { } wait || wait > _settings.MaxRetryAfter)
            {
                return response;
            }

            // The pacing strategy saw this 429 already and paused for the window's reset if the answer said when; say it
            // again from what we computed (Retry-After, or 1 s) so a 429 without Okta's headers is not retried at once.
            _limiter.OnResponse(429, wait, 0, _time.GetUtcNow() + wait);
        }
    }

    private async Task<OktaResponse> SendOnceAsync(HttpMethod method, string target, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, target);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", _settings.UserAgent);
        if (method == HttpMethod.Get)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", HttpContentDecoder.AcceptEncoding);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"Okta {_systemId}: {method} {Shown(target)} ({what}) failed: connection error: {e.Message}", isTransient: true, e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException($"Okta {_systemId}: {method} {Shown(target)} ({what}) timed out after {_settings.Timeout.TotalSeconds:0} s", isTransient: true, e);
        }

        using (response)
        {
            var bytes = await HttpContentDecoder.ReadBytesAsync(response, cancellationToken);
            TimeSpan? retryAfter = null;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                retryAfter = ResetWait(response.Headers);
            }

            return new OktaResponse(response.StatusCode, bytes, NextLink(response.Headers, target, what), retryAfter);
        }
    }

    /// <summary>Every item of a listing, page after page, following <c>Link: &lt;...&gt;; rel="next"</c> until there is none.</summary>
    public IAsyncEnumerable<JsonObject> PagesAsync(string first, string what, CancellationToken cancellationToken) =>
        PagesAsync(first, what, missingIsEmpty: false, cancellationToken);

    /// <inheritdoc cref="PagesAsync(string, string, CancellationToken)"/>
    /// <param name="missingIsEmpty">A 404 means the listed thing went away (a group deleted while discovery ran): no items.</param>
    public IAsyncEnumerable<JsonObject> PagesAsync(string first, string what, bool missingIsEmpty, CancellationToken cancellationToken) =>
        PagesAsync(first, what, missingIsEmpty, OktaRights.Read, cancellationToken);

    /// <inheritdoc cref="PagesAsync(string, string, bool, CancellationToken)"/>
    /// <param name="right">The admin right a 403 names.</param>
    public async IAsyncEnumerable<JsonObject> PagesAsync(string first, string what, bool missingIsEmpty, string right, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? target = first;
        while (target is not null)
        {
            var r = await SendAsync(HttpMethod.Get, target, what, cancellationToken);
            if (missingIsEmpty && r.Status == HttpStatusCode.NotFound)
            {
                yield break;
            }

            if (!r.IsSuccess || r.Array is not { } items)
            {
                throw Failure(r, HttpMethod.Get, target, what, right);
            }

            foreach (var item in items.OfType<JsonObject>())
            {
                yield return item;
            }

            target = r.Next?.AbsoluteUri;
        }
    }

    /// <summary>
    /// Turns an answer the caller did not expect into a <see cref="ConnectorException"/>: transient for 429, 408 and 5xx
    /// (with the wait Okta asked for), permanent otherwise, naming the credential setting (401) or the missing admin right
    /// (403), with Okta's <c>errorCode</c>, <c>errorSummary</c> and <c>errorCauses</c>.
    /// </summary>
    public ConnectorException Failure(OktaResponse response, HttpMethod method, string target, string what, string right)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var transient = status is 408 or 429 || (status >= 500 && status != 501);
        var explanation = status switch
        {
            401 => $"Okta did not accept the credentials: {CredentialHint()}",
            403 => $"the credentials lack the admin right to do this: {right}",
            404 => "not found",
            429 => "rate limit exceeded",
            _ => response.Status.ToString(),
        };
        var code = response.ErrorCode is { } c ? $" {c}" : string.Empty;
        var summary = response.ErrorSummary is { } s ? $" \"{s}\"" : string.Empty;
        var causes = response.ErrorCauses is { Count: > 0 } list ? $" (causes: {string.Join("; ", list)})" : string.Empty;
        var retry = response.RetryAfter is { } ra ? $"; the window resets in {ra.TotalSeconds:0.#} s" : string.Empty;
        return new ConnectorException(
            $"Okta {_systemId}: {method} {Shown(target)} ({what}) failed: {status}{code}{summary}{causes}: {explanation}{retry}",
            transient,
            retryAfter: transient ? response.RetryAfter : null,
            rateLimited: HttpEndpoint.IsRateLimitStatus(status));
    }

    private string CredentialHint() => _settings.Auth.Type switch
    {
        HttpAuthType.OauthClientCredentials =>
            $"check auth.client_id '{_settings.Auth.ClientId}', auth.client_secret and auth.token_url, and that the service app was granted the scopes it needs",
        HttpAuthType.Basic => "Okta's API does not take basic credentials; use 'type: bearer' with an API token (scheme SSWS)",
        _ => $"the API token auth.token references is invalid, expired or revoked, or its admin was deactivated (sent with scheme '{_settings.Auth.Scheme}')",
    };

    /// <summary>How long until Okta's window resets: <c>X-Rate-Limit-Reset</c> (epoch seconds), else <c>Retry-After</c>, else 1 s.</summary>
    private TimeSpan ResetWait(HttpResponseHeaders headers)
    {
        if (HttpContentDecoder.FirstValue(headers, "X-Rate-Limit-Reset") is { } text
            && long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var epoch))
        {
            var wait = DateTimeOffset.FromUnixTimeSeconds(epoch) - _time.GetUtcNow();
            // The reset is whole seconds; a reset already past (clock skew) still means "not right now".
            return wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1);
        }

        return AdaptiveRateLimiter.RetryAfter(headers, _time) ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>The next-page link, refused when it points anywhere but the org: the credential goes with every request.</summary>
    private Uri? NextLink(HttpResponseHeaders headers, string target, string what)
    {
        if (!headers.NonValidated.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (Match m in NextPattern().Matches(value))
            {
                if (OwnLink(m.Groups[1].Value, target, what) is { } next)
                {
                    return next;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// A next-page link (from a <c>Link</c> header or a body's <c>_links.next.href</c>) resolved against the org URL; null
    /// when it is not a URL; refused when it points anywhere but the org: the credential goes with every request.
    /// </summary>
    public Uri? OwnLink(string href, string target, string what)
    {
        if (!Uri.TryCreate(_settings.OrgUrl, href, out var next))
        {
            return null;
        }

        if (Uri.Compare(next, _settings.OrgUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            throw new ConnectorException(
                $"Okta {_systemId}: GET {Shown(target)} ({what}) returned a next-page link to {next.GetLeftPart(UriPartial.Authority)}, not to {_settings.OrgUrl.GetLeftPart(UriPartial.Authority)}; not followed.",
                isTransient: false);
        }

        return next;
    }

    /// <summary>A target for messages: next-page links are shown relative to the org, never with another host's name.</summary>
    private string Shown(string target) =>
        target.StartsWith(_settings.OrgUrl.AbsoluteUri, StringComparison.OrdinalIgnoreCase) ? target[_settings.OrgUrl.AbsoluteUri.Length..] : target;

    [GeneratedRegex("<([^>]*)>\\s*;\\s*rel=\"?next\"?", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex NextPattern();

    public void Dispose() => _http.Dispose();
}

/// <summary>The admin rights each call needs, as named in 403 messages (OAuth scope, and what an API token's admin needs).</summary>
internal static class OktaRights
{
    public const string Read = "okta.users.read / okta.groups.read (an API token of a Read-only Admin or above)";

    public const string UserLifecycle = "okta.users.manage (an API token of an admin who may change users' lifecycle state, e.g. Org Admin)";

    public const string Sessions = "okta.users.manage (an API token of an admin who may clear users' sessions, e.g. Org Admin)";

    public const string Groups = "okta.groups.manage (an API token of an admin who may manage this group's membership, e.g. Group Membership Admin)";

    public const string ReadLogs = "okta.logs.read (an API token of a Read-only Admin or above, or a Report Admin)";

    public const string ReadRoles = "okta.roles.read (an API token of a Read-only Admin or above)";

    public const string ManageRoles = "okta.roles.manage (an API token of an admin who may assign admin roles, e.g. Super Admin)";
}
