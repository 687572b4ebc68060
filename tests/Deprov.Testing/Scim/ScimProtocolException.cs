namespace Deprov.Testing.Scim;

/// <summary>An RFC 7644 §3.12 error the fake answers with.</summary>
public sealed class ScimProtocolException(int status, string? scimType, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string? ScimType { get; } = scimType;

    public static ScimProtocolException InvalidFilter(string detail) => new(400, "invalidFilter", detail);

    public static ScimProtocolException InvalidPath(string detail) => new(400, "invalidPath", detail);

    public static ScimProtocolException NoTarget(string detail) => new(400, "noTarget", detail);

    public static ScimProtocolException InvalidValue(string detail) => new(400, "invalidValue", detail);

    public static ScimProtocolException Mutability(string detail) => new(400, "mutability", detail);
}
