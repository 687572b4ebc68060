using System.Collections.Concurrent;

namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>
/// The bad habits real servers have, switched on by a test (all off by default). None of them may ever lead the
/// connector to report a change verified while the access remains.
/// </summary>
public sealed class GoogleFakeHabits
{
    /// <summary>Writes to users and group members (PATCH, DELETE, signOut, members.insert) answer success and change nothing.</summary>
    public bool IgnoreWrites { get; set; }

    /// <summary>Listings (<c>groups?userKey=</c>, a group's members) answer an empty page.</summary>
    public bool LenientLists { get; set; }

    /// <summary>Users (by immutable id) that answer 404 although they exist: by email they are found.</summary>
    public ConcurrentDictionary<string, bool> HiddenById { get; } = new(StringComparer.Ordinal);
}
