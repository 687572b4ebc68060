using System.Collections.Concurrent;

namespace Deprov.Connectors.Jamf.Tests.Fake;

/// <summary>Injectable faults for the Jamf Pro fake. Thread-safe; each fault applies to the next matching request.</summary>
public sealed class JamfFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();

    /// <param name="PathPrefix">Matches requests whose path starts with it (<c>/api/v2/mdm/commands</c>); null matches all API requests.</param>
    /// <param name="Hang">Never answers; the request ends only when the client gives up.</param>
    internal sealed record Fault(string? PathPrefix, string? Method, int Status, TimeSpan? RetryAfter, bool Hang, bool HtmlBody);

    /// <summary>The next <paramref name="count"/> matching requests answer <paramref name="status"/> with Jamf's error body
    /// (and <c>Retry-After</c> when given).</summary>
    public void FailNext(int count, int status, TimeSpan? retryAfter = null, string? pathPrefix = null, string? method = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(pathPrefix, method, status, retryAfter, false, false));
        }
    }

    /// <summary>A load balancer in front of Jamf Cloud answering an HTML page instead of Jamf's JSON error.</summary>
    public void HtmlErrorNext(int count, int status, string? pathPrefix = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(pathPrefix, null, status, null, false, true));
        }
    }

    /// <summary>The next matching requests never get an answer (a slow or stuck server).</summary>
    public void HangNext(int count, string? pathPrefix = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(pathPrefix, null, 0, null, true, false));
        }
    }

    internal Fault? Take(string method, string path)
    {
        // Faults apply in order; a fault for another path waits for its request.
        if (_faults.TryPeek(out var f) && (f.PathPrefix is null || path.StartsWith(f.PathPrefix, StringComparison.Ordinal))
            && (f.Method is null || string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)) && _faults.TryDequeue(out var taken))
        {
            return taken;
        }

        return null;
    }
}
