using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Testing;

/// <summary>Resolves <c>env:NAME</c> from an in-memory table (so tests never touch the process environment).</summary>
public sealed class TestSecrets(Dictionary<string, string> values) : ISecretResolver
{
    /// <summary>The references asked for, in order.</summary>
    public List<string> Resolved { get; } = [];

    public string Resolve(string reference, string usedFor)
    {
        Resolved.Add(reference);
        var name = reference.StartsWith("env:", StringComparison.Ordinal) ? reference[4..] : reference;
        return values.TryGetValue(name, out var v) ? v : throw new ValidationException($"{usedFor}: environment variable {name} is not set.");
    }
}
