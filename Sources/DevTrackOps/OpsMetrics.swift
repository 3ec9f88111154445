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
        factory.nameAndLabelSanitizer = { name, labels in Self.renamed(name, labels) }
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// Hummingbird's `MetricsMiddleware` names, in Prometheus' spelling.
    static let hummingbirdNames = [
        "hb.requests": "http_server_requests_total",
        "http.server.request.duration": "http_server_request_duration_seconds",
        "http.server.active_requests": "http_server_active_requests",
    ]
    static let hummingbirdLabels = [
        "http.route": "route", "http.request.method": "method", "http.response.status_code": "status",
    ]

    static func renamed(_ name: String, _ labels: [(String, String)]) -> (String, [(String, String)]) {
        (hummingbirdNames[name] ?? name, labels.map { (hummingbirdLabels[$0.0] ?? $0.0, $0.1) })
    }
}
