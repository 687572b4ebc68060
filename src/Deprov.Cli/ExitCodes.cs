namespace Deprov.Cli;

/// <summary>Exit codes scripts can rely on (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int InvalidInput = 2;
    public const int NotFound = 3;
    public const int StoreError = 4;
    public const int AuditBroken = 5;
    public const int NotVerified = 6;

    /// <summary>A connected system failed: unreachable, credentials refused, TLS not trusted (the message names the system, the cause and the fix).</summary>
    public const int SystemError = 7;

    /// <summary><c>check</c> (or the probes after <c>discover</c>): at least one probe failed.</summary>
    public const int CheckFailed = 8;
    public const int Usage = 64;
}
