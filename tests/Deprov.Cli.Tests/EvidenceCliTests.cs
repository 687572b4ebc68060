using System.IO.Compression;
using System.Text.Json;
using Deprov.Core.Audit;
using Deprov.Hosting.Evidence;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Cli.Tests;

/// <summary>
/// One real store with a real trail and two signed checkpoints, built once; each test tampers with its own copy the
/// way someone with write access to the database file would (Microsoft.Data.Sqlite directly), then runs the CLI.
/// </summary>
public sealed class EvidenceStoreFixture : IAsyncLifetime
{
    public string Directory { get; private set; } = null!;

    public List<Core.Model.Person> People { get; private set; } = null!;

    /// <summary>Size of the first and of the second (newest) checkpoint.</summary>
    public long FirstSize { get; private set; }

    public long Size { get; private set; }

    private string Config => Path.Combine(Directory, "deprov.yaml");

    public async Task InitializeAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        Directory = env.Directory;
        var people = Enumerable.Range(0, 60).Select(_ => Some.Person()).ToList();
        await env.SeedAsync(people, Some.Systems(people));
        People = people;
        await env.Engine.DisposeAsync();

        var keygen = await Cli.RunAsync(Directory, "audit", "keygen", "--origin", "deprov.test/audit", "--dir", "keys");
        Assert.True(keygen.ExitCode == 0, keygen.All);
        await File.AppendAllTextAsync(Path.Combine(Directory, "deprov.yaml"),
            "\nevidence:\n  origin: deprov.test/audit\n  checkpoints: checkpoints\n  signing_key: file:" + Path.Combine(Directory, "keys", "checkpoint.key") + "\n");

        await LeaveAsync(people.Take(25));
        FirstSize = await SignAsync();
        await LeaveAsync(people.Skip(25).Take(30));
        Size = await SignAsync();
        Assert.True(Size - FirstSize > 100, $"the trail needs more than 100 records after the first checkpoint; it has {Size - FirstSize}");
    }

    public Task DisposeAsync()
    {
        TryDelete(Directory);
        return Task.CompletedTask;
    }

    /// <summary>A private copy of the store, keys and checkpoints.</summary>
    public string Copy()
    {
        var dir = TestEnvironment.NewTempDirectory("deprov-evidence");
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(Directory, file));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        // The copied YAML points at the original key file; the key is the same, so verification is unaffected.
        return dir;
    }

    public static void TryDelete(string dir)
    {
        try
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS temp cleaner
        }
    }

    private async Task LeaveAsync(IEnumerable<Core.Model.Person> people)
    {
        foreach (var p in people)
        {
            // In-process: the fixture's setup is not under test, and sixty process starts would dominate the run.
            var r = await InProcessCli.RunAsync("leave", p.Id, "--reason", "involuntary", "--config", Config);
            Assert.True(r.ExitCode == 0, r.All);
        }

        var run = await InProcessCli.RunAsync("run", "--until-idle", "--config", Config);
        Assert.True(run.ExitCode is 0 or 6, run.All);
    }

    private async Task<long> SignAsync()
    {
        var r = await Cli.RunAsync(Directory, "audit", "checkpoint");
        Assert.True(r.ExitCode == 0, r.All);
        var verify = await Cli.RunAsync(Directory, "audit", "verify", "--json");
        Assert.True(verify.ExitCode == 0, verify.All);
        return JsonDocument.Parse(verify.Out).RootElement.GetProperty("records").GetInt64();
    }
}

public sealed class EvidenceCliTests : IClassFixture<EvidenceStoreFixture>, IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly EvidenceStoreFixture _fixture;
    private readonly string _dir;

    public EvidenceCliTests(EvidenceStoreFixture fixture)
    {
        _fixture = fixture;
        _dir = fixture.Copy();
    }

    public void Dispose() => EvidenceStoreFixture.TryDelete(_dir);

    private Task<CliResult> Deprov(params string[] args) => Cli.RunAsync(_dir, args);

    private async Task SqlAsync(string sql)
    {
        await using var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "deprov.db")};Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    private static string CheckpointName(long size) => CheckpointFolder.FileName(size);

    [Fact]
    public async Task Verify_UntouchedStore_OkAndSaysEverythingIsCovered()
    {
        var r = await Deprov("audit", "verify");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("audit verify: OK", r.Out, StringComparison.Ordinal);
        Assert.Contains($"all {_fixture.Size} records are covered by signed checkpoint {CheckpointName(_fixture.Size)}", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_NewestRecordDeleted_NamesTheCheckpointAndTheMissingRecord()
    {
        await SqlAsync($"DELETE FROM audit WHERE seq = {_fixture.Size}");
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"the trail ends at record {_fixture.Size - 1}, but checkpoint {CheckpointName(_fixture.Size)} is signed for {_fixture.Size} records: records {_fixture.Size}..{_fixture.Size} (1) were deleted", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_Last100Deleted_NamesTheRange()
    {
        await SqlAsync($"DELETE FROM audit WHERE seq > {_fixture.Size - 100}");
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"records {_fixture.Size - 99}..{_fixture.Size} (100) were deleted", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_AllDeleted_IsNotOk()
    {
        await SqlAsync("DELETE FROM audit");
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"the trail is empty, but checkpoint {CheckpointName(_fixture.Size)} is signed for {_fixture.Size} records: all {_fixture.Size} records were deleted", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_EditedRecord_ChainNamesIt()
    {
        await SqlAsync($"UPDATE audit SET outcome = 'ok' WHERE seq = {_fixture.FirstSize + 3}");
        await SqlAsync($"UPDATE audit SET actor = 'someone-else' WHERE seq = {_fixture.FirstSize + 3}");
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"FAILED at record {_fixture.FirstSize + 3}", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ConsistentRewriteFromTheMiddle_ChainIsFineButTheCheckpointRootIsNot()
    {
        var from = _fixture.FirstSize + 5;
        await RewriteAsync(from, e => e with { Actor = "admin:mallory" }, _fixture.Size);
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"the first {_fixture.Size} records do not match checkpoint {CheckpointName(_fixture.Size)} (root differs): a record in {_fixture.FirstSize + 1}..{_fixture.Size} was rewritten", r.Out, StringComparison.Ordinal);
        Assert.Contains($"records 1..{_fixture.FirstSize} still match an earlier checkpoint", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ForgedAppendAfterTheLatestCheckpoint_ReportedAsNotCovered_AndFailsWhenCoverageIsRequired()
    {
        await RewriteAsync(_fixture.Size + 1, e => e with { Action = "case_cancelled", Actor = "admin:mallory" }, _fixture.Size + 1, appendFrom: _fixture.Size);
        var r = await Deprov("audit", "verify");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains($"records 1..{_fixture.Size} are covered by signed checkpoint {CheckpointName(_fixture.Size)}; 1 records after the latest signed checkpoint are not yet covered", r.Out, StringComparison.Ordinal);

        var strict = await Deprov("audit", "verify", "--require-covered");
        Assert.Equal(5, strict.ExitCode);
        Assert.Contains("FAILED", strict.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_StaleCheckpointOnly_ReportsWhatItCovers()
    {
        File.Delete(Path.Combine(_dir, "checkpoints", CheckpointName(_fixture.Size)));
        var r = await Deprov("audit", "verify", "--json");
        Assert.True(r.ExitCode == 0, r.All);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(_fixture.FirstSize, json.GetProperty("covered").GetInt64());
        Assert.Equal(_fixture.Size - _fixture.FirstSize, json.GetProperty("uncovered").GetInt64());
    }

    [Fact]
    public async Task Verify_CheckpointFolderEmptied_IsNotOk()
    {
        foreach (var f in System.IO.Directory.GetFiles(Path.Combine(_dir, "checkpoints")))
        {
            File.Delete(f);
        }

        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains("no signed checkpoint found", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_EditedCheckpoint_NamesTheFile()
    {
        var path = Path.Combine(_dir, "checkpoints", CheckpointName(_fixture.FirstSize));
        var text = await File.ReadAllTextAsync(path);
        await File.WriteAllTextAsync(path, text.Replace($"\n{_fixture.FirstSize}\n", $"\n{_fixture.FirstSize - 1}\n", StringComparison.Ordinal));
        var r = await Deprov("audit", "verify");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"checkpoint {CheckpointName(_fixture.FirstSize)} is not trustworthy: the signature by 'deprov.test/audit'", r.Out, StringComparison.Ordinal);
        Assert.Contains("does not verify", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_WrongKey_NoCheckpointIsTrusted()
    {
        var (_, otherKey, _) = Ed25519NoteKeys.Generate("deprov.test/audit");
        var r = await Deprov("audit", "verify", "--key", otherKey);
        Assert.Equal(5, r.ExitCode);
        Assert.Contains($"checkpoint {CheckpointName(_fixture.Size)} is not trustworthy: no signature by a trusted key", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoint_AfterTruncation_RefusesToSignOverIt()
    {
        await SqlAsync($"DELETE FROM audit WHERE seq > {_fixture.Size - 3}");
        var r = await Deprov("audit", "checkpoint");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Not signing", r.Err, StringComparison.Ordinal);
        Assert.Equal(2, System.IO.Directory.GetFiles(Path.Combine(_dir, "checkpoints")).Length);
    }

    [Fact]
    public async Task Bundle_VerifiesOffline_HoldsOnlyThatPerson_AndCatchesEdits()
    {
        var person = _fixture.People[3].Id;
        var zip = Path.Combine(_dir, "evidence.zip");
        var bundle = await Deprov("audit", "bundle", "--person", person, "-o", zip);
        Assert.True(bundle.ExitCode == 0, bundle.All);

        // Checked from an empty folder: no deprov.yaml, no store.
        var empty = TestEnvironment.NewTempDirectory("deprov-offline");
        try
        {
            var pub = (await File.ReadAllTextAsync(Path.Combine(_dir, "keys", "checkpoint.pub"))).Trim();
            var ok = await Cli.RunAsync(empty, "audit", "verify-bundle", zip, "--key", pub);
            Assert.True(ok.ExitCode == 0, ok.All);
            Assert.StartsWith("verify-bundle: OK", ok.Out, StringComparison.Ordinal);
            Assert.Empty(System.IO.Directory.GetFiles(empty));

            await using (var archive = await ZipFile.OpenReadAsync(zip))
            {
                using var reader = new StreamReader(await archive.GetEntry("records.json")!.OpenAsync());
                var records = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.GetProperty("records");
                Assert.True(records.GetArrayLength() > 0);
                Assert.All(records.EnumerateArray(), r => Assert.Equal(person, r.GetProperty("personId").GetString()));
                foreach (var other in _fixture.People.Where(p => p.Id != person))
                {
                    Assert.DoesNotContain(records.EnumerateArray(), r => r.GetProperty("personId").GetString() == other.Id);
                }
            }

            var (_, otherKey, _) = Ed25519NoteKeys.Generate("deprov.test/audit");
            var wrongKey = await Cli.RunAsync(empty, "audit", "verify-bundle", zip, "--key", otherKey);
            Assert.Equal(5, wrongKey.ExitCode);
            Assert.Contains("no signature by a trusted key", wrongKey.Out, StringComparison.Ordinal);

            var edited = Path.Combine(empty, "edited.zip");
            File.Copy(zip, edited);
            long firstSeq;
            await using (var archive = await ZipFile.OpenAsync(edited, ZipArchiveMode.Update))
            {
                var entry = archive.GetEntry("records.json")!;
                string text;
                using (var reader = new StreamReader(await entry.OpenAsync()))
                {
                    text = await reader.ReadToEndAsync();
                }

                entry.Delete();
                var doc = JsonSerializer.Deserialize<BundleManifest>(text, Web)!;
                var first = doc.Records[0];
                firstSeq = first.Seq;
                var changed = doc with { Records = [first with { Outcome = first.Outcome == "ok" ? "failed" : "ok" }, .. doc.Records.Skip(1)] };
                await using var w = new StreamWriter(await archive.CreateEntry("records.json").OpenAsync());
                await w.WriteAsync(JsonSerializer.Serialize(changed, Web));
            }

            var bad = await Cli.RunAsync(empty, "audit", "verify-bundle", edited, "--key", pub);
            Assert.Equal(5, bad.ExitCode);
            Assert.Contains($"record {firstSeq} was edited", bad.Out, StringComparison.Ordinal);

            // The independent check: docs/verify-bundle.py, written from docs/evidence.md with hashlib and openssl only.
            var script = Path.Combine(RepositoryRoot(), "docs", "verify-bundle.py");
            var independent = await RunAsync("python3", script, zip, "--key", pub);
            Assert.True(independent.ExitCode == 0, independent.All);
            Assert.StartsWith("OK:", independent.Out, StringComparison.Ordinal);
            var independentBad = await RunAsync("python3", script, edited, "--key", pub);
            Assert.Equal(1, independentBad.ExitCode);
            Assert.Contains($"record {firstSeq}: content does not match its hash", independentBad.Out, StringComparison.Ordinal);
        }
        finally
        {
            EvidenceStoreFixture.TryDelete(empty);
        }
    }

    private static async Task<CliResult> RunAsync(string program, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException($"{program} did not start; install it (apt-get install python3 openssl).");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return new CliResult(p.ExitCode, await output, await error);
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Deprov.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"No Deprov.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>Applies <paramref name="change"/> to record <paramref name="from"/> and re-chains every record up to
    /// <paramref name="to"/> as an attacker with the (keyless) chain algorithm would. With <paramref name="appendFrom"/>,
    /// inserts a new record chained after that one instead.</summary>
    private async Task RewriteAsync(long from, Func<AuditEntry, AuditEntry> change, long to, long? appendFrom = null)
    {
        await using var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "deprov.db")};Pooling=False");
        await c.OpenAsync();
        var rows = new List<AuditRecord>();
        await using (var read = c.CreateCommand())
        {
            read.CommandText = "SELECT seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash FROM audit ORDER BY seq";
            await using var r = await read.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
                rows.Add(new AuditRecord(r.GetInt64(0), new AuditEntry(new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero), r.GetString(2), r.GetString(3), S(4), S(5), S(6), S(7), S(8), S(9), S(10), r.GetString(11), S(12)),
                    (byte[])r[13], (byte[])r[14]));
            }
        }

        if (appendFrom is { } after)
        {
            var last = rows.Single(x => x.Seq == after);
            var entry = change(last.Entry);
            var hash = AuditChain.ComputeHash(last.Hash, after + 1, entry);
            await InsertAsync(c, new AuditRecord(after + 1, entry, last.Hash, hash));
            return;
        }

        var prev = rows.Single(x => x.Seq == from - 1).Hash;
        foreach (var row in rows.Where(x => x.Seq >= from && x.Seq <= to))
        {
            var entry = row.Seq == from ? change(row.Entry) : row.Entry;
            var hash = AuditChain.ComputeHash(prev, row.Seq, entry);
            await using var del = c.CreateCommand();
            del.CommandText = $"DELETE FROM audit WHERE seq = {row.Seq}";
            await del.ExecuteNonQueryAsync();
            await InsertAsync(c, new AuditRecord(row.Seq, entry, prev, hash));
            prev = hash;
        }
    }

    private static async Task InsertAsync(SqliteConnection c, AuditRecord r)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO audit(seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)";
        var e = r.Entry;
        object?[] values = [r.Seq, e.At.UtcTicks, e.Actor, e.Action, e.SystemId, e.Target, e.PersonId, e.CaseId, e.StepId, e.Before, e.After, e.Outcome, e.Detail, r.PrevHash, r.Hash];
        for (var i = 0; i < values.Length; i++)
        {
            cmd.Parameters.AddWithValue($"${i + 1}", values[i] ?? DBNull.Value);
        }

        await cmd.ExecuteNonQueryAsync();
    }
}
