using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Jamf.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf;

/// <summary>Discovery: computers and mobile devices, page by page, with their assigned user.</summary>
internal sealed partial class JamfConnector
{
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_settings.DeviceTypes.Contains(JamfDeviceType.Computers))
        {
            await foreach (var c in PagesAsync("api/v1/computers-inventory?section=GENERAL&section=HARDWARE&section=USER_AND_LOCATION&sort=id%3Aasc", "discover computers", cancellationToken))
            {
                if (JamfResponse.Text(c, "id") is { } id)
                {
                    var location = c["userAndLocation"] as JsonObject;
                    yield return Device(DeviceRef.ComputerPrefix + id, c["hardware"] as JsonObject, JamfResponse.Text(location, "email"), JamfResponse.Text(location, "username"));
                }
            }
        }

        if (_settings.DeviceTypes.Contains(JamfDeviceType.MobileDevices))
        {
            await foreach (var m in PagesAsync("api/v2/mobile-devices/detail?section=GENERAL&section=HARDWARE&section=USER_AND_LOCATION&sort=mobileDeviceId%3Aasc", "discover mobile devices", cancellationToken))
            {
                if ((JamfResponse.Text(m, "mobileDeviceId") ?? JamfResponse.Text(m, "id")) is { } id)
                {
                    var location = m["userAndLocation"] as JsonObject;
                    yield return Device(DeviceRef.MobilePrefix + id, m["hardware"] as JsonObject, JamfResponse.Text(location, "emailAddress"), JamfResponse.Text(location, "username"));
                }
            }
        }
    }

    /// <summary>
    /// The owner is the assigned user's email when Jamf has one (discovery ties a device to the person with that email),
    /// otherwise the user name (which matches a person when it is their email). Every device found is reported Active:
    /// Jamf's inventory does not say whether a device is locked.
    /// </summary>
    private static DiscoveredDevice Device(string externalId, JsonObject? hardware, string? email, string? userName)
    {
        var owner = !string.IsNullOrWhiteSpace(email) ? email.Trim() : !string.IsNullOrWhiteSpace(userName) ? userName.Trim() : null;
        return new DiscoveredDevice(externalId, JamfResponse.Text(hardware, "serialNumber") ?? string.Empty, JamfResponse.Text(hardware, "model") ?? string.Empty,
            owner, DeviceStatus.Active);
    }

    /// <summary>Jamf Pro API paging: <c>page</c> from 0 and <c>page-size</c>; stops when <c>totalCount</c> is reached or a page is empty.</summary>
    private async IAsyncEnumerable<JsonObject> PagesAsync(string pathAndQuery, string what, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = 0;
        for (var page = 0; ; page++)
        {
            var path = $"{pathAndQuery}&page={page}&page-size={_settings.PageSize}";
            var r = await _client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
            if (!r.IsSuccess || r.Body is not JsonObject body)
            {
                throw _client.Failure(r, HttpMethod.Get, path, what);
            }

            var total = body["totalCount"] is JsonValue tv && tv.TryGetValue<long>(out var t) ? t : long.MaxValue;
            var n = 0;
            foreach (var item in (body["results"] as JsonArray ?? []).OfType<JsonObject>())
            {
                n++;
                yield return item;
            }

            seen += n;
            if (n == 0 || seen >= total)
            {
                yield break;
            }
        }
    }
}
