using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Deprov.Connectors.Vault.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault;

/// <summary>Shared secrets in the KV version 2 mount: discovery with who knows them, rotation by a new version.</summary>
internal sealed partial class VaultConnector
{
    /// <summary>Credential ids of KV secrets: <c>kv:</c> and the path under the mount.</summary>
    internal const string KvPrefix = "kv:";

    /// <summary>custom_metadata key recording the idempotency key of the last rotation Deprov made.</summary>
    internal const string RotationKey = "deprov_rotation";

    /// <summary>custom_metadata key recording the version that rotation wrote.</summary>
    internal const string RotatedVersionKey = "deprov_rotated_version";

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private async IAsyncEnumerable<DiscoveredObject> DiscoverSecretsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pending = new Stack<string>(_settings.KvPrefixes.Reverse());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryPop(out var folder))
        {
            var listPath = $"{_settings.KvMount}/metadata/{Escape(folder)}";
            var r = await _client.ListAsync(listPath, "list secrets", cancellationToken);
            if (IsEmptyList(r))
            {
                // Vault answers a LIST of nothing (or of a path that does not exist) with 404 {"errors":[]}.
                continue;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Get, listPath + "/?list=true", "list secrets", Capabilities.ListMetadata);
            }

            var keys = (r.Data?["keys"] as JsonArray)?.OfType<JsonValue>().Select(v => v.GetValue<string>()).ToList() ?? [];
            var children = new List<string>();
            foreach (var key in keys)
            {
                var path = folder.Length == 0 ? key : $"{folder}/{key}";
                if (key.EndsWith('/'))
                {
                    children.Add(path.TrimEnd('/'));
                }
                else if (seen.Add(path) && await ReadMetadataAsync(path, cancellationToken) is { } meta)
                {
                    yield return ToCredential(path, meta);
                }
            }

            for (var i = children.Count - 1; i >= 0; i--)
            {
                pending.Push(children[i]);
            }
        }
    }

    private DiscoveredCredential ToCredential(string path, KvMetadata meta)
    {
        var knownBy = meta.Custom.TryGetValue(_settings.KnownByKey, out var list)
            ? list.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Person).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList()
            : [];
        var owner = meta.Custom.TryGetValue(_settings.OwnerKey, out var o) ? Person(o) : null;
        return new DiscoveredCredential(KvPrefix + path, $"{_settings.KvMount}/{path}", CredentialKind.SharedSecret, owner, knownBy, meta.CurrentIsLive, meta.CurrentCreated);
    }

    /// <summary>
    /// Writes a new version with a fresh random value for each of <see cref="VaultSettings.RotateKeys"/> the secret holds
    /// (other keys are kept), guarded by check-and-set on the version read; then records the step's idempotency key in the
    /// secret's custom_metadata so a replay of the same step does not rotate again. The value is never returned or logged.
    /// </summary>
    private async Task<ActionResult> RotateAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var path = CredentialId(action, KvPrefix);
        for (var attempt = 0; ; attempt++)
        {
            var meta = await ReadMetadataAsync(path, cancellationToken)
                ?? throw new ConnectorException($"Vault {_system.Id}: secret {_settings.KvMount}/{path} does not exist (or the policy cannot read its metadata).", isTransient: false);
            var before = State(meta);
            if (meta.Custom.TryGetValue(RotationKey, out var done) && done == action.IdempotencyKey)
            {
                return ActionResult.Unchanged(before, "this step already rotated the secret");
            }

            var dataPath = $"{_settings.KvMount}/data/{Escape(path)}";
            var read = await _client.SendAsync(HttpMethod.Get, dataPath, null, "read secret", cancellationToken);
            if (!read.IsSuccess)
            {
                throw _client.Failure(read, HttpMethod.Get, dataPath, "read secret", Capabilities.ReadData);
            }

            var current = read.Data?["data"] as JsonObject ?? [];
            var next = new JsonObject();
            foreach (var (k, v) in current)
            {
                next[k] = v?.DeepClone();
            }

            var rotated = _settings.RotateKeys.Where(current.ContainsKey).ToList();
            if (rotated.Count == 0)
            {
                throw new ConnectorException(
                    $"Vault {_system.Id}: secret {_settings.KvMount}/{path} holds none of the keys rotate_keys lists ({string.Join(", ", _settings.RotateKeys)}); nothing to rotate.",
                    isTransient: false);
            }

            foreach (var k in rotated)
            {
                next[k] = RandomNumberGenerator.GetString(Alphabet, _settings.SecretLength);
            }

            var body = new JsonObject { ["options"] = new JsonObject { ["cas"] = meta.CurrentVersion }, ["data"] = next };
            var write = await _client.SendAsync(HttpMethod.Post, dataPath, body, "write new version", cancellationToken);
            if (write.Status == HttpStatusCode.BadRequest && write.HasError("check-and-set"))
            {
                if (attempt == 0)
                {
                    // Someone wrote a version between our read and our write: read again and retry once.
                    continue;
                }

                throw new ConnectorException($"Vault {_system.Id}: secret {_settings.KvMount}/{path} changed twice while being rotated (check-and-set mismatch); will retry.", isTransient: true);
            }

            if (!write.IsSuccess)
            {
                throw _client.Failure(write, HttpMethod.Post, dataPath, "write new version", Capabilities.WriteData);
            }

            var version = write.Data?["version"] is JsonValue jv && jv.TryGetValue<long>(out var n) ? n : meta.CurrentVersion + 1;
            var created = write.Data?["created_time"] is JsonValue ct && ct.TryGetValue<string>(out var cts) ? cts : null;
            await RecordRotationAsync(path, meta, action.IdempotencyKey, version, cancellationToken);
            var after = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["version"] = Int(version),
                ["rotated_at"] = created ?? Iso(_time.GetUtcNow()),
                ["rotated_keys"] = string.Join(',', rotated),
            };
            return new ActionResult(before, after, AlreadyInState: false);
        }
    }

    /// <summary>Writes the whole custom_metadata map back (a POST replaces it) with the rotation recorded.</summary>
    private async Task RecordRotationAsync(string path, KvMetadata meta, string idempotencyKey, long version, CancellationToken cancellationToken)
    {
        var custom = new JsonObject();
        foreach (var (k, v) in meta.Custom)
        {
            custom[k] = v;
        }

        custom[RotationKey] = idempotencyKey;
        custom[RotatedVersionKey] = Int(version);
        var metaPath = $"{_settings.KvMount}/metadata/{Escape(path)}";
        var r = await _client.SendAsync(HttpMethod.Post, metaPath, new JsonObject { ["custom_metadata"] = custom }, "record rotation", cancellationToken);
        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, metaPath, "record rotation", Capabilities.WriteMetadata);
        }
    }

    /// <summary>Confirmed when the metadata says this step rotated the secret and the current version is at least the one it wrote.</summary>
    private async Task<ReadBackResult> ReadBackRotationAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var path = CredentialId(action, KvPrefix);
        var meta = await ReadMetadataAsync(path, cancellationToken);
        if (meta is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" });
        }

        var byThisStep = meta.Custom.TryGetValue(RotationKey, out var key) && key == action.IdempotencyKey;
        var written = meta.Custom.TryGetValue(RotatedVersionKey, out var w) && long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var wv) ? wv : long.MaxValue;
        var observed = State(meta);
        observed["rotated_by_this_step"] = byThisStep ? "true" : "false";
        return new ReadBackResult(byThisStep && meta.CurrentVersion >= written, observed);
    }

    /// <summary>
    /// The rotation through the data endpoint (<c>GET /v1/&lt;mount&gt;/data/&lt;path&gt;</c>, the current version and its
    /// metadata) rather than the metadata endpoint: confirmed when the current version is live and at least the version
    /// this step recorded writing. A step that recorded nothing has nothing to confirm.
    /// </summary>
    private async Task<ReadBackResult?> RotationByDataAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var path = CredentialId(action, KvPrefix);
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "secret data (current version)" };
        var meta = await ReadMetadataAsync(path, cancellationToken);
        if (meta is null || !meta.Custom.TryGetValue(RotationKey, out var key) || key != action.IdempotencyKey
            || !meta.Custom.TryGetValue(RotatedVersionKey, out var w) || !long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var written))
        {
            observed["rotated_by_this_step"] = "false";
            return new ReadBackResult(false, observed);
        }

        var dataPath = $"{_settings.KvMount}/data/{Escape(path)}";
        var read = await _client.SendAsync(HttpMethod.Get, dataPath, null, "independent read rotation", cancellationToken);
        if (read.Status == HttpStatusCode.NotFound)
        {
            observed["current_version"] = "404 (deleted, or no readable version)";
            return new ReadBackResult(false, observed);
        }

        if (!read.IsSuccess)
        {
            throw _client.Failure(read, HttpMethod.Get, dataPath, "independent read rotation", Capabilities.ReadData);
        }

        var version = read.Data?["metadata"]?["version"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
        var live = read.Data?["data"] is JsonObject && VaultResponse.Text(read.Data?["metadata"] as JsonObject, "deletion_time") is null or { Length: 0 };
        observed["version"] = Int(version);
        observed["written_by_this_step"] = Int(written);
        return new ReadBackResult(live && version >= written, observed);
    }

    private static Dictionary<string, string> State(KvMetadata meta)
    {
        var state = new Dictionary<string, string>(StringComparer.Ordinal) { ["version"] = Int(meta.CurrentVersion) };
        if (meta.CurrentCreated is { } at)
        {
            state["rotated_at"] = Iso(at);
        }

        return state;
    }

    /// <summary><c>GET /v1/&lt;mount&gt;/metadata/&lt;path&gt;</c>; null on 404.</summary>
    private async Task<KvMetadata?> ReadMetadataAsync(string path, CancellationToken cancellationToken)
    {
        var metaPath = $"{_settings.KvMount}/metadata/{Escape(path)}";
        var r = await _client.SendAsync(HttpMethod.Get, metaPath, null, "read secret metadata", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!r.IsSuccess || r.Data is not { } data)
        {
            throw _client.Failure(r, HttpMethod.Get, metaPath, "read secret metadata", Capabilities.ListMetadata);
        }

        var version = data["current_version"] is JsonValue cv && cv.TryGetValue<long>(out var n) ? n : 0;
        var custom = new Dictionary<string, string>(StringComparer.Ordinal);
        if (data["custom_metadata"] is JsonObject cm)
        {
            foreach (var (k, v) in cm)
            {
                if (v is JsonValue s && s.TryGetValue<string>(out var text))
                {
                    custom[k] = text;
                }
            }
        }

        DateTimeOffset? created = null;
        var live = version > 0;
        if ((data["versions"] as JsonObject)?[Int(version)] is JsonObject current)
        {
            created = VaultResponse.Text(current, "created_time") is { } t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
            var deleted = VaultResponse.Text(current, "deletion_time") is { Length: > 0 };
            var destroyed = current["destroyed"] is JsonValue d && d.TryGetValue<bool>(out var b) && b;
            live = live && !deleted && !destroyed;
        }

        created ??= VaultResponse.Text(data, "updated_time") is { } u && DateTimeOffset.TryParse(u, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ut) ? ut : null;
        return new KvMetadata(version, created, live, custom);
    }

    private sealed record KvMetadata(long CurrentVersion, DateTimeOffset? CurrentCreated, bool CurrentIsLive, Dictionary<string, string> Custom);
}
