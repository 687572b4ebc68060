using System.Globalization;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Hooks;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Submitting HR events (API and form). Legal holds are events too, but only operators and admins may set them.</summary>
public static class EventEndpoints
{
    public static IEndpointRouteBuilder MapEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/events", SubmitAsync).RequireAuthorization(Policies.Submit).WithTags("Events").Accepts<EventRequest>("application/json")
            .Produces<EventResponse>(200).Produces<EventResponse>(202).ProducesValidationProblem().ProducesProblem(409);
        app.MapGet("/events/new", FormPage).RequireAuthorization(Policies.Submit).ExcludeFromDescription();
        app.MapPost("/events/new", SubmitFormAsync).RequireAuthorization(Policies.Submit).ExcludeFromDescription();
        return app;
    }

    /// <summary>The body of <c>POST /api/events</c> (docs/api-event.schema.json); read strictly, not bound leniently.</summary>
    /// <param name="Kind">leave, move, contract_end, rehire, termination_cancelled, legal_hold_set, legal_hold_released.</param>
    /// <param name="EffectiveAt">When access must end: a date (the last day worked) or a date-time (no offset: the person's time zone); default now.</param>
    public sealed record EventRequest(string Kind, string PersonId, string? EffectiveAt = null, string? Reason = null, string? IdempotencyKey = null,
        string? NewDepartment = null, string? NewTitle = null, string? HoldSystemId = null, string? Note = null);

    public sealed record EventResponse(string EventId, string Outcome, string? CaseId, string Message);

    /// <summary>
    /// The body is read strictly (docs/api-event.schema.json): unknown or duplicate fields, wrong types and misspelled
    /// values are refused with their JSON path, so a typo never becomes a different event.
    /// </summary>
    private static async Task<Results<Accepted<EventResponse>, Ok<EventResponse>, ProblemHttpResult, ValidationProblem>> SubmitAsync(HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        var body = await HookEndpoints.ReadBodyAsync(ctx, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: "The body is too large.", detail: "Send one event of at most 256 KiB.");
        }

        try
        {
            var parsed = HookPayloads.Parse(body, EventBodyFormat.Api);
            if (parsed.Kind is EventKind.LegalHoldSet or EventKind.LegalHoldReleased && !Page.Can(ctx, Policies.Operate))
            {
                return TypedResults.Problem(statusCode: 403, title: "Only operators and admins set or release legal holds.");
            }

            var person = await engine.Store.GetPersonAsync(parsed.Person, ct);
            var now = engine.Time.GetUtcNow();
            var (effective, zoneNote) = parsed.EffectiveAt(person?.TimeZone, now);
            var id = engine.NewId("E");
            var e = new LifecycleEvent(id, parsed.Kind, parsed.Person, effective, parsed.Reason, "api:" + ctx.User.Actor(), parsed.Id ?? id, now,
                parsed.NewDepartment, parsed.NewTitle, parsed.System, parsed.Note);
            var result = await engine.SubmitAsync(e, ctx.User.Actor(), ct);
            var response = new EventResponse(result.Event.Id, Page.Snake(result.Outcome), result.Plan?.Case.Id, zoneNote is null ? result.Message : $"{result.Message}; {zoneNote}");
            return result.Outcome switch
            {
                SubmitOutcome.Planned => TypedResults.Accepted(result.Plan is { } p ? $"/api/cases/{p.Case.Id}" : (string?)null, response),
                SubmitOutcome.Conflict => TypedResults.Problem(statusCode: 409, title: "Idempotency key conflict.", detail: result.Message,
                    extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["$.idempotencyKey"] = [result.Message] } }),
                _ => TypedResults.Ok(response),
            };
        }
        catch (NotFoundException ex)
        {
            return TypedResults.Problem(statusCode: 404, title: "The event was refused.", detail: ex.Message);
        }
        catch (ValidationException ex)
        {
            return HookEndpoints.Invalid(ex, "The event was refused.");
        }
    }

    private static LifecycleEvent ToEvent(EventRequest r, DateTimeOffset? effective, HttpContext ctx, DeprovEngine engine)
    {
        if (!Naming.TryParseEnum<EventKind>(r.Kind ?? string.Empty, out var kind))
        {
            throw new ValidationException($"'{r.Kind}' is not an event kind; use one of: {Naming.AllowedValues<EventKind>()}.");
        }

        if (kind is EventKind.LegalHoldSet or EventKind.LegalHoldReleased && !Page.Can(ctx, Policies.Operate))
        {
            throw new UnauthorizedAccessException("Only operators and admins set or release legal holds.");
        }

        var reason = ExitReason.None;
        if (!string.IsNullOrEmpty(r.Reason) && !Naming.TryParseEnum(r.Reason, out reason))
        {
            throw new ValidationException($"'{r.Reason}' is not a reason; use one of: {Naming.AllowedValues<ExitReason>()}.");
        }

        if (string.IsNullOrWhiteSpace(r.PersonId))
        {
            throw new ValidationException("personId is required.");
        }

        var now = engine.Time.GetUtcNow();
        var id = engine.NewId("E");
        return new LifecycleEvent(id, kind, r.PersonId.Trim(), effective ?? now, reason, "api:" + ctx.User.Actor(), string.IsNullOrWhiteSpace(r.IdempotencyKey) ? id : r.IdempotencyKey,
            now, r.NewDepartment, r.NewTitle, r.HoldSystemId, r.Note);
    }

    private static ContentHttpResult FormPage(HttpContext ctx, string? person) => Form(ctx, person, null, 200);

    private static ContentHttpResult Form(HttpContext ctx, string? person, string? error, int status) => Page.Render(ctx, "Submit an HR event", h =>
    {
        if (error is not null)
        {
            h.Add($"<p role=\"alert\">{error}</p>");
        }

        h.Add($"<form method=\"post\" action=\"/events/new\">{Page.Csrf(ctx)}<label for=\"personId\">Person id</label><input id=\"personId\" name=\"personId\" value=\"{person}\" required>");
        h.Add($"<label for=\"kind\">Event</label><select id=\"kind\" name=\"kind\">");
        foreach (var k in Enum.GetValues<EventKind>())
        {
            if (k is EventKind.LegalHoldSet or EventKind.LegalHoldReleased && !Page.Can(ctx, Policies.Operate))
            {
                continue;
            }

            h.Add($"<option value=\"{Page.Snake(k)}\">{Page.Snake(k)}</option>");
        }

        h.Add($"</select><label for=\"reason\">Reason</label><select id=\"reason\" name=\"reason\"><option value=\"involuntary\">involuntary</option><option value=\"voluntary\">voluntary</option><option value=\"none\">none</option></select>");
        h.Add($"<label for=\"effective\">Effective (ISO date-time, empty = now)</label><input id=\"effective\" name=\"effective\" placeholder=\"2026-12-31T17:00:00Z\">");
        h.Add($"<label for=\"note\">Note</label><input id=\"note\" name=\"note\"><p><button type=\"submit\" class=\"primary\" id=\"submit-event\">Submit</button></p></form>");
    }, status);

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> SubmitFormAsync(HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        var f = await ctx.Request.ReadFormAsync(ct);
        var person = f["personId"].ToString();
        try
        {
            DateTimeOffset? effective = null;
            if (f["effective"].ToString() is { Length: > 0 } e)
            {
                effective = DateTimeOffset.TryParse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : throw new ValidationException($"'{e}' is not a date-time.");
            }

            var request = new EventRequest(f["kind"].ToString(), person, null, f["reason"].ToString(), null, null, null, null, f["note"].ToString() is { Length: > 0 } n ? n : null);
            var result = await engine.SubmitAsync(ToEvent(request, effective, ctx, engine), ctx.User.Actor(), ct);
            if (result.Plan is { } plan && Page.Can(ctx, Policies.Read))
            {
                return TypedResults.Redirect($"/cases/{plan.Case.Id}");
            }

            return Page.Message(ctx, "Event submitted", $"{Page.Snake(result.Outcome)}: {result.Message}", 200);
        }
        catch (ValidationException ex)
        {
            return Form(ctx, person, ex.Message, 400);
        }
        catch (UnauthorizedAccessException ex)
        {
            return Form(ctx, person, ex.Message, 403);
        }
    }
}
