using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>
/// An HTTP answer after the resilience pipeline: status, body, ETag and Retry-After. The body is kept as the bytes that
/// came back and parsed into a <see cref="JsonNode"/> only when a caller asks for it: a PATCH that deactivates a user
/// needs four attributes of the answer (<see cref="TryReadUser"/>), not a DOM of the whole resource.
/// </summary>
internal sealed class ScimResponse(HttpStatusCode status, byte[]? body, string? etag, TimeSpan? retryAfter)
{
    private JsonNode? _parsed;
    private bool _isParsed;

    public HttpStatusCode Status { get; } = status;

    public string? ETag { get; } = etag;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>
    /// The body as JSON, or null when it is empty or not JSON. A success answer that starts like JSON but is not
    /// throws <see cref="JsonException"/> (a server bug worth seeing); an error page that is not JSON is just null.
    /// </summary>
    public JsonNode? Body
    {
        get
        {
            if (!_isParsed)
            {
                _parsed = Parse();
                _isParsed = true;
            }

            return _parsed;
        }
    }

    /// <summary>The SCIM error <c>scimType</c> (RFC 7644 §3.12), if the body is an error.</summary>
    public string? ScimType => Body is JsonObject o && o["scimType"] is JsonValue v && v.GetValueKind() is JsonValueKind.String ? v.GetValue<string>() : null;

    public string? Detail => Body is JsonObject o && o["detail"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public JsonObject? Object => Body as JsonObject;

    private bool LooksLikeJson => body is { Length: > 0 } b && (b[0] == (byte)'{' || b[0] == (byte)'[');

    private JsonNode? Parse()
    {
        if (!LooksLikeJson)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException) when (!IsSuccess)
        {
            // An error page that is not JSON: the status code still says what happened.
            return null;
        }
    }

    /// <summary>
    /// Reads the user attributes the connector keeps (<c>userName</c>, <c>active</c>, <c>meta.version</c>) straight
    /// from the bytes with <see cref="Utf8JsonReader"/>, with the same lenient rules as <see cref="ScimResource"/>.
    /// False when the body is not a resource with an <c>id</c> (e.g. 204, or a server that answers with the PatchOp).
    /// </summary>
    public bool TryReadUser(out string userName, out bool active, out string? version)
    {
        userName = string.Empty;
        active = true;
        version = null;
        if (_isParsed || !LooksLikeJson || body![0] != (byte)'{')
        {
            return TryReadUserFromNode(out userName, out active, out version);
        }

        var reader = new Utf8JsonReader(body);
        reader.Read();
        var hasId = false;
        string? name = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                hasId = true;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("userName"u8))
            {
                reader.Read();
                name = ScalarText(ref reader);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("active"u8))
            {
                reader.Read();
                active = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    JsonTokenType.String when bool.TryParse(reader.GetString(), out var b) => b,
                    _ => true,
                };
                reader.Skip();
            }
            else if (reader.ValueTextEquals("meta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isVersion = reader.ValueTextEquals("version"u8);
                    reader.Read();
                    if (isVersion)
                    {
                        version = ScalarText(ref reader);
                    }

                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        userName = name ?? string.Empty;
        return hasId;
    }

    private bool TryReadUserFromNode(out string userName, out bool active, out string? version)
    {
        userName = string.Empty;
        active = true;
        version = null;
        if (Object is not { } o || !o.ContainsKey("id"))
        {
            return false;
        }

        userName = ScimResource.String(o, "userName") ?? string.Empty;
        active = ScimResource.Active(o);
        version = ScimResource.Version(o, null);
        return true;
    }

    /// <summary>A string as itself, a number as its JSON text (vendors send ids and versions as either), else null.</summary>
    private static string? ScalarText(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        _ => null,
    };
}
