using System.Reflection;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>
/// Two planners on one event: a submit (the console, the API) records the event and plans it, while the loop that plans
/// recorded events (the worker, or another process on the same store) may pick the same event up in between. Only one
/// plan can be kept; whoever submitted must be told the case that exists.
/// </summary>
public sealed class PlanningRaceTests
{
    /// <summary>
    /// Passes every call through to the real store, except that the first call of the chosen method first lets another
    /// planner run: the race, at the moment chosen, every time. Before <see cref="IStore.CreateCasesAsync"/>: both plans are
    /// made, one is kept. Before <see cref="IStore.ListCasesAsync"/>: the submit sees the other planner's case among the
    /// person's open cases, as a termination date it might supersede.
    /// </summary>
    public class OtherPlannerFirst : DispatchProxy
    {
        private IStore _inner = null!;
        private string _before = string.Empty;
        private Func<Task>? _otherPlanner;

        public static IStore Wrap(IStore inner, string before, Func<Task> otherPlanner)
        {
            var proxy = Create<IStore, OtherPlannerFirst>();
            var self = (OtherPlannerFirst)(object)proxy;
            self._inner = inner;
            self._before = before;
            self._otherPlanner = otherPlanner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            // Leaver cases are created behind the safety brake: the same moment of the race.
            var name = targetMethod!.Name == nameof(IStore.CreateCasesBehindBrakeAsync) ? nameof(IStore.CreateCasesAsync) : targetMethod.Name;
            if (name == _before && Interlocked.Exchange(ref _otherPlanner, null) is { } other)
            {
                return targetMethod.Name switch
                {
                    nameof(IStore.CreateCasesAsync) => CreateAfterAsync(other, (IReadOnlyList<Plan>)args![0]!, (IReadOnlyList<AuditEntry>)args[1]!, (CancellationToken)args[2]!),
                    nameof(IStore.CreateCasesBehindBrakeAsync) => CreateBehindBrakeAfterAsync(other, (IReadOnlyList<Plan>)args![0]!, (IReadOnlyList<AuditEntry>)args[1]!,
                        (SafetyBrakeCheck)args[2]!, (CancellationToken)args[3]!),
                    _ => ListAfterAsync(other, (CaseQuery)args![0]!, (CancellationToken)args[1]!),
                };
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        private async Task<IReadOnlyDictionary<string, string>> CreateAfterAsync(Func<Task> other, IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, CancellationToken ct)
        {
            await other();
            return await _inner.CreateCasesAsync(plans, audit, ct);
        }

        private async Task<BrakedCreation> CreateBehindBrakeAfterAsync(Func<Task> other, IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, SafetyBrakeCheck brake,
            CancellationToken ct)
        {
            await other();
            return await _inner.CreateCasesBehindBrakeAsync(plans, audit, brake, ct);
        }

        private async Task<IReadOnlyList<Case>> ListAfterAsync(Func<Task> other, CaseQuery query, CancellationToken ct)
        {
            await other();
            return await _inner.ListCasesAsync(query, ct);
        }
    }

    [Theory]
    [InlineData(nameof(IStore.CreateCasesAsync), 0)]
    [InlineData(nameof(IStore.CreateCasesAsync), 14)]
    [InlineData(nameof(IStore.ListCasesAsync), 14)]
    public async Task SubmitAsync_AnotherPlannerPlansTheSameEventFirst_AnswersWithTheRecordedCaseAndKeepsItOpen(string before, int daysAhead)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var people = new List<Person> { Some.Person(), Some.Person() };
        await env.SeedAsync(people, Some.Systems(people));
        var person = people[0].Id;

        // The second planner: another engine on the same store (the server's worker beside a CLI submit).
        var other = env.Engine;
        var submitting = new DeprovEngine(env.Engine.Config, OtherPlannerFirst.Wrap(env.Engine.Store, before, () => other.HandleUnhandledEventsAsync(CancellationToken.None)),
            env.Engine.Systems, env.Time, NullLogger.Instance);

        var result = await submitting.SubmitAsync(Some.Leave(person, env.Time.GetUtcNow().AddDays(daysAhead)), "admin:test", CancellationToken.None);

        Assert.Equal(SubmitOutcome.Planned, result.Outcome);
        var cases = await env.Engine.Store.ListCasesAsync(new CaseQuery(person), CancellationToken.None);
        var only = Assert.Single(cases);
        Assert.Equal(only.Id, result.Plan!.Case.Id);
        Assert.NotEqual(CaseStatus.Cancelled, only.Status); // a future date: the second planner must not supersede its own event's case
        Assert.Equal((await env.Engine.Store.GetStepsAsync(only.Id, CancellationToken.None)).Count, result.Plan.Steps.Count);
        Assert.Contains("another planner", result.Message, StringComparison.Ordinal);
    }
}
