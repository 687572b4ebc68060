using System.Collections.Concurrent;

namespace Deprov.Connectors.Okta.Tests.Fake;

/// <summary>
/// The bad habits real servers have, switched on one at a time by a test (all off by default). None of them may ever
/// lead the connector to report a change verified while the access remains.
/// </summary>
public sealed class OktaFakeHabits
{
    /// <summary>Writes (lifecycle, sessions, grants, memberships, roles) answer success and change nothing; nothing is logged.</summary>
    public bool IgnoreWrites { get; set; }

    /// <summary>Listings (a user's groups, a group's members, role assignees, the System Log) answer an empty list.</summary>
    public bool LenientLists { get; set; }

    /// <summary>The System Log ignores <c>filter</c> and answers every event.</summary>
    public bool IgnoreLogFilter { get; set; }

    /// <summary>Users that answer <c>404 E0000007</c> when addressed by their id (by login they are found), although they exist.</summary>
    public ConcurrentDictionary<string, bool> HiddenById { get; } = new(StringComparer.Ordinal);
}
