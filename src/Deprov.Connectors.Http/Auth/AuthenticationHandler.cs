using System.Net;
using System.Net.Http.Headers;

namespace Deprov.Connectors.Http.Auth;

/// <summary>Adds the Authorization header; after a 401 with an OAuth token, fetches a fresh token and retries once.</summary>
public sealed class AuthenticationHandler(HttpCredentials credentials) : DelegatingHandler
{
    // The header's text, formatted once per credential rather than once per request. Never logged. A class, so that
    // concurrent requests swap it as one reference (a struct pair could be read torn).
    private Formatted? _formatted;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var header = credentials.GetAsync(cancellationToken);
        if (header.IsCompletedSuccessfully && !credentials.CanRefresh)
        {
            // Bearer and basic: nothing to refresh, so no need for an async frame of our own.
            Authorize(request, header.Result);
            return base.SendAsync(request, cancellationToken);
        }

        return SendRefreshingAsync(request, header, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendRefreshingAsync(HttpRequestMessage request, ValueTask<AuthenticationHeaderValue> pending, CancellationToken cancellationToken)
    {
        var header = await pending;
        Authorize(request, header);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !credentials.CanRefresh)
        {
            return response;
        }

        // The token was revoked or expired early: one fresh token, one more try. A second 401 is a real refusal.
        response.Dispose();
        credentials.Invalidate(header);
        Authorize(request, await credentials.GetAsync(cancellationToken));
        return await base.SendAsync(request, cancellationToken);
    }

    private void Authorize(HttpRequestMessage request, AuthenticationHeaderValue header)
    {
        var f = _formatted;
        if (f is null || !ReferenceEquals(f.Header, header))
        {
            f = new Formatted(header, header.ToString());
            _formatted = f;
        }

        // The retry strategy sends the same request message again: replace, never append.
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", f.Text);
    }

    // Not a record: a generated ToString would print the credential.
    private sealed class Formatted(AuthenticationHeaderValue header, string text)
    {
        public AuthenticationHeaderValue Header { get; } = header;

        public string Text { get; } = text;
    }
}
