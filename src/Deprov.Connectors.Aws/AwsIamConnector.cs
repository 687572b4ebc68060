using System.Text.RegularExpressions;
using Deprov.Connectors.Aws.Protocol;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Connectors.Aws;

/// <summary>
/// An AWS account's IAM users through the IAM Query API: console passwords (login profiles), access keys, group
/// memberships, and deletion of the user. Ids: an account is its <c>UserName</c> (every IAM call takes the name, not the
/// <c>UserId</c>), a group its <c>GroupName</c>, an access key <c>UserName/AccessKeyId</c>. Follows the
/// <see cref="IConnector"/> error contract: every failure is a <see cref="ConnectorException"/> naming the system, the IAM
/// action and IAM's error code, never the secret access key. Split by concern: actions, read-back and discovery are in
/// their own files.
/// </summary>
internal sealed partial class AwsIamConnector : IConnector, IDisposable
{
    private static readonly ConnectorDescriptor Descriptor = new(
        "aws_iam",
        new HashSet<ActionKind>
        {
            ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeToken,
            ActionKind.RemoveEntitlement, ActionKind.AddEntitlement,
        },
        IncrementalDiscovery: false,
        ReportsSignIns: true);

    private static readonly IReadOnlyDictionary<string, string> Absent =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" };

    /// <summary>The AWS managed policy that grants everything: always privileged.</summary>
    internal const string AdministratorAccess = "AdministratorAccess";

    private readonly string _label;
    private readonly AwsIamSettings _settings;
    private readonly IamClient _client;
    private readonly Regex[] _privilegedPolicies;
    private readonly Regex[] _privilegedGroups;

    public AwsIamConnector(ConnectedSystem system, AwsIamSettings settings, ConnectorContext context)
    {
        _label = $"AWS IAM {system.Id}";
        _settings = settings;
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        _client = new IamClient(_label, settings, context.Secrets, Limiter, context.Time);
        _privilegedPolicies = [Wildcard.ToRegex(AdministratorAccess), .. settings.PrivilegedPolicies.Select(Wildcard.ToRegex)];
        _privilegedGroups = [.. settings.PrivilegedGroups.Select(Wildcard.ToRegex)];
    }

    internal AdaptiveRateLimiter Limiter { get; }

    public ConnectorDescriptor Describe() => Descriptor;

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => DisableAsync(action, cancellationToken),
            ActionKind.EnableAccount => EnableAsync(action, cancellationToken),
            ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
            ActionKind.RevokeToken => RevokeKeyAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
            _ => ChangeMembershipAsync(action, add: true, cancellationToken),
        };
    }

    /// <summary>An access key as <c>ListAccessKeys</c> reports it.</summary>
    internal sealed record AccessKey(string Id, string Status, DateTimeOffset? Created)
    {
        public bool Active => Status == "Active";
    }

    /// <summary>The user's access keys, or null when the user does not exist.</summary>
    private async Task<List<AccessKey>?> ReadKeysAsync(string userName, string what, CancellationToken cancellationToken)
    {
        var members = await _client.ListOrNullAsync("ListAccessKeys", User(userName), "AccessKeyMetadata", what, cancellationToken);
        return members?.Select(m => new AccessKey(IamClient.Text(m, "AccessKeyId") ?? string.Empty, IamClient.Text(m, "Status") ?? string.Empty,
            IamClient.Date(m, "CreateDate"))).Where(k => k.Id.Length > 0).ToList();
    }

    /// <summary>Whether the user has a console password. Call only for a user known to exist: IAM answers
    /// <c>NoSuchEntity</c> both for "no login profile" and for "no such user".</summary>
    private async Task<bool> HasLoginProfileAsync(string userName, string what, CancellationToken cancellationToken)
    {
        var r = await _client.CallAsync("GetLoginProfile", User(userName), what, cancellationToken);
        return r.IsNoSuchEntity ? false : r.IsSuccess ? true : throw _client.Failure(r, "GetLoginProfile", what);
    }

    /// <summary>The names of the user's groups, or null when the user does not exist.</summary>
    private async Task<List<string>?> GroupsOfAsync(string userName, string what, CancellationToken cancellationToken)
    {
        var members = await _client.ListOrNullAsync("ListGroupsForUser", User(userName), "Groups", what, cancellationToken);
        return members?.Select(m => IamClient.Text(m, "GroupName")).OfType<string>().ToList();
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!Descriptor.Supported.Contains(action.Kind))
        {
            throw new ConnectorException($"{_label}: this connector cannot {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false);
        }
    }

    /// <summary>The user name and access key id of a credential id <c>UserName/AccessKeyId</c>.</summary>
    private (string UserName, string KeyId) KeyOf(ConnectorAction action)
    {
        var id = action.CredentialExternalId;
        var slash = id?.LastIndexOf('/') ?? -1;
        return id is not null && slash > 0 && slash < id.Length - 1
            ? (id[..slash], id[(slash + 1)..])
            : throw new ConnectorException($"{_label}: {action.Describe()} needs an access key id of the form 'UserName/AccessKeyId', not '{id}'.", isTransient: false);
    }

    internal static string KeyId(string userName, string accessKeyId) => $"{userName}/{accessKeyId}";

    private static List<KeyValuePair<string, string>> User(string userName) => [new("UserName", userName)];

    private static List<KeyValuePair<string, string>> Params(params (string Key, string Value)[] pairs) =>
        [.. pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value))];

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Join(IEnumerable<string> ids) => string.Join(',', ids);

    private static string[] Split(string? list) => list is null ? [] : list.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public void Dispose() => _client.Dispose();
}
