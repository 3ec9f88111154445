import ArgumentParser
import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle

struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler", abstract: "Timed jobs (goal deadline reminders); one instance works at a time (PostgreSQL advisory lock).")
    @OptionGroup var options: CommonOptions
    @OptionGroup var ops: OpsOptions

    func run() async throws {
        let logger = makeLogger("devtrack.scheduler")
        let configuration = try options.load()  // once: it also bootstraps logging
        try await requireCurrentSchema(configuration, logger: logger)
        try await runServiceGroup(try services(configuration, logger: logger), logger: logger)
    }

    // Built synchronously: Swift 6.3's optimizer crashes splitting an async run() that builds these inline.
    private func services(_ configuration: HubConfiguration, logger: Logger) throws -> [any Service] {
        let client = PostgresClient(configuration: try configuration.requireDatabaseURL().clientConfiguration(), backgroundLogger: logger)
        let roles = RoleFactory(
            configuration: configuration, database: Database(client: client, logger: logger),
            brokers: try configuration.requireKafkaBrokers(), logger: logger)
        let producer = try roles.producer()
        let scheduler = roles.scheduler(producer: producer)
        return present(roles.ops(port: ops.opsPort, reading: [.consumerLag]), client, KafkaProducerService(producer), scheduler)
    }
}

/// `devtrack replay`: rewinds workers' consumer groups to the oldest message their topic still holds, so
/// the next run re-applies everything retained. Every write is idempotent (facts by natural id, unlocks,
/// completions and reminders by key, notification intents by dedupe key), so a replay repairs missing
/// derived rows and changes nothing that was already right.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rewind workers' consumer groups to the start of their retained topic (stop those workers first).")
    @OptionGroup var options: CommonOptions
    @Argument(help: "Workers whose groups to rewind (\(RoleFactory.workerNames.joined(separator: ", ")), or all).") var names: [String]
    @Option(help: "Seconds to wait for the group's partitions.") var timeout: Int = 30

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name at least one worker, or all") }
        for name in names where name != "all" { _ = try RoleFactory.topic(ofWorker: name) }
    }

    func run() async throws {
        let configuration = try options.load()
        let logger = makeLogger("devtrack.replay")
        let brokers = try configuration.requireKafkaBrokers()
        let workers = names.contains("all") ? RoleFactory.workerNames : names
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
        let partitionCounts = try await admin.topicPartitionCounts()
        await admin.close()
        for name in workers {
            let topic = try RoleFactory.topic(ofWorker: name)
            guard let count = partitionCounts[topic] else { throw HubConfiguration.Failure(description: "topic \(topic) does not exist") }
            try await rewind(worker: name, topic: topic, partitions: Int(count), configuration: configuration, brokers: brokers, logger: logger)
        }
    }

    private func rewind(
        worker: String, topic: String, partitions: Int, configuration: HubConfiguration, brokers: String, logger: Logger
    ) async throws {
        let group = "devtrack-\(worker)"
        var properties = configuration.consumerProperties(worker: worker)
        properties["client.id"] = "devtrack-replay"
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: brokers, properties), topics: [topic], logger: logger)
        // Joining the group takes every partition only when no worker of the group is running.
        let deadline = ContinuousClock.now + .seconds(timeout)
        while consumer.assignment.count < partitions {
            guard ContinuousClock.now < deadline else {
                await consumer.close()
                throw HubConfiguration.Failure(
                    description: """
                        \(group) got \(consumer.assignment.count) of \(topic)'s \(partitions) partitions in \(timeout) s: \
                        stop the group's workers, then replay
                        """)
            }
            _ = try await consumer.poll(maxMessages: 1, maxWait: .milliseconds(200))
        }
        let owned = consumer.assignment.sorted { $0.partition < $1.partition }
        let before = try await consumer.committed(owned)
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in owned { offsets[partition] = try await consumer.watermarks(partition).low }
        try await consumer.commit(offsets: offsets)
        await consumer.close()
        for partition in owned {
            let was = (before[partition] ?? nil).map(String.init) ?? "none"
            printLine("\(group) \(partition): committed \(was) → \(offsets[partition]!)")
        }
        printLine("\(group) rewound; its workers re-apply \(topic) from the start when they run next")
    }
}
