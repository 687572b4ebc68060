using System.Collections.Concurrent;
using System.Threading.Channels;
using Deprov.Hosting.Execution;

namespace Deprov.Server.Live;

/// <summary>
/// Fans the engine's step progress out to the console's live pages. A subscriber is woken when a step of its case
/// changes; it then re-reads the case from the store (the source of truth, which also covers a worker in another process).
/// </summary>
public sealed class CaseFeed
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Channel<bool>, byte>> _byCase = new(StringComparer.Ordinal);

    public void Publish(StepProgress progress)
    {
        if (_byCase.TryGetValue(progress.Step.CaseId, out var subs))
        {
            foreach (var ch in subs.Keys)
            {
                ch.Writer.TryWrite(true);
            }
        }
    }

    public Subscription Subscribe(string caseId)
    {
        var ch = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        _byCase.GetOrAdd(caseId, _ => new()).TryAdd(ch, 0);
        return new Subscription(this, caseId, ch);
    }

    public sealed class Subscription : IDisposable
    {
        private readonly CaseFeed _feed;
        private readonly string _caseId;

        internal Subscription(CaseFeed feed, string caseId, Channel<bool> channel)
        {
            _feed = feed;
            _caseId = caseId;
            Channel = channel;
        }

        public Channel<bool> Channel { get; }

        public void Dispose()
        {
            if (_feed._byCase.TryGetValue(_caseId, out var subs))
            {
                subs.TryRemove(Channel, out _);
            }
        }
    }
}
