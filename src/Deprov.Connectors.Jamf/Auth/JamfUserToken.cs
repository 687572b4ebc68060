using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Jamf.Auth;

/// <summary>
/// Jamf Pro's user bearer-token flow, as a <see cref="TokenExchange"/> for <see cref="HttpCredentials.FromExchange"/>:
/// <c>POST /api/v1/auth/token</c> with <c>Authorization: Basic</c> answers <c>{"token","expires"}</c>; before it expires,
/// <c>POST /api/v1/auth/keep-alive</c> with the current token answers a new one. After a 401 the shared
/// <see cref="AuthenticationHandler"/> asks for a fresh token once (a new basic sign-in).
/// </summary>
/// <remarks>Jamf Pro's API does not take basic credentials on every request; they are only exchanged for a token here,
/// which is why <c>auth.type: basic</c> means this flow for a <c>kind: jamf</c> system.</remarks>
internal sealed class JamfUserToken : IDisposable
{
    private readonly string _label;
    private readonly HttpAuthSettings _auth;
    private readonly ISecretResolver _secrets;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;

    public JamfUserToken(string label, Uri baseUrl, HttpAuthSettings auth, ISecretResolver secrets, TimeProvider time, TimeSpan timeout)
    {
        _label = label;
        _auth = auth;
        _secrets = secrets;
        _time = time;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { BaseAddress = baseUrl, Timeout = timeout };
    }

    /// <summary>Sign-ins with basic credentials (for tests and diagnostics).</summary>
    public int SignIns { get; private set; }

    /// <summary>Token extensions through keep-alive.</summary>
    public int KeepAlives { get; private set; }

    public async Task<ExchangedToken> ExchangeAsync(string? current, CancellationToken cancellationToken)
    {
        if (current is not null)
        {
            var extended = await PostAsync("api/v1/auth/keep-alive", new AuthenticationHeaderValue("Bearer", current), "keep-alive", allowUnauthorized: true, cancellationToken);
            if (extended is not null)
            {
                KeepAlives++;
                return extended;
            }

            // The old token was refused (invalidated, or expired in between): sign in again.
        }

        string password;
        try
        {
            password = _secrets.Resolve(_auth.PasswordRef!, $"{_label} auth.password");
        }
        catch (ValidationException e)
        {
            throw new ConnectorException($"{_label}: cannot read auth.password: {e.Message}", isTransient: false, e);
        }

        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_auth.Username}:{password}")));
        var token = await PostAsync("api/v1/auth/token", basic, "sign-in", allowUnauthorized: false, cancellationToken);
        SignIns++;
        return token!;
    }

    private async Task<ExchangedToken?> PostAsync(string path, AuthenticationHeaderValue authorization, string what, bool allowUnauthorized, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = authorization;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectorException($"{_label}: POST {path} ({what}) did not answer: {e.Message}", isTransient: true, e);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Unauthorized && allowUnauthorized)
            {
                return null;
            }

            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var transient = status is 408 or 429 || (status >= 500 && status != 501);
                var why = status == 401 ? $"user '{_auth.Username}' was refused; check auth.username and the password auth.password references" : ((HttpStatusCode)status).ToString();
                var summary = new Protocol.JamfResponse(response.StatusCode, body, null).ErrorSummary();
                throw new ConnectorException($"{_label}: POST {path} ({what}) failed: {status} {why}{(summary.Length > 0 ? ": " + summary : string.Empty)}", transient);
            }

            return Parse(body, path);
        }
    }

    private ExchangedToken Parse(byte[] body, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("token", out var t) || t.GetString() is not { Length: > 0 } token)
            {
                throw new ConnectorException($"{_label}: POST {path} answered without a token.", isTransient: false);
            }

            // "expires" is ISO-8601 (UTC); without it, assume Jamf's default lifetime of 30 minutes.
            var expires = root.TryGetProperty("expires", out var e) && e.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : _time.GetUtcNow().AddMinutes(30);
            return new ExchangedToken(token, expires);
        }
        catch (JsonException e)
        {
            throw new ConnectorException($"{_label}: POST {path} answered a body that is not JSON.", isTransient: false, e);
        }
    }

    public void Dispose() => _client.Dispose();
}
