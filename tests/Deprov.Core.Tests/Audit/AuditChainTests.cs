using Deprov.Core.Audit;

namespace Deprov.Core.Tests.Audit;

public sealed class AuditChainTests
{
    private static readonly AuditEntry Entry = new(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero), "deprov", "disable_account", "slack", "alice", "p1", "C1", "C1.001", "{}", "{}", "ok", null);

    private static List<AuditRecord> Chain(int n)
    {
        var list = new List<AuditRecord>();
        var prev = AuditChain.Genesis;
        for (var i = 1; i <= n; i++)
        {
            var e = Entry with { Target = "user" + i };
            var h = AuditChain.ComputeHash(prev, i, e);
            list.Add(new AuditRecord(i, e, prev, h));
            prev = h;
        }

        return list;
    }

    private static AuditVerification Verify(IEnumerable<AuditRecord> records)
    {
        var v = new AuditVerifier();
        foreach (var r in records)
        {
            v.CheckLink(r);
            if (AuditVerifier.CheckHash(r) is { } problem)
            {
                v.Fail(r.Seq, problem);
            }
        }

        return v.Result();
    }

    [Fact]
    public void ComputeHash_NullAndEmptyField_Differ() =>
        Assert.NotEqual(Convert.ToHexString(AuditChain.ComputeHash(AuditChain.Genesis, 1, Entry with { Detail = null })),
            Convert.ToHexString(AuditChain.ComputeHash(AuditChain.Genesis, 1, Entry with { Detail = string.Empty })));

    [Fact]
    public void ComputeHash_FieldBoundaryShift_Differs() =>
        Assert.NotEqual(Convert.ToHexString(AuditChain.ComputeHash(AuditChain.Genesis, 1, Entry with { Actor = "ab", Action = "c" })),
            Convert.ToHexString(AuditChain.ComputeHash(AuditChain.Genesis, 1, Entry with { Actor = "a", Action = "bc" })));

    [Fact]
    public void Verifier_IntactChain_IsOk() => Assert.True(Verify(Chain(20)).Ok);

    [Fact]
    public void Verifier_EditedRecord_NamesIt()
    {
        var c = Chain(20);
        c[9] = c[9] with { Entry = c[9].Entry with { Outcome = "failed" } };
        Assert.Equal(10, Verify(c).FirstBadSeq);
    }

    [Fact]
    public void Verifier_DeletedRecord_NamesTheGap()
    {
        var c = Chain(20);
        c.RemoveAt(4);
        var v = Verify(c);
        Assert.Equal(5, v.FirstBadSeq);
        Assert.Contains("deleted", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_ReorderedRecords_NamesTheFirst()
    {
        var c = Chain(20);
        (c[6], c[7]) = (c[7], c[6]);
        Assert.Equal(7, Verify(c).FirstBadSeq);
    }
}
