using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Ldap;

/// <summary>How the connection is protected.</summary>
public enum LdapSecurity
{
    /// <summary>Plain LDAP (port 389). Only for tests and trusted networks.</summary>
    None,
    /// <summary>LDAP over TLS from the first byte (port 636).</summary>
    Ldaps,
    /// <summary>Plain LDAP upgraded with the StartTLS extended operation (port 389).</summary>
    StartTls,
}

/// <summary>Which directory dialect the connector speaks for disabling accounts and identifying entries.</summary>
public enum LdapFlavour
{
    /// <summary>OpenLDAP with the ppolicy overlay: disable = <c>pwdAccountLockedTime: 000001010000Z</c>; ids = <c>entryUUID</c>.</summary>
    OpenLdap,
    /// <summary>Active Directory (or Samba AD): disable = <c>userAccountControl</c> bit 0x2; ids = <c>objectGUID</c>.</summary>
    Ad,
}

/// <summary>Where and how to search for one object class (users or groups).</summary>
/// <param name="Base">The search base DN.</param>
/// <param name="Filter">The LDAP filter, including the object class test.</param>
/// <param name="Subtree">True for a subtree search (<c>scope: sub</c>), false for one level (<c>scope: one</c>).</param>
public sealed record LdapSearchSettings(string Base, string Filter, bool Subtree);

/// <summary>The validated <c>systems[].settings</c> block of a <c>kind: ldap</c> system. See <c>docs/connectors/ldap.md</c>.</summary>
public sealed record LdapSettings(
    string Host,
    int Port,
    LdapSecurity Security,
    string BindDn,
    string BindPasswordReference,
    LdapFlavour Flavour,
    LdapSearchSettings Users,
    LdapSearchSettings Groups,
    string CorrelateAttribute,
    string UserNameAttribute,
    int PageSize,
    string? DisabledOu,
    IReadOnlyList<string> PrivilegedGroups,
    TimeSpan Timeout,
    int PoolSize,
    string? TrustedCaDirectory,
    string? PlaceholderMember = null)
{
    internal static readonly string[] KnownKeys =
    [
        "host", "port", "security", "bind_dn", "bind_password", "flavour", "users", "groups", "correlate_attribute",
        "username_attribute", "page_size", "disabled_ou", "privileged_groups", "timeout_seconds", "pool_size", "trusted_ca_dir",
        "placeholder_member",
    ];

    private static readonly string[] SearchKeys = ["base", "filter", "scope"];

    /// <summary>Active Directory's built-in administrative groups, privileged unless configured otherwise.</summary>
    internal static readonly string[] AdDefaultPrivileged =
        ["Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators", "Account Operators", "Backup Operators"];

    /// <summary>The attribute that holds the account's stable id.</summary>
    public string IdAttribute => Flavour == LdapFlavour.Ad ? "objectGUID" : "entryUUID";

    /// <summary>Parses and validates <paramref name="node"/>; every problem goes to <paramref name="errors"/>.</summary>
    /// <returns>The settings, or null when there were errors.</returns>
    public static LdapSettings? Parse(SettingsNode node, List<ValidationError> errors)
    {
        var before = errors.Count;
        if (!node.IsMapping)
        {
            errors.Add(node.Error("must be a mapping with the LDAP settings.", "add 'settings:' with host, bind_dn, bind_password, flavour and users (see docs/connectors/ldap.md)."));
            return null;
        }

        node.CheckKnownKeys(errors, KnownKeys);
        var host = node.GetString("host", errors, required: true, fix: "add 'host: ldap.example.com' (name or address of the directory server).");
        var security = node.GetEnum("security", LdapSecurity.StartTls, errors);
        var port = node.GetInt("port", security == LdapSecurity.Ldaps ? 636 : 389, errors, 1, 65535);
        var bindDn = node.GetString("bind_dn", errors, required: true, fix: "add 'bind_dn: cn=deprov,ou=services,dc=example,dc=com' (the service account).");
        var password = node.GetString("bind_password", errors, required: true, fix: "add 'bind_password: env:LDAP_BIND_PASSWORD' or 'bind_password: file:/run/secrets/ldap'.");
        if (password is not null && !password.StartsWith("env:", StringComparison.Ordinal) && !password.StartsWith("file:", StringComparison.Ordinal))
        {
            // The literal value is deliberately not echoed: it is a password.
            errors.Add(node["bind_password"].Error("holds a literal password; passwords never go into deprov.yaml.",
                "put the password in an environment variable or a file and write 'bind_password: env:LDAP_BIND_PASSWORD' or 'bind_password: file:/run/secrets/ldap'."));
        }

        var flavour = node.GetEnum("flavour", LdapFlavour.OpenLdap, errors, required: true);
        var users = ParseSearch(node["users"], errors, flavour == LdapFlavour.Ad
            ? "(&(objectCategory=person)(objectClass=user))"
            : "(|(objectClass=inetOrgPerson)(objectClass=posixAccount))", required: true, fallbackBase: null);
        var groups = ParseSearch(node["groups"], errors, flavour == LdapFlavour.Ad
            ? "(objectClass=group)"
            : "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))", required: false, fallbackBase: users?.Base);
        var correlate = node.GetString("correlate_attribute", errors) ?? "mail";
        var userName = node.GetString("username_attribute", errors) ?? (flavour == LdapFlavour.Ad ? "sAMAccountName" : "uid");
        foreach (var (key, value) in new[] { ("correlate_attribute", correlate), ("username_attribute", userName) })
        {
            if (!IsAttributeName(value))
            {
                errors.Add(node[key].Error($"is '{value}', which is not an LDAP attribute name.", "write an attribute name such as mail, employeeNumber, uid or sAMAccountName."));
            }
        }

        var pageSize = node.GetInt("page_size", 500, errors, 1, 100_000);
        var disabledOu = node.GetString("disabled_ou", errors);
        if (disabledOu is not null && !LooksLikeDn(disabledOu))
        {
            errors.Add(node["disabled_ou"].Error($"is '{disabledOu}', which is not a DN.", "write the OU's full DN, e.g. 'ou=disabled,dc=example,dc=com', or remove the key."));
        }

        var privileged = node.Has("privileged_groups")
            ? node.GetStringList("privileged_groups", errors)
            : flavour == LdapFlavour.Ad ? AdDefaultPrivileged : [];
        var timeout = node.GetInt("timeout_seconds", 30, errors, 1, 3600);
        var poolSize = node.GetInt("pool_size", 8, errors, 1, 64);
        var caDir = node.GetString("trusted_ca_dir", errors);
        if (caDir is not null && security == LdapSecurity.None)
        {
            errors.Add(node["trusted_ca_dir"].Error("is set but 'security' is none, so no certificate is ever checked.", "set 'security: ldaps' or 'security: starttls', or remove trusted_ca_dir."));
        }

        var placeholder = node.GetString("placeholder_member", errors);
        if (placeholder is not null && !LooksLikeDn(placeholder))
        {
            errors.Add(node["placeholder_member"].Error($"is '{placeholder}', which is not a DN.",
                "write the DN of an entry that is nobody's account, e.g. 'cn=placeholder,ou=services,dc=example,dc=com', or remove the key."));
        }
        else if (placeholder is not null && users is not null && Dn.IsUnder(placeholder, users.Base) && flavour == LdapFlavour.OpenLdap)
        {
            errors.Add(node["placeholder_member"].Error($"is '{placeholder}', which is under users.base '{users.Base}', where accounts are discovered.",
                "use a DN outside users.base (for example under ou=services), so the placeholder is never taken for a person's account."));
        }

        if (errors.Count > before)
        {
            return null;
        }

        return new LdapSettings(host!, port, security, bindDn!, password!, flavour, users!, groups!, correlate, userName, pageSize,
            disabledOu, privileged, TimeSpan.FromSeconds(timeout), poolSize, caDir, placeholder);
    }

    private static LdapSearchSettings? ParseSearch(SettingsNode node, List<ValidationError> errors, string defaultFilter, bool required, string? fallbackBase)
    {
        var name = node.Path[(node.Path.LastIndexOf('.') + 1)..];
        if (node.IsMissing)
        {
            if (required)
            {
                errors.Add(node.Error("is required but missing.", $"add '{name}:' with 'base: ou=people,dc=example,dc=com' (and optionally filter and scope)."));
                return null;
            }

            return fallbackBase is null ? null : new LdapSearchSettings(fallbackBase, defaultFilter, true);
        }

        if (!node.IsMapping)
        {
            errors.Add(node.Error("must be a mapping with base, filter and scope.", $"write '{name}: {{ base: ou=people,dc=example,dc=com }}'."));
            return null;
        }

        node.CheckKnownKeys(errors, SearchKeys);
        var baseDn = node.GetString("base", errors, required: required || fallbackBase is null, fix: $"add 'base: <DN>' under '{node.Path}'.") ?? fallbackBase;
        if (baseDn is not null && !LooksLikeDn(baseDn))
        {
            errors.Add(node["base"].Error($"is '{baseDn}', which is not a DN.", "write a DN such as 'ou=people,dc=example,dc=com'."));
        }

        var filter = node.GetString("filter", errors) ?? defaultFilter;
        if (!filter.StartsWith('(') || !filter.EndsWith(')') || filter.Count(c => c == '(') != filter.Count(c => c == ')'))
        {
            errors.Add(node["filter"].Error($"is '{filter}', which is not a valid LDAP filter.", "write a filter in parentheses with balanced brackets, e.g. '(objectClass=inetOrgPerson)'."));
        }

        var scope = node.GetString("scope", errors) ?? "sub";
        if (scope is not ("sub" or "one"))
        {
            errors.Add(node["scope"].Error($"is '{scope}'; must be sub or one.", "write 'scope: sub' (whole subtree) or 'scope: one' (direct children)."));
        }

        return baseDn is null ? null : new LdapSearchSettings(baseDn, filter, scope != "one");
    }

    internal static bool LooksLikeDn(string text) => text.Contains('=', StringComparison.Ordinal) && !text.StartsWith('=') && !text.EndsWith(',');

    private static bool IsAttributeName(string text) =>
        text.Length > 0 && char.IsAsciiLetter(text[0]) && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
