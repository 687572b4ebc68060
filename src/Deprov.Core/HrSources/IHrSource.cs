using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Core.HrSources;

/// <summary>
/// An HR system Deprov pulls from (BambooHR…): it yields the current records, all of them or those changed since a
/// cursor, and single records by HR id. Deprov turns what it yields into events with <see cref="HrSync"/>, the same
/// comparison (<see cref="HrDiff"/>) and status mapping the roster import uses.
/// </summary>
/// <remarks>
/// Error contract: throw <see cref="ConnectorException"/> (<c>IsTransient</c> for a lost connection, a timeout, a rate limit
/// not waited out); the runner records the error on the source's state and tries again at the next interval. A record the
/// source cannot read with certainty is not an error: it is yielded with <see cref="HrSourceRecord.Problem"/> set, and
/// nothing is implied from it. A field the source did not read is left out of <see cref="HrRecord.Mapped"/>.
/// </remarks>
public interface IHrSource : IAsyncDisposable
{
    /// <summary>The configured id (<c>hr_sources[].id</c>).</summary>
    string Id { get; }

    /// <summary>The kind (<c>bamboohr</c>); also the source of the events it implies, so a webhook from the same system
    /// derives the same idempotency keys.</summary>
    string Kind { get; }

    /// <summary>Everyone the HR system has, active or not, with a cursor from which <see cref="ListChangedAsync"/> continues.</summary>
    Task<HrSourceListing> ListAllAsync(CancellationToken cancellationToken);

    /// <summary>The records changed since <paramref name="cursor"/> (a value this source returned before), and the next cursor.</summary>
    Task<HrSourceListing> ListChangedAsync(string cursor, CancellationToken cancellationToken);

    /// <summary>One record as the HR system has it now; null when the HR system does not know the id.</summary>
    Task<HrSourceRecord?> ReadAsync(string hrId, CancellationToken cancellationToken);
}

/// <summary>One person as an HR source yields them.</summary>
/// <param name="Record">What was read; null when nothing could be used (<paramref name="Problem"/> says why).</param>
/// <param name="LastDay">The termination's last day worked, when the record says the person leaves; <see cref="HrSync"/>
/// reads it as the end of that day in the person's time zone (the record's <see cref="HrRecord.End"/> is left unset).</param>
/// <param name="Problem">Why nothing of this record is used (a date not in the source's format…), naming the field.</param>
public sealed record HrSourceRecord(string Id, HrRecord? Record, DateOnly? LastDay = null, string? Problem = null);

/// <summary>What one listing read.</summary>
/// <param name="Cursor">Where the next changed-since listing starts; null when the source gives none.</param>
/// <param name="Calls">Requests made, for the run's report.</param>
/// <param name="Notes">What was read and not used, said in the run's audit record (a record deleted in the HR system…).</param>
public sealed record HrSourceListing(IReadOnlyList<HrSourceRecord> Records, string? Cursor, int Calls, IReadOnlyList<string> Notes);

/// <summary>Builds the <see cref="IHrSource"/> of one configured <c>hr_sources</c> entry. One factory per kind.</summary>
public interface IHrSourceFactory
{
    /// <summary>The <c>kind</c> value in <c>deprov.yaml</c> this factory handles.</summary>
    string Kind { get; }

    /// <summary>How the HR system's employment statuses map when <c>hr_sources[].status.values</c> does not say.</summary>
    HrStatusMapping DefaultStatuses { get; }

    /// <summary>Checks the entry's <c>settings</c> block and returns every problem found. Must not contact the HR system.</summary>
    IReadOnlyList<ValidationError> Validate(string sourceId, SettingsNode settings);

    /// <summary>Creates the source; <paramref name="statuses"/> maps the HR system's employment statuses.</summary>
    IHrSource Create(string sourceId, SettingsNode settings, HrStatusMapping statuses, ConnectorContext context);
}

/// <summary>What the store keeps about one HR source between runs.</summary>
/// <param name="Cursor">Where the next changed-since listing starts (advanced only by a run that succeeded).</param>
/// <param name="LastRunAt">When the last run ended, successful or not.</param>
/// <param name="LastSuccessAt">When the last successful run started: nothing changed in the HR system before it is unseen.</param>
/// <param name="LastFullAt">When the last full listing was accepted.</param>
/// <param name="LastFullCount">How many records that listing had: a later listing much shorter is refused as truncated.</param>
/// <param name="LastError">Why the last run failed or was refused; null after a successful run.</param>
public sealed record HrSourceState(string SourceId, string? Cursor, DateTimeOffset? LastRunAt, DateTimeOffset? LastSuccessAt, DateTimeOffset? LastFullAt,
    int? LastFullCount, string? LastError)
{
    /// <summary>How far behind the HR system Deprov may be: the time since the last successful run started.</summary>
    public TimeSpan? LagAt(DateTimeOffset now) => LastSuccessAt is { } at ? now - at : null;
}
