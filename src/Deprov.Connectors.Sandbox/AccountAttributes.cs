using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Deprov.Connectors.Sandbox;

/// <summary>
/// A sandbox account's correlation attributes: <c>uid</c> and, when it has one, <c>employeeNumber</c>. Two fields
/// instead of a dictionary per account, since a discovery lists up to millions of accounts.
/// </summary>
internal sealed class AccountAttributes : IReadOnlyDictionary<string, string>
{
    private const string Uid = "uid";
    private const string EmployeeNumber = "employeeNumber";

    private readonly string _uid;
    private readonly string? _employeeNumber;

    public AccountAttributes(string uid, string? employeeNumber)
    {
        _uid = uid;
        _employeeNumber = employeeNumber;
    }

    public int Count => _employeeNumber is null ? 1 : 2;

    public IEnumerable<string> Keys => this.Select(kv => kv.Key);

    public IEnumerable<string> Values => this.Select(kv => kv.Value);

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The sandbox account has no attribute '{key}'.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        value = string.Equals(key, Uid, StringComparison.Ordinal) ? _uid
            : string.Equals(key, EmployeeNumber, StringComparison.Ordinal) ? _employeeNumber
            : null;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        yield return new(Uid, _uid);
        if (_employeeNumber is not null)
        {
            yield return new(EmployeeNumber, _employeeNumber);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
