using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Connectors.Jamf.Auth;
using Deprov.Connectors.Jamf.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf;

/// <summary>
/// Jamf Pro through the Jamf Pro API: discovers computers and mobile devices, locks (DEVICE_LOCK) and erases
/// (ERASE_DEVICE) them with MDM commands, and reads a command's state back. Follows the <see cref="IConnector"/> error
/// contract: every failure is a <see cref="ConnectorException"/> naming the system, the request and Jamf's error codes,
/// never a credential and never a device PIN.
/// </summary>
/// <remarks>
/// <para>Device ids: <c>computers/&lt;id&gt;</c> and <c>mobile-devices/&lt;id&gt;</c> (Jamf's inventory id, which survives
/// a re-enrolment; the MDM <c>managementId</c> is read afresh before each command).</para>
/// <para>The lock PIN: generated per command from a CSPRNG and sent to Jamf only. Deprov has no secret store to keep
/// it in, and results, read-backs and messages are audited, so it is kept nowhere in Deprov: Jamf Pro keeps it with the
/// computer's inventory record (privilege "View Computer Device Lock Pin"), where IT reads it when the Mac comes back.
/// Results say only that a PIN was set.</para>
/// </remarks>
internal sealed partial class JamfConnector : IConnector, IDisposable
{
    private static readonly ConnectorDescriptor Descriptor = new(
        "jamf", new HashSet<ActionKind> { ActionKind.LockDevice, ActionKind.WipeDevice }, IncrementalDiscovery: false, ReportsSignIns: false);

    private readonly string _label;
    private readonly JamfSettings _settings;
    private readonly TimeProvider _time;
    private readonly HttpCredentials _credentials;
    private readonly JamfUserToken? _userToken;
    private readonly JamfClient _client;

    public JamfConnector(ConnectedSystem system, JamfSettings settings, ConnectorContext context)
    {
        _label = $"Jamf {system.Id}";
        _settings = settings;
        _time = context.Time;
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        if (settings.Auth.Type is HttpAuthType.Basic)
        {
            _userToken = new JamfUserToken(_label, settings.BaseUrl, settings.Auth, context.Secrets, context.Time, settings.Timeout);
            _credentials = HttpCredentials.FromExchange(_label, _userToken.ExchangeAsync, context.Time);
        }
        else
        {
            _credentials = new HttpCredentials(_label, settings.Auth, context.Secrets, context.Time, settings.Timeout);
        }

        _client = new JamfClient(_label, settings, _credentials, Limiter, context.Time);
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    internal int SignIns => _userToken?.SignIns ?? 0;

    internal int KeepAlives => _userToken?.KeepAlives ?? 0;

    public ConnectorDescriptor Describe() => Descriptor;

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        return action.Kind switch
        {
            ActionKind.LockDevice => SendOnceAsync(action, MdmCommandBodies.DeviceLock, cancellationToken),
            ActionKind.WipeDevice => SendOnceAsync(action, MdmCommandBodies.EraseDevice, cancellationToken),
            _ => throw Unsupported(action),
        };
    }

    /// <summary>
    /// Confirmed when the device acknowledged the command. A command still pending (or deferred with NotNow) is not a
    /// refusal: it throws a transient exception with <c>RetryAfter</c> = <c>ack_recheck_seconds</c>, so the engine
    /// re-schedules the step and reads again later (the replayed execute finds the queued command and sends nothing).
    /// An ERROR answer, or no command at all, is read back as not confirmed.
    /// </summary>
    public async Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        var commandType = action.Kind switch
        {
            ActionKind.LockDevice => MdmCommandBodies.DeviceLock,
            ActionKind.WipeDevice => MdmCommandBodies.EraseDevice,
            _ => throw Unsupported(action),
        };
        var device = await ResolveAsync(action, "read back " + action.Kind.ToSnake(), cancellationToken);
        var latest = await LatestCommandAsync(device, commandType, cancellationToken);
        if (latest is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["command"] = commandType,
                ["commandState"] = "NONE",
                ["managementId"] = device.ManagementId!,
            });
        }

        if (latest.IsOutstanding)
        {
            throw new ConnectorException(
                $"{_label}: {commandType} command {latest.Uuid} for {device.Ref} is still {MdmCommand.StateName(latest.State)}: the device has not "
                + $"acknowledged it yet (it must be online to check in); reading it again in {_settings.AckRecheck.TotalSeconds:0} s.",
                isTransient: true, retryAfter: _settings.AckRecheck);
        }

        return new ReadBackResult(latest.State == CommandState.Acknowledged, latest.ToMap(device.ManagementId!));
    }

    /// <summary>
    /// Sends the command unless one of the same type was sent within the replay window and is queued or acknowledged:
    /// a replay (crash, re-scheduled step) must not queue a second lock with a different PIN.
    /// </summary>
    private async Task<ActionResult> SendOnceAsync(ConnectorAction action, string commandType, CancellationToken cancellationToken)
    {
        var what = action.Kind.ToSnake().Replace('_', ' ');
        var device = await ResolveAsync(action, what, cancellationToken);
        var latest = await LatestCommandAsync(device, commandType, cancellationToken);
        if (latest is { State: CommandState.Pending or CommandState.NotNow or CommandState.Acknowledged })
        {
            var map = latest.ToMap(device.ManagementId!);
            return new ActionResult(map, map, AlreadyInState: true, $"{commandType} {latest.Uuid} already sent {latest.DateSent:O}; not sent again");
        }

        var pin = device.IsComputer ? MdmCommandBodies.NewPin() : null;
        var body = commandType == MdmCommandBodies.DeviceLock
            ? MdmCommandBodies.Lock(device.ManagementId!, pin, _settings.LockMessage, _settings.LockPhoneNumber)
            : MdmCommandBodies.Erase(device.ManagementId!, pin, device.IsComputer ? _settings.Obliteration : null);
        const string path = "api/v2/mdm/commands";
        var r = await _client.SendAsync(HttpMethod.Post, path, body, $"{what} {device.Ref}", cancellationToken);
        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, $"{what} {device.Ref}");
        }

        // 201 with [{"id","href"}]: the id is the command's uuid.
        var id = r.Body is JsonArray { Count: > 0 } list && list[0] is JsonObject first ? JamfResponse.Text(first, "id") : null;
        var before = latest?.ToMap(device.ManagementId!) ?? new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["command"] = commandType,
            ["commandState"] = "NONE",
            ["managementId"] = device.ManagementId!,
        };
        var after = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["command"] = commandType,
            ["commandUuid"] = id ?? string.Empty,
            ["commandState"] = "PENDING",
            ["managementId"] = device.ManagementId!,
            ["pinSet"] = pin is null ? "false" : "true",
        };
        var detail = pin is null
            ? $"{commandType} {id} queued for {device.Ref}"
            : $"{commandType} {id} queued for {device.Ref} with a 6-digit PIN held by Jamf Pro (inventory record, View Device Lock PIN); Deprov keeps no copy";
        return new ActionResult(before, after, AlreadyInState: false, detail);
    }

    /// <summary>The newest command of <paramref name="commandType"/> for the device sent within the replay window.</summary>
    private async Task<MdmCommand?> LatestCommandAsync(DeviceRef device, string commandType, CancellationToken cancellationToken)
    {
        var filter = Uri.EscapeDataString($"clientManagementId=={device.ManagementId};command=={commandType}");
        var path = $"api/v2/mdm/commands?page=0&page-size=100&sort=dateSent:desc&filter={filter}";
        var what = $"command history of {device.Ref}";
        var r = await _client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
        if (!r.IsSuccess || r.Body is not JsonObject page)
        {
            throw _client.Failure(r, HttpMethod.Get, path, what);
        }

        // The filter is the server's to evaluate; a server that ignores it lists every device's commands, so the device
        // and the type are matched here too (a command that does not name its device is no answer about this one).
        var since = _time.GetUtcNow() - _settings.ReplayWindow;
        return (page["results"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(MdmCommand.From)
            .OfType<MdmCommand>()
            .Where(c => string.Equals(c.CommandType, commandType, StringComparison.OrdinalIgnoreCase) && c.DateSent is { } sent && sent >= since
                && string.Equals(c.ManagementId, device.ManagementId, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(c => c.DateSent)
            .FirstOrDefault();
    }

    /// <summary>
    /// The second read path: the device read again by its inventory id (its current <c>managementId</c>: a device
    /// enrolled again since has a new one, and a command acknowledged by the old enrolment says nothing about it), then
    /// the newest command of the type read by its own uuid (<c>filter=uuid==…</c>) rather than found by a search over the
    /// device's history. Confirmed only when that command names this device and is <c>ACKNOWLEDGED</c>.
    /// </summary>
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        var commandType = action.Kind switch
        {
            ActionKind.LockDevice => MdmCommandBodies.DeviceLock,
            ActionKind.WipeDevice => MdmCommandBodies.EraseDevice,
            _ => throw Unsupported(action),
        };
        var device = await ResolveAsync(action, "independent read " + action.Kind.ToSnake(), cancellationToken);
        var observed = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["command"] = commandType,
            ["managementId"] = device.ManagementId!,
            ["path"] = "inventory record by id, then the command by uuid",
        };
        var latest = await LatestCommandAsync(device, commandType, cancellationToken);
        if (latest is null)
        {
            observed["commandState"] = "NONE";
            return new ReadBackResult(false, observed);
        }

        var filter = Uri.EscapeDataString($"uuid=={latest.Uuid}");
        var path = $"api/v2/mdm/commands?page=0&page-size=100&filter={filter}";
        var what = $"command {latest.Uuid} of {device.Ref}";
        var r = await _client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
        if (!r.IsSuccess || r.Body is not JsonObject page)
        {
            throw _client.Failure(r, HttpMethod.Get, path, what);
        }

        var byId = (page["results"] as JsonArray ?? []).OfType<JsonObject>().Select(MdmCommand.From).OfType<MdmCommand>()
            .FirstOrDefault(c => c.Uuid == latest.Uuid && string.Equals(c.CommandType, commandType, StringComparison.OrdinalIgnoreCase)
                && string.Equals(c.ManagementId, device.ManagementId, StringComparison.OrdinalIgnoreCase));
        if (byId is null)
        {
            observed["commandUuid"] = latest.Uuid;
            observed["commandState"] = "not found by uuid";
            return new ReadBackResult(false, observed);
        }

        foreach (var (k, v) in byId.ToMap(device.ManagementId!))
        {
            observed[k] = v;
        }

        return new ReadBackResult(byId.State == CommandState.Acknowledged, observed);
    }

    /// <summary>Reads the device's current <c>managementId</c>; a device gone from Jamf, or not MDM-managed, is a refusal.</summary>
    private async Task<DeviceRef> ResolveAsync(ConnectorAction action, string what, CancellationToken cancellationToken)
    {
        var reference = action.RequireDeviceId(_label);
        var device = DeviceRef.Parse(reference)
            ?? throw new ConnectorException($"{_label}: device id '{reference}' is not 'computers/<id>' or 'mobile-devices/<id>'; run discovery again.", isTransient: false);
        var path = device.IsComputer
            ? $"api/v1/computers-inventory/{Uri.EscapeDataString(device.Id)}?section=GENERAL"
            : $"api/v2/mobile-devices/{Uri.EscapeDataString(device.Id)}/detail?section=GENERAL";
        var r = await _client.SendAsync(HttpMethod.Get, path, null, $"{what}: read {reference}", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            throw new ConnectorException($"{_label}: {reference} is no longer in Jamf Pro (404 on {path}); it cannot be reached by MDM. Find the device by hand.", isTransient: false);
        }

        if (!r.IsSuccess || r.Body is not JsonObject record)
        {
            throw _client.Failure(r, HttpMethod.Get, path, $"{what}: read {reference}");
        }

        var managementId = JamfResponse.Text(record["general"] as JsonObject, "managementId");
        if (string.IsNullOrEmpty(managementId))
        {
            throw new ConnectorException($"{_label}: {reference} has no MDM managementId (not enrolled in MDM); it cannot be locked or erased remotely.", isTransient: false);
        }

        return device with { ManagementId = managementId };
    }

    private ConnectorException Unsupported(ConnectorAction action) =>
        new($"{_label}: Jamf Pro cannot {action.Kind.ToSnake()} ({action.Describe()}); only lock_device and wipe_device are supported.", isTransient: false);

    public void Dispose()
    {
        _client.Dispose();
        _credentials.Dispose();
        _userToken?.Dispose();
    }

    /// <summary>A device as Deprov names it: <c>computers/12</c> or <c>mobile-devices/7</c>.</summary>
    internal sealed record DeviceRef(bool IsComputer, string Id, string? ManagementId = null)
    {
        public const string ComputerPrefix = "computers/";
        public const string MobilePrefix = "mobile-devices/";

        public string Ref => (IsComputer ? ComputerPrefix : MobilePrefix) + Id;

        public static DeviceRef? Parse(string reference) =>
            reference.StartsWith(ComputerPrefix, StringComparison.Ordinal) && reference.Length > ComputerPrefix.Length ? new DeviceRef(true, reference[ComputerPrefix.Length..])
            : reference.StartsWith(MobilePrefix, StringComparison.Ordinal) && reference.Length > MobilePrefix.Length ? new DeviceRef(false, reference[MobilePrefix.Length..])
            : null;
    }
}
