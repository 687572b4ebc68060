using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Scalar.AspNetCore;

namespace Deprov.Server.Endpoints;

/// <summary>The OpenAPI document and the Scalar reference UI (its script is embedded in Scalar.AspNetCore: no CDN). Read role.</summary>
public static class ApiReferenceEndpoints
{
    public static IEndpointRouteBuilder MapApiReferenceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().RequireAuthorization(Policies.Read);
        app.MapScalarApiReference(o => o.WithTitle("Deprov API")).RequireAuthorization(Policies.Read);
        // The JSON schemas of the event bodies are public: a webhook sender validates against them before it has a key.
        app.MapGet("/schemas/{name}", Schema).AllowAnonymous().WithTags("Schemas");
        return app;
    }

    private static Results<FileStreamHttpResult, NotFound> Schema(string name) =>
        typeof(ApiReferenceEndpoints).Assembly.GetManifestResourceStream("schemas/" + name) is { } stream
            ? TypedResults.Stream(stream, "application/schema+json")
            : TypedResults.NotFound();
}
