using System.Globalization;
using System.Text;
using Deprov.Core;
using Deprov.Core.Evidence;

namespace Deprov.Hosting.Evidence;

/// <summary>
/// Checkpoints as files, one per signed size: <c>checkpoint-000000001000.txt</c> holding the signed note verbatim. A file
/// is written once (temp file, then rename) and never rewritten.
/// </summary>
public static class CheckpointFolder
{
    public const string Pattern = "checkpoint-*.txt";

    public static string FileName(long size) => $"checkpoint-{size.ToString("D12", CultureInfo.InvariantCulture)}.txt";

    /// <summary>Every checkpoint file in the folder (name, text), oldest size first; none when the folder does not exist.</summary>
    public static IReadOnlyList<(string Source, string Text)> ReadAll(string folder) =>
        !Directory.Exists(folder) ? []
            : Directory.GetFiles(folder, Pattern).Order(StringComparer.Ordinal)
                .Select(f => (Path.GetFileName(f), File.ReadAllText(f, Encoding.UTF8))).ToList();

    /// <summary>Writes a signed checkpoint. Writing the same size twice is allowed only with the same text: a second,
    /// different checkpoint of the same size would be a fork.</summary>
    public static string Write(string folder, long size, string signedNote)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName(size));
        if (File.Exists(path))
        {
            if (File.ReadAllText(path, Encoding.UTF8) == signedNote)
            {
                return path;
            }

            throw new DeprovException($"Checkpoint {FileName(size)} already exists with a different root or signature: refusing to sign a second tree of {size} records. The trail or the checkpoint folder was changed; run 'deprov audit verify'.");
        }

        var temp = path + ".tmp";
        File.WriteAllText(temp, signedNote, new UTF8Encoding(false));
        File.Move(temp, path);
        return path;
    }

    /// <summary>Parses and checks the signature of each checkpoint text. Good ones come back as checkpoints; every bad
    /// one (unreadable, wrong origin, edited, signed by another key) becomes a failed finding that names the file.</summary>
    public static (List<(string Source, Checkpoint Checkpoint, string Note)> Good, List<CheckpointFinding> Bad) Check(
        IEnumerable<(string Source, string Text)> texts, IReadOnlyCollection<NoteVerifier> verifiers, string? origin)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var good = new List<(string, Checkpoint, string)>();
        var bad = new List<CheckpointFinding>();
        foreach (var (source, text) in texts)
        {
            try
            {
                var note = SignedNote.Parse(text);
                var checkpoint = Checkpoint.Parse(note.Text);
                if (origin is not null && checkpoint.Origin != origin)
                {
                    bad.Add(new CheckpointFinding(source, checkpoint.Size, false, $"checkpoint {source} is for log '{checkpoint.Origin}', not '{origin}'"));
                }
                else if (note.Verify(verifiers) is { } problem)
                {
                    bad.Add(new CheckpointFinding(source, checkpoint.Size, false, $"checkpoint {source} is not trustworthy: {problem}"));
                }
                else
                {
                    good.Add((source, checkpoint, text));
                }
            }
            catch (FormatException ex)
            {
                bad.Add(new CheckpointFinding(source, -1, false, $"checkpoint {source} cannot be read: {ex.Message}"));
            }
        }

        return (good, bad);
    }
}
