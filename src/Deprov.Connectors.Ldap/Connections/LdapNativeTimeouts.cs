using System.DirectoryServices.Protocols;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Deprov.Connectors.Ldap.Connections;

/// <summary>
/// Gives a connection's libldap handle its own time limits, so a call that the pool has given up on (see
/// <see cref="LdapConnectionPool"/>) also ends in the native library and frees its thread.
/// </summary>
/// <remarks>
/// S.DS.P on Linux binds and starts TLS through libldap's synchronous calls, which wait with no limit unless the handle
/// has <c>LDAP_OPT_TIMEOUT</c> (synchronous calls) and <c>LDAP_OPT_NETWORK_TIMEOUT</c> (connect); S.DS.P sets neither
/// from <see cref="LdapConnection.Timeout"/>. Neither covers a TLS handshake (LDAPS, StartTLS) the server never answers.
/// The handle is a private field of S.DS.P, so this is best effort: when the field or the library is not found nothing
/// is set, callers still get their error on time from the pool's deadline, and only the retired thread lingers until
/// the server closes the connection. The options are set once, right after the connection is created, before any
/// other thread can see it.
/// </remarks>
internal static class LdapNativeTimeouts
{
    private const int LdapOptTimeout = 0x5002;
    private const int LdapOptNetworkTimeout = 0x5005;

    private static readonly FieldInfo? HandleField =
        typeof(LdapConnection).GetField("_ldapHandle", BindingFlags.Instance | BindingFlags.NonPublic);

    private static readonly Lazy<SetTimeoutOption?> SetOption = new(Load);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int SetTimeoutOption(IntPtr ld, int option, ref TimeVal value);

    /// <summary>Sets the limits to <paramref name="timeout"/>; false when they could not be set.</summary>
    /// <param name="connection">A connection not yet used.</param>
    /// <param name="timeout">The limit.</param>
    /// <param name="networkTimeout">
    /// Also set <c>LDAP_OPT_NETWORK_TIMEOUT</c>. Off for LDAPS: with it, libldap switches the socket to non-blocking for
    /// the connect and its TLS handshake then busy-loops on a server that accepts and never answers (one core per stuck
    /// connection, seen with GnuTLS on Debian 12); without it the handshake blocks in poll and costs nothing.
    /// </param>
    public static bool TrySet(LdapConnection connection, TimeSpan timeout, bool networkTimeout)
    {
        if (OperatingSystem.IsWindows() || HandleField?.GetValue(connection) is not SafeHandle { IsInvalid: false, IsClosed: false } handle || SetOption.Value is not { } set)
        {
            return false;
        }

        var value = new TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var ld = handle.DangerousGetHandle();
            return set(ld, LdapOptTimeout, ref value) == 0 & (!networkTimeout || set(ld, LdapOptNetworkTimeout, ref value) == 0);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static SetTimeoutOption? Load()
    {
        // The same names, in the same order, that S.DS.P tries, so this finds the library instance it loaded.
        foreach (var name in new[] { "libldap.so.2", "libldap-2.6.so.0", "libldap-2.5.so.0", "libldap-2.4.so.2" })
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "ldap_set_option", out var export))
            {
                return Marshal.GetDelegateForFunctionPointer<SetTimeoutOption>(export);
            }
        }

        return null;
    }

    /// <summary>struct timeval on LP64 Linux and macOS.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }
}
