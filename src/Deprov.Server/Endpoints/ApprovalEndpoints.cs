using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Decisions on leaver cases held by the safety brake (operators and admins).</summary>
public static class ApprovalEndpoints
{
    public static IEndpointRouteBuilder MapApprovalEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/cases/{id}/approve", (string id, HttpContext ctx, Hosting.Execution.DeprovEngine engine, CancellationToken ct) => DecideAsync(id, true, ctx, engine, ct))
            .RequireAuthorization(Policies.Operate).WithTags("Cases");
        app.MapPost("/api/cases/{id}/reject", (string id, HttpContext ctx, Hosting.Execution.DeprovEngine engine, CancellationToken ct) => DecideAsync(id, false, ctx, engine, ct))
            .RequireAuthorization(Policies.Operate).WithTags("Cases");
        return app;
    }

    public sealed record Decision(string CaseId, string Decided);

    private static async Task<Results<Ok<Decision>, ProblemHttpResult>> DecideAsync(string id, bool approve, HttpContext ctx, Hosting.Execution.DeprovEngine engine, CancellationToken ct)
    {
        var decided = await engine.Store.DecideBrakedCasesAsync([id], approve, ctx.User.Actor(), engine.Time.GetUtcNow(), ct);
        if (decided.Count == 0)
        {
            return TypedResults.Problem(statusCode: 404, title: $"Case '{id}' is not held by the safety brake.");
        }

        engine.Wake();
        return TypedResults.Ok(new Decision(id, approve ? "approved" : "rejected"));
    }
}
