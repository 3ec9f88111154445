import ArgumentParser
import Foundation
import Kafka

/// `devtrack lag`: how many messages each worker's consumer group has not committed yet, per partition. Zero
/// everywhere means every message produced so far is applied to PostgreSQL (offsets commit only after its
/// transaction): what an operator checks after a replay, and what the end-to-end tests wait for.
struct LagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag", abstract: "Print each worker group's uncommitted messages per partition (tab-separated, or --json).")
    @OptionGroup var options: CommonOptions
    @Flag(help: "One JSON object: {group: {\"total\": n, \"partitions\": {\"topic/partition\": n}}}.") var json = false

    func run() async throws {
        let configuration = try options.load()
        let kafka = KafkaConfiguration(bootstrapServers: try configuration.requireKafkaBrokers())
        let logger = makeLogger("devtrack.lag")
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let partitionCounts = try await admin.topicPartitionCounts()
        await admin.close()
        var report: [String: [String: Any]] = [:]
        if !json { printLine(["group", "topic", "partition", "lag"].joined(separator: "\t")) }
        for worker in RoleFactory.workerNames {
            let topic = try RoleFactory.topic(ofWorker: worker)
            guard let count = partitionCounts[topic] else {
                throw HubConfiguration.Failure(description: "topic \(topic) does not exist (devtrack topics apply creates it)")
            }
            let offsets = try KafkaGroupOffsets(configuration: kafka, group: "devtrack-\(worker)", logger: logger)
            let lag = try await offsets.lag(topics: [topic: count])
            await offsets.close()
            let sorted = lag.sorted { $0.key.partition < $1.key.partition }
            report[offsets.group] = [
                "total": lag.values.reduce(0, +),
                "partitions": Dictionary(uniqueKeysWithValues: sorted.map { ("\(topic)/\($0.key.partition)", $0.value) }),
            ]
            if !json { for (partition, messages) in sorted { printLine("\(offsets.group)\t\(topic)\t\(partition.partition)\t\(messages)") } }
        }
        if json { printLine(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self)) }
    }
}
