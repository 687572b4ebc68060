using System.Net;
using System.Text;
using Deprov.Core.Security;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Deprov.Server.Tests.Security;

/// <summary>
/// Every route × every role, plus anonymous. A route missing from <see cref="Rules"/> fails the test: adding a route
/// means deciding who may call it.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AuthorizationMatrixTests
{
    private const string Anonymous = "anonymous";

    /// <summary>Anonymous routes authenticated by an HMAC signature: an unsigned request is refused with 401 for everyone.</summary>
    private const string Signed = "signed";

    /// <summary>"METHOD pattern" → the policy it must carry (or anonymous).</summary>
    private static readonly Dictionary<string, string> Rules = new(StringComparer.Ordinal)
    {
        ["GET /health"] = Anonymous,
        ["GET /ready"] = Anonymous,
        ["GET /login"] = Anonymous,
        ["POST /login"] = Anonymous,
        ["GET /setup"] = Anonymous,
        ["POST /setup"] = Anonymous,
        ["GET /assets/{name}"] = Anonymous,
        ["GET /schemas/{name}"] = Anonymous,
        ["POST /hooks/hr"] = Signed,
        ["POST /hooks/bamboohr"] = Signed,
        ["POST /api/cases/{id}/approve"] = Policies.Operate,
        ["POST /api/cases/{id}/reject"] = Policies.Operate,
        ["POST /logout"] = Policies.SignedIn,
        ["GET /"] = Policies.SignedIn,
        ["GET /api/stats"] = Policies.Read,
        ["GET /api/people/"] = Policies.Read,
        ["GET /api/people/{id}"] = Policies.Read,
        ["GET /people"] = Policies.Read,
        ["GET /people/{id}"] = Policies.Read,
        ["GET /api/cases/"] = Policies.Read,
        ["GET /api/cases/{id}"] = Policies.Read,
        ["GET /cases/{id}"] = Policies.Read,
        ["GET /live/cases/{id}"] = Policies.Read,
        ["POST /api/events"] = Policies.Submit,
        ["GET /events/new"] = Policies.Submit,
        ["POST /events/new"] = Policies.Submit,
        ["GET /api/tasks"] = Policies.Read,
        ["POST /api/tasks/{id}/complete"] = Policies.Operate,
        ["GET /tasks"] = Policies.Read,
        ["POST /tasks/{id}/complete"] = Policies.Operate,
        ["GET /api/systems"] = Policies.Read,
        ["GET /api/systems/{id}/check"] = Policies.Operate,
        ["GET /api/findings"] = Policies.Read,
        ["POST /api/findings/{id}/accept"] = Policies.Operate,
        ["GET /systems"] = Policies.Read,
        ["GET /api/audit/"] = Policies.Read,
        ["GET /api/audit/verify"] = Policies.Read,
        ["GET /api/audit/export/{personId}"] = Policies.Read,
        ["GET /audit"] = Policies.Read,
        ["GET /api/holds"] = Policies.Read,
        ["GET /holds"] = Policies.Read,
        ["POST /holds"] = Policies.Operate,
        ["GET /api/links"] = Policies.Read,
        ["POST /api/links"] = Policies.Operate,
        ["GET /links"] = Policies.Read,
        ["POST /links"] = Policies.Operate,
        ["GET /api/admin/users"] = Policies.Admin,
        ["POST /api/admin/users"] = Policies.Admin,
        ["GET /api/admin/api-keys"] = Policies.Admin,
        ["POST /api/admin/api-keys"] = Policies.Admin,
        ["DELETE /api/admin/api-keys/{id}"] = Policies.Admin,
        ["GET /admin/"] = Policies.Admin,
        ["POST /admin/users"] = Policies.Admin,
        ["POST /admin/api-keys"] = Policies.Admin,
        ["POST /admin/api-keys/{id}/revoke"] = Policies.Admin,
        ["GET /metrics"] = Policies.Read,
        ["GET /openapi/{documentName}.json"] = Policies.Read,
        ["GET /scalar/{documentName?}"] = Policies.Read,
        // The reference UI's own scripts (static, no data); Scalar maps them anonymous.
        ["GET /scalar/scalar.js"] = Anonymous,
        ["GET /scalar/scalar.aspnetcore.js"] = Anonymous,
        ["GET /scalar/favicon.svg"] = Anonymous,
    };

    private readonly ServerFixture _server;

    public AuthorizationMatrixTests(ServerFixture server) => _server = server;

    private IEnumerable<(string Key, RouteEndpoint Endpoint)> Routes() =>
        _server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => ($"{m} {e.RoutePattern.RawText}", e)));

    [Fact]
    public void EveryRoute_HasARule_AndCarriesIt()
    {
        var problems = new List<string>();
        foreach (var (key, endpoint) in Routes())
        {
            if (!Rules.TryGetValue(key, out var rule))
            {
                problems.Add($"{key}: no rule in the authorization matrix (add one to {nameof(Rules)})");
                continue;
            }

            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            if (rule is Anonymous or Signed ? !anonymous : anonymous || !policies.Contains(rule))
            {
                problems.Add($"{key}: expected {rule}, has anonymous={anonymous} policies=[{string.Join(",", policies)}]");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.All(Rules.Keys, k => Assert.Contains(k, Routes().Select(r => r.Key)));
    }

    [Fact]
    public async Task EveryRoute_EveryRole_AllowedOrRefusedAsTheRuleSays()
    {
        var problems = new List<string>();
        foreach (var (key, _) in Routes())
        {
            if (!Rules.TryGetValue(key, out var rule))
            {
                problems.Add($"{key}: no rule");
                continue;
            }

            if (key == "POST /login")
            {
                continue; // exercised by the throttle tests; calling it here would count failed sign-ins
            }

            var method = key[..key.IndexOf(' ', StringComparison.Ordinal)];
            var path = key[(method.Length + 1)..].Replace("{documentName}", "v1", StringComparison.Ordinal).Replace("{documentName?}", "v1", StringComparison.Ordinal)
                .Replace("{name}", "console.css", StringComparison.Ordinal);
            path = System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]+\\}", "x-none");
            foreach (Role? role in Enum.GetValues<Role>().Cast<Role?>().Append(null))
            {
                using var client = _server.Client(role);
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method != "GET")
                {
                    request.Content = path.StartsWith("/api/", StringComparison.Ordinal)
                        ? new StringContent("{}", Encoding.UTF8, "application/json")
                        : new FormUrlEncodedContent([]);
                }

                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var status = response.StatusCode;
                if (rule == Signed)
                {
                    if (status != HttpStatusCode.Unauthorized)
                    {
                        problems.Add($"{key} as {role?.ToString() ?? Anonymous}: an unsigned request got {(int)status}, expected 401");
                    }

                    continue;
                }

                var allowed = rule == Anonymous || (role is { } r && Policies.Allows(rule, r));
                var refused = status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                var expectedRefusal = role is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
                if (allowed ? refused : status != expectedRefusal)
                {
                    problems.Add($"{key} as {role?.ToString() ?? Anonymous}: got {(int)status}, expected {(allowed ? "allowed" : ((int)expectedRefusal).ToString())}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
