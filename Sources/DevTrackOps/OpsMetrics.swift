import Metrics
import Prometheus

/// The process's metrics: every `Counter`, `Timer`, `Gauge` and `Meter` of swift-metrics made anywhere in the hub lands in
/// one Prometheus registry, which each role's ops listener writes out (`OpsServer`). Names follow Prometheus' conventions
/// (`_total` counters, `_seconds` durations); labels only take values from small fixed sets (routes, topics, workers,
/// channels, partitions), never a user's id.
public enum OpsMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Once per process, before any metric is made (a metric made earlier stays a no-op).
    public static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
    }
}
