using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Jamf.Protocol;

/// <summary>The state of a queued MDM command as Jamf Pro reports it (<c>commandState</c>).</summary>
internal enum CommandState
{
    Pending,
    Acknowledged,
    NotNow,
    Error,
    Unknown,
}

/// <summary>One MDM command from <c>GET /api/v2/mdm/commands</c>. Holds no PIN: Jamf does not return it there.</summary>
/// <param name="ManagementId">The device the command was sent to (<c>client.managementId</c>); null when the answer omits it.</param>
internal sealed record MdmCommand(string Uuid, string CommandType, CommandState State, DateTimeOffset? DateSent, DateTimeOffset? DateCompleted, string? ManagementId = null)
{
    /// <summary>Queued and not refused: the device will carry it out when it next checks in.</summary>
    public bool IsOutstanding => State is CommandState.Pending or CommandState.NotNow;

    public static MdmCommand? From(JsonObject o)
    {
        var uuid = JamfResponse.Text(o, "uuid");
        if (uuid is null)
        {
            return null;
        }

        var state = JamfResponse.Text(o, "commandState")?.ToUpperInvariant() switch
        {
            "PENDING" => CommandState.Pending,
            "ACKNOWLEDGED" => CommandState.Acknowledged,
            "NOT_NOW" => CommandState.NotNow,
            "ERROR" => CommandState.Error,
            _ => CommandState.Unknown,
        };
        return new MdmCommand(uuid, JamfResponse.Text(o, "commandType") ?? string.Empty, state, Date(o, "dateSent"), Date(o, "dateCompleted"),
            JamfResponse.Text(o["client"] as JsonObject, "managementId"));
    }

    public Dictionary<string, string> ToMap(string managementId)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["command"] = CommandType,
            ["commandUuid"] = Uuid,
            ["commandState"] = StateName(State),
            ["managementId"] = managementId,
        };
        if (DateSent is { } sent)
        {
            map["dateSent"] = sent.ToString("O", CultureInfo.InvariantCulture);
        }

        if (DateCompleted is { } done)
        {
            map["dateCompleted"] = done.ToString("O", CultureInfo.InvariantCulture);
        }

        return map;
    }

    public static string StateName(CommandState state) => state switch
    {
        CommandState.NotNow => "NOT_NOW",
        _ => state.ToString().ToUpperInvariant(),
    };

    private static DateTimeOffset? Date(JsonObject o, string name) =>
        JamfResponse.Text(o, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;
}

/// <summary>Builds <c>POST /api/v2/mdm/commands</c> bodies.</summary>
internal static class MdmCommandBodies
{
    public const string DeviceLock = "DEVICE_LOCK";
    public const string EraseDevice = "ERASE_DEVICE";

    /// <summary>A 6-digit PIN from the OS CSPRNG, uniform over 000000–999999.</summary>
    public static string NewPin() => RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);

    /// <param name="pin">Computers only (the Find My PIN that unlocks the Mac); null for mobile devices.</param>
    public static JsonObject Lock(string managementId, string? pin, string? message, string? phoneNumber)
    {
        var data = new JsonObject { ["commandType"] = DeviceLock };
        if (pin is not null)
        {
            data["pin"] = pin;
        }

        if (message is not null)
        {
            data["message"] = message;
        }

        if (phoneNumber is not null)
        {
            data["phoneNumber"] = phoneNumber;
        }

        return Envelope(managementId, data);
    }

    /// <param name="pin">Computers only; null for mobile devices.</param>
    public static JsonObject Erase(string managementId, string? pin, JamfObliteration? obliteration)
    {
        var data = new JsonObject { ["commandType"] = EraseDevice };
        if (pin is not null)
        {
            data["pin"] = pin;
        }

        if (obliteration is { } o)
        {
            data["obliterationBehavior"] = o.ToString();
        }

        return Envelope(managementId, data);
    }

    private static JsonObject Envelope(string managementId, JsonObject commandData) => new()
    {
        ["clientData"] = new JsonArray(new JsonObject { ["managementId"] = managementId }),
        ["commandData"] = commandData,
    };
}
