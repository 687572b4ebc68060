namespace Deprov.Core.Model;

/// <summary>The kind of working relationship HR records for a person.</summary>
public enum WorkerType
{
    Employee,
    Contractor,
    Vendor,
    Intern,
}

/// <summary>Where the person stands according to HR and Deprov.</summary>
public enum PersonStatus
{
    Active,
    /// <summary>A termination is known but not yet effective (notice period).</summary>
    Leaving,
    Left,
}

/// <summary>An HR record: the person Deprov protects access for.</summary>
/// <param name="TimeZone">IANA time-zone id used to turn HR dates into instants (e.g. <c>Europe/Paris</c>).</param>
public sealed record Person(
    string Id,
    string Email,
    string DisplayName,
    string? ManagerId,
    string Department,
    string Title,
    string Location,
    WorkerType WorkerType,
    PersonStatus Status,
    DateOnly? StartDate,
    DateOnly? EndDate,
    string TimeZone);
