import ArgumentParser
import DevTrackOps
import Foundation
import Logging
import ServiceLifecycle

/// `--ops-port` for every command that runs a role.
struct OpsOptions: ParsableArguments {
    @Option(help: "Port of the ops listener: /metrics, /healthz, /readyz (default: $DEVTRACK_OPS_PORT, else ops.port; none: off).")
    var opsPort: Int?
}

/// What an ops listener reads when scraped, beside the process and its PostgreSQL connections.
enum OpsFigure {
    /// The outbox's pending deliveries per channel: beside the deliverers (the `notify` worker's process).
    case outbox
    /// Every worker group's lag: in the scheduler, which runs whether workers do or not.
    case consumerLag
}

extension RoleFactory {
    /// This process's ops listener, listed first among its services so that it stops last; nil without a port.
    func ops(port: Int?, reading figures: Set<OpsFigure>) -> OpsServer? {
        guard let port = port ?? configuration.ops.port else { return nil }
        var collectors: [any OpsCollector] = [ProcessCollector(), PostgresCollector(database: database, logger: logger)]
        if figures.contains(.outbox) { collectors.append(OutboxCollector(database: database, logger: logger)) }
        if figures.contains(.consumerLag) {
            let groups = RoleFactory.workerNames.compactMap { name in (try? Self.topic(ofWorker: name)).map { ("devtrack-\(name)", $0) } }
            collectors.append(ConsumerLagCollector(brokers: brokers, groups: groups, logger: logger))
        }
        let (host, logger) = (configuration.ops.host, logger)
        return OpsServer(host: host, port: port, collectors: collectors, readiness: readiness, logger: Logger(label: "devtrack.ops")) { bound in
            logger.info("ops listening on \(host):\(bound) (/metrics, /healthz, /readyz)")
        }
    }
}

/// The services given, without the absent ones (an ops listener without a port).
func present(_ services: (any Service)?...) -> [any Service] { services.compactMap { $0 } }
