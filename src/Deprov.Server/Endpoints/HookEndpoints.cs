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
            return Invalid(ex);
        }

        var person = await engine.Store.GetPersonAsync(ev.Person, ct);
        var now = engine.Time.GetUtcNow();
        var effective = ev.Instant ?? (ev.Date is { } d ? HrDates.EndOfLastDay(d, person?.TimeZone ?? "UTC") : now);
        var result = await engine.AcceptAsync(new LifecycleEvent(string.Empty, ev.Kind, ev.Person, effective, ev.Reason, "hook:hr", "hook:" + ev.Id, default,
            ev.NewDepartment, ev.NewTitle, ev.System, ev.Note), "hook:hr", ct, personKnown: person is not null);
        var response = new HookResponse(result.Event.Id, Page.Snake(result.Outcome), result.Message);
        return result.Outcome == SubmitOutcome.Duplicate ? TypedResults.Ok(response) : TypedResults.Accepted((string?)null, response);
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
            return Invalid(ex);
        }

        var responses = new List<HookResponse>();
        foreach (var (ev, parked) in await BambooHrMapper.MapAsync(changes, engine.Store, engine.Time.GetUtcNow(), ct))
        {
            if (ev is null)
            {
                responses.Add(new HookResponse(string.Empty, "refused", parked ?? "not usable"));
                continue;
            }

            var result = await engine.AcceptAsync(ev, "hook:bamboohr", ct, parked);
            responses.Add(new HookResponse(result.Event.Id, Page.Snake(result.Outcome), result.Message));
        }

        return TypedResults.Accepted((string?)null, responses.ToArray());
    }

    private static ValidationProblem Invalid(ValidationException ex) =>
        TypedResults.ValidationProblem(ex.Errors.GroupBy(e => e.Key ?? "$").ToDictionary(g => g.Key, g => g.Select(e => e.Problem + (e.Fix is null ? string.Empty : " " + e.Fix)).ToArray()),
            title: "The webhook body was refused.");

    private static async Task<byte[]?> ReadBodyAsync(HttpContext ctx, CancellationToken ct)
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

    /// <summary>An attempt with a bad signature: an audit record of the attempt, nothing else stored.</summary>
    private static Task RejectAsync(DeprovEngine engine, HttpContext ctx, string reason, CancellationToken ct) =>
        engine.Store.AppendAuditAsync([new AuditEntry(engine.Time.GetUtcNow(), "hook:unverified", "webhook_rejected", null, ctx.Request.Path.Value, null, null, null, null, null,
            "rejected", $"{reason}; from {ctx.Connection.RemoteIpAddress}")], ct);
}
