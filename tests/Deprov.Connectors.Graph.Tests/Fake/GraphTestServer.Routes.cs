using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Deprov.Connectors.Graph.Tests.Fake;

/// <summary>The Graph resources the connector uses, each with the permission Graph checks for it.</summary>
public sealed partial class GraphTestServer
{
    private static string NotFoundMessage(string id) => $"Resource '{id}' does not exist or one of its queried reference-property objects are not present.";

    private async Task RouteAsync(HttpContext ctx, string method, string[] s, JsonObject? body)
    {
        var q = ctx.Request.Query;
        switch (method, s.Length > 0 ? s[0] : string.Empty)
        {
            case ("GET", "users") when s.Length == 1:
                if (!await RequireAsync(ctx, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"))
                {
                    return;
                }

                if (Selected(q).Contains("signInActivity") && !await RequireAsync(ctx, "AuditLog.Read.All"))
                {
                    return;
                }

                var listedUsers = Snapshot(_users);
                if (q["$filter"].ToString() is { Length: > 0 } userFilter)
                {
                    // Only the filter the connector sends (id eq '…') is modelled; Graph evaluates others, the fake refuses them.
                    var byId = IdFilter().Match(userFilter);
                    if (!byId.Success)
                    {
                        await ErrorAsync(ctx, 400, "Request_UnsupportedQuery", $"Unsupported query: this fake models only id eq '<id>', not '{userFilter}'.");
                        return;
                    }

                    listedUsers = [.. listedUsers.Where(u => string.Equals(u.Id, byId.Groups[1].Value, StringComparison.OrdinalIgnoreCase))];
                }

                await PageAsync(ctx, listedUsers.Select(u => UserJson(u, Selected(q))).ToList());
                return;
            case ("GET", "directory") when s.Length == 3 && s[1] == "deletedItems":
                if (!await RequireAsync(ctx, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"))
                {
                    return;
                }

                if (Find(_deletedUsers, u => u.Id == s[2]) is { } deleted)
                {
                    var json = UserJson(deleted, Selected(q));
                    json["@odata.type"] = "#microsoft.graph.user";
                    json["deletedDateTime"] = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                    await JsonAsync(ctx, 200, json);
                    return;
                }

                await NotFoundAsync(ctx, s[2]);
                return;
            case ("GET", "users") when s.Length == 2:
                if (!await RequireAsync(ctx, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"))
                {
                    return;
                }

                if (UserNotFoundByKey || Find(_users, u => u.Id == s[1] || string.Equals(u.UserPrincipalName, s[1], StringComparison.OrdinalIgnoreCase)) is not { } found)
                {
                    await NotFoundAsync(ctx, s[1]);
                    return;
                }

                await JsonAsync(ctx, 200, UserJson(found, Selected(q)));
                return;
            case ("PATCH", "users") when s.Length == 2:
                await PatchUserAsync(ctx, s[1], body);
                return;
            case ("DELETE", "users") when s.Length == 2:
                if (!await RequireAsync(ctx, "User.DeleteRestore.All", "User.ReadWrite.All"))
                {
                    return;
                }

                lock (_lock)
                {
                    if (_users.FirstOrDefault(u => u.Id == s[1]) is { } gone)
                    {
                        // Soft delete: the user leaves the directory (and its groups) for deleted items.
                        _users.Remove(gone);
                        _deletedUsers.Add(gone);
                        _groups.ForEach(g => g.Members.Remove(gone.Id));
                        ctx.Response.StatusCode = 204;
                        return;
                    }
                }

                await NotFoundAsync(ctx, s[1]);
                return;
            case ("POST", "users") when s.Length == 3 && s[2] == "revokeSignInSessions":
                if (!await RequireAsync(ctx, "User.RevokeSessions.All", "User.ReadWrite.All"))
                {
                    return;
                }

                lock (_lock)
                {
                    if (_users.FirstOrDefault(u => u.Id == s[1]) is { } user)
                    {
                        var now = _time.GetUtcNow();
                        user.SignInSessionsValidFrom = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
                    }
                    else
                    {
                        user = null;
                    }

                    if (user is null)
                    {
                        goto notFound;
                    }
                }

                // The known service issue: documented as 204, answered 200 with a boolean that is always true.
                await JsonAsync(ctx, 200, new JsonObject { ["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", ["value"] = true });
                return;
            notFound:
                await NotFoundAsync(ctx, s[1]);
                return;
            case ("POST", "users") when s.Length == 3 && s[2] == "assignLicense":
                await AssignLicenseAsync(ctx, s[1], body);
                return;
            case ("GET", "subscribedSkus"):
                if (!await RequireAsync(ctx, "LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", "Organization.Read.All"))
                {
                    return;
                }

                await PageAsync(ctx, Snapshot(_skus).Select(k => (JsonObject)new JsonObject
                {
                    ["skuId"] = k.SkuId,
                    ["skuPartNumber"] = k.SkuPartNumber,
                    ["capabilityStatus"] = "Enabled",
                    ["consumedUnits"] = 0,
                }).ToList());
                return;
            case ("GET", "groups") when s.Length == 1:
                if (!await RequireAsync(ctx, "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All"))
                {
                    return;
                }

                await PageAsync(ctx, Snapshot(_groups).Select(g => Project(new JsonObject
                {
                    ["id"] = g.Id,
                    ["displayName"] = g.DisplayName,
                    ["isAssignableToRole"] = g.IsAssignableToRole,
                    ["groupTypes"] = g.Dynamic ? new JsonArray("DynamicMembership") : new JsonArray(),
                }, Selected(q))).ToList());
                return;
            case ("GET", "groups") when s.Length == 2:
                if (!await RequireAsync(ctx, "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All"))
                {
                    return;
                }

                if (Snapshot(_groups).FirstOrDefault(g => g.Id == s[1]) is { } one)
                {
                    await JsonAsync(ctx, 200, Project(new JsonObject
                    {
                        ["id"] = one.Id,
                        ["displayName"] = one.DisplayName,
                        ["isAssignableToRole"] = one.IsAssignableToRole,
                        ["groupTypes"] = one.Dynamic ? new JsonArray("DynamicMembership") : new JsonArray(),
                    }, Selected(q)));
                    return;
                }

                await NotFoundAsync(ctx, s[1]);
                return;
            case (_, "groups") when s.Length >= 3 && s[2] == "members":
                await MembersAsync(ctx, method, s, body);
                return;
            case (_, "roleManagement") when s.Length >= 3 && s[1] == "directory":
                await RolesAsync(ctx, method, s, body);
                return;
            case (_, "deviceManagement") when s.Length >= 2 && s[1] == "managedDevices":
                await DevicesAsync(ctx, method, s, body);
                return;
            default:
                await ErrorAsync(ctx, 400, "BadRequest", $"Resource not found for the segment '{(s.Length > 0 ? s[0] : string.Empty)}'.");
                return;
        }
    }

    private async Task PatchUserAsync(HttpContext ctx, string id, JsonObject? body)
    {
        if (body is { Count: 1 } && body["passwordProfile"] is JsonObject profile)
        {
            await PatchPasswordAsync(ctx, id, profile);
            return;
        }

        if (body is null || body.Count != 1 || body["accountEnabled"] is not JsonValue v || !v.TryGetValue<bool>(out var enabled))
        {
            // Only what the connector sends is modelled; anything else would need User.ReadWrite.All.
            await ErrorAsync(ctx, 400, "Request_BadRequest", "Only accountEnabled updates are modelled by this fake.");
            return;
        }

        if (!await RequireAsync(ctx, "User.EnableDisableAccount.All", "User.ReadWrite.All"))
        {
            return;
        }

        lock (_lock)
        {
            if (_users.FirstOrDefault(u => u.Id == id) is { } user)
            {
                user.AccountEnabled = enabled;
                ctx.Response.StatusCode = 204;
                return;
            }
        }

        await NotFoundAsync(ctx, id);
    }

    private static readonly HashSet<string> ResetAnyone = new(StringComparer.OrdinalIgnoreCase) { "Privileged Authentication Administrator", "Global Administrator" };

    private async Task PatchPasswordAsync(HttpContext ctx, string id, JsonObject profile)
    {
        // The least-privileged permission is User-PasswordProfile.ReadWrite.All; User.ReadWrite.All and
        // Directory.ReadWrite.All are higher-privileged ones that also allow it. User.EnableDisableAccount.All does not.
        if (!await RequireAsync(ctx, "User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"))
        {
            return;
        }

        var password = profile["password"] is JsonValue pv && pv.TryGetValue<string>(out var p) ? p : null;
        bool? force = profile["forceChangePasswordNextSignIn"] is JsonValue fv && fv.TryGetValue<bool>(out var f) ? f : null;
        if (password is null)
        {
            // Graph answers 204 and changes nothing when only forceChangePasswordNextSignIn is sent (a known issue); the fake
            // refuses it so a test notices.
            await ErrorAsync(ctx, 400, "Request_BadRequest", "The fake requires passwordProfile.password.");
            return;
        }

        FakeUser? user;
        bool admin;
        lock (_lock)
        {
            user = _users.FirstOrDefault(u => u.Id == id);
            admin = user is not null && _roleAssignments.Any(a => a.PrincipalId == user.Id);
        }

        if (user is null)
        {
            await NotFoundAsync(ctx, id);
            return;
        }

        if (AppDirectoryRole is not { } role || (admin && !ResetAnyone.Contains(role)) || (!admin && !ResetAnyone.Contains(role) && !string.Equals(role, "User Administrator", StringComparison.OrdinalIgnoreCase)))
        {
            await ErrorAsync(ctx, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
            return;
        }

        if (user.OnPremisesSyncEnabled)
        {
            await ErrorAsync(ctx, 400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.");
            return;
        }

        if (!MeetsDefaultPolicy(password))
        {
            await ErrorAsync(ctx, 400, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.");
            return;
        }

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            user.LastPasswordChange = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
            user.ForceChangePasswordNextSignIn = force ?? false;
            user.PasswordResets++;
        }

        ctx.Response.StatusCode = 204;
    }

    /// <summary>Entra's default policy for cloud users: 8 to 256 characters from the allowed set, 3 of the 4 character classes.</summary>
    public static bool MeetsDefaultPolicy(string password)
    {
        const string symbols = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ";
        if (password.Length is < 8 or > 256 || password.Any(c => !char.IsAsciiLetterOrDigit(c) && !symbols.Contains(c, StringComparison.Ordinal)))
        {
            return false;
        }

        var classes = new[] { password.Any(char.IsAsciiLetterUpper), password.Any(char.IsAsciiLetterLower), password.Any(char.IsAsciiDigit), password.Any(c => symbols.Contains(c, StringComparison.Ordinal)) };
        return classes.Count(x => x) >= 3;
    }

    private async Task AssignLicenseAsync(HttpContext ctx, string id, JsonObject? body)
    {
        if (!await RequireAsync(ctx, "LicenseAssignment.ReadWrite.All", "User.ReadWrite.All"))
        {
            return;
        }

        var missing = new[] { "addLicenses", "removeLicenses" }.Where(k => body?[k] is not JsonArray).ToList();
        if (missing.Count > 0)
        {
            await ErrorAsync(ctx, 400, "Request_BadRequest",
                $"One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {string.Join(", ", missing)}.");
            return;
        }

        string? problem = null;
        FakeUser? user;
        lock (_lock)
        {
            user = _users.FirstOrDefault(u => u.Id == id);
            if (user is not null)
            {
                var adds = body!["addLicenses"]!.AsArray().OfType<JsonObject>().ToList();
                var removes = body["removeLicenses"]!.AsArray().Select(r => r?.GetValue<string>()).OfType<string>().ToList();
                foreach (var sku in adds.Select(a => a["skuId"]?.GetValue<string>()).Concat(removes))
                {
                    if (!_skus.Any(k => string.Equals(k.SkuId, sku, StringComparison.OrdinalIgnoreCase)))
                    {
                        problem = $"License {sku} does not correspond to a valid company License.";
                    }
                }

                if (problem is null && removes.FirstOrDefault(r => !user.Licences.ContainsKey(r)) is { } notHeld)
                {
                    problem = $"User does not have a corresponding license {notHeld}.";
                }

                if (problem is null)
                {
                    foreach (var add in adds)
                    {
                        user.Licences[add["skuId"]!.GetValue<string>()] = (add["disabledPlans"] as JsonArray)?.Select(p => p!.GetValue<string>()).ToList() ?? [];
                    }

                    removes.ForEach(r => user.Licences.Remove(r));
                }
            }
        }

        if (user is null)
        {
            await NotFoundAsync(ctx, id);
        }
        else if (problem is not null)
        {
            await ErrorAsync(ctx, 400, "Request_BadRequest", problem);
        }
        else
        {
            // 200 with the user object.
            await JsonAsync(ctx, 200, UserJson(user, null));
        }
    }

    private async Task MembersAsync(HttpContext ctx, string method, string[] s, JsonObject? body)
    {
        var write = method != "GET";
        if (!await (write ? RequireAsync(ctx, "GroupMember.ReadWrite.All", "Group.ReadWrite.All") : RequireAsync(ctx, "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All")))
        {
            return;
        }

        var group = Find(_groups, g => g.Id == s[1]);
        if (group is null)
        {
            await NotFoundAsync(ctx, s[1]);
            return;
        }

        switch (method, s.Length)
        {
            case ("GET", 3):
                List<string> ids;
                lock (_lock)
                {
                    ids = [.. group.Members];
                }

                await PageAsync(ctx, ids.Select(id => new JsonObject { ["@odata.type"] = "#microsoft.graph.user", ["id"] = id }).ToList());
                return;
            case ("GET", 4):
                bool isMember;
                lock (_lock)
                {
                    isMember = group.Members.Contains(s[3]);
                }

                if (isMember && !MemberNotFoundByKey)
                {
                    await JsonAsync(ctx, 200, new JsonObject { ["@odata.type"] = "#microsoft.graph.user", ["id"] = s[3] });
                }
                else
                {
                    await NotFoundAsync(ctx, s[3]);
                }

                return;
            case ("POST", 4) when s[3] == "$ref":
                var reference = body?["@odata.id"]?.GetValue<string>();
                var userId = reference?[(reference.LastIndexOf('/') + 1)..];
                if (reference is null || !reference.Contains("/directoryObjects/", StringComparison.Ordinal))
                {
                    await ErrorAsync(ctx, 400, "Request_BadRequest", "Invalid URL format specified in @odata.id.");
                    return;
                }

                await ChangeMemberAsync(ctx, group, userId!, add: true);
                return;
            case ("DELETE", 5) when s[4] == "$ref":
                await ChangeMemberAsync(ctx, group, s[3], add: false);
                return;
            case ("DELETE", 4):
                // The documented hazard: without /$ref the member object itself is deleted when the app may manage
                // users; otherwise Graph refuses with 403.
                if (!Granted.Contains("User.ReadWrite.All") && !Granted.Contains("Directory.ReadWrite.All"))
                {
                    await ErrorAsync(ctx, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
                    return;
                }

                lock (_lock)
                {
                    if (_users.FirstOrDefault(u => u.Id == s[3]) is { } victim)
                    {
                        _users.Remove(victim);
                        _groups.ForEach(g => g.Members.Remove(victim.Id));
                        UsersDeletedByMissingRef++;
                    }
                }

                ctx.Response.StatusCode = 204;
                return;
            default:
                await ErrorAsync(ctx, 405, "Request_BadRequest", "The specified HTTP method is not allowed for the request.");
                return;
        }
    }

    private async Task ChangeMemberAsync(HttpContext ctx, FakeGroup group, string userId, bool add)
    {
        string? error = null;
        var status = 204;
        lock (_lock)
        {
            if (group.Dynamic)
            {
                (status, error) = (400, "Insufficient privileges to complete the operation. Dynamic group membership is determined by the membership rule.");
            }
            else if (add && !_users.Any(u => u.Id == userId))
            {
                (status, error) = (404, NotFoundMessage(userId));
            }
            else if (add && group.Members.Contains(userId))
            {
                (status, error) = (400, "One or more added object references already exist for the following modified properties: 'members'.");
            }
            else if (!add && !group.Members.Contains(userId))
            {
                (status, error) = (404, NotFoundMessage(userId));
            }
            else if (add)
            {
                group.Members.Add(userId);
            }
            else
            {
                group.Members.Remove(userId);
            }
        }

        if (error is null)
        {
            ctx.Response.StatusCode = 204;
            return;
        }

        await ErrorAsync(ctx, status, status == 404 ? "Request_ResourceNotFound" : "Request_BadRequest", error);
    }

    private static readonly string[] RoleRead = ["RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All", "RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All"];

    /// <summary>
    /// <c>roleManagement/directory/roleDefinitions</c> (list) and <c>roleAssignments</c> (list with an optional
    /// <c>$filter=principalId eq '…'</c>, get, delete, create), with the permissions the v1.0 reference lists: any of
    /// <see cref="RoleRead"/> to read, <c>RoleManagement.ReadWrite.Directory</c> to write.
    /// </summary>
    private async Task RolesAsync(HttpContext ctx, string method, string[] s, JsonObject? body)
    {
        var write = method != "GET";
        if (!await (write ? RequireAsync(ctx, "RoleManagement.ReadWrite.Directory") : RequireAsync(ctx, RoleRead)))
        {
            return;
        }

        var q = ctx.Request.Query;
        switch (method, s[2], s.Length)
        {
            case ("GET", "roleDefinitions", 3):
                await PageAsync(ctx, Snapshot(_roleDefinitions).Select(d => Project(new JsonObject
                {
                    ["id"] = d.Id,
                    ["displayName"] = d.DisplayName,
                    ["isBuiltIn"] = true,
                    ["isEnabled"] = true,
                    ["templateId"] = d.Id,
                }, Selected(q))).ToList());
                return;
            case ("GET", "roleAssignments", 3):
                var all = Snapshot(_roleAssignments);
                if (q["$filter"].ToString() is { Length: > 0 } filter)
                {
                    var match = PrincipalFilter().Match(filter);
                    if (!match.Success)
                    {
                        await ErrorAsync(ctx, 400, "BadRequest", $"Invalid filter clause: this fake models only principalId eq '<id>', not '{filter}'.");
                        return;
                    }

                    all = [.. all.Where(a => a.PrincipalId == match.Groups[1].Value)];
                }

                await PageAsync(ctx, all.Select(a => Project(RoleAssignmentJson(a), Selected(q))).ToList());
                return;
            case ("GET", "roleAssignments", 4):
                if (Find(_roleAssignments, a => a.Id == s[3]) is { } found)
                {
                    await JsonAsync(ctx, 200, RoleAssignmentJson(found));
                    return;
                }

                await NotFoundAsync(ctx, s[3]);
                return;
            case ("DELETE", "roleAssignments", 4):
                bool removed;
                lock (_lock)
                {
                    removed = _roleAssignments.RemoveAll(a => a.Id == s[3]) > 0;
                }

                if (removed)
                {
                    ctx.Response.StatusCode = 204;
                    return;
                }

                await NotFoundAsync(ctx, s[3]);
                return;
            case ("POST", "roleAssignments", 3):
                var principal = body?["principalId"]?.GetValue<string>();
                var definition = body?["roleDefinitionId"]?.GetValue<string>();
                var scope = body?["directoryScopeId"]?.GetValue<string>();
                if (principal is null || definition is null || scope is null)
                {
                    await ErrorAsync(ctx, 400, "Request_BadRequest", "principalId, roleDefinitionId and directoryScopeId are required.");
                    return;
                }

                FakeRoleAssignment? created = null;
                string? problem = null;
                lock (_lock)
                {
                    if (!_roleDefinitions.Any(d => d.Id == definition))
                    {
                        problem = NotFoundMessage(definition);
                    }
                    else if (!_users.Any(u => u.Id == principal))
                    {
                        problem = NotFoundMessage(principal);
                    }
                    else if (_roleAssignments.Any(a => a.PrincipalId == principal && a.RoleDefinitionId == definition && a.DirectoryScopeId == scope))
                    {
                        problem = "A conflicting object with one or more of the specified property values is present in the directory.";
                    }
                    else
                    {
                        created = AssignRoleLocked(principal, definition, scope);
                    }
                }

                if (created is null)
                {
                    await ErrorAsync(ctx, problem!.StartsWith("Resource", StringComparison.Ordinal) ? 404 : 400,
                        problem.StartsWith("Resource", StringComparison.Ordinal) ? "Request_ResourceNotFound" : "Request_BadRequest", problem);
                    return;
                }

                var json = RoleAssignmentJson(created);
                json["@odata.context"] = $"{BaseUrl}$metadata#roleManagement/directory/roleAssignments/$entity";
                await JsonAsync(ctx, 201, json);
                return;
            default:
                await ErrorAsync(ctx, 405, "Request_BadRequest", "The specified HTTP method is not allowed for the request.");
                return;
        }
    }

    private static JsonObject RoleAssignmentJson(FakeRoleAssignment a) => new()
    {
        ["id"] = a.Id,
        ["principalId"] = a.PrincipalId,
        ["resourceScope"] = a.DirectoryScopeId,
        ["directoryScopeId"] = a.DirectoryScopeId,
        ["roleDefinitionId"] = a.RoleDefinitionId,
    };

    [GeneratedRegex(@"^\s*principalId\s+eq\s+'([^']*)'\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex PrincipalFilter();

    [GeneratedRegex(@"^\s*id\s+eq\s+'([^']*)'\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdFilter();

    [GeneratedRegex(@"^\s*serialNumber\s+eq\s+'([^']*)'\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SerialFilter();

    private async Task DevicesAsync(HttpContext ctx, string method, string[] s, JsonObject? body)
    {
        var action = s.Length == 4 ? s[3] : null;
        if (!await (action is null ? RequireAsync(ctx, "DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All") : RequireAsync(ctx, "DeviceManagementManagedDevices.PrivilegedOperations.All")))
        {
            return;
        }

        if (method == "GET" && s.Length == 2)
        {
            var listed = Snapshot(_devices);
            if (ctx.Request.Query["$filter"].ToString() is { Length: > 0 } deviceFilter)
            {
                var bySerial = SerialFilter().Match(deviceFilter);
                if (!bySerial.Success)
                {
                    await ErrorAsync(ctx, 400, "BadRequest", $"Invalid filter clause: this fake models only serialNumber eq '<serial>', not '{deviceFilter}'.");
                    return;
                }

                listed = [.. listed.Where(d => d.SerialNumber == bySerial.Groups[1].Value)];
            }

            List<JsonObject> page;
            lock (_lock)
            {
                page = [.. listed.Select(d => Project(DeviceJson(d), Selected(ctx.Request.Query)))];
            }

            await PageAsync(ctx, page);
            return;
        }

        if (Find(_devices, d => d.Id == s[2]) is not { } device)
        {
            await ErrorAsync(ctx, 404, "ResourceNotFound", "{\"_version\": 3, \"Message\": \"An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000\"}");
            return;
        }

        switch (method, action)
        {
            case ("GET", null):
                JsonObject json;
                lock (_lock)
                {
                    json = DeviceJson(device);
                }

                await JsonAsync(ctx, 200, json);
                return;
            case ("POST", "remoteLock") when body is null:
                RecordAction(device, "remoteLock");
                ctx.Response.StatusCode = 204;
                return;
            case ("POST", "wipe"):
                string[] known = ["keepEnrollmentData", "keepUserData", "macOsUnlockCode", "persistEsimDataPlan"];
                if (body is not null && body.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k)) is { } unknown)
                {
                    await ErrorAsync(ctx, 400, "BadRequest", $"The parameter '{unknown}' in the request payload is not a valid parameter for the operation 'wipe'.");
                    return;
                }

                lock (_lock)
                {
                    device.WipeBody = body?.ToJsonString();
                    device.ManagementState = DevicesCheckInAtOnce ? "wipeIssued" : "wipePending";
                }

                RecordAction(device, "wipe");
                ctx.Response.StatusCode = 204;
                return;
            default:
                await ErrorAsync(ctx, 400, "BadRequest", $"No OData route exists that match template for '{method} {action}'.");
                return;
        }
    }

    private void RecordAction(FakeDevice device, string name)
    {
        lock (_lock)
        {
            device.Actions.Add(new FakeDeviceAction { ActionName = name, ActionState = DevicesCheckInAtOnce ? "done" : "pending", StartDateTime = _time.GetUtcNow() });
        }
    }

    /// <summary>Completes every pending device command, as devices checking in would.</summary>
    public void DevicesCheckIn()
    {
        lock (_lock)
        {
            foreach (var a in _devices.SelectMany(d => d.Actions).Where(a => a.ActionState == "pending"))
            {
                a.ActionState = "done";
            }
        }
    }

    public string? WipeBodyOf(FakeDevice device)
    {
        lock (_lock)
        {
            return device.WipeBody;
        }
    }

    private static JsonObject DeviceJson(FakeDevice d) => new()
    {
        ["id"] = d.Id,
        ["deviceName"] = d.DeviceName,
        ["serialNumber"] = d.SerialNumber,
        ["model"] = d.Model,
        ["userPrincipalName"] = d.UserPrincipalName,
        ["managementState"] = d.ManagementState,
        ["operatingSystem"] = "iOS",
        ["deviceActionResults"] = new JsonArray([.. d.Actions.Select(a => (JsonNode)new JsonObject
        {
            ["actionName"] = a.ActionName, ["actionState"] = a.ActionState,
            ["startDateTime"] = a.StartDateTime.ToString("o", CultureInfo.InvariantCulture), ["lastUpdatedDateTime"] = a.StartDateTime.ToString("o", CultureInfo.InvariantCulture),
        })]),
    };

    private JsonObject UserJson(FakeUser u, HashSet<string>? select)
    {
        JsonObject full;
        lock (_lock)
        {
            full = new JsonObject
            {
                ["id"] = u.Id,
                ["userPrincipalName"] = u.UserPrincipalName,
                ["mail"] = u.Mail,
                ["employeeId"] = u.EmployeeId,
                ["accountEnabled"] = u.AccountEnabled,
                ["userType"] = u.UserType,
                ["displayName"] = u.UserPrincipalName.Split('@')[0],
                ["signInSessionsValidFromDateTime"] = u.SignInSessionsValidFrom.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                // Graph returns null (not false) for a cloud-only user.
                ["onPremisesSyncEnabled"] = u.OnPremisesSyncEnabled ? true : null,
                ["lastPasswordChangeDateTime"] = u.LastPasswordChange?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["assignedLicenses"] = new JsonArray([.. u.Licences.Select(l => (JsonNode)new JsonObject { ["disabledPlans"] = new JsonArray([.. l.Value.Select(p => (JsonNode)JsonValue.Create(p))]), ["skuId"] = l.Key })]),
                ["signInActivity"] = new JsonObject { ["lastSignInDateTime"] = u.LastSignIn?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) },
            };
        }

        if (select is null || select.Count == 0)
        {
            // Graph's default set leaves out the properties only $select returns (assignedLicenses, employeeId,
            // accountEnabled, signInActivity and others).
            select = ["id", "userPrincipalName", "mail", "displayName"];
        }

        return Project(full, select);
    }

    private static JsonObject Project(JsonObject full, HashSet<string> select)
    {
        if (select.Count == 0)
        {
            return full;
        }

        var o = new JsonObject();
        foreach (var (k, v) in full)
        {
            if (k == "id" || k.StartsWith('@') || select.Contains(k))
            {
                o[k] = v?.DeepClone();
            }
        }

        return o;
    }

    private static HashSet<string> Selected(IQueryCollection q) =>
        new((q["$select"].ToString() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);

    /// <summary>One page of <paramref name="items"/> at <c>$skiptoken</c>, with <c>@odata.nextLink</c> when more follow.</summary>
    private async Task PageAsync(HttpContext ctx, List<JsonObject> items)
    {
        var q = ctx.Request.Query;
        var size = int.TryParse(q["$top"], out var top) ? Math.Min(top, PageSize) : PageSize;
        var skip = int.TryParse(q["$skiptoken"], out var token) ? token : 0;
        var page = new JsonObject
        {
            ["@odata.context"] = $"{BaseUrl}$metadata#{ctx.Request.Path.Value?.Split('/').Last()}",
            ["value"] = new JsonArray([.. items.Skip(skip).Take(size).Select(i => (JsonNode)i)]),
        };
        if (skip + size < items.Count)
        {
            var kept = string.Join('&', q.Where(kv => kv.Key != "$skiptoken").Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value.ToString())}"));
            page["@odata.nextLink"] = $"{new Uri(NextLinkRoot ?? Root, ctx.Request.Path.Value)}?{kept}{(kept.Length > 0 ? "&" : string.Empty)}$skiptoken={skip + size}";
        }

        await JsonAsync(ctx, 200, page);
    }

    private async Task<bool> RequireAsync(HttpContext ctx, params string[] anyOf)
    {
        if (anyOf.Any(Granted.Contains))
        {
            return true;
        }

        await ErrorAsync(ctx, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
        return false;
    }

    private Task NotFoundAsync(HttpContext ctx, string id) =>
        ErrorAsync(ctx, 404, "Request_ResourceNotFound", NotFoundMessage(id));

    private List<T> Snapshot<T>(List<T> list)
    {
        lock (_lock)
        {
            return [.. list];
        }
    }

    private T? Find<T>(List<T> list, Func<T, bool> match)
        where T : class
    {
        lock (_lock)
        {
            return list.FirstOrDefault(match);
        }
    }
}
