using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>The Directory API routes: users (and their tokens, asps, verificationCodes), groups and members, mobile devices.</summary>
public sealed partial class GoogleTestServer
{
    private const string UserScope = ScopePrefix + "admin.directory.user";
    private const string UserReadonly = ScopePrefix + "admin.directory.user.readonly";
    private const string Security = ScopePrefix + "admin.directory.user.security";
    private const string Group = ScopePrefix + "admin.directory.group";
    private const string GroupReadonly = ScopePrefix + "admin.directory.group.readonly";
    private const string Member = ScopePrefix + "admin.directory.group.member";
    private const string MemberReadonly = ScopePrefix + "admin.directory.group.member.readonly";
    private const string Mobile = ScopePrefix + "admin.directory.device.mobile";
    private const string MobileReadonly = ScopePrefix + "admin.directory.device.mobile.readonly";
    private const string MobileAction = ScopePrefix + "admin.directory.device.mobile.action";

    private Task RouteAsync(HttpContext ctx, string method, string[] s, JsonObject? body, HashSet<string> scopes)
    {
        // Each method accepts any one of the scopes its reference page lists.
        bool Allowed(params string[] any) => any.Any(scopes.Contains);
        Task Denied() => ErrorAsync(ctx, 403, "insufficientPermissions", "Request had insufficient authentication scopes.");
        var get = method == "GET";
        lock (_lock)
        {
            if (HabitAnswer(ctx, method, s) is { } habit)
            {
                return habit;
            }

            switch (s)
            {
                case ["groups"] when get && ctx.Request.Query["userKey"].ToString() is { Length: > 0 } userKey:
                    // groups.list for one member: the groups the user is a direct member of (no customer needed).
                    return !Allowed(Group, GroupReadonly) ? Denied()
                        : FindUser(userKey) is not { } holder ? ErrorAsync(ctx, 404, "notFound", "Resource Not Found: userKey")
                        : ListAsync(ctx, "admin#directory#groups", "groups", _groups.Where(g => g.Members.ContainsKey(holder.Id)).Select(GroupJson));
                case ["users"] when get:
                    return Allowed(UserScope, UserReadonly) ? ListAsync(ctx, "admin#directory#users", "users", CustomerOk(ctx) ? _users.Select(UserJson) : null) : Denied();
                case ["users", var key, ..] when FindUser(key) is null:
                    return Allowed(UserScope, UserReadonly, Security) ? ErrorAsync(ctx, 404, "notFound", "Resource Not Found: userKey") : Denied();
                case ["users", var key] when get:
                    return Allowed(UserScope, UserReadonly) ? JsonAsync(ctx, 200, UserJson(FindUser(key)!)) : Denied();
                case ["users", var key] when method is "PATCH" or "PUT":
                    if (!Allowed(UserScope))
                    {
                        return Denied();
                    }

                    var user = FindUser(key)!;
                    if (body?["password"] is JsonValue pv && pv.TryGetValue<string>(out var password))
                    {
                        // Without hashFunction the password is clear text of 8 to 100 ASCII characters.
                        if (body["hashFunction"] is not null || password.Length is < 8 or > 100 || password.Any(ch => ch is < ' ' or > '~'))
                        {
                            return ErrorAsync(ctx, 400, "invalid", "Invalid Password");
                        }

                        user.Password = password;
                        user.PasswordSets++;
                    }

                    if (body?["changePasswordAtNextLogin"] is JsonValue cv && cv.TryGetValue<bool>(out var change))
                    {
                        user.ChangePasswordAtNextLogin = change;
                    }

                    if (body?["suspended"] is JsonValue v && v.TryGetValue<bool>(out var suspended))
                    {
                        user.Suspended = suspended;
                    }

                    return JsonAsync(ctx, 200, UserJson(user));
                case ["users", var key] when method == "DELETE":
                    if (!Allowed(UserScope))
                    {
                        return Denied();
                    }

                    var gone = FindUser(key)!;
                    _users.Remove(gone);
                    foreach (var g in _groups)
                    {
                        g.Members.Remove(gone.Id);
                    }

                    // Deleting a user releases its licences.
                    foreach (var sku in _skus)
                    {
                        sku.Holders.Remove(gone.Id);
                    }

                    return NoContent(ctx);
                case ["users", var key, "signOut"] when method == "POST":
                    if (!Allowed(Security))
                    {
                        return Denied();
                    }

                    FindUser(key)!.SignOuts++;
                    return NoContent(ctx);
                case ["users", var key, "tokens"] when get:
                    return Allowed(Security) ? ItemsAsync(ctx, "admin#directory#tokenList", FindUser(key)!.Tokens.Select(c => (JsonNode)new JsonObject
                    {
                        ["kind"] = "admin#directory#token",
                        ["clientId"] = c,
                        ["displayText"] = "App " + c,
                        ["anonymous"] = false,
                        ["nativeApp"] = false,
                        ["userKey"] = FindUser(key)!.Id,
                        ["scopes"] = new JsonArray("https://mail.google.com/"),
                        ["etag"] = "\"t\"",
                    })) : Denied();
                case ["users", var key, "tokens", var clientId] when method == "DELETE":
                    return !Allowed(Security) ? Denied()
                        : FindUser(key)!.Tokens.Remove(clientId) ? NoContent(ctx) : ErrorAsync(ctx, 404, "notFound", "Resource Not Found: clientId");
                case ["users", var key, "asps"] when get:
                    return Allowed(Security) ? ItemsAsync(ctx, "admin#directory#aspList", FindUser(key)!.Asps.Select(c => (JsonNode)new JsonObject
                    {
                        ["kind"] = "admin#directory#asp",
                        ["codeId"] = c,
                        ["name"] = "Thunderbird",
                        ["creationTime"] = "1700000000000",
                        ["lastTimeUsed"] = "1710000000000",
                        ["userKey"] = FindUser(key)!.Id,
                        ["etag"] = "\"a\"",
                    })) : Denied();
                case ["users", var key, "asps", var codeId] when method == "DELETE":
                    return !Allowed(Security) ? Denied()
                        : !int.TryParse(codeId, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? ErrorAsync(ctx, 400, "invalid", "Invalid value for codeId")
                        : FindUser(key)!.Asps.Remove(code) ? NoContent(ctx) : ErrorAsync(ctx, 404, "notFound", "Resource Not Found: codeId");
                case ["users", var key, "verificationCodes"] when get:
                    return Allowed(Security) ? ItemsAsync(ctx, "admin#directory#verificationCodesList", FindUser(key)!.BackupCodes.Select(c => (JsonNode)new JsonObject
                    {
                        ["kind"] = "admin#directory#verificationCode",
                        ["userId"] = FindUser(key)!.Id,
                        ["verificationCode"] = c,
                        ["etag"] = "\"v\"",
                    })) : Denied();
                case ["users", var key, "verificationCodes", "invalidate"] when method == "POST":
                    if (!Allowed(Security))
                    {
                        return Denied();
                    }

                    FindUser(key)!.BackupCodes.Clear();
                    return NoContent(ctx);
                case ["groups"] when get:
                    return Allowed(Group, GroupReadonly) ? ListAsync(ctx, "admin#directory#groups", "groups", CustomerOk(ctx) ? _groups.Select(GroupJson) : null) : Denied();
                case ["groups", var g, ..] when FindGroup(g) is null:
                    return ErrorAsync(ctx, 404, "notFound", "Resource Not Found: groupKey");
                case ["groups", var g, "hasMember", var m] when get:
                    if (!Allowed(Group, GroupReadonly, Member, MemberReadonly))
                    {
                        return Denied();
                    }

                    // members.hasMember: 404 for an unknown member key, else isMember (direct or nested; this fake's groups
                    // hold users only, so the two are the same here).
                    return FindUser(m) is not { } candidate
                        ? ErrorAsync(ctx, 404, "notFound", "Resource Not Found: memberKey")
                        : GoogleTestServer.JsonAsync(ctx, 200, new JsonObject { ["isMember"] = FindGroup(g)!.Members.ContainsKey(candidate.Id) });
                case ["groups", var g, "members"] when get:
                    return Allowed(Group, GroupReadonly, Member, MemberReadonly)
                        ? ListAsync(ctx, "admin#directory#members", "members", FindGroup(g)!.Members.Select(m => MemberJson(m.Key, m.Value)))
                        : Denied();
                case ["groups", var g, "members"] when method == "POST":
                    if (!Allowed(Group, Member))
                    {
                        return Denied();
                    }

                    var email = body?["email"]?.GetValue<string>();
                    var role = body?["role"]?.GetValue<string>() ?? "MEMBER";
                    if (email is null || FindUser(email) is not { } joining)
                    {
                        return ErrorAsync(ctx, 404, "notFound", "Resource Not Found: memberKey");
                    }

                    var group = FindGroup(g)!;
                    if (group.Members.ContainsKey(joining.Id))
                    {
                        return ErrorAsync(ctx, 409, "duplicate", "Member already exists.");
                    }

                    group.Members[joining.Id] = role;
                    return JsonAsync(ctx, 200, MemberJson(joining.Id, role));
                case ["groups", var g, "members", var m] when get:
                    return !Allowed(Group, GroupReadonly, Member, MemberReadonly) ? Denied()
                        : FindUser(m) is { } u && FindGroup(g)!.Members.TryGetValue(u.Id, out var r) ? JsonAsync(ctx, 200, MemberJson(u.Id, r))
                        : ErrorAsync(ctx, 404, "notFound", "Resource Not Found: memberKey");
                case ["groups", var g, "members", var m] when method == "DELETE":
                    return !Allowed(Group, Member) ? Denied()
                        : FindUser(m) is { } leaving && FindGroup(g)!.Members.Remove(leaving.Id) ? NoContent(ctx)
                        : ErrorAsync(ctx, 404, "notFound", "Resource Not Found: memberKey");
                case ["customer", var c, "devices", "mobile", ..] when c is not ("my_customer" or CustomerId):
                    return ErrorAsync(ctx, 400, "badRequest", "Bad Request");
                case ["customer", _, "devices", "mobile"] when get:
                    return Allowed(Mobile, MobileReadonly) ? ListAsync(ctx, "admin#directory#mobiledevices", "mobiledevices", _devices.Select(DeviceJson)) : Denied();
                case ["customer", _, "devices", "mobile", var id, ..] when _devices.All(d => d.ResourceId != id):
                    return ErrorAsync(ctx, 404, "notFound", "Resource Not Found: resourceId");
                case ["customer", _, "devices", "mobile", var id] when get:
                    return Allowed(Mobile, MobileReadonly) ? JsonAsync(ctx, 200, DeviceJson(_devices.First(d => d.ResourceId == id))) : Denied();
                case ["customer", _, "devices", "mobile", var id, "action"] when method == "POST":
                    if (!Allowed(Mobile, MobileAction))
                    {
                        return Denied();
                    }

                    var action = body?["action"]?.GetValue<string>();
                    var device = _devices.First(d => d.ResourceId == id);
                    switch (action)
                    {
                        case "admin_account_wipe":
                            device.Status = DevicesSyncAtOnce ? "ACCOUNT_WIPED" : "ACCOUNT_WIPING";
                            break;
                        case "admin_remote_wipe":
                            device.Status = DevicesSyncAtOnce ? "WIPED" : "WIPING";
                            break;
                        case "approve" or "block" or "cancel_remote_wipe_then_activate" or "cancel_remote_wipe_then_block":
                            break;
                        default:
                            return ErrorAsync(ctx, 400, "invalid", "Invalid Input: action");
                    }

                    device.Actions.Add(action);
                    return NoContent(ctx);
                default:
                    return ErrorAsync(ctx, 404, "notFound", "Not Found");
            }
        }
    }

    /// <summary>The Directory API takes the <c>my_customer</c> alias or the customer id itself.</summary>
    /// <summary>The answer a bad habit gives instead of the documented behaviour, or null when none applies.</summary>
    private Task? HabitAnswer(HttpContext ctx, string method, string[] s)
    {
        string? key = s switch
        {
            ["users", var k, ..] => k,
            ["groups", _, "members" or "hasMember", var m] => m,
            _ => null,
        };
        if (key is not null && Habits.HiddenById.ContainsKey(key))
        {
            return ErrorAsync(ctx, 404, "notFound", "Resource Not Found: userKey");
        }

        if (Habits.IgnoreWrites && s is ["users", ..] or ["groups", _, "members", ..] && method is "PATCH" or "PUT" or "DELETE" or "POST")
        {
            // Accepted as documented, and nothing happens: users.patch answers the user as it is.
            return s is ["users", var u] && method is "PATCH" or "PUT" && FindUser(u) is { } user ? JsonAsync(ctx, 200, UserJson(user)) : NoContent(ctx);
        }

        if (Habits.LenientLists && method == "GET" && (s is ["groups", _, "members"] || (s is ["groups"] && ctx.Request.Query["userKey"].Count > 0)))
        {
            return JsonAsync(ctx, 200, new JsonObject { ["kind"] = s.Length == 1 ? "admin#directory#groups" : "admin#directory#members", ["etag"] = "\"e\"" });
        }

        return null;
    }

    private static bool CustomerOk(HttpContext ctx) => ctx.Request.Query["customer"].ToString() is "my_customer" or CustomerId;

    private FakeUser? FindUser(string key) => _users.FirstOrDefault(u => u.Id == key
        || string.Equals(u.PrimaryEmail, key, StringComparison.OrdinalIgnoreCase) || u.Aliases.Contains(key, StringComparer.OrdinalIgnoreCase));

    private FakeGroup? FindGroup(string key) => _groups.FirstOrDefault(g => g.Id == key || string.Equals(g.Email, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>A page of a listing: <c>maxResults</c> (capped at <see cref="PageSize"/>), an opaque <c>pageToken</c>,
    /// <c>nextPageToken</c> while more remain. Without a customer the users and groups listings are a 400, as Google's are.</summary>
    private Task ListAsync(HttpContext ctx, string kind, string field, IEnumerable<JsonObject>? all)
    {
        if (all is null)
        {
            return ErrorAsync(ctx, 400, "badRequest", "Bad Request");
        }

        var items = all.ToList();
        var max = int.TryParse(ctx.Request.Query["maxResults"], CultureInfo.InvariantCulture, out var m) && m > 0 ? Math.Min(m, PageSize) : PageSize;
        var offset = 0;
        if (ctx.Request.Query["pageToken"].ToString() is { Length: > 0 } token)
        {
            if (!token.StartsWith("pt-", StringComparison.Ordinal) || !int.TryParse(token[3..], CultureInfo.InvariantCulture, out offset))
            {
                return ErrorAsync(ctx, 400, "invalid", "Invalid Input: pageToken");
            }
        }

        var page = new JsonObject { ["kind"] = kind, ["etag"] = "\"e\"" };
        var slice = items.Skip(offset).Take(max).ToList();
        if (slice.Count > 0)
        {
            page[field] = new JsonArray([.. slice]);
        }

        if (offset + max < items.Count)
        {
            page["nextPageToken"] = "pt-" + (offset + max).ToString(CultureInfo.InvariantCulture);
        }

        return JsonAsync(ctx, 200, page);
    }

    /// <summary>A security list (tokens, asps, verificationCodes): <c>items</c> left out when empty, as Google does.</summary>
    private static Task ItemsAsync(HttpContext ctx, string kind, IEnumerable<JsonNode> items)
    {
        var list = items.ToList();
        var o = new JsonObject { ["kind"] = kind, ["etag"] = "\"l\"" };
        if (list.Count > 0)
        {
            o["items"] = new JsonArray([.. list]);
        }

        return JsonAsync(ctx, 200, o);
    }

    private static JsonObject UserJson(FakeUser u)
    {
        var o = new JsonObject
        {
            ["kind"] = "admin#directory#user",
            ["id"] = u.Id,
            ["primaryEmail"] = u.PrimaryEmail,
            ["name"] = new JsonObject { ["fullName"] = u.PrimaryEmail.Split('@')[0] },
            ["isAdmin"] = u.IsAdmin,
            ["isDelegatedAdmin"] = u.IsDelegatedAdmin,
            ["lastLoginTime"] = (u.LastLogin ?? DateTimeOffset.UnixEpoch).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["creationTime"] = "2021-03-01T09:00:00.000Z",
            ["suspended"] = u.Suspended,
            ["changePasswordAtNextLogin"] = u.ChangePasswordAtNextLogin,
            ["archived"] = false,
            ["orgUnitPath"] = "/",
            ["customerId"] = "C03az79cb",
        };
        if (u.Suspended)
        {
            o["suspensionReason"] = "ADMIN";
        }

        if (u.Aliases.Count > 0)
        {
            o["aliases"] = new JsonArray([.. u.Aliases.Select(a => (JsonNode)a)]);
        }

        if (u.EmployeeId is { } e)
        {
            o["externalIds"] = new JsonArray(new JsonObject { ["value"] = e, ["type"] = "organization" });
        }

        return o;
    }

    private static JsonObject GroupJson(FakeGroup g) => new()
    {
        ["kind"] = "admin#directory#group",
        ["id"] = g.Id,
        ["email"] = g.Email,
        ["name"] = g.Name,
        ["directMembersCount"] = g.Members.Count.ToString(CultureInfo.InvariantCulture),
    };

    private JsonObject MemberJson(string userId, string role) => new()
    {
        ["kind"] = "admin#directory#member",
        ["id"] = userId,
        ["email"] = _users.First(u => u.Id == userId).PrimaryEmail,
        ["role"] = role,
        ["type"] = "USER",
        ["status"] = "ACTIVE",
    };

    private static JsonObject DeviceJson(FakeDevice d) => new()
    {
        ["kind"] = "admin#directory#mobiledevice",
        ["resourceId"] = d.ResourceId,
        ["serialNumber"] = d.SerialNumber,
        ["model"] = d.Model,
        ["email"] = new JsonArray(d.Email),
        ["status"] = d.Status,
        ["type"] = "IOS_SYNC",
    };
}
