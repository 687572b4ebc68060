using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>The console's stylesheet and script, embedded in the assembly (no CDN: the console works offline). Anonymous: no data.</summary>
public static class AssetEndpoints
{
    private static readonly Dictionary<string, (byte[] Body, string Type)> Assets = Load();

    public static IEndpointRouteBuilder MapAssetEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/assets/{name}", Results<FileContentHttpResult, NotFound> (string name, HttpContext ctx) =>
        {
            if (!Assets.TryGetValue(name, out var a))
            {
                return TypedResults.NotFound();
            }

            ctx.Response.Headers.CacheControl = "public, max-age=3600";
            return TypedResults.File(a.Body, a.Type);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static Dictionary<string, (byte[], string)> Load()
    {
        var asm = typeof(AssetEndpoints).Assembly;
        var map = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith("assets/", StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(res)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var name = res["assets/".Length..];
            map[name] = (ms.ToArray(), name.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
        }

        return map;
    }
}
