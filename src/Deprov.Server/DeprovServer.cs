using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Deprov.Server.Endpoints;
using Deprov.Server.Live;
using Deprov.Server.Metrics;
using Deprov.Server.Security;
using Microsoft.AspNetCore.DataProtection;

namespace Deprov.Server;

/// <summary>Composes the web host: the engine, sign-in, roles, CSRF, the API, the console and metrics. Business rules live in Hosting and Core.</summary>
public static class DeprovServer
{
    public static async Task<WebApplication> BuildAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(options.LogLevel)
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var config = ConfigLoader.Load(options.ConfigPath, DeprovHost.Factories(options.Factories));
        var logs = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(options.LogLevel));
        var engine = await DeprovHost.OpenAsync(config, options.Factories, options.HrSourceFactories, options.Time, logs, null, cancellationToken);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.Time);
        services.AddSingleton(_ => engine); // a factory, so the container disposes the engine (and its store) at shutdown
        services.AddSingleton<IStore>(engine.Store);
        services.AddSingleton(new Hosting.Audit.AuditService(engine.Store, options.Time));
        services.AddSingleton<CaseFeed>();
        services.AddSingleton<DeprovMetrics>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<SetupToken>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton(options.Hooks ?? new HookSecrets());
        services.AddHostedService<EngineWorker>();
        services.AddHostedService<CheckpointWorker>();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower)));
        services.AddDataProtection().SetApplicationName("deprov").PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(config.DataDirectory, "keys")));
        services.AddAntiforgery(o =>
        {
            o.HeaderName = Csrf.HeaderName;
            o.Cookie.Name = "deprov.csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        Authentication.Add(services, options.Time, options.Oidc);
        services.AddAuthorization(Policies.Add);
        services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Deprov API";
            doc.Info.Description = "Authenticate with an API key: 'Authorization: Bearer dpk_...'. Roles: admin, operator, auditor, hr.";
            return Task.CompletedTask;
        }));

        var app = builder.Build();
        var feed = app.Services.GetRequiredService<CaseFeed>();
        var metrics = app.Services.GetRequiredService<DeprovMetrics>();
        engine.OnProgress = p =>
        {
            metrics.Record(p);
            feed.Publish(p);
        };

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<Csrf>();

        app.MapHealthEndpoints();
        app.MapAuthEndpoints();
        app.MapAssetEndpoints();
        app.MapDashboardEndpoints();
        app.MapPeopleEndpoints();
        app.MapCaseEndpoints();
        app.MapEventEndpoints();
        app.MapTaskEndpoints();
        app.MapSystemEndpoints();
        app.MapAuditEndpoints();
        app.MapHoldEndpoints();
        app.MapLinkEndpoints();
        app.MapFindingEndpoints();
        app.MapAdminEndpoints();
        app.MapMetricsEndpoints();
        app.MapApiReferenceEndpoints();
        app.MapHookEndpoints();
        app.MapApprovalEndpoints();

        await AnnounceSetupAsync(app, options, cancellationToken);
        return app;
    }

    public static async Task RunAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        var app = await BuildAsync(options, cancellationToken);
        await using (app)
        {
            await app.RunAsync(cancellationToken);
        }
    }

    private static async Task AnnounceSetupAsync(WebApplication app, ServerOptions options, CancellationToken cancellationToken)
    {
        if (await app.Services.GetRequiredService<IStore>().CountUsersAsync(cancellationToken) > 0)
        {
            return;
        }

        var token = app.Services.GetRequiredService<SetupToken>().Issue();
        var url = $"{options.Urls.Split(';')[0].TrimEnd('/')}/setup?token={token}";
        (options.Announce ?? (s => System.Console.Out.WriteLine(s)))($"First start: create the first admin at {url}  (one-time link; or run 'deprov admin create')");
        Log.SetupPending(app.Logger, url[..url.IndexOf('?', StringComparison.Ordinal)] + "?token=…");
    }
}

/// <summary>Runs the engine's worker loop when this process gets the store's worker lock.</summary>
internal sealed class EngineWorker : BackgroundService
{
    private readonly DeprovEngine _engine;
    private readonly ServerOptions _options;
    private readonly ILogger<EngineWorker> _logger;

    public EngineWorker(DeprovEngine engine, ServerOptions options, ILogger<EngineWorker> logger)
    {
        _engine = engine;
        _options = options;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.RunWorker)
        {
            return;
        }

        // Another process (a CLI command, another server) may hold the lock now and let it go at any moment: keep
        // trying, so accepted events never wait for a worker that will not come. The retry runs on the wall clock
        // (the lock is a kernel resource), not on the engine's clock, which tests may freeze.
        var announced = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var workerLock = DeprovHost.TryAcquireWorkerLock(_engine.Config);
            if (workerLock is null)
            {
                if (!announced)
                {
                    Log.WorkerElsewhere(_logger);
                    announced = true;
                }

                try
                {
                    await Task.Delay(_options.WorkerLockRetry, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            using (workerLock)
            {
                Log.WorkerStarted(_logger);
                try
                {
                    await _engine.RunAsync(RunMode.Forever, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    // Shutdown.
                }
                catch (Exception ex)
                {
                    Log.WorkerFailed(_logger, ex);
                    throw;
                }
            }

            return;
        }
    }
}

/// <summary>Signs audit checkpoints on the schedule of the <c>evidence:</c> section, when a signing key is configured.</summary>
internal sealed class CheckpointWorker : BackgroundService
{
    private readonly DeprovEngine _engine;
    private readonly ServerOptions _options;
    private readonly ILogger<CheckpointWorker> _logger;

    public CheckpointWorker(DeprovEngine engine, ServerOptions options, ILogger<CheckpointWorker> logger)
    {
        _engine = engine;
        _options = options;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_engine.Config.Evidence is not { SigningKey: not null } evidence)
        {
            return;
        }

        using var signer = evidence.OpenSigner(new Hosting.SecretResolver())!;
        using var writer = new Hosting.Evidence.CheckpointWriter(_engine.Store, evidence, signer, signer.Verifier, _options.Time, _logger);
        try
        {
            // Polling once a second keeps "every N records" within a second of the Nth record at the cost of one
            // indexed read of the new records; the engine's transactions are never touched.
            await writer.RunAsync(TimeSpan.FromSeconds(1), stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }
}
