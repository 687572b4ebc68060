using System.Globalization;

namespace Deprov.Core.Evidence;

/// <summary>
/// A C2SP <c>tlog-checkpoint</c> body: the log's origin, the number of records the tree covers and the RFC 6962 root of
/// those records, one per line, each ending in a newline. It is signed as a note (<see cref="SignedNote"/>).
/// </summary>
public sealed record Checkpoint(string Origin, long Size, byte[] RootHash)
{
    /// <summary>The note text exactly as signed: <c>origin\nsize\nbase64(root)\n</c>.</summary>
    public string ToNoteText() => $"{Origin}\n{Size.ToString(CultureInfo.InvariantCulture)}\n{Convert.ToBase64String(RootHash)}\n";

    /// <summary>Reads a checkpoint body; throws <see cref="FormatException"/> naming the line and what is wrong.</summary>
    public static Checkpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.EndsWith('\n'))
        {
            throw new FormatException("the checkpoint text must end with a newline");
        }

        var lines = text[..^1].Split('\n');
        if (lines.Length < 3)
        {
            throw new FormatException($"the checkpoint has {lines.Length} line(s); it needs origin, tree size and root hash");
        }

        if (!NoteKeys.IsValidName(lines[0]))
        {
            throw new FormatException($"line 1 (origin) '{lines[0]}' is empty or holds a space or '+'");
        }

        if (lines[1].Length == 0 || lines[1].Any(c => c is < '0' or > '9') || (lines[1].Length > 1 && lines[1][0] == '0')
            || !long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new FormatException($"line 2 (tree size) '{lines[1]}' is not a decimal number without leading zeros");
        }

        byte[] root;
        try
        {
            root = Convert.FromBase64String(lines[2]);
        }
        catch (FormatException)
        {
            throw new FormatException($"line 3 (root hash) '{lines[2]}' is not base64");
        }

        if (root.Length != MerkleHash.Size)
        {
            throw new FormatException($"line 3 (root hash) decodes to {root.Length} bytes; a SHA-256 root has 32");
        }

        return new Checkpoint(lines[0], size, root);
    }
}
