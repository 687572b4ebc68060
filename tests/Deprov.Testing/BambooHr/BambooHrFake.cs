using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deprov.Testing.BambooHr;

/// <summary>One employee in the fake: current field values, and values future-dated rows give (seen with onlyCurrent=false).</summary>
public sealed class FakeEmployee
{
    public required string Id { get; init; }

    public Dictionary<string, string?> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Values from rows effective after today: BambooHR returns them only with <c>onlyCurrent=false</c>.</summary>
    public Dictionary<string, string?> Future { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset LastChanged { get; set; }

    public string Action { get; set; } = "Inserted";
}

/// <summary>
/// An in-process fake of the parts of BambooHR's API Deprov uses (outbound-facts §9), with its habits: HTTP Basic with the
/// API key as the user name (any password), XML unless <c>Accept: application/json</c>, errors with the detail in
/// <c>X-BambooHR-Error-Message</c>, <c>GET /api/v1/employees/changed?since=</c> answering an object keyed by id with the
/// <c>latest</c> time (400 when <c>since</c> is missing or not ISO 8601), <c>GET /api/v1/employees/{id}</c> with
/// <c>fields</c> and <c>onlyCurrent</c> (future-dated values hidden unless false), <c>POST /api/v1/reports/custom</c>, and
/// rate limiting (429 or 503 with <c>Retry-After</c>). Faults are switched on per test.
/// </summary>
public sealed class BambooHrFake : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<(int Status, int RetryAfter)> _rateLimits = new();
    private int _calls;

    private BambooHrFake(WebApplication app, Uri url, TimeProvider time)
    {
        _app = app;
        _time = time;
        BaseUrl = url;
    }

    public const string ApiKey = "fake-bamboo-key-7c1e";

    public Uri BaseUrl { get; }

    /// <summary>The API root a source is configured with.</summary>
    public Uri ApiUrl => new(BaseUrl, "api/v1/");

    public ConcurrentDictionary<string, FakeEmployee> Employees { get; } = new(StringComparer.Ordinal);

    /// <summary>Deleted employees: listed as Deleted by the changed listing, 404 on read, absent from reports.</summary>
    public ConcurrentDictionary<string, DateTimeOffset> Deleted { get; } = new(StringComparer.Ordinal);

    public int Calls => Volatile.Read(ref _calls);

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The custom report answers 200 with no employees (a broken report, a user who lost access).</summary>
    public bool EmptyReport { get; set; }

    /// <summary>The custom report answers only this many employees.</summary>
    public int? TruncateReportTo { get; set; }

    /// <summary>How long every answer takes (the benchmark's network and BambooHR's own time); zero in tests.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Marks every employee as last changed at <paramref name="at"/> (a company that existed before the test).</summary>
    public void Backdate(DateTimeOffset at)
    {
        foreach (var e in Employees.Values)
        {
            lock (e)
            {
                e.LastChanged = at;
            }
        }
    }

    public static Task<BambooHrFake> StartAsync(TimeProvider time) =>
        LoopbackHost.StartAsync((app, url) => new BambooHrFake(app, url, time), f => f.HandleAsync);

    /// <summary>The next <paramref name="count"/> requests are refused with <paramref name="status"/> (429 or 503) and Retry-After.</summary>
    public void RateLimitNext(int count, int retryAfterSeconds, int status = 429)
    {
        for (var i = 0; i < count; i++)
        {
            _rateLimits.Enqueue((status, retryAfterSeconds));
        }
    }

    /// <summary>Adds or changes an employee as an HR user would: the change is stamped now and listed as changed.</summary>
    public FakeEmployee Put(string id, string first, string last, string email, string department, string title, string status = "Full-Time", string? terminationDate = null)
    {
        var now = _time.GetUtcNow();
        var e = Employees.GetOrAdd(id, _ => new FakeEmployee { Id = id, LastChanged = now });
        lock (e)
        {
            e.Action = e.Fields.Count == 0 ? "Inserted" : "Updated";
            e.Fields["firstName"] = first;
            e.Fields["lastName"] = last;
            e.Fields["workEmail"] = email;
            e.Fields["department"] = department;
            e.Fields["jobTitle"] = title;
            e.Fields["employmentHistoryStatus"] = status;
            e.Fields["terminationDate"] = terminationDate ?? "0000-00-00";
            e.Fields["status"] = status == "Terminated" ? "Inactive" : "Active";
            e.LastChanged = now;
        }

        return e;
    }

    /// <summary>Enters a termination: effective now or in the past, it is the current status; in the future, a future-dated row.</summary>
    public void Terminate(string id, DateOnly lastDay)
    {
        var now = _time.GetUtcNow();
        var e = Employees[id];
        lock (e)
        {
            var target = lastDay > DateOnly.FromDateTime(now.UtcDateTime) ? e.Future : e.Fields;
            target["employmentHistoryStatus"] = "Terminated";
            target["terminationDate"] = lastDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            e.Action = "Updated";
            e.LastChanged = now;
        }
    }

    /// <summary>Sets raw field values (any JSON-able value), stamped as a change.</summary>
    public void Set(string id, string field, string? value)
    {
        var e = Employees[id];
        lock (e)
        {
            e.Fields[field] = value;
            e.Action = "Updated";
            e.LastChanged = _time.GetUtcNow();
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _calls);
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, ctx.RequestAborted);
        }

        var path = ctx.Request.Path.Value ?? "/";
        Requests.Enqueue($"{ctx.Request.Method} {path}{ctx.Request.QueryString}");
        if (_rateLimits.TryDequeue(out var limit))
        {
            ctx.Response.StatusCode = limit.Status;
            ctx.Response.Headers["Retry-After"] = limit.RetryAfter.ToString(CultureInfo.InvariantCulture);
            ctx.Response.Headers["X-BambooHR-Error-Message"] = "Rate limit exceeded";
            return;
        }

        if (!Authorised(ctx.Request.Headers.Authorization.ToString()))
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers["X-BambooHR-Error-Message"] = "Invalid API key";
            return;
        }

        if (!ctx.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase))
        {
            // BambooHR's default is XML.
            ctx.Response.ContentType = "text/xml";
            await ctx.Response.WriteAsync("<?xml version=\"1.0\"?><employees/>");
            return;
        }

        if (!path.StartsWith("/api/v1/", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = 404;
            return;
        }

        var rest = path["/api/v1/".Length..];
        if (ctx.Request.Method == "GET" && rest == "employees/changed")
        {
            await ChangedAsync(ctx);
        }
        else if (ctx.Request.Method == "POST" && rest == "reports/custom")
        {
            await ReportAsync(ctx);
        }
        else if (ctx.Request.Method == "GET" && rest.StartsWith("employees/", StringComparison.Ordinal) && !rest["employees/".Length..].Contains('/'))
        {
            await EmployeeAsync(ctx, rest["employees/".Length..]);
        }
        else
        {
            ctx.Response.StatusCode = 404;
        }
    }

    private static bool Authorised(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 && text[..colon] == ApiKey;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private async Task ChangedAsync(HttpContext ctx)
    {
        var since = ctx.Request.Query["since"].ToString();
        if (since.Length == 0 || !DateTimeOffset.TryParseExact(since, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:sszz00"],
                CultureInfo.InvariantCulture, DateTimeStyles.None, out var from))
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.Headers["X-BambooHR-Error-Message"] = "Invalid or missing since parameter";
            return;
        }

        var changed = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var e in Employees.Values)
        {
            lock (e)
            {
                if (e.LastChanged > from && !Deleted.ContainsKey(e.Id))
                {
                    changed[e.Id] = new Dictionary<string, string> { ["id"] = e.Id, ["action"] = e.Action, ["lastChanged"] = Iso(e.LastChanged) };
                }
            }
        }

        foreach (var (id, at) in Deleted)
        {
            if (at > from)
            {
                changed[id] = new Dictionary<string, string> { ["id"] = id, ["action"] = "Deleted", ["lastChanged"] = Iso(at) };
            }
        }

        await WriteJsonAsync(ctx, new Dictionary<string, object> { ["latest"] = Iso(_time.GetUtcNow()), ["employees"] = changed });
    }

    private async Task EmployeeAsync(HttpContext ctx, string id)
    {
        if (!Employees.TryGetValue(id, out var e) || Deleted.ContainsKey(id))
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.Headers["X-BambooHR-Error-Message"] = "Employee not found";
            return;
        }

        var fields = ctx.Request.Query["fields"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries);
        var onlyCurrent = !string.Equals(ctx.Request.Query["onlyCurrent"].ToString(), "false", StringComparison.OrdinalIgnoreCase);
        await WriteJsonAsync(ctx, View(e, fields, onlyCurrent));
    }

    private async Task ReportAsync(HttpContext ctx)
    {
        if (ctx.Request.Query["format"].ToString() != "JSON")
        {
            ctx.Response.ContentType = "text/xml";
            await ctx.Response.WriteAsync("<?xml version=\"1.0\"?><report/>");
            return;
        }

        using var body = await JsonDocument.ParseAsync(ctx.Request.Body);
        if (!body.RootElement.TryGetProperty("fields", out var f) || f.ValueKind != JsonValueKind.Array)
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.Headers["X-BambooHR-Error-Message"] = "fields is required";
            return;
        }

        var fields = f.EnumerateArray().Select(x => x.GetString()!).ToArray();
        var onlyCurrent = !string.Equals(ctx.Request.Query["onlyCurrent"].ToString(), "false", StringComparison.OrdinalIgnoreCase);
        var rows = EmptyReport ? [] : Employees.Values.Where(e => !Deleted.ContainsKey(e.Id)).OrderBy(e => e.Id, StringComparer.Ordinal).Select(e => View(e, fields, onlyCurrent)).ToList();
        if (TruncateReportTo is { } n)
        {
            rows = rows.Take(n).ToList();
        }

        await WriteJsonAsync(ctx, new Dictionary<string, object>
        {
            ["title"] = "Deprov HR sync",
            ["fields"] = fields.Select(x => new Dictionary<string, string> { ["id"] = x, ["name"] = x }).ToList(),
            ["employees"] = rows,
        });
    }

    private static Dictionary<string, string?> View(FakeEmployee e, IReadOnlyList<string> fields, bool onlyCurrent)
    {
        lock (e)
        {
            var view = new Dictionary<string, string?>(StringComparer.Ordinal) { ["id"] = e.Id };
            foreach (var name in fields)
            {
                if (name == "id")
                {
                    continue;
                }

                // BambooHR answers a field it has no value for as null.
                view[name] = !onlyCurrent && e.Future.TryGetValue(name, out var future) ? future : e.Fields.GetValueOrDefault(name);
            }

            return view;
        }
    }

    private static string Iso(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    private static Task WriteJsonAsync(HttpContext ctx, object value)
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(JsonSerializer.Serialize(value));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
