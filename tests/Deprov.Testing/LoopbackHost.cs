using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Testing;

/// <summary>Starts an in-process fake server (ASP.NET Core, Kestrel) on a free port of 127.0.0.1.</summary>
public static class LoopbackHost
{
    /// <param name="create">Builds the fake around its app and root URL (called again if the port was taken).</param>
    /// <param name="handler">The fake's request handler; every request goes to it.</param>
    public static async Task<T> StartAsync<T>(Func<WebApplication, Uri, T> create, Func<T, RequestDelegate> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(handler);
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort.Next();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            var app = builder.Build();
            var server = create(app, new Uri($"http://127.0.0.1:{port}/"));
            app.Run(handler(server));
            try
            {
                await app.StartAsync(cancellationToken);
                return server;
            }
            catch (IOException) when (attempt < 5)
            {
                // Another process took the port between probing and binding; try another.
                await app.DisposeAsync();
            }
        }
    }
}
