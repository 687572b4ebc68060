using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Users and API keys (admin only). Every change is in the audit trail with actor <c>admin:&lt;user&gt;</c>, never a secret.</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/admin").RequireAuthorization(Policies.Admin).WithTags("Admin");
        api.MapGet("/users", async (IStore store, CancellationToken ct) =>
            TypedResults.Ok((await store.ListUsersAsync(ct)).Select(u => new UserView(u.Name, u.Role, u.CreatedAt, u.CreatedBy))));
        api.MapPost("/users", async Task<Results<Created<UserView>, ProblemHttpResult>> (UserRequest body, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct) =>
        {
            try
            {
                var u = await AdminActions.CreateUserAsync(store, time, body.Name, body.Role, body.Password, ctx.User.Actor(), ct);
                return TypedResults.Created($"/api/admin/users/{u.Name}", new UserView(u.Name, u.Role, u.CreatedAt, u.CreatedBy));
            }
            catch (ValidationException ex)
            {
                return TypedResults.Problem(statusCode: 400, title: "The user was not created.", detail: ex.Message);
            }
        });
        api.MapGet("/api-keys", async (IStore store, CancellationToken ct) => TypedResults.Ok((await store.ListApiKeysAsync(ct)).Select(KeyView.Of)));
        api.MapPost("/api-keys", async Task<Results<Created<NewKey>, ProblemHttpResult>> (KeyRequest body, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct) =>
        {
            try
            {
                var (key, secret) = await AdminActions.CreateApiKeyAsync(store, time, body.Name, body.Role, ctx.User.Actor(), ct);
                return TypedResults.Created($"/api/admin/api-keys/{key.Id}", new NewKey(KeyView.Of(key), secret));
            }
            catch (ValidationException ex)
            {
                return TypedResults.Problem(statusCode: 400, title: "The key was not created.", detail: ex.Message);
            }
        });
        api.MapDelete("/api-keys/{id}", async Task<Results<NoContent, NotFound>> (string id, HttpContext ctx, IStore store, ApiKeyCache cache, TimeProvider time, CancellationToken ct) =>
        {
            var revoked = await AdminActions.RevokeApiKeyAsync(store, time, id, ctx.User.Actor(), ct);
            cache.Clear();
            return revoked ? TypedResults.NoContent() : TypedResults.NotFound();
        });

        var page = app.MapGroup("/admin").RequireAuthorization(Policies.Admin).ExcludeFromDescription();
        page.MapGet("/", (HttpContext ctx, IStore store, CancellationToken ct) => PageAsync(ctx, store, null, null, ct));
        page.MapPost("/users", async (HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct) =>
        {
            var f = await ctx.Request.ReadFormAsync(ct);
            try
            {
                await AdminActions.CreateUserAsync(store, time, f["name"].ToString(), ParseRole(f["role"].ToString()), f["password"].ToString(), ctx.User.Actor(), ct);
                return await PageAsync(ctx, store, null, null, ct);
            }
            catch (ValidationException ex)
            {
                return await PageAsync(ctx, store, null, ex.Message, ct);
            }
        });
        page.MapPost("/api-keys", async (HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct) =>
        {
            var f = await ctx.Request.ReadFormAsync(ct);
            try
            {
                var (_, secret) = await AdminActions.CreateApiKeyAsync(store, time, f["name"].ToString(), ParseRole(f["role"].ToString()), ctx.User.Actor(), ct);
                return await PageAsync(ctx, store, secret, null, ct);
            }
            catch (ValidationException ex)
            {
                return await PageAsync(ctx, store, null, ex.Message, ct);
            }
        });
        page.MapPost("/api-keys/{id}/revoke", async (string id, HttpContext ctx, IStore store, ApiKeyCache cache, TimeProvider time, CancellationToken ct) =>
        {
            await AdminActions.RevokeApiKeyAsync(store, time, id, ctx.User.Actor(), ct);
            cache.Clear();
            return await PageAsync(ctx, store, null, null, ct);
        });
        return app;
    }

    public sealed record UserView(string Name, Role Role, DateTimeOffset CreatedAt, string CreatedBy);

    public sealed record UserRequest(string Name, Role Role, string Password);

    public sealed record KeyRequest(string Name, Role Role);

    public sealed record KeyView(string Id, string Name, Role Role, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
    {
        public static KeyView Of(ApiKey k) => new(k.Id, k.Name, k.Role, k.CreatedBy, k.CreatedAt, k.LastUsedAt, k.RevokedAt);
    }

    /// <param name="Secret">Shown once: only its SHA-256 is stored.</param>
    public sealed record NewKey(KeyView Key, string Secret);

    private static Role ParseRole(string text) =>
        Enum.TryParse<Role>(text, ignoreCase: true, out var r) && Enum.IsDefined(r) ? r : throw new ValidationException($"'{text}' is not a role; use admin, operator, auditor or hr.");

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, string? newSecret, string? error, CancellationToken ct)
    {
        var users = await store.ListUsersAsync(ct);
        var keys = await store.ListApiKeysAsync(ct);
        return Page.Render(ctx, "Admin", h =>
        {
            if (error is not null)
            {
                h.Add($"<p role=\"alert\">{error}</p>");
            }

            if (newSecret is not null)
            {
                h.Add($"<p>New API key — copy it now, it is not shown again:</p><p class=\"secret\" id=\"new-key\">{newSecret}</p>");
            }

            var roles = new Raw(string.Join(string.Empty, Enum.GetValues<Role>().Select(r => $"<option value=\"{r.ClaimValue()}\">{r.ClaimValue()}</option>")));
            h.Add($"<h2>Users</h2><table><thead><tr><th>Name</th><th>Role</th><th>Created</th><th>By</th></tr></thead><tbody>");
            foreach (var u in users)
            {
                h.Add($"<tr><td>{u.Name}</td><td>{u.Role.ClaimValue()}</td><td>{Page.When(u.CreatedAt)}</td><td>{u.CreatedBy}</td></tr>");
            }

            h.Add($"</tbody></table><form method=\"post\" action=\"/admin/users\">{Page.Csrf(ctx)}<label for=\"uname\">Name</label><input id=\"uname\" name=\"name\" required>");
            h.Add($"<label for=\"urole\">Role</label><select id=\"urole\" name=\"role\">{roles}</select><label for=\"upw\">Password (≥ {Secrets.MinPasswordLength} characters)</label><input id=\"upw\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>");
            h.Add($"<p><button type=\"submit\">Create user</button></p></form>");
            h.Add($"<h2>API keys</h2><table><thead><tr><th>Id</th><th>Name</th><th>Role</th><th>Created</th><th>Last used</th><th>Revoked</th><th></th></tr></thead><tbody>");
            foreach (var k in keys)
            {
                h.Add($"<tr><td>{k.Id}</td><td>{k.Name}</td><td>{k.Role.ClaimValue()}</td><td>{Page.When(k.CreatedAt)} by {k.CreatedBy}</td><td>{Page.When(k.LastUsedAt)}</td><td>{Page.When(k.RevokedAt)}</td><td>");
                if (!k.IsRevoked)
                {
                    h.Add($"<form method=\"post\" action=\"/admin/api-keys/{k.Id}/revoke\" class=\"inline\">{Page.Csrf(ctx)}<button type=\"submit\">Revoke</button></form>");
                }

                h.Add($"</td></tr>");
            }

            h.Add($"</tbody></table><form method=\"post\" action=\"/admin/api-keys\">{Page.Csrf(ctx)}<label for=\"kname\">Key name</label><input id=\"kname\" name=\"name\" required>");
            h.Add($"<label for=\"krole\">Role</label><select id=\"krole\" name=\"role\">{roles}</select><p><button type=\"submit\">Create API key</button></p></form>");
        });
    }
}

/// <summary>The admin operations shared by the API, the console and the CLI (<c>deprov admin</c>).</summary>
public static class AdminActions
{
    public static async Task<UserAccount> CreateUserAsync(IStore store, TimeProvider time, string name, Role role, string password, string actor, CancellationToken ct)
    {
        name = (name ?? string.Empty).Trim();
        if (name.Length is 0 or > 64 || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ValidationException($"User name '{name}' is not valid: 1 to 64 characters, no spaces.");
        }

        var now = time.GetUtcNow();
        var user = new UserAccount(name, role, Secrets.HashPassword(password), now, actor);
        await store.CreateUserAsync(user, new AuditEntry(now, actor, "user_created", null, name, null, null, null, null, $"role={role.ClaimValue()}", "ok", null), ct);
        return user;
    }

    public static async Task<(ApiKey Key, string Secret)> CreateApiKeyAsync(IStore store, TimeProvider time, string name, Role role, string actor, CancellationToken ct)
    {
        name = (name ?? string.Empty).Trim();
        if (name.Length is 0 or > 100)
        {
            throw new ValidationException("An API key needs a name (1 to 100 characters) saying who uses it.");
        }

        var (secret, id, hash) = Secrets.NewApiKey();
        var key = new ApiKey(id, name, role, hash, actor, time.GetUtcNow(), null, null);
        await store.CreateApiKeyAsync(key, new AuditEntry(key.CreatedAt, actor, "api_key_created", null, id, null, null, null, null, $"name={name}; role={role.ClaimValue()}", "ok", null), ct);
        return (key, secret);
    }

    public static Task<bool> RevokeApiKeyAsync(IStore store, TimeProvider time, string id, string actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return store.RevokeApiKeyAsync(id, new AuditEntry(now, actor, "api_key_revoked", null, id, null, null, null, null, null, "ok", null), now, ct);
    }
}
