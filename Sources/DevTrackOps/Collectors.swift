import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Metrics
import Synchronization

/// The process's resident memory and CPU time, from /proc/self (Linux): `process_resident_memory_bytes`,
/// `process_cpu_seconds_total`.
public final class ProcessCollector: OpsCollector {
    private let resident = Gauge(label: "process_resident_memory_bytes")
    private let cpu = FloatingPointCounter(label: "process_cpu_seconds_total")
    private let counted = Mutex(0.0)
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    public init() {}

    public func collect() async {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        {
            resident.record(kilobytes * 1024)
        }
        // Fields 14 and 15 (utime, stime, in clock ticks) after the command name, which may hold spaces: read from the last ')'.
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return }
        let total = (user + system) / Self.ticksPerSecond
        let delta = counted.withLock { counted -> Double in
            let delta = max(0, total - counted)
            counted = max(counted, total)
            return delta
        }
        if delta > 0 { cpu.increment(by: delta) }
    }
}

/// This process's PostgreSQL connections by state (`devtrack_postgres_connections{state}`), as the server sees them,
/// and the pool's limit (`devtrack_postgres_pool_max_connections`).
public final class PostgresCollector: OpsCollector {
    let database: Database
    let logger: Logger
    private let limit = Gauge(label: "devtrack_postgres_pool_max_connections")
    /// pg_stat_activity's states; each is written every scrape, 0 when absent.
    static let states = ["active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled"]
    private let gauges: [String: Gauge]

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
        self.gauges = Dictionary(
            uniqueKeysWithValues: Self.states.map { ($0, Gauge(label: "devtrack_postgres_connections", dimensions: [("state", $0)])) })
    }

    public func collect() async {
        limit.record(DatabaseURL.maximumConnections)
        do {
            let counts = try await Deadline.run(.seconds(2)) { try await self.database.connectionStates() }
            for (state, gauge) in gauges { gauge.record(counts[state] ?? 0) }
        } catch {
            logger.debug("ops: PostgreSQL connection states not read: \(error)")
        }
    }
}

/// Each worker group's messages not committed yet, per partition (`devtrack_consumer_lag_messages{group,topic,partition}`),
/// read at each scrape from the brokers' committed offsets and watermarks: the figure stays right while a worker is down,
/// which is when it matters. Run by the scheduler role. A read that fails leaves the last figures in place, so
/// `devtrack_consumer_lag_read_timestamp_seconds{group}` says when each group's were read.
public final class ConsumerLagCollector: OpsCollector {
    let brokers: String
    let groups: [(group: String, topic: String)]
    let logger: Logger
    private let gauges = Mutex<[String: Gauge]>([:])
    private let readAt: [String: Gauge]

    public init(brokers: String, groups: [(group: String, topic: String)], logger: Logger) {
        readAt = Dictionary(
            groups.map { ($0.group, Gauge(label: "devtrack_consumer_lag_read_timestamp_seconds", dimensions: [("group", $0.group)])) },
            uniquingKeysWith: { first, _ in first })
        self.brokers = brokers
        self.groups = groups
        self.logger = logger
    }

    public func collect() async {
        let kafka = KafkaConfiguration(bootstrapServers: brokers)
        do {
            let admin = try KafkaAdmin(configuration: kafka, logger: logger, requestTimeout: .seconds(2))
            let partitions = try await admin.topicPartitionCounts()
            await admin.close()
            for (group, topic) in groups {
                guard let count = partitions[topic] else { continue }
                let offsets = try KafkaGroupOffsets(configuration: kafka, group: group, logger: logger, timeout: .seconds(2))
                let lag = try? await offsets.lag(topics: [topic: count])
                await offsets.close()
                guard let lag else { continue }
                for (partition, messages) in lag { gauge(group: group, partition: partition).record(messages) }
                readAt[group]?.record(Date().timeIntervalSince1970)
            }
        } catch {
            logger.debug("ops: consumer lag not read: \(error)")
        }
    }

    private func gauge(group: String, partition: KafkaTopicPartition) -> Gauge {
        let key = "\(group)/\(partition.topic)/\(partition.partition)"
        return gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(
                label: "devtrack_consumer_lag_messages",
                dimensions: [("group", group), ("topic", partition.topic), ("partition", String(partition.partition))])
            gauges[key] = gauge
            return gauge
        }
    }
}

/// Deliveries waiting in the outbox per channel (`devtrack_outbox_pending{channel}`) and how long the oldest due one
/// has waited (`devtrack_outbox_oldest_due_seconds{channel}`, 0 when none is due). Run beside the deliverers.
public final class OutboxCollector: OpsCollector {
    let outbox: OutboxRepository
    let logger: Logger
    static let channels = ["discord", "webhook"]
    private let pending: [String: Gauge]
    private let oldest: [String: Gauge]

    public init(database: Database, logger: Logger) {
        self.outbox = OutboxRepository(database)
        self.logger = logger
        self.pending = Dictionary(
            uniqueKeysWithValues: Self.channels.map { ($0, Gauge(label: "devtrack_outbox_pending", dimensions: [("channel", $0)])) })
        self.oldest = Dictionary(
            uniqueKeysWithValues: Self.channels.map { ($0, Gauge(label: "devtrack_outbox_oldest_due_seconds", dimensions: [("channel", $0)])) })
    }

    public func collect() async {
        do {
            let backlog = try await Deadline.run(.seconds(2)) { try await self.outbox.backlog() }
            for channel in Self.channels {
                pending[channel]?.record(backlog[channel]?.pending ?? 0)
                oldest[channel]?.record(backlog[channel]?.oldestDueSeconds ?? 0)
            }
        } catch {
            logger.debug("ops: outbox backlog not read: \(error)")
        }
    }
}
