using System.Security.Cryptography;

namespace Deprov.Core.Security;

/// <summary>
/// The password a leaver's reset sets and forgets: <see cref="Length"/> characters from the operating system's
/// cryptographic generator, at least one of each class (upper, lower, digit, symbol) so every directory's complexity
/// rule accepts it (AD, Entra ID, Google), the rest uniform over all four, shuffled so no class sits at a fixed
/// position. ASCII only, without look-alikes (0/O, 1/l/I), and with symbols that need no escaping in JSON or LDAP.
/// Never logged, stored or put in a before/after state: connectors record only the fact of the reset.
/// </summary>
public static class RandomPassword
{
    public const int Length = 32;

    public const string Upper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    public const string Lower = "abcdefghijkmnopqrstuvwxyz";
    public const string Digits = "23456789";
    public const string Symbols = "!#%+-.:=?@_";

    public static string New()
    {
        var chars = new char[Length];
        chars[0] = Upper[RandomNumberGenerator.GetInt32(Upper.Length)];
        chars[1] = Lower[RandomNumberGenerator.GetInt32(Lower.Length)];
        chars[2] = Digits[RandomNumberGenerator.GetInt32(Digits.Length)];
        chars[3] = Symbols[RandomNumberGenerator.GetInt32(Symbols.Length)];
        RandomNumberGenerator.GetItems<char>(Upper + Lower + Digits + Symbols, chars.AsSpan(4));
        RandomNumberGenerator.Shuffle(chars.AsSpan());
        return new string(chars);
    }
}
