using System.Globalization;
using System.Xml.Linq;
using Deprov.Connectors.Aws.Protocol;

namespace Deprov.Connectors.Aws.Tests.Fake;

public sealed partial class IamFakeServer
{
    private sealed class FakeUser(string name, string id, DateTimeOffset? passwordLastUsed)
    {
        public string Name { get; } = name;

        public string Id { get; } = id;

        public DateTimeOffset? PasswordLastUsed { get; } = passwordLastUsed;

        public bool LoginProfile { get; set; }

        public int MfaDevices { get; set; }

        public List<FakeKey> Keys { get; } = [];

        public List<string> Policies { get; } = [];

        public List<string> InlinePolicies { get; } = [];

        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    }

    private sealed class FakeKey(string id, string status, DateTimeOffset? lastUsed)
    {
        public string Id { get; } = id;

        public string Status { get; set; } = status;

        public DateTimeOffset? LastUsed { get; } = lastUsed;
    }

    private sealed class FakeGroup(string name, string id)
    {
        public string Name { get; } = name;

        public string Id { get; } = id;

        public List<string> Members { get; } = [];

        public List<string> Policies { get; } = [];
    }

    /// <summary>Runs one IAM action under the lock.</summary>
    private Answer Dispatch(string action, Dictionary<string, string> p)
    {
        if (IgnoreWrites && action is "AddUserToGroup" or "RemoveUserFromGroup" or "UpdateAccessKey" or "DeleteAccessKey" or "DeleteLoginProfile")
        {
            return Ok(action);
        }

        switch (action)
        {
            case "ListUsers":
                return Page(action, p, "Users", _users.Values.OrderBy(u => u.Name, StringComparer.Ordinal).Select(UserXml).ToList());
            case "GetUser":
                return WithUser(p, u => Ok(action, new XElement(Ns + "User", UserXml(u).Elements())));
            case "ListGroups":
                return Page(action, p, "Groups", _groups.Values.OrderBy(g => g.Name, StringComparer.Ordinal).Select(GroupXml).ToList());
            case "GetGroup":
                return WithGroup(p, g => Page(action, p, "Users", [.. g.Members.Where(_users.ContainsKey).Select(m => UserXml(_users[m]))], new XElement(Ns + "Group", GroupXml(g).Elements())));
            case "ListGroupsForUser":
                return WithUser(p, u => Page(action, p, "Groups", [.. _groups.Values.Where(g => !EmptyGroupsForUser && g.Members.Contains(u.Name)).OrderBy(g => g.Name, StringComparer.Ordinal).Select(GroupXml)]));
            case "AddUserToGroup":
            case "RemoveUserFromGroup":
                return WithUser(p, u => WithGroup(p, g =>
                {
                    g.Members.Remove(u.Name);
                    if (action == "AddUserToGroup")
                    {
                        g.Members.Add(u.Name);
                    }

                    return Ok(action);
                }));
            case "ListAccessKeys":
                return WithUser(p, u => Page(action, p, "AccessKeyMetadata",
                    [.. u.Keys.Select(k => Member(El("UserName", u.Name), El("AccessKeyId", k.Id), El("Status", k.Status), El("CreateDate", Iso(Created))))],
                    El("UserName", u.Name)));
            case "GetAccessKeyLastUsed":
            {
                var owner = _users.Values.FirstOrDefault(u => u.Keys.Any(k => k.Id == p.GetValueOrDefault("AccessKeyId")));
                if (owner is null)
                {
                    // IAM answers AccessDenied, not NoSuchEntity, for a key id it does not know (it will not confirm keys exist).
                    return Error(403, "AccessDenied", "The access key does not exist or does not belong to this account.");
                }

                var key = owner.Keys.First(k => k.Id == p["AccessKeyId"]);
                var used = key.LastUsed is { } at
                    ? new XElement(Ns + "AccessKeyLastUsed", El("LastUsedDate", Iso(at)), El("ServiceName", "s3"), El("Region", "eu-west-1"))
                    : new XElement(Ns + "AccessKeyLastUsed", El("ServiceName", "N/A"), El("Region", "N/A"));
                return Ok(action, El("UserName", owner.Name), used);
            }

            case "UpdateAccessKey":
                return WithKey(p, (_, k) =>
                {
                    if (p.GetValueOrDefault("Status") is not ("Active" or "Inactive"))
                    {
                        return Error(400, "ValidationError", $"1 validation error detected: Value '{p.GetValueOrDefault("Status")}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]");
                    }

                    k.Status = p["Status"];
                    return Ok(action);
                });
            case "DeleteAccessKey":
                return WithKey(p, (u, k) =>
                {
                    u.Keys.Remove(k);
                    return Ok(action);
                });
            case "GetLoginProfile":
                return WithUser(p, u => u.LoginProfile
                    ? Ok(action, new XElement(Ns + "LoginProfile", El("UserName", u.Name), El("CreateDate", Iso(Created)), El("PasswordResetRequired", "false")))
                    : Error(404, "NoSuchEntity", $"Login Profile for User {u.Name} cannot be found."));
            case "DeleteLoginProfile":
                return WithUser(p, u =>
                {
                    if (!u.LoginProfile)
                    {
                        return Error(404, "NoSuchEntity", $"Login Profile for User {u.Name} cannot be found.");
                    }

                    u.LoginProfile = false;
                    return Ok(action);
                });
            case "ListAttachedUserPolicies":
                return WithUser(p, u => Page(action, p, "AttachedPolicies", [.. u.Policies.Select(PolicyXml)]));
            case "ListAttachedGroupPolicies":
                return WithGroup(p, g => Page(action, p, "AttachedPolicies", [.. g.Policies.Select(PolicyXml)]));
            case "ListUserPolicies":
                return WithUser(p, u => Page(action, p, "PolicyNames", [.. u.InlinePolicies.Select(n => new XElement(Ns + "member", n))]));
            case "DetachUserPolicy":
                return WithUser(p, u => u.Policies.Remove(p.GetValueOrDefault("PolicyArn") ?? string.Empty) ? Ok(action)
                    : Error(404, "NoSuchEntity", $"Policy {p.GetValueOrDefault("PolicyArn")} was not found."));
            case "DeleteUserPolicy":
                return WithUser(p, u => u.InlinePolicies.Remove(p.GetValueOrDefault("PolicyName") ?? string.Empty) ? Ok(action)
                    : Error(404, "NoSuchEntity", $"The user policy with name {p.GetValueOrDefault("PolicyName")} cannot be found."));
            case "ListUserTags":
                return WithUser(p, u => Page(action, p, "Tags", [.. u.Tags.Select(t => Member(El("Key", t.Key), El("Value", t.Value)))]));
            case "DeleteUser":
                return WithUser(p, u =>
                {
                    var what = u.LoginProfile ? "login profile" : u.Keys.Count > 0 ? "access keys" : u.Policies.Count > 0 ? "attached policies"
                        : u.InlinePolicies.Count > 0 ? "policies" : u.MfaDevices > 0 ? "MFA devices"
                        : _groups.Values.Any(g => g.Members.Contains(u.Name)) ? "groups" : null;
                    if (what is not null)
                    {
                        return Error(409, "DeleteConflict", $"Cannot delete entity, must {(what == "groups" ? "remove users from group" : $"delete {what}")} first.");
                    }

                    _users.Remove(u.Name);
                    return Ok(action);
                });
            default:
                return Error(400, "InvalidAction", $"Could not find operation {action} for version {IamClient.Version}");
        }
    }

    private Answer WithUser(Dictionary<string, string> p, Func<FakeUser, Answer> then)
    {
        if (!p.TryGetValue("UserName", out var name))
        {
            return Error(400, "ValidationError", "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
        }

        return _users.TryGetValue(name, out var u) ? then(u) : Error(404, "NoSuchEntity", $"The user with name {name} cannot be found.");
    }

    private Answer WithGroup(Dictionary<string, string> p, Func<FakeGroup, Answer> then)
    {
        var name = p.GetValueOrDefault("GroupName") ?? string.Empty;
        return _groups.TryGetValue(name, out var g) ? then(g) : Error(404, "NoSuchEntity", $"The group with name {name} cannot be found.");
    }

    private Answer WithKey(Dictionary<string, string> p, Func<FakeUser, FakeKey, Answer> then) =>
        WithUser(p, u => u.Keys.Find(k => k.Id == p.GetValueOrDefault("AccessKeyId")) is { } k ? then(u, k)
            : Error(404, "NoSuchEntity", $"The Access Key with id {p.GetValueOrDefault("AccessKeyId")} cannot be found."));

    /// <summary>One page of a listing: <c>MaxItems</c> (1–1000, default 100) from <c>Marker</c>, with <c>IsTruncated</c> and the next <c>Marker</c>.</summary>
    private static Answer Page(string action, Dictionary<string, string> p, string listName, List<XElement> items, params object[] extra)
    {
        var max = 100;
        if (p.TryGetValue("MaxItems", out var text) && (!int.TryParse(text, CultureInfo.InvariantCulture, out max) || max is < 1 or > 1000))
        {
            return Error(400, "ValidationError", $"1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000");
        }

        var start = 0;
        if (p.TryGetValue("Marker", out var marker) && !(marker.StartsWith("m.", StringComparison.Ordinal) && int.TryParse(marker[2..], CultureInfo.InvariantCulture, out start)))
        {
            return Error(400, "ValidationError", "Invalid Marker.");
        }

        var page = items.Skip(start).Take(max).ToList();
        var truncated = start + max < items.Count;
        var result = new List<object>(extra) { new XElement(Ns + listName, page), El("IsTruncated", truncated ? "true" : "false") };
        if (truncated)
        {
            result.Add(El("Marker", $"m.{start + max}"));
        }

        return Ok(action, [.. result]);
    }

    private static XElement UserXml(FakeUser u)
    {
        var x = Member(El("Path", "/"), El("UserName", u.Name), El("UserId", u.Id), El("Arn", $"arn:aws:iam::{AccountId}:user/{u.Name}"), El("CreateDate", Iso(Created)));
        if (u.PasswordLastUsed is { } at)
        {
            x.Add(El("PasswordLastUsed", Iso(at)));
        }

        return x;
    }

    private static XElement GroupXml(FakeGroup g) =>
        Member(El("Path", "/"), El("GroupName", g.Name), El("GroupId", g.Id), El("Arn", $"arn:aws:iam::{AccountId}:group/{g.Name}"), El("CreateDate", Iso(Created)));

    private static XElement PolicyXml(string arn) => Member(El("PolicyName", arn[(arn.LastIndexOf('/') + 1)..]), El("PolicyArn", arn));

    private static XElement Member(params object[] content) => new(Ns + "member", content);

    private static XElement El(string name, string value) => new(Ns + name, value);

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
