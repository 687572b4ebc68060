using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Hooks;
using Deprov.Server.Console;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>The signing secrets of the HR webhooks, from the environment (comma-separated: several during rotation).</summary>
public sealed class HookSecrets
{
    public IReadOnlyList<string> Hr { get; init; } = Split(Environment.GetEnvironmentVariable("DEPROV_HOOK_SECRETS"));

    public IReadOnlyList<string> BambooHr { get; init; } = Split(Environment.GetEnvironmentVariable("DEPROV_BAMBOOHR_KEYS"));

    private static string[] Split(string? value) => (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// Signed HR webhooks: anonymous routes whose HMAC signature is the authentication (docs/hr-triggers.md). They answer
/// fast: the event is made durable (group-committed), then planned by the worker.
/// </summary>
public static class HookEndpoints
{
    private const int MaxBody = 256 * 1024;

    public static IEndpointRouteBuilder MapHookEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/hooks/hr", GenericAsync).AllowAnonymous().WithTags("Webhooks").DisableAntiforgery();
        app.MapPost("/hooks/bamboohr", BambooHrAsync).AllowAnonymous().WithTags("Webhooks").DisableAntiforgery();
        return app;
    }

    public sealed record HookResponse(string EventId, string Outcome, string Message);

    private static async Task<Results<Accepted<HookResponse>, Ok<HookResponse>, ProblemHttpResult, ValidationProblem>> GenericAsync(HttpContext ctx, DeprovEngine engine, HookSecrets secrets,
        CancellationToken ct)
    {
        if (secrets.Hr.Count == 0)
        {
            return TypedResults.Problem(statusCode: 503, title: "This webhook is not configured.", detail: "Set DEPROV_HOOK_SECRETS (comma-separated during a rotation) and restart the server.");
        }

        var body = await ReadBodyAsync(ctx, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: $"The body is larger than {MaxBody / 1024} KiB.");
        }

        if (new WebhookSignature(engine.Time).VerifyGeneric(ctx.Request.Headers["Deprov-Signature"], body, secrets.Hr) is { } failure)
        {
            await RejectAsync(engine, ctx, failure.Reason, ct);
            return TypedResults.Problem(statusCode: 401, title: "Webhook signature refused.", detail: failure.Reason);
        }

        GenericEvent ev;
        try
        {
            ev = HookPayloads.ParseGeneric(body);
        }
        catch (ValidationException ex)
        {
            return Invalid(ex, "The webhook body was refused.");
        }

        // Holds are an operator's decision: the HR secret may set one only where the policy allows it, and never release one.
        if (ev.Kind == EventKind.LegalHoldReleased || (ev.Kind == EventKind.LegalHoldSet && !engine.Config.Policy.HrSourcesMaySetLegalHolds))
        {
            var why = ev.Kind == EventKind.LegalHoldReleased
                ? "An HR source never releases a legal hold: operators and admins release holds (console /holds, `deprov hold release`, or POST /api/events with an operator key)."
                : "An HR source may not set a legal hold unless the policy allows it (policy.hr_sources.may_set_legal_holds: true); operators and admins set holds.";
            await RefuseHoldAsync(engine, ctx, ev, why, ct);
            return TypedResults.Problem(statusCode: 403, title: "Legal holds are not taken from HR webhooks.", detail: why,
                extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["$.type"] = [why] } });
        }

        var person = await engine.Store.GetPersonAsync(ev.Person, ct);
        var now = engine.Time.GetUtcNow();
        var (effective, zoneNote) = ev.EffectiveAt(person?.TimeZone, now);
        SubmitResult result;
        try
        {
            result = await engine.AcceptAsync(new LifecycleEvent(string.Empty, ev.Kind, ev.Person, effective, ev.Reason, "hook:hr", "hook:" + ev.Id, now,
                ev.NewDepartment, ev.NewTitle, ev.System, ev.Note), "hook:hr", ct, personKnown: person is not null);
        }
        catch (ValidationException ex)
        {
            return Invalid(ex, "The webhook body was refused.");
        }

        var response = new HookResponse(result.Event.Id, Page.Snake(result.Outcome), zoneNote is null ? result.Message : $"{result.Message}; {zoneNote}");
        return result.Outcome switch
        {
            SubmitOutcome.Duplicate => TypedResults.Ok(response),
            SubmitOutcome.Conflict => TypedResults.Problem(statusCode: 409, title: "Idempotency key conflict.", detail: result.Message,
                extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["$.id"] = [result.Message] } }),
            _ => TypedResults.Accepted((string?)null, response),
        };
    }

    private static async Task<Results<Accepted<HookResponse[]>, ProblemHttpResult, ValidationProblem>> BambooHrAsync(HttpContext ctx, DeprovEngine engine, HookSecrets secrets,
        CancellationToken ct)
    {
        if (secrets.BambooHr.Count == 0)
        {
            return TypedResults.Problem(statusCode: 503, title: "This webhook is not configured.", detail: "Set DEPROV_BAMBOOHR_KEYS (the webhook's private key) and restart the server.");
        }

        var body = await ReadBodyAsync(ctx, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: $"The body is larger than {MaxBody / 1024} KiB.");
        }

        var headers = ctx.Request.Headers;
        if (new WebhookSignature(engine.Time).VerifyBambooHr(headers["X-BambooHR-Signature"], headers["X-BambooHR-Timestamp"], body, secrets.BambooHr) is { } failure)
        {
            await RejectAsync(engine, ctx, failure.Reason, ct);
            return TypedResults.Problem(statusCode: 401, title: "Webhook signature refused.", detail: failure.Reason);
        }

        IReadOnlyList<BambooChange> changes;
        try
        {
            changes = HookPayloads.ParseBambooHr(body);
        }
        catch (ValidationException ex)
        {
            return Invalid(ex, "The BambooHR webhook body was refused.");
        }

        var outcomes = await BambooHrIntake.HandleAsync(engine, changes, ctx.Request.Path.Value ?? "/hooks/bamboohr", ct);
        var responses = outcomes.Select(o => new HookResponse(o.EventId, o.Outcome, o.Message)).ToList();
        return TypedResults.Accepted((string?)null, responses.ToArray());
    }

    /// <summary>A 400 whose <c>errors</c> map each JSON path to what is wrong there and how to fix it.</summary>
    internal static ValidationProblem Invalid(ValidationException ex, string title) =>
        TypedResults.ValidationProblem(ex.Errors.GroupBy(e => e.Key is null ? "$" : e.Key.StartsWith('$') ? e.Key : "$." + e.Key).ToDictionary(g => g.Key, g => g.Select(e => e.Problem + (e.Fix is null ? string.Empty : " Fix: " + e.Fix)).ToArray(), StringComparer.Ordinal),
            title: title, detail: string.Join(" ", ex.Errors.Select(e => $"{e.Key ?? "$"}: {e.Problem}")));

    internal static async Task<byte[]?> ReadBodyAsync(HttpContext ctx, CancellationToken ct)
    {
        if (ctx.Request.ContentLength is > MaxBody)
        {
            return null;
        }

        if (ctx.Request.ContentLength is { } length)
        {
            // The usual case: read straight into a buffer of the announced size (one copy, no stream).
            var exact = new byte[length];
            var read = await ctx.Request.Body.ReadAtLeastAsync(exact, exact.Length, throwOnEndOfStream: false, ct);
            return read == exact.Length ? exact : exact[..read]; // Kestrel refuses a body that does not match its Content-Length
        }

        using var buffer = new MemoryStream(1024);
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(8 * 1024);
        try
        {
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + n > MaxBody)
                {
                    return null;
                }

                await buffer.WriteAsync(chunk.AsMemory(0, n), ct);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>A legal hold asked for by an HR source and refused: audited, nothing else stored.</summary>
    private static Task RefuseHoldAsync(DeprovEngine engine, HttpContext ctx, GenericEvent ev, string why, CancellationToken ct) =>
        engine.Store.AppendAuditAsync([new AuditEntry(engine.Time.GetUtcNow(), "hook:hr", "legal_hold_refused", null, Page.Snake(ev.Kind), ev.Person, null, null, null, null,
            "refused", $"{why} (hook id {ev.Id}, system {ev.System ?? "all"})")], ct);

    /// <summary>An attempt with a bad signature: an audit record of the attempt, nothing else stored.</summary>
    private static Task RejectAsync(DeprovEngine engine, HttpContext ctx, string reason, CancellationToken ct) =>
        engine.Store.AppendAuditAsync([new AuditEntry(engine.Time.GetUtcNow(), "hook:unverified", "webhook_rejected", null, ctx.Request.Path.Value, null, null, null, null, null,
            "rejected", $"{reason}; from {ctx.Connection.RemoteIpAddress}")], ct);
}
