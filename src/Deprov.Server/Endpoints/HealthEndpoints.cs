using Deprov.Core.Store;
using Deprov.Hosting.Execution;
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

    /// <summary>
    /// Ready when the store answers and accepted events do not wait for a worker: a server that is not the worker (another
    /// process holds the worker lock, or the worker is switched off) while recorded events stay unplanned is not ready.
    /// The answer is anonymous, so it says only that, never how many or whose.
    /// </summary>
    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> ReadyAsync(IStore store, DeprovEngine engine, CancellationToken ct)
    {
        try
        {
            await store.GetSchemaVersionAsync(ct);
            if (!engine.IsWorker && (await store.GetUnplannedEventsAsync(ct)).Count > 0)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Accepted events wait for a worker.");
            }

            return TypedResults.Text("ready");
        }
        catch (Core.StoreException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The store is not reachable.");
        }
    }
}
