namespace Deprov.Core.Model;

/// <summary>What a step does. Connectors declare which kinds they support.</summary>
public enum ActionKind
{
    DisableAccount,
    EnableAccount,
    DeleteAccount,
    RevokeSessions,
    ResetPassword,
    RemoveEntitlement,
    AddEntitlement,
    ReclaimLicence,
    AssignLicence,
    RevokeToken,
    DisableServiceAccount,
    TransferOwnership,
    RotateCredential,
    LockDevice,
    UnlockDevice,
    WipeDevice,
    /// <summary>Work no API can do; becomes a task for a team.</summary>
    Manual,
}

/// <summary>The family a step belongs to; policies select stages and ordering by category.</summary>
public enum StepCategory
{
    SignIn,
    AppAccess,
    Privileged,
    Tokens,
    SharedCredentials,
    Devices,
    Physical,
    Licences,
    Delete,
    Manual,
    Restore,
}

public static class ActionKinds
{
    /// <summary>Actions that cut access; the exposure window ends when the last of them is verified.</summary>
    public static bool CutsAccess(this ActionKind kind) => kind switch
    {
        ActionKind.DisableAccount or ActionKind.RevokeSessions or ActionKind.ResetPassword
            or ActionKind.RemoveEntitlement or ActionKind.RevokeToken or ActionKind.DisableServiceAccount
            or ActionKind.RotateCredential or ActionKind.LockDevice or ActionKind.WipeDevice => true,
        _ => false,
    };

    /// <summary>Actions a legal hold blocks: they destroy data or evidence.</summary>
    public static bool BlockedByLegalHold(this ActionKind kind) =>
        kind is ActionKind.DeleteAccount or ActionKind.ReclaimLicence or ActionKind.WipeDevice;

    /// <summary>The action that undoes this one on a rehire or cancelled termination, if any.</summary>
    public static ActionKind? Inverse(this ActionKind kind) => kind switch
    {
        ActionKind.DisableAccount => ActionKind.EnableAccount,
        ActionKind.RemoveEntitlement => ActionKind.AddEntitlement,
        ActionKind.ReclaimLicence => ActionKind.AssignLicence,
        ActionKind.LockDevice => ActionKind.UnlockDevice,
        _ => null,
    };

    private static readonly Dictionary<string, ActionKind> ByName = Enum.GetValues<ActionKind>()
        .ToDictionary(ToSnake, k => k, StringComparer.OrdinalIgnoreCase);

    /// <summary>The snake_case name used in configuration and output (<c>disable_account</c>).</summary>
    public static string ToSnake(this ActionKind kind) => Naming.ToSnake(kind.ToString());

    public static bool TryParse(string text, out ActionKind kind) => ByName.TryGetValue(text, out kind);

    public static IEnumerable<string> Names => ByName.Keys.Order(StringComparer.Ordinal);
}

public static class Naming
{
    /// <summary>PascalCase to snake_case (<c>AppAccess</c> → <c>app_access</c>).</summary>
    public static string ToSnake(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Parses a snake_case or PascalCase name into an enum value, case-insensitively.</summary>
    public static bool TryParseEnum<T>(string text, out T value)
        where T : struct, Enum
    {
        var compact = text.Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        return Enum.TryParse(compact, ignoreCase: true, out value) && Enum.IsDefined(value);
    }

    public static string Snake<T>(this T value)
        where T : struct, Enum => ToSnake(value.ToString());

    public static string AllowedValues<T>()
        where T : struct, Enum => string.Join(", ", Enum.GetValues<T>().Select(v => ToSnake(v.ToString())));
}
