using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Hosting;

/// <summary>Resolves <c>env:NAME</c> and <c>file:/path</c> references. Never logs or returns a secret in a message.</summary>
public sealed class SecretResolver : ISecretResolver
{
    private readonly Func<string, string?> _environment;

    public SecretResolver(Func<string, string?>? environment = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    public static bool IsReference(string value) =>
        value.StartsWith("env:", StringComparison.Ordinal) || value.StartsWith("file:", StringComparison.Ordinal);

    public string Resolve(string reference, string usedFor)
    {
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = reference[4..];
            return _environment(name) is { Length: > 0 } v
                ? v
                : throw new ValidationException($"The secret for {usedFor} is read from environment variable '{name}', which is not set. Fix: export {name}=<value> before starting Deprov.");
        }

        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..];
            if (!File.Exists(path))
            {
                throw new ValidationException($"The secret for {usedFor} is read from file '{path}', which does not exist. Fix: create it (mode 0600) or change the reference.");
            }

            return File.ReadAllText(path).TrimEnd('\r', '\n');
        }

        throw new ValidationException($"The secret for {usedFor} must be a reference ('env:NAME' or 'file:/path'), not a literal value.");
    }
}
