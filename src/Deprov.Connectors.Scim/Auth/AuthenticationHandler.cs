using System.Net;

namespace Deprov.Connectors.Scim.Auth;

/// <summary>Adds the Authorization header; after a 401 with an OAuth token, fetches a fresh token and retries once.</summary>
internal sealed class AuthenticationHandler(ScimCredentials credentials) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var header = await credentials.GetAsync(cancellationToken);
        request.Headers.Authorization = header;
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !credentials.CanRefresh)
        {
            return response;
        }

        // The token was revoked or expired early: one fresh token, one more try. A second 401 is a real refusal.
        response.Dispose();
        credentials.Invalidate(header);
        request.Headers.Authorization = await credentials.GetAsync(cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}
