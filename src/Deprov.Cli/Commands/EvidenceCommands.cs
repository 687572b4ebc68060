using System.CommandLine;
using Deprov.Core;
using Deprov.Core.Evidence;
using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Evidence;

namespace Deprov.Cli.Commands;

/// <summary><c>deprov audit verify</c> (chain and signed checkpoints), <c>keygen</c>, <c>checkpoint</c>, <c>bundle</c> and
/// <c>verify-bundle</c>.</summary>
public static class EvidenceCommands
{
    private static Option<string[]> CheckpointOption() => new("--checkpoint")
    {
        Description = "A signed checkpoint file to check against (repeatable; default: every checkpoint in evidence.checkpoints)",
        AllowMultipleArgumentsPerToken = false,
    };

    private static Option<string> KeyOption() => new("--key")
    {
        Description = "The verifier key you trust (name+id+base64), or a file holding it (default: evidence.verifier_key, or the signing key's)",
    };

    public static Command Verify(CliContext ctx)
    {
        var checkpoints = CheckpointOption();
        var key = KeyOption();
        var requireCovered = new Option<bool>("--require-covered") { Description = "Fail (exit 5) when records after the latest signed checkpoint are not yet covered by a signature" };
        var verify = new Command("verify", "Check the hash chain and the signed checkpoints: detects edited, deleted, inserted, reordered, truncated and rewritten records")
        {
            checkpoints, key, requireCovered,
        };
        verify.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var started = ctx.Time.GetTimestamp();
            var evidence = engine.Config.Evidence;
            var given = pr.GetValue(checkpoints) ?? [];
            var texts = given.Length > 0
                ? given.Select(f => (Path.GetFileName(f), ReadFile(f, "--checkpoint"))).ToList()
                : evidence is null ? [] : CheckpointFolder.ReadAll(evidence.CheckpointFolder).ToList();
            var expected = given.Length > 0 || evidence is not null;
            var verifier = expected ? Verifier(pr.GetValue(key), evidence) : null;
            var (good, bad) = verifier is null ? ([], []) : CheckpointFolder.Check(texts, [verifier], evidence?.Origin);
            var v = await EvidenceVerifier.VerifyAsync(engine.Store, good.Select(g => (g.Source, g.Checkpoint)).ToList(), bad, expected, ct);
            var took = ctx.Time.GetElapsedTime(started);
            var failUncovered = pr.GetValue(requireCovered) && v.Uncovered > 0;
            var ok = v.Ok && !failUncovered;
            var chain = v.Chain;
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new
                {
                    ok,
                    records = chain.Records,
                    firstBadSeq = chain.FirstBadSeq,
                    problem = chain.Problem,
                    head = chain.HeadHash is null ? null : Convert.ToHexStringLower(chain.HeadHash),
                    checkpoints = v.Findings.Select(f => new { source = f.Source, size = f.Size, ok = f.Ok, message = f.Message }),
                    covered = v.Latest?.Size ?? 0,
                    uncovered = v.Uncovered,
                    coverage = expected ? v.Coverage : null,
                    tookMs = took.TotalMilliseconds,
                });
            }
            else
            {
                Console.WriteLine(chain.Ok
                    ? $"audit verify: {(ok ? "OK" : "FAILED")} ({chain.Records} records, head {Convert.ToHexStringLower(chain.HeadHash ?? [])[..16]}…, {took.TotalMilliseconds:0} ms)"
                    : $"audit verify: FAILED at record {chain.FirstBadSeq}: {chain.Problem}");
                foreach (var f in v.Findings.Where(f => !f.Ok))
                {
                    Console.WriteLine($"  FAILED {f.Message}");
                }

                if (v.NoCheckpoint)
                {
                    Console.WriteLine($"  FAILED no signed checkpoint found{(evidence is null ? string.Empty : $" in {evidence.CheckpointFolder}")}: nothing shows the trail was not cut short or rebuilt. Fix: restore the checkpoint folder, or sign the current head with 'deprov audit checkpoint' once you trust it.");
                }
                else if (expected)
                {
                    Console.WriteLine($"  {(failUncovered ? "FAILED " : string.Empty)}{v.Coverage}");
                }
            }

            return ok ? ExitCodes.Ok : ExitCodes.AuditBroken;
        }));
        return verify;
    }

    public static Command Keygen()
    {
        var origin = new Option<string>("--origin") { Description = "The log's name, e.g. deprov.example.com/audit (the same as evidence.origin)", Required = true };
        var output = new Option<string>("--dir") { Description = "Folder for checkpoint.key (private, mode 0600), checkpoint.pub and checkpoint.pub.pem", Required = true };
        var cmd = new Command("keygen", "Create the Ed25519 key pair that signs checkpoints (keep the private key away from the database's administrators)") { origin, output };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            var dir = pr.GetValue(output)!;
            var priv = Path.Combine(dir, "checkpoint.key");
            if (File.Exists(priv))
            {
                throw new ValidationException($"{priv} already exists; refusing to overwrite a signing key. Fix: choose another --dir folder, or move the old key away first.");
            }

            var (privateKey, verifierKey, pem) = Ed25519NoteKeys.Generate(pr.GetValue(origin)!);
            Directory.CreateDirectory(dir);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var w = new StreamWriter(priv, options))
            {
                await w.WriteLineAsync(privateKey);
            }

            await File.WriteAllTextAsync(Path.Combine(dir, "checkpoint.pub"), verifierKey + "\n", ct);
            await File.WriteAllTextAsync(Path.Combine(dir, "checkpoint.pub.pem"), pem, ct);
            Console.WriteLine($"wrote {priv} (private: set evidence.signing_key: file:{Path.GetFullPath(priv)}, or export its content in an environment variable)");
            Console.WriteLine($"verifier key: {verifierKey}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command SignNow(CliContext ctx)
    {
        var cmd = new Command("checkpoint", "Sign a checkpoint of the whole trail now (after checking it against the newest checkpoint)");
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var path = await SignAsync(engine.Config, engine.Store, ctx.Time, required: true, ct);
            Console.WriteLine($"signed {path}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Signs a checkpoint when <c>evidence.signing_key</c> is configured (every export does this); returns its path.</summary>
    public static async Task<string?> SignAsync(DeprovConfig config, IStore store, TimeProvider time, bool required, CancellationToken ct)
    {
        var evidence = config.Evidence;
        if (evidence?.SigningKey is null)
        {
            return required
                ? throw new ValidationException("No checkpoint signing key is configured. Fix: run 'deprov audit keygen --origin <name>' and add an 'evidence:' section with origin, checkpoints and signing_key to deprov.yaml.")
                : null;
        }

        using var signer = evidence.OpenSigner(new SecretResolver())!;
        using var writer = new CheckpointWriter(store, evidence, signer, signer.Verifier, time);
        return await writer.SignNowAsync(ct);
    }

    public static Command Bundle(CliContext ctx)
    {
        var person = new Option<string>("--person") { Description = "Whose evidence (HR id)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The zip file to write", Required = true };
        var checkpoint = new Option<string>("--checkpoint") { Description = "Prove against this signed checkpoint (default: sign one now, or the newest in evidence.checkpoints)" };
        var key = KeyOption();
        var cmd = new Command("bundle", "Write a person's records with inclusion proofs, the signed checkpoint and the public key: checkable offline") { person, output, checkpoint, key };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var id = pr.GetValue(person)!;
            if (await engine.Store.GetPersonAsync(id, ct) is null)
            {
                throw new NotFoundException($"There is no person '{id}'.");
            }

            var evidence = engine.Config.Evidence;
            var verifier = Verifier(pr.GetValue(key), evidence);
            string note;
            if (pr.GetValue(checkpoint) is { } given)
            {
                note = ReadFile(given, "--checkpoint");
            }
            else
            {
                var signed = await SignAsync(engine.Config, engine.Store, ctx.Time, required: false, ct);
                var newest = CheckpointFolder.Check(CheckpointFolder.ReadAll(evidence!.CheckpointFolder), [verifier], evidence.Origin).Good.MaxBy(g => g.Checkpoint.Size);
                note = signed is not null ? await File.ReadAllTextAsync(signed, ct)
                    : newest.Note ?? throw new ValidationException($"There is no signed checkpoint in {evidence.CheckpointFolder} and no signing key to make one. Fix: configure evidence.signing_key or pass --checkpoint <file>.");
            }

            if (SignedNote.Parse(note).Verify([verifier]) is { } bad)
            {
                throw new ValidationException($"The checkpoint does not verify with the key: {bad}.");
            }

            var path = pr.GetValue(output)!;
            await using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
            var (included, notCovered) = await EvidenceBundle.WriteAsync(engine.Store, id, note, verifier, file, ct);
            await Console.Error.WriteLineAsync($"wrote {path}: {included} records of {id} with inclusion proofs"
                + (notCovered > 0 ? $"; {notCovered} newer records are not covered by the checkpoint and were left out" : string.Empty));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command VerifyBundle(CliContext ctx)
    {
        var file = new Argument<string>("bundle") { Description = "The evidence zip written by 'deprov audit bundle'" };
        var key = new Option<string>("--key") { Description = "The verifier key you trust (name+id+base64) or a file holding it; without it the key in the bundle is used and only self-consistency is shown" };
        var cmd = new Command("verify-bundle", "Check an evidence bundle offline: no store, no server, no configuration") { file, key };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            var path = pr.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new NotFoundException($"There is no file '{path}'.");
            }

            var pinned = pr.GetValue(key) is { } k ? Ed25519NoteKeys.ParseVerifier(KeyText(k), "--key") : null;
            await using var stream = File.OpenRead(path);
            var v = EvidenceBundle.Verify(stream, pinned);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { ok = v.Ok, person = v.Person, origin = v.Origin, treeSize = v.TreeSize, records = v.Records, key = v.KeySource, problems = v.Problems });
            }
            else if (v.Ok)
            {
                Console.WriteLine($"verify-bundle: OK ({v.Records} records of {v.Person}, each proven in {v.Origin} at {v.TreeSize} records; {v.KeySource})");
            }
            else
            {
                Console.WriteLine($"verify-bundle: FAILED ({v.Problems.Count} problem(s))");
                foreach (var p in v.Problems)
                {
                    Console.WriteLine($"  {p}");
                }
            }

            return v.Ok ? ExitCodes.Ok : ExitCodes.AuditBroken;
        }));
        return cmd;
    }

    private static Ed25519NoteVerifier Verifier(string? key, EvidenceOptions? evidence)
    {
        if (key is not null)
        {
            return Ed25519NoteKeys.ParseVerifier(KeyText(key), "--key");
        }

        return evidence?.OpenVerifier(new SecretResolver())
            ?? throw new ValidationException("No key to check checkpoints with. Fix: pass --key <verifier key or file>, or set evidence.verifier_key (or evidence.signing_key) in deprov.yaml.");
    }

    private static string KeyText(string value) => File.Exists(value) ? File.ReadAllText(value) : value;

    private static string ReadFile(string path, string option) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new NotFoundException($"{option} '{path}' does not exist.");
}
