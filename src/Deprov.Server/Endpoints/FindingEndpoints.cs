using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Reconciliation;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Reconciliation findings, and accepting the listing an <c>inventory_shrink</c> finding refused (as <c>deprov findings accept</c>).</summary>
public static class FindingEndpoints
{
    public static IEndpointRouteBuilder MapFindingEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/findings", ListAsync).RequireAuthorization(Policies.Read).WithTags("Findings");
        app.MapPost("/api/findings/{id}/accept", AcceptAsync).RequireAuthorization(Policies.Operate).WithTags("Findings");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<Finding>>, ProblemHttpResult>> ListAsync(IStore store, string? kind, string? system, bool? all, CancellationToken ct)
    {
        FindingKind? k = null;
        if (kind is not null)
        {
            if (!Naming.TryParseEnum<FindingKind>(kind, out var parsed))
            {
                return TypedResults.Problem(statusCode: 400, title: "Unknown finding kind.", detail: $"kind '{kind}' is not a finding kind; use one of: {Naming.AllowedValues<FindingKind>()}.");
            }

            k = parsed;
        }

        return TypedResults.Ok(await store.ListFindingsAsync(new FindingQuery(k, system, all != true, 10_000), ct));
    }

    /// <summary>Reconciles the finding's system again with the shrink guard lifted; the finding resolves when the listing is written.</summary>
    private static async Task<Results<Ok<SystemReconciliation>, ProblemHttpResult>> AcceptAsync(string id, HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        try
        {
            var r = await new Reconciler(engine).AcceptShrinkAsync(id, ctx.User.Actor(), ct);
            return r.Error is null
                ? TypedResults.Ok(r)
                : TypedResults.Problem(statusCode: 502, title: $"System '{r.SystemId}' could not be read.",
                    detail: $"{r.Error} The finding stays open; 'deprov check {r.SystemId}' probes the system and says what to change.");
        }
        catch (NotFoundException ex)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such inventory_shrink finding.", detail: ex.Message);
        }
    }
}
