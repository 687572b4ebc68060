using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Deprov.Core.Evidence;

/// <summary>Signs note text. Implementations hold a private key that the store never sees.</summary>
public abstract class NoteSigner
{
    /// <summary>The key name written on the signature line (by convention the log's origin).</summary>
    public abstract string Name { get; }

    /// <summary>The 4-byte key ID written before the signature (see <see cref="NoteKeys.KeyId"/>).</summary>
    public abstract uint KeyId { get; }

    public abstract byte[] Sign(ReadOnlySpan<byte> message);
}

/// <summary>Checks signatures by one public key.</summary>
public abstract class NoteVerifier
{
    public abstract string Name { get; }

    public abstract uint KeyId { get; }

    public abstract bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature);
}

/// <summary>One signature line of a note: <c>— name base64(keyID ‖ signature)</c>.</summary>
public sealed record NoteSignature(string Name, uint KeyId, byte[] Signature);

/// <summary>
/// A C2SP <c>signed-note</c>: text ending in a newline, a blank line, then one or more signature lines. Signatures cover the
/// text bytes exactly, so any edit to the checkpoint (size, root, origin) breaks every signature.
/// </summary>
public sealed record SignedNote(string Text, IReadOnlyList<NoteSignature> Signatures)
{
    private const string Dash = "\u2014 ";

    public static SignedNote Sign(string text, params NoteSigner[] signers)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(signers);
        if (!text.EndsWith('\n'))
        {
            throw new ArgumentException("Note text must end with a newline.", nameof(text));
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        return new SignedNote(text, signers.Select(s => new NoteSignature(s.Name, s.KeyId, s.Sign(bytes))).ToList());
    }

    public override string ToString()
    {
        var sb = new StringBuilder(Text).Append('\n');
        foreach (var s in Signatures)
        {
            var blob = new byte[4 + s.Signature.Length];
            BinaryPrimitives.WriteUInt32BigEndian(blob, s.KeyId);
            s.Signature.CopyTo(blob, 4);
            sb.Append(Dash).Append(s.Name).Append(' ').Append(Convert.ToBase64String(blob)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Splits a note at its last blank line and reads the signature lines; throws <see cref="FormatException"/>.</summary>
    public static SignedNote Parse(string note)
    {
        ArgumentNullException.ThrowIfNull(note);
        if (note.Any(c => c != '\n' && char.IsControl(c)))
        {
            throw new FormatException("the note holds a control character other than newline");
        }

        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0)
        {
            throw new FormatException("the note has no blank line before its signatures");
        }

        var text = note[..(split + 1)];
        var sigText = note[(split + 2)..];
        if (!sigText.EndsWith('\n'))
        {
            throw new FormatException("the last signature line must end with a newline");
        }

        var signatures = new List<NoteSignature>();
        var lineNo = text.Count(c => c == '\n') + 1;
        foreach (var line in sigText[..^1].Split('\n'))
        {
            lineNo++;
            if (!line.StartsWith(Dash, StringComparison.Ordinal))
            {
                throw new FormatException($"line {lineNo} is not a signature line ('— <key name> <base64>')");
            }

            var parts = line[Dash.Length..].Split(' ');
            if (parts.Length != 2 || !NoteKeys.IsValidName(parts[0]))
            {
                throw new FormatException($"line {lineNo}: a signature line is '— <key name> <base64>' with a name without spaces or '+'");
            }

            byte[] blob;
            try
            {
                blob = Convert.FromBase64String(parts[1]);
            }
            catch (FormatException)
            {
                throw new FormatException($"line {lineNo}: the signature of '{parts[0]}' is not base64");
            }

            if (blob.Length < 5)
            {
                throw new FormatException($"line {lineNo}: the signature of '{parts[0]}' is too short to hold a key ID and a signature");
            }

            signatures.Add(new NoteSignature(parts[0], BinaryPrimitives.ReadUInt32BigEndian(blob), blob[4..]));
        }

        if (signatures.Count == 0)
        {
            throw new FormatException("the note has no signature");
        }

        return new SignedNote(text, signatures);
    }

    /// <summary>
    /// Null when at least one signature is by a known key and every signature by a known key verifies; otherwise why not.
    /// Signatures by unknown keys are ignored (witnesses, rotated keys), as the signed-note spec requires.
    /// </summary>
    public string? Verify(IReadOnlyCollection<NoteVerifier> verifiers)
    {
        ArgumentNullException.ThrowIfNull(verifiers);
        var bytes = Encoding.UTF8.GetBytes(Text);
        var verified = 0;
        foreach (var s in Signatures)
        {
            var v = verifiers.FirstOrDefault(v => v.Name == s.Name && v.KeyId == s.KeyId);
            if (v is null)
            {
                continue;
            }

            if (!v.Verify(bytes, s.Signature))
            {
                return $"the signature by '{s.Name}' (key {s.KeyId:x8}) does not verify: the text was changed after signing";
            }

            verified++;
        }

        if (verified > 0)
        {
            return null;
        }

        var keys = string.Join(", ", verifiers.Select(v => $"{v.Name}+{v.KeyId:x8}"));
        var found = string.Join(", ", Signatures.Select(s => $"{s.Name}+{s.KeyId:x8}"));
        return $"no signature by a trusted key (trusted: {keys}; signed by: {found})";
    }
}

/// <summary>Key naming and encoding shared by signers and verifiers (C2SP signed-note).</summary>
public static class NoteKeys
{
    /// <summary>Signature type byte for Ed25519.</summary>
    public const byte Ed25519 = 0x01;

    public static bool IsValidName(string name) =>
        name.Length > 0 && !name.Any(c => c is ' ' or '+' || char.IsControl(c) || char.IsWhiteSpace(c));

    /// <summary>The first 4 bytes, big-endian, of <c>SHA-256(name ‖ 0x0A ‖ type ‖ public key)</c>.</summary>
    public static uint KeyId(string name, byte type, ReadOnlySpan<byte> publicKey)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[nameBytes.Length + 2 + publicKey.Length];
        nameBytes.CopyTo(data, 0);
        data[nameBytes.Length] = 0x0A;
        data[nameBytes.Length + 1] = type;
        publicKey.CopyTo(data.AsSpan(nameBytes.Length + 2));
        return BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(data));
    }

    /// <summary>The verifier key text <c>name+hexID+base64(type ‖ public key)</c> that auditors pin.</summary>
    public static string VerifierKey(string name, byte type, ReadOnlySpan<byte> publicKey)
    {
        var blob = new byte[1 + publicKey.Length];
        blob[0] = type;
        publicKey.CopyTo(blob.AsSpan(1));
        return $"{name}+{KeyId(name, type, publicKey):x8}+{Convert.ToBase64String(blob)}";
    }

    /// <summary>Reads a verifier key text, checking that its ID matches its key; throws <see cref="FormatException"/>.</summary>
    public static (string Name, uint KeyId, byte Type, byte[] PublicKey) ParseVerifierKey(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().Split('+', 3);
        if (parts.Length != 3 || !IsValidName(parts[0]) || parts[1].Length != 8)
        {
            throw new FormatException("a verifier key is '<name>+<8 hex digits>+<base64 key>'");
        }

        if (!uint.TryParse(parts[1], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            throw new FormatException($"the key ID '{parts[1]}' is not 8 hex digits");
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            throw new FormatException("the key part of the verifier key is not base64");
        }

        if (blob.Length < 2)
        {
            throw new FormatException("the verifier key holds no key");
        }

        var key = blob[1..];
        if (KeyId(parts[0], blob[0], key) != id)
        {
            throw new FormatException($"the key ID {parts[1]} does not match the key: the verifier key was altered");
        }

        return (parts[0], id, blob[0], key);
    }
}
