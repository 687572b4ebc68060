using Deprov.Server.Security;
using Scalar.AspNetCore;

namespace Deprov.Server.Endpoints;

/// <summary>The OpenAPI document and the Scalar reference UI (its script is embedded in Scalar.AspNetCore: no CDN). Read role.</summary>
public static class ApiReferenceEndpoints
{
    public static IEndpointRouteBuilder MapApiReferenceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().RequireAuthorization(Policies.Read);
        app.MapScalarApiReference(o => o.WithTitle("Deprov API")).RequireAuthorization(Policies.Read);
        return app;
    }
}
