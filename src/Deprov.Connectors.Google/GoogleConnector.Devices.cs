using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Google;

/// <summary>
/// Mobile devices under Google endpoint management: <c>wipe_device</c> sends <c>admin_account_wipe</c>, which removes
/// the Workspace account and its data from the device (work profile on Android) and leaves the person's own apps,
/// photos and accounts alone. A full factory reset (<c>admin_remote_wipe</c>) is never sent: on a personal phone that is
/// not the company's to do. The device carries the command out when it next syncs.
/// </summary>
internal sealed partial class GoogleConnector
{
    internal const string AccountWipe = "admin_account_wipe";

    // Status values that mean a wipe is under way or done (the account wipe's own, and a full wipe's). [U]: Google's
    // reference lists the status field without enumerating it; these are the values its console shows.
    private static readonly HashSet<string> WipePending = new(StringComparer.OrdinalIgnoreCase) { "ACCOUNT_WIPING", "WIPING" };
    private static readonly HashSet<string> WipeDone = new(StringComparer.OrdinalIgnoreCase) { "ACCOUNT_WIPED", "WIPED" };

    private string DevicePath(string id) => $"admin/directory/v1/customer/{Escape(_settings.Customer)}/devices/mobile/{Escape(id)}";

    private async Task<ActionResult> WipeAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireDeviceId(_label, "mobile device id");
        var device = await ReadDeviceAsync(id, "read before account wipe", cancellationToken);
        var before = DeviceMap(device);
        var status = GoogleResponse.Text(device, "status") ?? string.Empty;
        if (WipePending.Contains(status) || WipeDone.Contains(status))
        {
            return ActionResult.Unchanged(before);
        }

        var path = DevicePath(id) + "/action";
        var r = await Client.SendAsync(HttpMethod.Post, path, new JsonObject { ["action"] = AccountWipe }, "account wipe", cancellationToken);
        if (!r.IsSuccess)
        {
            throw r.Status == HttpStatusCode.NotFound ? DeviceNotFound(id) : Client.Failure(r, HttpMethod.Post, path, "account wipe", Scopes.DeviceAction);
        }

        var after = new Dictionary<string, string>(before, StringComparer.Ordinal) { ["action"] = AccountWipe + " requested" };
        return new ActionResult(before, after, AlreadyInState: false, "the work account is removed when the device next syncs; the person's own data stays");
    }

    /// <summary>Confirmed only when Google reports the wipe done; a wipe still pending is not yet a wiped device.</summary>
    private async Task<ReadBackResult> ReadBackWipeAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var device = await ReadDeviceAsync(action.RequireDeviceId(_label, "mobile device id"), "read back account wipe", cancellationToken);
        return new ReadBackResult(WipeDone.Contains(GoogleResponse.Text(device, "status") ?? string.Empty), DeviceMap(device));
    }

    private async Task<JsonObject> ReadDeviceAsync(string id, string what, CancellationToken cancellationToken) =>
        await GetAsync(DevicePath(id), what, Scopes.ReadDevices, cancellationToken) ?? throw DeviceNotFound(id);

    private ConnectorException DeviceNotFound(string id) => new(
        $"{_label}: mobile device '{id}' not found (removed from management); wipe it by hand if it still holds company data.",
        isTransient: false);

    private static Dictionary<string, string> DeviceMap(JsonObject device) => new(StringComparer.Ordinal)
    {
        ["model"] = GoogleResponse.Text(device, "model") ?? string.Empty,
        ["serialNumber"] = GoogleResponse.Text(device, "serialNumber") ?? string.Empty,
        ["status"] = GoogleResponse.Text(device, "status") ?? string.Empty,
    };
}
