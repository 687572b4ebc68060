using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Sandbox;

/// <summary>Simulation settings of one sandbox system.</summary>
/// <param name="Latency">Added to every call (discovery pages, changes, read-backs).</param>
/// <param name="FailureRate">Share of calls that fail with a transient error (0..1).</param>
/// <param name="RateLimitPerSecond">Calls per second the simulated system accepts before answering "429" (0 = no limit).</param>
/// <param name="FailChangesOnly">Failures hit changes and read-backs only, not discovery.</param>
public sealed record SandboxOptions(SandboxFlavour Flavour, TimeSpan Latency, double FailureRate, double RateLimitPerSecond, int Seed, bool FailChangesOnly = false);

/// <summary>
/// A connector to one simulated system. It behaves like a remote system: latency, transient failures, a rate limit
/// answered with a retry-after, idempotent changes and read-back. Its state is durable in the sandbox world.
/// </summary>
public sealed class SandboxConnector : IConnector, IAsyncDisposable
{
    private static readonly Dictionary<SandboxFlavour, ActionKind[]> Supported = new()
    {
        [SandboxFlavour.Directory] = [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.ResetPassword, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement],
        [SandboxFlavour.Idp] = [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.ResetPassword, ActionKind.RevokeSessions, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement],
        [SandboxFlavour.App] = [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement, ActionKind.ReclaimLicence, ActionKind.AssignLicence],
        [SandboxFlavour.Mdm] = [ActionKind.LockDevice, ActionKind.UnlockDevice, ActionKind.WipeDevice],
        [SandboxFlavour.Badge] = [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement],
        [SandboxFlavour.Vault] = [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeToken, ActionKind.DisableServiceAccount, ActionKind.TransferOwnership, ActionKind.RotateCredential],
    };

    private readonly string _systemId;
    private readonly SandboxOptions _options;
    private readonly SandboxWorld _world;
    private readonly SandboxSystemState _state;
    private readonly TimeProvider _time;
    private readonly ConnectorDescriptor _descriptor;
    private readonly Lock _rateLock = new();
    private readonly Random _random;
    private double _tokens;
    private long _lastRefill;

    public SandboxConnector(string systemId, SandboxOptions options, SandboxWorld world, TimeProvider time)
    {
        _systemId = systemId;
        _options = options;
        _world = world;
        _state = world.System(systemId);
        _time = time;
        _random = new Random(options.Seed);
        _tokens = options.RateLimitPerSecond;
        _lastRefill = time.GetTimestamp();
        _descriptor = new ConnectorDescriptor("sandbox", Supported[options.Flavour].ToHashSet(), IncrementalDiscovery: false, ReportsSignIns: true);
    }

    public ConnectorDescriptor Describe() => _descriptor;

    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await SimulateCallAsync(cancellationToken, isChange: false);
        List<DiscoveredObject> items;
        lock (_state.Sync)
        {
            var watermark = $"{_world.InstanceId}:{_state.Version}";
            items = request.Watermark == watermark ? [new DiscoveredWatermark(watermark, Unchanged: true)] : ListAll(watermark);
        }

        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
    }

    /// <summary>Everything the system holds, ending with its watermark. Called under the state's lock.</summary>
    /// <remarks>A system holds up to millions of accounts and memberships: the accounts come as one
    /// <see cref="DiscoveredAccounts"/> (columns, not an object and an attribute map each) and each group's members as
    /// one <see cref="DiscoveredMembers"/>.</remarks>
    private List<DiscoveredObject> ListAll(string watermark)
    {
        var items = new List<DiscoveredObject>(1 + _state.Groups.Count + _state.Members.Count + _state.Devices.Count + _state.Credentials.Count + 1);
        items.Add(ListAccounts());
        foreach (var g in _state.Groups.Values)
        {
            items.Add(new DiscoveredEntitlement(g.Id, g.Name, g.Kind, g.Privileged));
        }

        foreach (var (group, members) in _state.Members)
        {
            var present = new List<string>(members.Count);
            foreach (var m in members)
            {
                if (_state.Accounts.TryGetValue(m, out var a) && !a.Deleted)
                {
                    present.Add(m);
                }
            }

            if (present.Count > 0)
            {
                items.Add(new DiscoveredMembers(group, present));
            }
        }

        foreach (var d in _state.Devices.Values)
        {
            items.Add(new DiscoveredDevice(d.Id, d.Serial, d.Model, d.Owner, d.Status));
        }

        foreach (var c in _state.Credentials.Values)
        {
            items.Add(new DiscoveredCredential(c.Id, c.Name, c.Kind, c.Owner, [.. c.KnownBy], c.Active, c.RotatedAt));
        }

        items.Add(new DiscoveredWatermark(watermark, Unchanged: false));
        return items;
    }

    /// <summary>The accounts not deleted, as columns. Its attributes are <c>uid</c> (the user name column itself) and
    /// <c>employeeNumber</c> (null where an account has none).</summary>
    private DiscoveredAccounts ListAccounts()
    {
        var n = 0;
        foreach (var a in _state.Accounts.Values)
        {
            n += a.Deleted ? 0 : 1;
        }

        var (ids, names, emails, enabled, kinds, signIns, employeeIds) =
            (new string[n], new string[n], new string?[n], new bool[n], new AccountKind[n], new DateTimeOffset?[n], new string?[n]);
        var i = 0;
        foreach (var a in _state.Accounts.Values)
        {
            if (!a.Deleted)
            {
                (ids[i], names[i], emails[i], enabled[i], kinds[i], signIns[i], employeeIds[i]) = (a.Id, a.UserName, a.Email, a.Active, a.Kind, a.LastSignIn, a.EmployeeId);
                i++;
            }
        }

        return new DiscoveredAccounts(ids, names, emails, enabled, kinds, signIns,
            new Dictionary<string, string?[]>(StringComparer.Ordinal) { ["uid"] = names, ["employeeNumber"] = employeeIds });
    }

    public async Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        await SimulateCallAsync(cancellationToken);
        var now = _time.GetUtcNow();
        Applied applied;
        lock (_state.Sync)
        {
            applied = Apply(action, now);
            if (applied.Changed)
            {
                _state.Touch();
            }
        }

        await _world.CommitAsync([.. applied.Changes, new OpLog(_systemId, action.IdempotencyKey, action.Kind.ToSnake(), applied.Target, applied.Changed, now)]);
        return new ActionResult(applied.Before, applied.After, !applied.Changed);
    }

    public async Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        await SimulateCallAsync(cancellationToken);
        lock (_state.Sync)
        {
            return action.Kind switch
            {
                ActionKind.DisableAccount => Account(action) is var a && a is not null ? Observed(!a.Active || a.Deleted, ("active", Bool(a.Active && !a.Deleted))) : Absent(),
                ActionKind.EnableAccount => Account(action) is { } e ? Observed(e.Active && !e.Deleted, ("active", Bool(e.Active))) : new ReadBackResult(false, Map(("exists", "false"))),
                ActionKind.DeleteAccount => Account(action) is { Deleted: false } d ? Observed(false, ("exists", "true"), ("active", Bool(d.Active))) : Gone(),
                ActionKind.RevokeSessions => Account(action) is { } s ? Observed(s.Sessions == 0, ("sessions", s.Sessions.ToString(System.Globalization.CultureInfo.InvariantCulture))) : Absent(),
                ActionKind.ResetPassword => Account(action) is { } p ? Observed(p.PasswordResetKey == action.IdempotencyKey, ("password", p.PasswordResetKey == action.IdempotencyKey ? "reset by this step" : "not reset")) : Absent(),
                ActionKind.RemoveEntitlement or ActionKind.ReclaimLicence => Observed(!_state.IsMember(Group(action), action.AccountExternalId!), ("member", Bool(_state.IsMember(Group(action), action.AccountExternalId!)))),
                ActionKind.AddEntitlement or ActionKind.AssignLicence => Observed(_state.IsMember(Group(action), action.AccountExternalId!), ("member", Bool(_state.IsMember(Group(action), action.AccountExternalId!)))),
                ActionKind.LockDevice => Device(action) is { } l ? Observed(l.Status is DeviceStatus.Locked or DeviceStatus.Wiped, ("status", l.Status.Snake())) : Absent(),
                ActionKind.WipeDevice => Device(action) is { } w ? Observed(w.Status == DeviceStatus.Wiped, ("status", w.Status.Snake())) : Absent(),
                ActionKind.UnlockDevice => Device(action) is { } u ? Observed(u.Status == DeviceStatus.Active, ("status", u.Status.Snake())) : Absent(),
                ActionKind.RevokeToken or ActionKind.DisableServiceAccount => Credential(action) is { } t ? Observed(!t.Active, ("active", Bool(t.Active))) : Absent(),
                ActionKind.TransferOwnership => Credential(action) is { } o ? Observed(o.Owner == action.Parameters.GetValueOrDefault("newOwnerEmail"), ("owner", o.Owner ?? "-")) : Absent(),
                ActionKind.RotateCredential => Credential(action) is { } r ? Observed(r.Rotations.Contains(action.IdempotencyKey), ("version", r.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("rotated", Bool(r.Rotations.Contains(action.IdempotencyKey)))) : Absent(),
                _ => throw new ConnectorException($"Sandbox system '{_systemId}' cannot read back {action.Kind.ToSnake()}.", isTransient: false),
            };
        }
    }

    /// <summary>
    /// The second read path: from the other side of each relation. A membership is read from the account's side (every
    /// group listing the account) rather than the group's member set; an account, device or credential is found by
    /// its name or serial among all of them rather than by id. Kinds without an inventory to contradict have none (null).
    /// </summary>
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        await SimulateCallAsync(cancellationToken, isChange: false);
        lock (_state.Sync)
        {
            switch (action.Kind)
            {
                case ActionKind.RemoveEntitlement or ActionKind.ReclaimLicence:
                {
                    var group = Group(action);
                    var account = action.AccountExternalId ?? throw new ConnectorException("No account given for a membership change.", isTransient: false);
                    var groupsOfAccount = _state.Members.Where(m => m.Value.Contains(account)).Select(m => m.Key).Order(StringComparer.Ordinal).ToList();
                    var member = groupsOfAccount.Contains(group, StringComparer.Ordinal);
                    return Observed(!member, ("member", Bool(member)), ("groups", string.Join(",", groupsOfAccount)));
                }

                case ActionKind.DisableAccount:
                {
                    var name = action.AccountUserName;
                    var byName = _state.Accounts.Values.Where(a => !a.Deleted && string.Equals(a.UserName, name, StringComparison.Ordinal)).ToList();
                    // Not found by name is not a confirmation: the name may have changed.
                    return byName.Count == 0
                        ? new ReadBackResult(false, Map(("found", "false")))
                        : Observed(byName.All(a => !a.Active), ("active", Bool(byName.Any(a => a.Active))), ("found", "true"));
                }

                case ActionKind.LockDevice or ActionKind.WipeDevice:
                {
                    var serial = Device(action)?.Serial;
                    var bySerial = _state.Devices.Values.Where(d => serial is not null && d.Serial == serial).ToList();
                    var wanted = action.Kind == ActionKind.WipeDevice ? new[] { DeviceStatus.Wiped } : [DeviceStatus.Locked, DeviceStatus.Wiped];
                    return bySerial.Count == 0
                        ? new ReadBackResult(false, Map(("found", "false")))
                        : Observed(bySerial.All(d => wanted.Contains(d.Status)), ("status", string.Join(",", bySerial.Select(d => d.Status.Snake()))));
                }

                case ActionKind.ResetPassword or ActionKind.RevokeSessions:
                {
                    var name = action.AccountUserName;
                    var byName = _state.Accounts.Values.Where(a => !a.Deleted && string.Equals(a.UserName, name, StringComparison.Ordinal)).ToList();
                    return byName.Count == 0
                        ? new ReadBackResult(false, Map(("found", "false")))
                        : action.Kind == ActionKind.ResetPassword
                            ? Observed(byName.All(a => a.PasswordResetKey == action.IdempotencyKey), ("password", byName.All(a => a.PasswordResetKey == action.IdempotencyKey) ? "reset by this step" : "not reset"))
                            : Observed(byName.All(a => a.Sessions == 0), ("sessions", byName.Sum(a => a.Sessions).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }

                case ActionKind.RotateCredential:
                {
                    var name = Credential(action)?.Name;
                    var byName = _state.Credentials.Values.Where(c => name is not null && c.Name == name).ToList();
                    return byName.Count == 0
                        ? new ReadBackResult(false, Map(("found", "false")))
                        : Observed(byName.All(c => c.Rotations.Contains(action.IdempotencyKey)), ("rotated", Bool(byName.All(c => c.Rotations.Contains(action.IdempotencyKey)))));
                }

                case ActionKind.RevokeToken or ActionKind.DisableServiceAccount:
                {
                    var name = Credential(action)?.Name;
                    var byName = _state.Credentials.Values.Where(c => name is not null && c.Name == name).ToList();
                    return byName.Count == 0
                        ? new ReadBackResult(false, Map(("found", "false")))
                        : Observed(byName.All(c => !c.Active), ("active", Bool(byName.Any(c => c.Active))));
                }

                default:
                    return null;
            }
        }
    }

    private Applied Apply(ConnectorAction action, DateTimeOffset now)
    {
        switch (action.Kind)
        {
            case ActionKind.DisableAccount:
            {
                var a = RequireAccount(action);
                var before = Map(("active", Bool(a.Active)), ("sessions", a.Sessions.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                var changed = a.Active || a.Sessions > 0;
                a.Active = false;
                a.Sessions = 0; // a disabled account's sessions end with it
                return new Applied(before, Map(("active", "false")), changed, a.UserName, changed ? [new AccountRow(_systemId, a)] : []);
            }

            case ActionKind.EnableAccount:
            {
                var a = RequireAccount(action);
                if (a.Deleted)
                {
                    throw new ConnectorException($"Account {a.UserName} in {_systemId} was deleted and cannot be re-enabled.", isTransient: false);
                }

                var changed = !a.Active;
                var before = Map(("active", Bool(a.Active)));
                a.Active = true;
                return new Applied(before, Map(("active", "true")), changed, a.UserName, changed ? [new AccountRow(_systemId, a)] : []);
            }

            case ActionKind.DeleteAccount:
            {
                if (Account(action) is not { } a)
                {
                    return new Applied(Map(("exists", "false")), Map(("exists", "false")), false, action.AccountExternalId ?? "?", []);
                }

                var changed = !a.Deleted;
                var before = Map(("exists", Bool(!a.Deleted)), ("active", Bool(a.Active)));
                a.Deleted = true;
                a.Active = false;
                var changes = new List<Change> { new AccountRow(_systemId, a) };
                foreach (var (group, members) in _state.Members)
                {
                    if (members.Remove(a.Id))
                    {
                        changes.Add(new Membership(_systemId, group, a.Id, false));
                    }
                }

                return new Applied(before, Map(("exists", "false")), changed, a.UserName, changed ? [.. changes] : []);
            }

            case ActionKind.RevokeSessions:
            {
                var a = RequireAccount(action);
                var before = Map(("sessions", a.Sessions.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                var changed = a.Sessions > 0;
                a.Sessions = 0;
                return new Applied(before, Map(("sessions", "0")), changed, a.UserName, changed ? [new AccountRow(_systemId, a)] : []);
            }

            case ActionKind.ResetPassword:
            {
                var a = RequireAccount(action);
                var changed = a.PasswordResetKey != action.IdempotencyKey;
                if (changed)
                {
                    // A random secret nobody ever sees: generated, "set", and dropped. Only the fact is recorded.
                    _ = RandomNumberGenerator.GetHexString(32);
                    a.PasswordResetKey = action.IdempotencyKey;
                }

                return new Applied(Map(("password", "unchanged")), Map(("password", "reset to a random secret (not stored)")), changed, a.UserName,
                    changed ? [new AccountRow(_systemId, a)] : []);
            }

            case ActionKind.RemoveEntitlement or ActionKind.ReclaimLicence:
            {
                var group = Group(action);
                var account = action.AccountExternalId ?? throw new ConnectorException("No account given for a membership change.", isTransient: false);
                var changed = _state.Members.TryGetValue(group, out var members) && members.Remove(account);
                return new Applied(Map(("member", Bool(changed)), ("group", group)), Map(("member", "false")), changed, $"{account} in {group}",
                    changed ? [new Membership(_systemId, group, account, false)] : []);
            }

            case ActionKind.AddEntitlement or ActionKind.AssignLicence:
            {
                var group = Group(action);
                var account = action.AccountExternalId ?? throw new ConnectorException("No account given for a membership change.", isTransient: false);
                if (!_state.Groups.ContainsKey(group))
                {
                    throw new ConnectorException($"Group '{group}' does not exist in {_systemId}.", isTransient: false);
                }

                if (!_state.Members.TryGetValue(group, out var members))
                {
                    _state.Members[group] = members = new HashSet<string>(StringComparer.Ordinal);
                }

                var changed = members.Add(account);
                return new Applied(Map(("member", Bool(!changed))), Map(("member", "true")), changed, $"{account} in {group}",
                    changed ? [new Membership(_systemId, group, account, true)] : []);
            }

            case ActionKind.LockDevice or ActionKind.WipeDevice or ActionKind.UnlockDevice:
            {
                var d = Device(action) ?? throw new ConnectorException($"Device '{action.DeviceExternalId}' does not exist in {_systemId}.", isTransient: false);
                var before = Map(("status", d.Status.Snake()));
                var target = action.Kind switch
                {
                    ActionKind.LockDevice => d.Status == DeviceStatus.Wiped ? DeviceStatus.Wiped : DeviceStatus.Locked,
                    ActionKind.WipeDevice => DeviceStatus.Wiped,
                    _ => d.Status == DeviceStatus.Wiped ? throw new ConnectorException($"Device {d.Serial} was wiped; it cannot be unlocked.", isTransient: false) : DeviceStatus.Active,
                };
                var changed = d.Status != target;
                d.Status = target;
                return new Applied(before, Map(("status", d.Status.Snake())), changed, d.Serial, changed ? [new DeviceRow(_systemId, d)] : []);
            }

            case ActionKind.RevokeToken or ActionKind.DisableServiceAccount:
            {
                var c = RequireCredential(action);
                var changed = c.Active;
                c.Active = false;
                return new Applied(Map(("active", Bool(changed))), Map(("active", "false")), changed, c.Name, changed ? [new CredentialRow(_systemId, c)] : []);
            }

            case ActionKind.TransferOwnership:
            {
                var c = RequireCredential(action);
                var newOwner = action.Parameters.GetValueOrDefault("newOwnerEmail")
                    ?? throw new ConnectorException($"No new owner given for {c.Name}.", isTransient: false);
                var before = Map(("owner", c.Owner ?? "-"));
                var changed = c.Owner != newOwner;
                c.Owner = newOwner;
                return new Applied(before, Map(("owner", newOwner)), changed, c.Name, changed ? [new CredentialRow(_systemId, c)] : []);
            }

            case ActionKind.RotateCredential:
            {
                var c = RequireCredential(action);
                var before = Map(("version", c.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("knownBy", c.KnownBy.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                var changed = !c.Rotations.Contains(action.IdempotencyKey);
                if (changed)
                {
                    c.Version++;
                    c.Rotations.Add(action.IdempotencyKey);
                    c.RotatedAt = now;
                    c.KnownBy.Clear(); // a new value nobody has seen yet; the vault hands it out again
                }

                return new Applied(before, Map(("version", c.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))), changed, c.Name,
                    changed ? [new CredentialRow(_systemId, c)] : []);
            }

            default:
                throw new ConnectorException($"Sandbox system '{_systemId}' ({_options.Flavour.Snake()}) cannot {action.Kind.ToSnake()}.", isTransient: false);
        }
    }

    private async Task SimulateCallAsync(CancellationToken cancellationToken, bool isChange = true)
    {
        if (_options.Latency > TimeSpan.Zero)
        {
            await Task.Delay(_options.Latency, _time, cancellationToken);
        }

        if (_options.RateLimitPerSecond > 0)
        {
            lock (_rateLock)
            {
                var nowTs = _time.GetTimestamp();
                _tokens = Math.Min(_options.RateLimitPerSecond, _tokens + (_time.GetElapsedTime(_lastRefill, nowTs).TotalSeconds * _options.RateLimitPerSecond));
                _lastRefill = nowTs;
                if (_tokens < 1)
                {
                    var wait = TimeSpan.FromSeconds((1 - _tokens) / _options.RateLimitPerSecond);
                    throw new ConnectorException($"Sandbox system '{_systemId}' answered 429 Too Many Requests (limit {_options.RateLimitPerSecond}/s).", isTransient: true, retryAfter: wait, rateLimited: true);
                }

                _tokens -= 1;
            }
        }

        if (_options.FailureRate > 0 && (isChange || !_options.FailChangesOnly))
        {
            double roll;
            lock (_random)
            {
                roll = _random.NextDouble();
            }

            if (roll < _options.FailureRate)
            {
                throw new ConnectorException($"Sandbox system '{_systemId}' answered 503 Service Unavailable (simulated).", isTransient: true);
            }
        }
    }

    private SbAccount? Account(ConnectorAction a) => a.AccountExternalId is not null && _state.Accounts.TryGetValue(a.AccountExternalId, out var x) ? x : null;

    private SbAccount RequireAccount(ConnectorAction a) =>
        Account(a) is { Deleted: false } x ? x : throw new ConnectorException($"Account '{a.AccountUserName ?? a.AccountExternalId}' does not exist in {_systemId}.", isTransient: false);

    private SbDevice? Device(ConnectorAction a) => a.DeviceExternalId is not null && _state.Devices.TryGetValue(a.DeviceExternalId, out var x) ? x : null;

    private SbCredential? Credential(ConnectorAction a) => a.CredentialExternalId is not null && _state.Credentials.TryGetValue(a.CredentialExternalId, out var x) ? x : null;

    private SbCredential RequireCredential(ConnectorAction a) =>
        Credential(a) ?? throw new ConnectorException($"Credential '{a.CredentialExternalId}' does not exist in {_systemId}.", isTransient: false);

    private static string Group(ConnectorAction a) => a.EntitlementExternalId ?? throw new ConnectorException("No group given for a membership change.", isTransient: false);

    private static string Bool(bool b) => b ? "true" : "false";

    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static ReadBackResult Observed(bool confirmed, params (string, string)[] pairs) => new(confirmed, Map(pairs));

    /// <summary>The target is not found by its id: that confirms nothing but a delete (it may as well be a wrong id).</summary>
    private static ReadBackResult Absent() => new(false, Map(("exists", "false")));

    /// <summary>A deleted account read by its id: the delete holds.</summary>
    private static ReadBackResult Gone() => new(true, Map(("exists", "false")));

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private sealed record Applied(IReadOnlyDictionary<string, string> Before, IReadOnlyDictionary<string, string> After, bool Changed, string Target, Change[] Changes);
}

/// <summary>Builds sandbox connectors; all sandbox systems of one store share the world in <c>sandbox.db</c> beside it.</summary>
public sealed class SandboxConnectorFactory : IConnectorFactory
{
    public string Kind => "sandbox";

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, Core.Configuration.SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        new SettingsNodeReader(settings).Read(errors);
        return errors;
    }

    public IConnector Create(ConnectedSystem system, Core.Configuration.SettingsNode settings, ConnectorContext context)
    {
        var errors = new List<ValidationError>();
        var options = new SettingsNodeReader(settings).Read(errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new SandboxConnector(system.Id, options, SandboxWorld.Acquire(Path.Combine(context.DataDirectory, "sandbox.db")), context.Time);
    }
}

/// <summary>Reads sandbox settings: <c>flavour</c>, <c>latency_ms</c>, <c>failure_rate</c>, <c>fail_on</c>, <c>rate_limit_per_second</c>, <c>seed</c>.</summary>
public sealed class SettingsNodeReader(Core.Configuration.SettingsNode node)
{
    public SandboxOptions Read(List<ValidationError> errors)
    {
        node.CheckKnownKeys(errors, "flavour", "latency_ms", "failure_rate", "fail_on", "rate_limit_per_second", "seed");
        var flavour = node.GetEnum("flavour", SandboxFlavour.App, errors, required: true);
        var latency = node.GetInt("latency_ms", 0, errors, 0, 60_000);
        var failure = node.GetDouble("failure_rate", 0, errors, 0, 1);
        var rate = node.GetDouble("rate_limit_per_second", 0, errors, 0, 1_000_000);
        var seed = node.GetInt("seed", 1, errors);
        var failOn = node.GetString("fail_on", errors) ?? "all";
        if (failOn is not ("all" or "changes"))
        {
            errors.Add(node["fail_on"].Error($"is '{failOn}'.", "use 'all' (discovery too) or 'changes'."));
        }

        return new SandboxOptions(flavour, TimeSpan.FromMilliseconds(latency), failure, rate, seed, failOn == "changes");
    }
}
