using System.Globalization;
using System.Runtime.CompilerServices;
using Deprov.Connectors.Aws.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws;

internal sealed partial class AwsIamConnector
{
    /// <summary>
    /// Lists users (<c>ListUsers</c>), each with its access keys (<c>ListAccessKeys</c>, <c>GetAccessKeyLastUsed</c>),
    /// console password (<c>GetLoginProfile</c>), attached managed policies (<c>ListAttachedUserPolicies</c>) and, when
    /// <c>email_tag</c> is set, its tags (<c>ListUserTags</c>); then groups (<c>ListGroups</c>,
    /// <c>ListAttachedGroupPolicies</c>) and their members (<c>GetGroup</c>). A user can sign in while it has a console
    /// password or an active key; its last sign-in is the latest of <c>PasswordLastUsed</c> and its keys' last use. Each
    /// access key is a credential owned by the user, so the planner revokes it. IAM has no change feed: every discovery is
    /// a full listing.
    /// </summary>
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var u in _client.ListAsync("ListUsers", [], "Users", "discover users", cancellationToken))
        {
            var name = IamClient.Text(u, "UserName");
            if (name is null)
            {
                continue;
            }

            var keys = await ReadKeysAsync(name, "discover access keys", cancellationToken);
            if (keys is null)
            {
                // Deleted while we were listing.
                continue;
            }

            var lastUse = IamClient.Date(u, "PasswordLastUsed");
            var keyUse = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                var r = await _client.CallAsync("GetAccessKeyLastUsed", Params(("AccessKeyId", key.Id)), "discover access key use", cancellationToken);
                var used = r.IsSuccess ? IamClient.Date(r.Result?.Element(IamClient.Ns + "AccessKeyLastUsed"), "LastUsedDate")
                    : r.IsNoSuchEntity ? null : throw _client.Failure(r, "GetAccessKeyLastUsed", "discover access key use");
                keyUse[key.Id] = used;
                if (used is { } at && (lastUse is null || at > lastUse))
                {
                    lastUse = at;
                }
            }

            var console = await HasLoginProfileAsync(name, "discover login profile", cancellationToken);
            var policies = (await _client.ListOrNullAsync("ListAttachedUserPolicies", User(name), "AttachedPolicies", "discover user policies", cancellationToken) ?? [])
                .Select(m => IamClient.Text(m, "PolicyName")).OfType<string>().ToList();
            var privileged = policies.Where(IsPrivilegedPolicy).ToList();
            var email = await EmailAsync(name, cancellationToken);
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["userName"] = name,
                ["loginProfile"] = Bool(console),
                ["activeAccessKeys"] = Join(keys.Where(k => k.Active).Select(k => k.Id)),
                ["privileged"] = Bool(privileged.Count > 0),
            };
            AddIfPresent(attributes, "userId", IamClient.Text(u, "UserId"));
            AddIfPresent(attributes, "arn", IamClient.Text(u, "Arn"));
            AddIfPresent(attributes, "path", IamClient.Text(u, "Path"));
            AddIfPresent(attributes, "email", email);
            AddIfPresent(attributes, "privilegedPolicies", Join(privileged));
            yield return new DiscoveredAccount(name, name, email, console || keys.Any(k => k.Active), AccountKind.User, lastUse, attributes);
            foreach (var key in keys)
            {
                var lastUsed = keyUse[key.Id] is { } at ? $", last used {at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}" : string.Empty;
                yield return new DiscoveredCredential(KeyId(name, key.Id), $"access key {key.Id} of {name}{lastUsed}", CredentialKind.ApiToken, name, [],
                    key.Active, key.Created);
            }
        }

        var groups = new List<string>();
        await foreach (var g in _client.ListAsync("ListGroups", [], "Groups", "discover groups", cancellationToken))
        {
            if (IamClient.Text(g, "GroupName") is not { } name)
            {
                continue;
            }

            var policies = await _client.ListOrNullAsync("ListAttachedGroupPolicies", Params(("GroupName", name)), "AttachedPolicies", "discover group policies", cancellationToken);
            if (policies is null)
            {
                continue;
            }

            var privileged = _privilegedGroups.Any(p => p.IsMatch(name))
                || policies.Select(m => IamClient.Text(m, "PolicyName")).OfType<string>().Any(IsPrivilegedPolicy);
            groups.Add(name);
            yield return new DiscoveredEntitlement(name, name, EntitlementKind.Group, privileged);
        }

        foreach (var group in groups)
        {
            var members = await _client.ListOrNullAsync("GetGroup", Params(("GroupName", group)), "Users", "discover members", cancellationToken);
            if (members is { Count: > 0 })
            {
                yield return new DiscoveredMembers(group, [.. members.Select(m => IamClient.Text(m, "UserName")).OfType<string>()]);
            }
        }
    }

    private bool IsPrivilegedPolicy(string policyName) => _privilegedPolicies.Any(p => p.IsMatch(policyName));

    /// <summary>The <c>email_tag</c> tag's value; else the user name when it is an address; else the name at <c>email_domain</c>.</summary>
    private async Task<string?> EmailAsync(string userName, CancellationToken cancellationToken)
    {
        if (_settings.EmailTag is { } tag)
        {
            var tags = await _client.ListOrNullAsync("ListUserTags", User(userName), "Tags", "discover user tags", cancellationToken) ?? [];
            if (tags.FirstOrDefault(t => string.Equals(IamClient.Text(t, "Key"), tag, StringComparison.OrdinalIgnoreCase)) is { } found
                && IamClient.Text(found, "Value") is { Length: > 0 } value)
            {
                return value;
            }
        }

        return userName.Contains('@', StringComparison.Ordinal) ? userName
            : _settings.EmailDomain is { } domain ? $"{userName}@{domain}"
            : null;
    }

    private static void AddIfPresent(Dictionary<string, string> map, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            map[key] = value;
        }
    }
}
