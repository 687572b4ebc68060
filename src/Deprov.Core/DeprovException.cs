namespace Deprov.Core;

/// <summary>Base of every error Deprov raises on purpose.</summary>
public class DeprovException : Exception
{
    public DeprovException(string message)
        : base(message)
    {
    }

    public DeprovException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A connector could not do what was asked. The engine reads <see cref="IsTransient"/> to decide whether to retry;
/// it never looks at the exception type.
/// </summary>
public class ConnectorException : DeprovException
{
    /// <param name="rateLimited">The system answered "too many requests" (HTTP 429, or 503 with <c>Retry-After</c>). Only
    /// kept together with <paramref name="isTransient"/> and <paramref name="retryAfter"/>: see <see cref="IsRateLimited"/>.</param>
    public ConnectorException(string message, bool isTransient, Exception? innerException = null, TimeSpan? retryAfter = null, bool rateLimited = false)
        : base(message, innerException)
    {
        IsTransient = isTransient;
        RetryAfter = retryAfter;
        IsRateLimited = rateLimited && isTransient && retryAfter is not null;
    }

    /// <summary>True when the same call may succeed later (timeouts, 429, 5xx, server busy).</summary>
    public bool IsTransient { get; }

    /// <summary>How long the remote system asked us to wait (HTTP <c>Retry-After</c>), if it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// True when the system is pacing us rather than failing: it answered "too many requests" and said how long to wait
    /// (<see cref="RetryAfter"/> is set). The engine waits that long and tries again without counting the answer against
    /// the step's attempts, up to <c>policy.execution.max_rate_limit_waits</c> waits per step. A transient error that
    /// merely carries a <see cref="RetryAfter"/> ("read again in 5 minutes") is not a rate limit and counts as an attempt.
    /// </summary>
    public bool IsRateLimited { get; }
}

/// <summary>The store failed; <see cref="IsTransient"/> is true for lock timeouts and lost connections.</summary>
public class StoreException : DeprovException
{
    public StoreException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    public bool IsTransient { get; }
}

/// <summary>Bad input (configuration, CLI arguments, API bodies). Carries every problem found, not only the first.</summary>
public class ValidationException : DeprovException
{
    public ValidationException(IReadOnlyList<ValidationError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    public ValidationException(string message)
        : this([new ValidationError(null, null, null, message, null)])
    {
    }

    public IReadOnlyList<ValidationError> Errors { get; }

    private static string Format(IReadOnlyList<ValidationError> errors) =>
        errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} problems:\n" + string.Join('\n', errors.Select(e => "  - " + e));
}

/// <summary>The input names something that does not exist (a person, a case, a task, a system, a file).</summary>
public class NotFoundException : ValidationException
{
    public NotFoundException(string message)
        : base(message)
    {
    }
}

/// <summary>One problem in some input: where it is, what is wrong, and how to fix it.</summary>
/// <param name="File">File name, when the input came from a file.</param>
/// <param name="Line">1-based line number, when known.</param>
/// <param name="Key">The key path (<c>systems[2].retention_days</c>) or JSON path.</param>
public sealed record ValidationError(string? File, int? Line, string? Key, string Problem, string? Fix)
{
    /// <summary>1-based column, when the parser knows it (YAML syntax errors); shown as <c>file:line:column</c>.</summary>
    public int? Column { get; init; }

    public override string ToString()
    {
        var where = (File, Line) switch
        {
            (not null, not null) when Column is not null => $"{File}:{Line}:{Column}: ",
            (not null, not null) => $"{File}:{Line}: ",
            (not null, null) => $"{File}: ",
            (null, not null) => $"line {Line}: ",
            _ => string.Empty,
        };
        var key = Key is null ? string.Empty : $"'{Key}': ";
        var fix = Fix is null ? string.Empty : $" Fix: {Fix}";
        return $"{where}{key}{Problem}{fix}";
    }
}
