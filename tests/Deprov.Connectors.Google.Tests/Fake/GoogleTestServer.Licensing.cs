using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>
/// The Enterprise License Manager API v1 (<c>/apps/licensing/v1/</c>) as its reference describes it: every method needs
/// <c>apps.licensing</c>; users are named by their current primary email (<c>userId</c>); <c>get</c> and <c>delete</c> of a
/// licence the user does not hold are 404 <c>notFound</c>; <c>delete</c> answers an empty JSON object; the listing pages with
/// <c>maxResults</c>/<c>pageToken</c> and needs the real <c>customerId</c>.
/// </summary>
public sealed partial class GoogleTestServer
{
    private const string NoLicence = "User does not have a license for specified sku and product";

    private Task LicensingRouteAsync(HttpContext ctx, string method, string[] s, JsonObject? body, HashSet<string> scopes)
    {
        if (!scopes.Contains(LicensingScope))
        {
            return ErrorAsync(ctx, 403, "insufficientPermissions", "Request had insufficient authentication scopes.");
        }

        lock (_lock)
        {
            if (s is not ["product", var productId, "sku", var skuId, ..])
            {
                return ErrorAsync(ctx, 404, "notFound", "Not Found");
            }

            // [U] The reference does not give the answer for a SKU the customer does not subscribe to; a 400 is what its
            // other invalid-input answers look like.
            if (_skus.FirstOrDefault(k => k.ProductId == productId && k.SkuId == skuId) is not { } sku)
            {
                return ErrorAsync(ctx, 400, "invalid", "Invalid Input: productId/skuId");
            }

            switch (s[4..])
            {
                case ["users"] when method == "GET":
                    return ListAsync(ctx, "licensing#licenseAssignmentList", "items",
                        ctx.Request.Query["customerId"].ToString() == CustomerId ? sku.Holders.Select(h => AssignmentJson(sku, h)) : null);
                case ["user"] when method == "POST":
                    var email = body?["userId"] is JsonValue v && v.TryGetValue<string>(out var e) ? e : null;
                    if (email is null || FindUser(email) is not { } user)
                    {
                        return ErrorAsync(ctx, 404, "notFound", "User not found");
                    }

                    if (sku.Holders.Contains(user.Id))
                    {
                        return ErrorAsync(ctx, 409, "duplicate", "User already has a license for the specified product and SKU");
                    }

                    sku.Holders.Add(user.Id);
                    return JsonAsync(ctx, 200, AssignmentJson(sku, user.Id));
                case ["user", var key] when method == "GET":
                    return FindUser(key) is { } holder && sku.Holders.Contains(holder.Id)
                        ? JsonAsync(ctx, 200, AssignmentJson(sku, holder.Id))
                        : ErrorAsync(ctx, 404, "notFound", NoLicence);
                case ["user", var key] when method == "DELETE":
                    return FindUser(key) is { } leaving && sku.Holders.Remove(leaving.Id)
                        ? JsonAsync(ctx, 200, new JsonObject())
                        : ErrorAsync(ctx, 404, "notFound", NoLicence);
                default:
                    return ErrorAsync(ctx, 404, "notFound", "Not Found");
            }
        }
    }

    private JsonObject AssignmentJson(FakeSku sku, string userId)
    {
        var email = _users.First(u => u.Id == userId).PrimaryEmail;
        return new JsonObject
        {
            ["kind"] = "licensing#licenseAssignment",
            ["etags"] = "\"l\"",
            ["productId"] = sku.ProductId,
            ["productName"] = sku.ProductName,
            ["skuId"] = sku.SkuId,
            ["skuName"] = sku.SkuName,
            ["userId"] = email,
            ["selfLink"] = $"https://licensing.googleapis.com/apps/licensing/v1/product/{sku.ProductId}/sku/{sku.SkuId}/user/{email}",
        };
    }
}
