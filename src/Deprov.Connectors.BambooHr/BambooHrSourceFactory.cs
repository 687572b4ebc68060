using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.HrSources;
using Deprov.Core.Model;

namespace Deprov.Connectors.BambooHr;

/// <summary>Builds BambooHR sources for <c>hr_sources</c> entries of <c>kind: bamboohr</c>. See <c>docs/connectors/bamboohr.md</c>.</summary>
public sealed class BambooHrSourceFactory : IHrSourceFactory
{
    internal const string KindName = "bamboohr";

    public string Kind => KindName;

    /// <summary>BambooHR's stock employment statuses: Full-Time, Part-Time, Contractor and Intern are employed; Terminated
    /// ends employment; leave and furlough statuses change nothing. A company's own statuses go in <c>status.values</c>.</summary>
    public HrStatusMapping DefaultStatuses { get; } = new(
        new Dictionary<string, HrStatusMeaning>(StringComparer.OrdinalIgnoreCase)
        {
            ["Full-Time"] = HrStatusMeaning.Active,
            ["Part-Time"] = HrStatusMeaning.Active,
            ["Contractor"] = HrStatusMeaning.Active,
            ["Intern"] = HrStatusMeaning.Active,
            ["Terminated"] = HrStatusMeaning.Terminated,
            ["On Leave"] = HrStatusMeaning.OnLeave,
            ["Leave of Absence"] = HrStatusMeaning.OnLeave,
            ["Furloughed"] = HrStatusMeaning.OnLeave,
        },
        TerminatedWithoutDate.Refuse);

    public IReadOnlyList<ValidationError> Validate(string sourceId, SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        BambooHrSettings.Parse(settings, errors);
        return errors;
    }

    /// <exception cref="ValidationException">The settings are invalid (the same problems <see cref="Validate"/> lists).</exception>
    public IHrSource Create(string sourceId, SettingsNode settings, HrStatusMapping statuses, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = BambooHrSettings.Parse(settings, errors);
        return errors.Count > 0 ? throw new ValidationException(errors) : new BambooHrSource(sourceId, parsed, statuses, context);
    }
}
