using Deprov.Core;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;

namespace Deprov.Cli.Tests;

/// <summary>
/// Broken configuration never crashes: every YAML syntax error is one message with file:line:column, what is wrong and
/// the fix (exit 2). The property test mutates the repository's deprov.yaml with a seeded generator.
/// </summary>
public sealed class ConfigFuzzTests
{
    private static readonly IReadOnlyDictionary<string, Core.Connectors.IConnectorFactory> Factories = DeprovHost.Factories(CliContext.DefaultFactories());

    [Theory]
    [InlineData("policy:\n  rules: [\n", ":2:10:", "never closed")]
    [InlineData("systems: [ { id: a, kind: sandbox }\npolicy: {}\n", ":1:10:", "never closed")]
    [InlineData("policy:\n  rules: { a: 1\n", ":2:10:", "never closed")]
    [InlineData("policy:\n\trules: []\n", ":2:1:", "tab")]
    [InlineData("store:\n  path: a.db\n path: b.db\n", ":3:", "indentation")]
    [InlineData("store:\n  path: a.db\n  path: b.db\n", ":3:3:", "twice")]
    [InlineData("store: *nothing\n", ":1:", "anchor")]
    [InlineData("just a sentence\n", ":1:1:", "single value")]
    [InlineData("- a\n- b\n", ":1:1:", "a list")]
    [InlineData("store: {}\n---\nstore: {}\n", ":3:", "more than one YAML document")]
    [InlineData("store: \"unclosed\n", ":1:8:", "never closed")]
    public void Parse_BrokenYaml_OneValidationErrorWithLineColumnAndFix(string yaml, string where, string what)
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(yaml, "/cfg/deprov.yaml", Factories));
        var error = Assert.Single(ex.Errors);
        Assert.Contains("/cfg/deprov.yaml" + where, ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(string.IsNullOrWhiteSpace(error.Fix), ex.Message);
    }

    [Fact]
    public async Task Cli_UnclosedFlowSequence_ExitTwoWithFileLineColumn()
    {
        var dir = Directory.CreateTempSubdirectory("deprov-yaml-").FullName;
        var file = Path.Combine(dir, "deprov.yaml");
        await File.WriteAllTextAsync(file, "policy:\n  rules: [\n");
        var r = await Cli.RunAsync(dir, "status");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{file}:2:10: the '[' opened here is never closed", r.Err, StringComparison.Ordinal);
        Assert.Contains("Fix:", r.Err, StringComparison.Ordinal);
        Assert.False(InProcessCli.LooksLikeACrash(r.All), r.All);
    }

    [Fact]
    public async Task Parse_MutatedRepositoryConfig_OnlyValidationErrors()
    {
        var original = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deprov.yaml"));
        var lines = original.Split('\n');
        var variants = new List<(string Name, string Yaml)>();
        for (var i = 0; i <= lines.Length; i++)
        {
            variants.Add(($"truncated after line {i}", string.Join('\n', lines.Take(i))));
        }

        var rng = new Random(1404);
        const string Alphabet = "[]{}:,-'\"#&*!|>\t \n%@`?";
        for (var i = 0; i < 400; i++)
        {
            var text = original.ToCharArray().ToList();
            var edits = 1 + rng.Next(4);
            var done = new List<string>();
            for (var e = 0; e < edits; e++)
            {
                var at = rng.Next(text.Count);
                switch (rng.Next(3))
                {
                    case 0:
                        done.Add($"delete {at}");
                        text.RemoveAt(at);
                        break;
                    case 1:
                        done.Add($"duplicate {at}");
                        text.Insert(at, text[at]);
                        break;
                    default:
                        var c = Alphabet[rng.Next(Alphabet.Length)];
                        done.Add($"insert {(int)c} at {at}");
                        text.Insert(at, c);
                        break;
                }
            }

            variants.Add((string.Join(", ", done), new string([.. text])));
        }

        var problems = new List<string>();
        var valid = 0;
        foreach (var (name, yaml) in variants)
        {
            try
            {
                ConfigLoader.Parse(yaml, "/cfg/deprov.yaml", Factories);
                valid++;
            }
            catch (ValidationException ex)
            {
                if (ex.Errors.Count == 0 || ex.Errors.Any(e => string.IsNullOrWhiteSpace(e.Problem)))
                {
                    problems.Add($"{name}: an error without a problem: {ex.Message}");
                }
            }
#pragma warning disable CA1031 // collected: the assertion lists every variant that escaped as something else
            catch (Exception ex)
#pragma warning restore CA1031
            {
                problems.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {variants.Count} variants crashed:\n" + string.Join('\n', problems.Take(20)));
        Assert.InRange(valid, 1, variants.Count - 1); // the generator breaks most variants, but not all: both paths ran
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
}
