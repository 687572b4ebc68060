namespace Deprov.Server;

/// <summary>The server's log messages. Identifiers only: never a password, token or API key.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Worker lock taken: this server executes steps")]
    public static partial void WorkerStarted(ILogger logger);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Another process holds the worker lock: this server serves, and takes the lock over when that process lets it go")]
    public static partial void WorkerElsewhere(ILogger logger);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "No user exists yet: create the first admin at {SetupUrl} (or run 'deprov admin create')")]
    public static partial void SetupPending(ILogger logger, string setupUrl);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Sign-in of {User} succeeded")]
    public static partial void SignInSucceeded(ILogger logger, string user);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Sign-in of {User} from {Address} failed")]
    public static partial void SignInFailed(ILogger logger, string user, string address);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Sign-in of {User} from {Address} throttled for {Seconds} s")]
    public static partial void SignInThrottled(ILogger logger, string user, string address, int seconds);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Request {Method} {Path} refused: CSRF token missing or invalid")]
    public static partial void CsrfRejected(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "The engine's worker loop stopped with an error")]
    public static partial void WorkerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "OpenID Connect sign-in refused: {Reason}")]
    public static partial void OidcRefused(ILogger logger, string reason);
}
