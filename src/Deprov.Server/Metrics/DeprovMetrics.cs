using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;

namespace Deprov.Server.Metrics;

/// <summary>
/// The server's instruments. They are published on a <see cref="Meter"/> named <c>Deprov</c> (so an OpenTelemetry
/// SDK can collect them) and aggregated here for the Prometheus text endpoint, which needs no prerelease exporter.
/// </summary>
public sealed class DeprovMetrics : IDisposable
{
    public const string MeterName = "Deprov";

    /// <summary>Upper bounds (seconds) of the latency buckets.</summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Upper bounds (seconds) of the exposure-window buckets.</summary>
    public static readonly double[] ExposureBuckets = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _steps;
    private readonly Histogram<double> _latency;
    private readonly ConcurrentDictionary<string, long> _stepCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Buckets> _latencyBySystem = new(StringComparer.Ordinal);

    public DeprovMetrics()
    {
        _steps = _meter.CreateCounter<long>("deprov.steps", description: "Finished steps by outcome");
        _latency = _meter.CreateHistogram<double>("deprov.connector.latency", unit: "s", description: "Connector call time per step");
    }

    public IReadOnlyDictionary<string, long> StepCounts => _stepCounts;

    public IReadOnlyDictionary<string, Buckets> Latency => _latencyBySystem;

    /// <summary>Feeds the instruments from the engine's progress (finished steps only).</summary>
    public void Record(StepProgress p)
    {
        if (!p.Status.IsTerminal() && p.Status is not StepStatus.Pending)
        {
            return;
        }

        var outcome = p.Status == StepStatus.Pending ? "retried" : Core.Model.Naming.Snake(p.Status);
        _stepCounts.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        _steps.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (p.Step is { StartedAt: { } s, FinishedAt: { } f, SystemId: { } system })
        {
            var seconds = Math.Max(0, (f - s).TotalSeconds);
            _latency.Record(seconds, new KeyValuePair<string, object?>("system", system));
            _latencyBySystem.GetOrAdd(system, _ => new Buckets(LatencyBuckets)).Observe(seconds);
        }
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>A thread-safe cumulative histogram.</summary>
    public sealed class Buckets
    {
        private readonly long[] _counts;
        private long _count;
        private double _sum;

        public Buckets(double[] bounds)
        {
            Bounds = bounds;
            _counts = new long[bounds.Length];
        }

        public double[] Bounds { get; }

        public void Observe(double value)
        {
            lock (_counts)
            {
                for (var i = 0; i < Bounds.Length; i++)
                {
                    if (value <= Bounds[i])
                    {
                        _counts[i]++;
                    }
                }

                _count++;
                _sum += value;
            }
        }

        public (long[] Cumulative, long Count, double Sum) Snapshot()
        {
            lock (_counts)
            {
                return ((long[])_counts.Clone(), _count, _sum);
            }
        }
    }
}
