using Deprov.Core.Store;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Liveness and readiness: the only anonymous data routes, and they reveal nothing.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", () => TypedResults.Text("ok")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/ready", ReadyAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> ReadyAsync(IStore store, CancellationToken ct)
    {
        try
        {
            await store.GetSchemaVersionAsync(ct);
            return TypedResults.Text("ready");
        }
        catch (Core.StoreException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The store is not reachable.");
        }
    }
}
