using System.Globalization;
using Deprov.Core;

namespace Deprov.Hosting.Discovery;

/// <summary>
/// A discovery listed so many fewer accounts than the stored inventory holds that it is refused: nothing was written, the
/// old inventory stands. A wrong base or a server answering with an empty page would otherwise silently drop every
/// account of the system, leavers whose cut failed included.
/// </summary>
public sealed class InventoryShrinkException : DeprovException
{
    public InventoryShrinkException(string systemId, int stored, int listed, double maxShare)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Discovery of '{systemId}' listed {listed:N0} account(s) where the inventory holds {stored:N0}: a fall of {Share(stored, listed):P0}, more than the " +
            $"{maxShare:P0} reconciliation.max_shrink allows. Nothing was written; the inventory is kept as it was. If the system's settings are wrong (a base " +
            $"or endpoint that is not where the accounts are), fix them ('deprov check {systemId}' probes them); if the accounts really are gone, accept the " +
            $"new listing with --accept-shrink."))
    {
        (SystemId, Stored, Listed, MaxShare) = (systemId, stored, listed, maxShare);
    }

    public string SystemId { get; }

    /// <summary>Accounts the stored inventory holds.</summary>
    public int Stored { get; }

    /// <summary>Accounts the refused listing held.</summary>
    public int Listed { get; }

    /// <summary>The share (0–1) of accounts a discovery may drop.</summary>
    public double MaxShare { get; }

    /// <summary>The share (0–1) of accounts the listing dropped.</summary>
    public double Fall => Share(Stored, Listed);

    /// <summary>True when a listing of <paramref name="listed"/> accounts, after <paramref name="stored"/>, drops more than <paramref name="maxShare"/>.
    /// An empty inventory (a first discovery) never refuses.</summary>
    public static bool Refuses(int stored, int listed, double maxShare) => stored > 0 && listed < stored && Share(stored, listed) > maxShare;

    private static double Share(int stored, int listed) => stored <= 0 ? 0 : (stored - listed) / (double)stored;
}
