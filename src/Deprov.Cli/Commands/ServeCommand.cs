using System.CommandLine;
using Deprov.Core.Security;
using Deprov.Server;
using Deprov.Server.Endpoints;

namespace Deprov.Cli.Commands;

/// <summary><c>deprov serve</c> (the web console and REST API) and <c>deprov admin</c> (users and API keys without the console).</summary>
public static class ServeCommand
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        yield return Serve(ctx);
        yield return Admin(ctx);
    }

    private static Command Serve(CliContext ctx)
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (default http://127.0.0.1:8080; put TLS in front for anything but loopback)", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var cmd = new Command("serve", "Run the web console and REST API (and the worker, unless another process runs it)") { urls };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await DeprovServer.RunAsync(new ServerOptions { ConfigPath = ctx.ConfigPath(pr), Urls = pr.GetValue(urls)!, Factories = ctx.Factories, HrSourceFactories = ctx.HrSourceFactories, Time = ctx.Time }, ct);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Admin(CliContext ctx)
    {
        var admin = new Command("admin", "Console users and API keys");
        var name = new Option<string>("--name") { Description = "User name", Required = true };
        var role = new Option<Role>("--role") { Description = "admin | operator | auditor | hr", DefaultValueFactory = _ => Role.Admin };
        var create = new Command("create", "Create a console user; the password is read from standard input (one line)") { name, role };
        create.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            var password = (await System.Console.In.ReadLineAsync(ct))?.TrimEnd('\r', '\n') ?? string.Empty;
            await using var engine = await ctx.OpenAsync(pr, ct);
            var user = await AdminActions.CreateUserAsync(engine.Store, ctx.Time, pr.GetValue(name)!, pr.GetValue(role), password, ctx.Actor(pr), ct);
            await System.Console.Out.WriteLineAsync($"Created user '{user.Name}' ({user.Role.ToString().ToLowerInvariant()}).");
            return ExitCodes.Ok;
        }));
        admin.Subcommands.Add(create);

        var keyName = new Option<string>("--name") { Description = "Who or what uses the key", Required = true };
        var keyRole = new Option<Role>("--role") { Description = "admin | operator | auditor | hr", Required = true };
        var keyCreate = new Command("key-create", "Create an API key (printed once; only its hash is stored)") { keyName, keyRole };
        keyCreate.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var (key, secret) = await AdminActions.CreateApiKeyAsync(engine.Store, ctx.Time, pr.GetValue(keyName)!, pr.GetValue(keyRole), ctx.Actor(pr), ct);
            await System.Console.Out.WriteLineAsync($"{key.Id} {secret}");
            return ExitCodes.Ok;
        }));
        admin.Subcommands.Add(keyCreate);

        var keyId = new Argument<string>("id") { Description = "Key id (key_...)" };
        var revoke = new Command("key-revoke", "Revoke an API key") { keyId };
        revoke.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var ok = await AdminActions.RevokeApiKeyAsync(engine.Store, ctx.Time, pr.GetValue(keyId)!, ctx.Actor(pr), ct);
            await System.Console.Out.WriteLineAsync(ok ? "Revoked." : "No such active key.");
            return ok ? ExitCodes.Ok : ExitCodes.NotFound;
        }));
        admin.Subcommands.Add(revoke);
        return admin;
    }
}
