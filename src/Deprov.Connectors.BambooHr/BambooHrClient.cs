using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Polly.Timeout;

namespace Deprov.Connectors.BambooHr;

/// <summary>
/// BambooHR's API as Deprov uses it: <c>GET employees/changed?since=</c>, <c>GET employees/{id}?fields=…&amp;onlyCurrent=false</c>
/// and <c>POST reports/custom?format=JSON&amp;onlyCurrent=false</c>, JSON only (<c>Accept: application/json</c>, else
/// BambooHR answers XML), the API key as the Basic user name. 429 and 503 with <c>Retry-After</c> are waited out by the
/// resilience pipeline up to <see cref="BambooHrSettings.MaxRetryAfter"/>; beyond it, or after the retries, the call
/// fails transiently. BambooHR puts an error's detail in <c>X-BambooHR-Error-Message</c>, which messages quote.
/// </summary>
internal sealed class BambooHrClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _label;
    private readonly BambooHrSettings _settings;
    private readonly TimeProvider _time;
    private int _calls;

    public BambooHrClient(string sourceId, BambooHrSettings settings, ISecretResolver secrets, TimeProvider time)
    {
        _label = $"BambooHR {sourceId}";
        _settings = settings;
        _time = time;
        var endpoint = new HttpEndpoint(settings.BaseUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter);
        var limiter = new AdaptiveRateLimiter(null, settings.MaxRetryAfter, time);
        _http = ResilientHttp.Create(endpoint, new ApiKeyHandler(settings.ApiKeyRef, secrets, _label), limiter, time);
    }

    /// <summary>Requests made so far (for the pull's report).</summary>
    public int Calls => Volatile.Read(ref _calls);

    public Task<JsonDocument> ChangedAsync(string since, CancellationToken cancellationToken) =>
        GetJsonAsync($"employees/changed?since={Uri.EscapeDataString(since)}", "list changed employees", cancellationToken)!;

    /// <summary>The employee with these fields, future-dated values included; null on 404.</summary>
    public Task<JsonDocument?> EmployeeAsync(string id, IReadOnlyList<string> fields, CancellationToken cancellationToken) =>
        GetJsonAsync($"employees/{Uri.EscapeDataString(id)}?fields={string.Join(',', fields)}&onlyCurrent=false", "read employee", cancellationToken, notFoundIsNull: true);

    /// <summary>Every employee, active or not, with these fields (a custom report: one request, future-dated values included).</summary>
    public async Task<JsonDocument> ReportAsync(IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["title"] = "Deprov HR sync", ["fields"] = fields });
        return (await SendAsync(HttpMethod.Post, "reports/custom?format=JSON&onlyCurrent=false", body, "list all employees", notFoundIsNull: false, cancellationToken))!;
    }

    private Task<JsonDocument?> GetJsonAsync(string path, string what, CancellationToken cancellationToken, bool notFoundIsNull = false) =>
        SendAsync(HttpMethod.Get, path, null, what, notFoundIsNull, cancellationToken);

    private async Task<JsonDocument?> SendAsync(HttpMethod method, string path, string? body, string what, bool notFoundIsNull, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var shown = path.Split('?')[0];
        Interlocked.Increment(ref _calls);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"{_label}: {method} {shown} ({what}) failed: connection error: {e.Message}", isTransient: true, e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException($"{_label}: {method} {shown} ({what}) timed out after {_settings.Timeout.TotalSeconds:0} s", isTransient: true, e);
        }

        using (response)
        {
            var bytes = await HttpContentDecoder.ReadBytesAsync(response, cancellationToken);
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.NotFound && notFoundIsNull)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                var detail = HttpContentDecoder.FirstValue(response.Headers, "X-BambooHR-Error-Message");
                var said = detail is null ? string.Empty : $": {Clip(detail)}";
                if (HttpEndpoint.IsRateLimitStatus(status))
                {
                    var wait = AdaptiveRateLimiter.RetryAfter(response.Headers, _time);
                    throw new ConnectorException(string.Create(CultureInfo.InvariantCulture,
                        $"{_label}: {method} {shown} ({what}) was rate limited ({status}{(wait is { } w ? $", Retry-After {w.TotalSeconds:0} s" : string.Empty)}) after {_settings.MaxRetries} retries{said}"),
                        isTransient: true, retryAfter: wait, rateLimited: true);
                }

                var fix = status switch
                {
                    401 => " Check the API key (api_key): BambooHR did not accept it.",
                    403 => " The API key's user may not read this; give it access to employee data and reports.",
                    _ => string.Empty,
                };
                throw new ConnectorException($"{_label}: {method} {shown} ({what}) answered {status}{said}.{fix}", isTransient: HttpEndpoint.IsTransientStatus(status));
            }

            try
            {
                return JsonDocument.Parse(bytes);
            }
            catch (JsonException e)
            {
                throw new ConnectorException($"{_label}: {method} {shown} ({what}) answered {status} with a body that is not JSON ({e.Message}); BambooHR answers XML without Accept: application/json.",
                    isTransient: false, e);
            }
        }
    }

    private static string Clip(string text) => text.Length > 200 ? text[..200] + "…" : text;

    public void Dispose() => _http.Dispose();

    /// <summary>BambooHR's API key auth: HTTP Basic with the key as the user name and any password (<c>x</c> by convention).
    /// The key is read when first needed, so a missing variable fails the pull that needs it, saying which.</summary>
    private sealed class ApiKeyHandler(string keyRef, ISecretResolver secrets, string label) : DelegatingHandler
    {
        private AuthenticationHeaderValue? _header;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _header ??= new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secrets.Resolve(keyRef, $"{label} api_key") + ":x")));
            request.Headers.Authorization = _header;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
