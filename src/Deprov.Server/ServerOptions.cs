using Deprov.Core.Connectors;

namespace Deprov.Server;

/// <summary>How to start the server. Secrets (OIDC client secret) come from the environment, never from here.</summary>
public sealed class ServerOptions
{
    /// <value>Path to <c>deprov.yaml</c>.</value>
    public required string ConfigPath { get; init; }

    /// <value>Listen URLs; default <c>http://127.0.0.1:8080</c>.</value>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    public required IReadOnlyList<IConnectorFactory> Factories { get; init; }

    /// <summary>The HR source kinds <c>hr_sources:</c> may use (BambooHR…).</summary>
    public IReadOnlyList<Core.HrSources.IHrSourceFactory> HrSourceFactories { get; init; } = [];

    /// <value>Clock for the engine, sessions and throttling; default <see cref="TimeProvider.System"/>.</value>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the first-start setup link is written (the console by default).</summary>
    public Action<string>? Announce { get; init; }

    /// <value>Run the engine's worker loop when the worker lock is free; default true.</value>
    public bool RunWorker { get; init; } = true;

    /// <value>How often a server that is not the worker tries again to take the worker lock (another process, a CLI
    /// command, holds it); default 2 seconds.</value>
    public TimeSpan WorkerLockRetry { get; init; } = TimeSpan.FromSeconds(2);

    /// <value>Webhook signing secrets; default: read from DEPROV_HOOK_SECRETS and DEPROV_BAMBOOHR_KEYS.</value>
    public Endpoints.HookSecrets? Hooks { get; init; }

    /// <value>OpenID Connect sign-in for the console; default: read from the <c>DEPROV_OIDC_*</c> variables (off when unset).</value>
    public Security.OidcSettings? Oidc { get; init; } = Security.OidcSettings.FromEnvironment();

    /// <value>Minimum log level for the console logger; default Information.</value>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
}
