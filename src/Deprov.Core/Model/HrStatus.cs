namespace Deprov.Core.Model;

/// <summary>What an HR employment status means to Deprov.</summary>
public enum HrStatusMeaning
{
    /// <summary>Employed. With a known end date still pending, this explicitly withdraws it (termination cancelled); for a person who has left, a rehire.</summary>
    Active,
    /// <summary>Absent but employed (parental leave, sabbatical): no access change, and never a cancel or restore.</summary>
    OnLeave,
    /// <summary>Employment ends (leave event) on the row's end date.</summary>
    Terminated,
    /// <summary>A contract ends (contract_end event) on the row's end date.</summary>
    ContractEnded,
}

/// <summary>What a terminated (or contract-ended) status with no end date means.</summary>
public enum TerminatedWithoutDate
{
    /// <summary>The row is refused with an error naming the status and date columns (the default): a date is never guessed.</summary>
    Refuse,
    /// <summary>The last day is today: access ends at midnight tonight, in the person's time zone.</summary>
    Today,
    /// <summary>Access ends now.</summary>
    Now,
}

/// <summary>
/// How an HR source's status values map to <see cref="HrStatusMeaning"/> (matched ignoring case and surrounding spaces),
/// and what a termination without a date means. Shared by every HR source: the roster import and HR-system pulls.
/// </summary>
public sealed record HrStatusMapping(IReadOnlyDictionary<string, HrStatusMeaning> Values, TerminatedWithoutDate WithoutDate)
{
    /// <summary>Active, On Leave / Leave of Absence, Terminated / Inactive, Contract Ended; a termination without a date is refused.</summary>
    public static HrStatusMapping Default { get; } = new(
        new Dictionary<string, HrStatusMeaning>(StringComparer.OrdinalIgnoreCase)
        {
            ["Active"] = HrStatusMeaning.Active,
            ["On Leave"] = HrStatusMeaning.OnLeave,
            ["Leave of Absence"] = HrStatusMeaning.OnLeave,
            ["Terminated"] = HrStatusMeaning.Terminated,
            ["Inactive"] = HrStatusMeaning.Terminated,
            ["Contract Ended"] = HrStatusMeaning.ContractEnded,
        },
        TerminatedWithoutDate.Refuse);

    public bool TryMap(string value, out HrStatusMeaning meaning)
    {
        foreach (var (raw, m) in Values)
        {
            if (string.Equals(raw.Trim(), value.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                meaning = m;
                return true;
            }
        }

        meaning = default;
        return false;
    }

    /// <summary>The values this mapping knows, for error messages.</summary>
    public string Known => string.Join(", ", Values.Keys.Select(k => $"'{k}'"));
}
