import DevTrackHTTP
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Something that reads its figures when the metrics are scraped (a query, a file of /proc), not on every event.
public protocol OpsCollector: Sendable {
    func collect() async
}

/// A role's ops listener, on its own address (`ops.host`, `ops.port`) so that `/metrics` is never exposed with the
/// public routes: `GET /metrics` (Prometheus' text format, version 0.0.4), `/healthz` and `/readyz`. It gives the worker,
/// scheduler and sync roles, which serve no HTTP otherwise, their health routes too.
public struct OpsServer: Service {
    let host: String
    let port: Int
    let collectors: [any OpsCollector]
    let readiness: @Sendable () async -> [ReadinessCheck]
    let onRunning: @Sendable (Int) async -> Void
    let logger: Logger

    public init(
        host: String, port: Int, collectors: [any OpsCollector], readiness: @escaping @Sendable () async -> [ReadinessCheck],
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.collectors = collectors
        self.readiness = readiness
        self.logger = logger
        self.onRunning = onRunning
    }

    public func run() async throws {
        let router = Router()
        router.addHealthRoutes(checks: readiness)
        let collectors = collectors
        router.get("/metrics") { _, _ in
            await withTaskGroup(of: Void.self) { group in
                for collector in collectors { group.addTask { await collector.collect() } }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpsMetrics.registry.emitToBuffer())))
        }
        let onRunning = onRunning
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "devtrack-ops"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        // As a service of the role's own group (not `runService()`, whose group of its own would also take SIGTERM and
        // end this listener first, so the role's group would see it finish unexpectedly): it stops when the role does.
        try await application.run()
    }
}
