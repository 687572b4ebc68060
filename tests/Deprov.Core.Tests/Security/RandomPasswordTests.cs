using Deprov.Core.Security;

namespace Deprov.Core.Tests.Security;

public sealed class RandomPasswordTests
{
    [Fact]
    public void New_ManyDraws_FourClassesFromTheAlphabetShuffledAndNoneRepeats()
    {
        var passwords = Enumerable.Range(0, 1000).Select(_ => RandomPassword.New()).ToList();
        var alphabet = RandomPassword.Upper + RandomPassword.Lower + RandomPassword.Digits + RandomPassword.Symbols;

        Assert.Equal(passwords.Count, passwords.Distinct(StringComparer.Ordinal).Count());
        Assert.All(passwords, p =>
        {
            Assert.Equal(RandomPassword.Length, p.Length);
            Assert.All(p, c => Assert.Contains(c, alphabet));
            Assert.Contains(p, c => RandomPassword.Upper.Contains(c, StringComparison.Ordinal));
            Assert.Contains(p, c => RandomPassword.Lower.Contains(c, StringComparison.Ordinal));
            Assert.Contains(p, c => RandomPassword.Digits.Contains(c, StringComparison.Ordinal));
            Assert.Contains(p, c => RandomPassword.Symbols.Contains(c, StringComparison.Ordinal));
        });
        // The guaranteed characters are shuffled in: no position always holds the same class.
        Assert.Contains(passwords, p => !RandomPassword.Upper.Contains(p[0], StringComparison.Ordinal));
        Assert.Contains(passwords, p => !RandomPassword.Symbols.Contains(p[3], StringComparison.Ordinal));
    }
}
