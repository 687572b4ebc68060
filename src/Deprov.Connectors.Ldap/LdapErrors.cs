using System.DirectoryServices.Protocols;
using Deprov.Core;

namespace Deprov.Connectors.Ldap;

/// <summary>Translates LDAP result codes (RFC 4511 appendix A, plus libldap's client-side codes) into <see cref="ConnectorException"/>.</summary>
internal static class LdapErrors
{
    public const int NoSuchAttribute = 16;
    public const int NoSuchObject = 32;
    public const int ObjectClassViolation = 65;
    public const int InvalidCredentials = 49;
    public const int InsufficientAccessRights = 50;
    public const int UnwillingToPerform = 53;
    public const int AttributeOrValueExists = 20;
    public const int EntryAlreadyExists = 68;
    public const int ServerDown = 81;
    public const int Timeout = 85;
    public const int ConnectError = 91;

    /// <summary>Client-side codes after which the connection is unusable and must be replaced.</summary>
    public static bool IsConnectionLost(int code) => code is ServerDown or Timeout or ConnectError or 82 /* local error */;

    /// <summary>
    /// A failure <see cref="Translate"/> turns into a <see cref="ConnectorException"/>: an S.DS.P error, or the pool's
    /// <see cref="TimeoutException"/> for a call that missed its deadline.
    /// </summary>
    public static bool IsLdapFailure(Exception ex) => ex is LdapException or DirectoryOperationException or TimeoutException;

    /// <summary>The result code of an S.DS.P exception, or null when it carries none.</summary>
    public static int? CodeOf(Exception ex) => ex switch
    {
        DirectoryOperationException { Response: not null } d => (int)d.Response.ResultCode,
        LdapException l => l.ErrorCode,
        _ => null,
    };

    public static bool IsTransient(int code) => code switch
    {
        3 /* timeLimitExceeded */ or 51 /* busy */ or 52 /* unavailable */ or ServerDown or Timeout or ConnectError or 82 => true,
        _ => false,
    };

    public static string Name(int code) => code switch
    {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        68 => "entryAlreadyExists",
        80 => "other",
        81 => "serverDown",
        82 => "localError",
        85 => "timeout",
        91 => "connectError",
        _ => "resultCode",
    };

    /// <summary>
    /// Wraps an S.DS.P failure of <paramref name="operation"/> on <paramref name="dn"/>. <paramref name="right"/> says which
    /// right the bind account needs for it, used when the server answers insufficientAccessRights.
    /// </summary>
    public static ConnectorException Translate(Exception ex, string operation, string dn, string right, LdapSettings settings)
    {
        if (ex is ConnectorException ce)
        {
            return ce;
        }

        if (ex is TimeoutException)
        {
            return new ConnectorException(
                $"LDAP {operation} on '{dn}' got no answer from {settings.Host}:{settings.Port} ({settings.Security}) within {settings.Timeout.TotalSeconds:0.###} s (timeout_seconds): {ex.Message} This is transient; the engine decides when to retry.",
                isTransient: true, ex);
        }

        var code = CodeOf(ex);
        if (code is null)
        {
            return new ConnectorException($"LDAP {operation} on '{dn}' failed: {ex.Message}", ex is TimeoutException, ex);
        }

        var serverText = ex switch
        {
            DirectoryOperationException d when !string.IsNullOrEmpty(d.Response?.ErrorMessage) => d.Response.ErrorMessage,
            LdapException l when !string.IsNullOrEmpty(l.ServerErrorMessage) => l.ServerErrorMessage,
            _ => ex.Message,
        };
        var head = $"LDAP {operation} on '{dn}' failed: {Name(code.Value)} ({code.Value}), server said: {serverText.Trim()}.";
        var advice = code.Value switch
        {
            InvalidCredentials =>
                $" The server rejected the bind of '{settings.BindDn}': check the secret referenced by bind_password ({settings.BindPasswordReference}) and that the service account is neither locked nor expired.",
            InsufficientAccessRights =>
                $" The bind account '{settings.BindDn}' lacks the right to {right} on '{dn}'; grant it in the server's access control (olcAccess on OpenLDAP, delegated permissions on AD).",
            NoSuchObject => $" The entry does not exist (anymore) or is outside what '{settings.BindDn}' may see.",
            4 or 11 =>
                $" The server stopped the result at its size limit; give '{settings.BindDn}' an unlimited size limit for paged searches (OpenLDAP: olcLimits 'size.prtotal=unlimited'; AD: MaxPageSize is per page, keep page_size at or below it) or narrow the base/filter.",
            10 => $" The server referred the request elsewhere ({Referrals(ex)}); referrals are not chased: point 'host' at the server that holds '{dn}'.",
            65 => " The change would break the entry's object class; a groupOfNames/groupOfUniqueNames must keep one member: set 'placeholder_member' to the DN of an entry that is nobody's account (it takes the last member's place), or delete the group.",
            13 => " The server requires an encrypted connection for this: set 'security: ldaps' or 'security: starttls'.",
            ServerDown or ConnectError => $" Could not reach {settings.Host}:{settings.Port} ({settings.Security}). This is transient; the engine decides when to retry.",
            Timeout => $" No answer from {settings.Host}:{settings.Port} within {settings.Timeout.TotalSeconds:0} s (timeout_seconds). This is transient; the engine decides when to retry.",
            51 or 52 => " The server is busy or unavailable. This is transient; the engine decides when to retry.",
            _ => string.Empty,
        };
        return new ConnectorException(head + advice, IsTransient(code.Value), ex);
    }

    private static string Referrals(Exception ex) =>
        ex is DirectoryOperationException { Response.Referral: { Length: > 0 } refs } ? string.Join(", ", refs.Select(r => r.ToString())) : "no URL given";
}
