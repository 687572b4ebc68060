using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>
/// Licences through the Enterprise License Manager API (<c>licensing.googleapis.com/apps/licensing/v1</c>): one licence
/// entitlement per configured product SKU, <c>DELETE product/{p}/sku/{s}/user/{userId}</c> to reclaim the seat and
/// <c>POST product/{p}/sku/{s}/user</c> to give it back, read back with <c>GET product/{p}/sku/{s}/user/{userId}</c>
/// (404 when the user holds no such licence). The API names users only by their <b>current primary email</b>, so each
/// action first reads the user's primary email by the immutable id (a rename after discovery does not break it).
/// </summary>
internal sealed partial class GoogleConnector
{
    private const string Licensing = "apps/licensing/v1";

    private async IAsyncEnumerable<DiscoveredObject> DiscoverLicencesAsync(Dictionary<string, string> userIds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (LicensingClient is not { } client)
        {
            yield break;
        }

        foreach (var sku in _settings.Licences)
        {
            var holders = new List<string>();
            string? skuName = null;
            var first = $"{SkuPath(sku)}/users?customerId={Escape(_settings.Customer)}&maxResults={_settings.PageSize}";
            await foreach (var assignment in PagesAsync(client, first, "items", "discover licences", Scopes.Licensing, cancellationToken))
            {
                skuName ??= GoogleResponse.Text(assignment, "skuName");
                // userId is the holder's primary email. An address that is not a user listed above (another customer's
                // user, or one created since) has no account to link the seat to.
                if (GoogleResponse.Text(assignment, "userId") is { } email && userIds.TryGetValue(email, out var id))
                {
                    holders.Add(id);
                }
            }

            yield return new DiscoveredEntitlement(sku.EntitlementId, skuName ?? $"{sku.ProductId} {sku.SkuId}", EntitlementKind.Licence, Privileged: false);
            foreach (var id in holders)
            {
                yield return new DiscoveredMembership(id, sku.EntitlementId);
            }
        }
    }

    private async Task<ActionResult> ChangeLicenceAsync(ConnectorAction action, bool assign, CancellationToken cancellationToken)
    {
        var (client, sku) = RequireLicence(action);
        var userId = action.RequireAccountId(_label, "user id");
        var what = assign ? "assign licence" : "reclaim licence";
        var user = await GetAsync($"{Users}/{Escape(userId)}", what + " (read primary email)", Scopes.User, cancellationToken);
        if (user is null)
        {
            // Deleting a user releases its licences; a deleted user cannot be given one.
            return assign
                ? throw new ConnectorException($"{_label}: user '{userId}' no longer exists; cannot assign licence {sku.ProductId}/{sku.SkuId}.", isTransient: false)
                : ActionResult.Unchanged(LicenceMap(sku, null, userId: null), "the user no longer exists: Google released its licences");
        }

        var email = GoogleResponse.Text(user, "primaryEmail")
            ?? throw new ConnectorException($"{_label}: user '{userId}' has no primaryEmail; the Licensing API names users by it.", isTransient: false);
        var userPath = $"{SkuPath(sku)}/user/{Escape(email)}";
        var held = await GetAsync(client, userPath, what + " (read licence)", Scopes.Licensing, cancellationToken);
        var before = LicenceMap(sku, held, email);
        if ((held is not null) == assign)
        {
            return ActionResult.Unchanged(before);
        }

        if (!assign)
        {
            var r = await client.SendAsync(HttpMethod.Delete, userPath, null, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                // Reclaimed by someone else between the read and the DELETE: the seat is free either way.
                return ActionResult.Unchanged(LicenceMap(sku, null, email));
            }

            if (!r.IsSuccess)
            {
                throw client.Failure(r, HttpMethod.Delete, userPath, what, Scopes.Licensing);
            }

            return new ActionResult(before, LicenceMap(sku, null, email), AlreadyInState: false, "seat freed");
        }

        var path = $"{SkuPath(sku)}/user";
        var insert = await client.SendAsync(HttpMethod.Post, path, new JsonObject { ["userId"] = email }, what, cancellationToken);
        if (insert.Status == HttpStatusCode.Conflict)
        {
            // [U] Google's reference does not say what assigning a held licence answers; a 409 can only mean "held".
            return ActionResult.Unchanged(before);
        }

        if (!insert.IsSuccess)
        {
            throw client.Failure(insert, HttpMethod.Post, path, what, Scopes.Licensing);
        }

        // licenseAssignments.insert answers the new LicenseAssignment.
        return new ActionResult(before, LicenceMap(sku, insert.Object ?? new JsonObject(), email), AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackLicenceAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (client, sku) = RequireLicence(action);
        var reclaim = action.Kind is ActionKind.ReclaimLicence;
        var what = "read back " + action.Kind.ToSnake();
        var user = await GetAsync($"{Users}/{Escape(action.RequireAccountId(_label, "user id"))}", what, Scopes.User, cancellationToken);
        if (user is null)
        {
            return new ReadBackResult(false, LicenceMap(sku, null, userId: null));
        }

        var email = GoogleResponse.Text(user, "primaryEmail") ?? string.Empty;
        var held = await GetAsync(client, $"{SkuPath(sku)}/user/{Escape(email)}", what, Scopes.Licensing, cancellationToken);
        return new ReadBackResult((held is null) == reclaim, LicenceMap(sku, held, email));
    }

    /// <summary>The licensing client and the configured SKU the action's entitlement id (<c>{productId}:{skuId}</c>) names.</summary>
    private (GoogleClient Client, GoogleLicenceSku Sku) RequireLicence(ConnectorAction action)
    {
        var id = action.RequireEntitlementId(_label, "licence id");
        var sku = _settings.Licences.FirstOrDefault(l => string.Equals(l.EntitlementId, id, StringComparison.Ordinal))
            ?? throw new ConnectorException($"{_label}: licence '{id}' is not one of the product SKUs under 'licences'; add it there to manage it.", isTransient: false);
        return (LicensingClient!, sku);
    }

    private static string SkuPath(GoogleLicenceSku sku) => $"{Licensing}/product/{Escape(sku.ProductId)}/sku/{Escape(sku.SkuId)}";

    private static Dictionary<string, string> LicenceMap(GoogleLicenceSku sku, JsonObject? assignment, string? userId)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["productId"] = sku.ProductId,
            ["skuId"] = sku.SkuId,
            ["assigned"] = Bool(assignment is not null),
        };
        if (userId is not null)
        {
            map["userId"] = userId;
        }

        if (GoogleResponse.Text(assignment, "skuName") is { Length: > 0 } name)
        {
            map["skuName"] = name;
        }

        return map;
    }
}
