using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Intune managed devices: <c>remoteLock</c> and <c>wipe</c>. Both are commands the device carries out when it next checks
/// in; Intune reports them in the device's <c>deviceActionResults</c> (<c>pending</c> until then, <c>done</c> after).
/// </summary>
internal sealed partial class GraphConnector
{
    private const string LockAction = "remoteLock";
    private const string WipeAction = "wipe";

    private async Task<ActionResult> LockAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireDeviceId(_label);
        var device = await ReadDeviceAsync(id, "read before lock", cancellationToken);
        var before = DeviceMap(device, LockAction);
        if (LatestAction(device, LockAction) is "pending" or "active")
        {
            // A lock is already queued for the device: a second one adds nothing. A lock that is done is sent again: the
            // person may have unlocked the device since with its passcode.
            return ActionResult.Unchanged(before);
        }

        return await SendDeviceActionAsync(id, LockAction, null, before, cancellationToken);
    }

    private async Task<ActionResult> WipeAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireDeviceId(_label);
        var device = await ReadDeviceAsync(id, "read before wipe", cancellationToken);
        var before = DeviceMap(device, WipeAction);
        if (LatestAction(device, WipeAction) is "pending" or "active" or "done"
            || GraphResponse.Text(device, "managementState") is "wipePending" or "wipeIssued")
        {
            return ActionResult.Unchanged(before);
        }

        var body = new JsonObject
        {
            ["keepEnrollmentData"] = _settings.Wipe.KeepEnrollmentData,
            ["keepUserData"] = _settings.Wipe.KeepUserData,
            ["persistEsimDataPlan"] = _settings.Wipe.PersistEsimDataPlan,
        };
        return await SendDeviceActionAsync(id, WipeAction, body, before, cancellationToken);
    }

    private async Task<ActionResult> SendDeviceActionAsync(string id, string name, JsonObject? body, Dictionary<string, string> before, CancellationToken cancellationToken)
    {
        var path = $"deviceManagement/managedDevices/{Escape(id)}/{name}";
        var r = await _client.SendAsync(HttpMethod.Post, path, body, name, cancellationToken);
        if (!r.IsSuccess)
        {
            throw r.Status == HttpStatusCode.NotFound
                ? DeviceNotFound(id)
                : _client.Failure(r, HttpMethod.Post, path, name, Permissions.DeviceActions);
        }

        var after = new Dictionary<string, string>(before, StringComparer.Ordinal) { [name] = "requested" };
        return new ActionResult(before, after, AlreadyInState: false);
    }

    /// <summary>Confirmed only when Intune reports the command <c>done</c> on the device; queued is not yet locked or wiped.</summary>
    private async Task<ReadBackResult> ReadBackDeviceAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var name = action.Kind is ActionKind.LockDevice ? LockAction : WipeAction;
        var device = await ReadDeviceAsync(action.RequireDeviceId(_label), "read back " + action.Kind.ToSnake(), cancellationToken);
        return new ReadBackResult(LatestAction(device, name) == "done", DeviceMap(device, name));
    }

    private async Task<JsonObject> ReadDeviceAsync(string id, string what, CancellationToken cancellationToken) =>
        await GetAsync($"deviceManagement/managedDevices/{Escape(id)}", what, Permissions.ReadDevices, cancellationToken) ?? throw DeviceNotFound(id);

    private ConnectorException DeviceNotFound(string id) => new(
        $"{_label}: managed device '{id}' not found in Intune (retired or deleted); lock or wipe it by hand if it still holds company data.",
        isTransient: false);

    /// <summary>The state of the most recent <paramref name="name"/> command (<c>pending</c>, <c>done</c>, ...), or null.</summary>
    private static string? LatestAction(JsonObject device, string name) =>
        (device["deviceActionResults"] as JsonArray)?.OfType<JsonObject>()
            .Where(a => string.Equals(GraphResponse.Text(a, "actionName"), name, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(a => DateTimeOffset.TryParse(GraphResponse.Text(a, "startDateTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : DateTimeOffset.MinValue)
            .Select(a => GraphResponse.Text(a, "actionState"))
            .FirstOrDefault();

    private static Dictionary<string, string> DeviceMap(JsonObject device, string name) => new(StringComparer.Ordinal)
    {
        ["deviceName"] = GraphResponse.Text(device, "deviceName") ?? string.Empty,
        ["serialNumber"] = GraphResponse.Text(device, "serialNumber") ?? string.Empty,
        ["managementState"] = GraphResponse.Text(device, "managementState") ?? string.Empty,
        [name] = LatestAction(device, name) ?? "none",
    };
}
