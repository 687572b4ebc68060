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
    public const int Usage = 64;
}
