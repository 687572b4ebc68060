using System.DirectoryServices.Protocols;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Deprov.Connectors.Ldap.Connections;

/// <summary>
/// Cuts the TCP connection under an <see cref="LdapConnection"/> that is blocked in a native call, so the call returns.
/// </summary>
/// <remarks>
/// S.DS.P on Linux runs the bind and StartTLS through libldap's synchronous functions, which wait for an answer without
/// a time limit, and disposing the connection does not help: the handle is a <see cref="SafeHandle"/>, so it is only
/// released once the blocked call returns. Shutting the socket down (not closing it: libldap still owns the descriptor)
/// makes the blocked read see end-of-stream, libldap reports serverDown and the thread is free again.
/// S.DS.P keeps the libldap handle in a private field; when that field or the library is not found, the abort is
/// skipped and the caller still gets its error on time: only the blocked thread lingers until the server closes.
/// </remarks>
internal static class LdapSocket
{
    private const int LdapOptDesc = 0x0001;
    private const int ShutRdWr = 2;

    private static readonly FieldInfo? HandleField =
        typeof(LdapConnection).GetField("_ldapHandle", BindingFlags.Instance | BindingFlags.NonPublic);

    private static readonly Lazy<GetOptionInt?> GetOption = new(LoadGetOption);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetOptionInt(IntPtr ld, int option, out int value);

    /// <summary>Shuts down the connection's socket; false when there was nothing to shut down or it could not be found.</summary>
    public static bool TryShutdown(LdapConnection connection)
    {
        if (OperatingSystem.IsWindows() || HandleField?.GetValue(connection) is not SafeHandle handle || GetOption.Value is not { } getOption)
        {
            return false;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return getOption(handle.DangerousGetHandle(), LdapOptDesc, out var fd) == 0 && fd >= 0 && NativeMethods.Shutdown(fd, ShutRdWr) == 0;
        }
        catch (ObjectDisposedException)
        {
            // The connection was closed in the meantime (the call returned on its own): nothing left to abort.
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static GetOptionInt? LoadGetOption()
    {
        // The same names, in the same order, that S.DS.P tries, so this finds the library instance it loaded.
        foreach (var name in new[] { "libldap.so.2", "libldap-2.6.so.0", "libldap-2.5.so.0", "libldap-2.4.so.2" })
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "ldap_get_option", out var export))
            {
                return Marshal.GetDelegateForFunctionPointer<GetOptionInt>(export);
            }
        }

        return null;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "shutdown", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Shutdown(int socket, int how);
    }
}
