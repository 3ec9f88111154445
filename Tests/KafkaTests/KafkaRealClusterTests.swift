import Foundation
import Kafka
import Logging
import Testing

/// The wrapper against a real cluster, for what librdkafka's mock cannot show: topics created, grown and described
/// through the Admin API, and the produce–consume–commit path on real brokers. Run by `scripts/kafka-real-check`, which
/// sets `DEVTRACK_REAL_KAFKA_BROKERS` (and `DEVTRACK_REAL_KAFKA_REPLICATION`, default 1); skipped otherwise. Its topics
/// (`devtrack-test.*`) stay on the cluster: the wrapper has no topic deletion.
@Suite(
    .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEVTRACK_REAL_KAFKA_BROKERS"] != nil, "needs a real cluster"),
    .timeLimit(.minutes(5)))
struct KafkaRealClusterTests {
    let logger = Logger(label: "kafka-real-tests")
    let brokers = ProcessInfo.processInfo.environment["DEVTRACK_REAL_KAFKA_BROKERS"] ?? ""
    let replication = Int32(ProcessInfo.processInfo.environment["DEVTRACK_REAL_KAFKA_REPLICATION"] ?? "1") ?? 1

    func newTopic(partitions: Int32) -> KafkaTopicSpecification {
        KafkaTopicSpecification(
            name: "devtrack-test.\(UUID().uuidString.prefix(8).lowercased())", partitions: partitions, replicationFactor: replication,
            configs: ["retention.ms": "3600000"])
    }

    @Test func topicsAreCreatedGrownDescribedAndTheirDriftReported() async throws {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
        var topic = newTopic(partitions: 2)
        #expect(try await admin.apply([topic]) == [topic.name: .created])
        #expect(try await admin.apply([topic]) == [topic.name: .unchanged(partitions: 2)])
        topic.partitions = 3
        #expect(try await admin.apply([topic]) == [topic.name: .partitionsIncreased(from: 2, to: 3)])
        // Metadata and configs follow the changes within moments on a real cluster.
        var layout: KafkaTopicLayout?
        for _ in 0..<50 where layout?.partitions != 3 {
            layout = try await admin.topicLayouts()[topic.name]
            if layout?.partitions != 3 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(layout == KafkaTopicLayout(partitions: 3, replicationFactor: replication))
        let configs = try await admin.topicConfigs([topic.name])[topic.name]
        #expect(configs?["retention.ms"] == "3600000", "\(configs ?? [:])")
        #expect(KafkaTopicDrift.differences(topic, layout: layout, configs: configs).isEmpty)
        var wanted = topic
        wanted.configs["retention.ms"] = "7200000"
        #expect(
            KafkaTopicDrift.differences(wanted, layout: layout, configs: configs) == [
                "retention.ms is '3600000', the specification says '7200000'"
            ])
        await admin.close()
    }

    @Test func messagesRoundTripAndTheGroupsLagDrainsOnRealBrokers() async throws {
        let topic = newTopic(partitions: 2)
        let configuration = KafkaConfiguration(bootstrapServers: brokers)
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        #expect(try await admin.apply([topic]) == [topic.name: .created])
        await admin.close()
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        for index in 0..<20 {
            try await producer.send(KafkaOutgoingMessage(topic: topic.name, key: Array("k\(index % 4)".utf8), value: Array("\(index)".utf8)))
        }
        await producer.shutdown()
        let group = "devtrack-test-\(UUID().uuidString.prefix(8))"
        let offsets = try KafkaGroupOffsets(configuration: configuration, group: group, logger: logger)
        #expect(try await offsets.lag(topics: [topic.name: 2]).values.reduce(0, +) == 20, "nothing committed yet")
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: brokers, ["group.id": group, "auto.offset.reset": "earliest"]),
            topics: [topic.name], logger: logger)
        var values: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(60)
        while values.count < 20, ContinuousClock.now < deadline {
            let batch = try await consumer.poll(maxMessages: 100, maxWait: .milliseconds(500))
            try await consumer.commit(batch)
            values.formUnion(batch.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } })
        }
        #expect(values == Set((0..<20).map(String.init)))
        #expect(try await offsets.lag(topics: [topic.name: 2]).values.reduce(0, +) == 0, "all committed")
        await consumer.close()
        await offsets.close()
    }
}
