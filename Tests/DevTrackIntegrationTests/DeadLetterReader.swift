import DevTrackCore
import Foundation
import Kafka
import Logging
import Testing

/// Reads a cluster's dead-letter topics as an operator's DLQ consumer would. Dead letters are at least once,
/// like every arrow of the pipeline (librdkafka 2.0.2 can fetch a message twice during offset validation, and a
/// batch redelivered after a rebalance is dead-lettered again), so they are told apart by their original
/// coordinates: the result holds one dead letter per original message.
struct DeadLetterReader {
    let cluster: KafkaMockCluster
    let logger: Logger

    /// Waits up to `seconds` for `count` distinct dead letters on `topics` (the dead-letter topics themselves).
    func read(_ topics: [String], count: Int, within seconds: Double = 60) async throws -> [KafkaMessage] {
        let reader = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                [
                    "group.id": "dlq-reader-\(UUID().uuidString)", "auto.offset.reset": "earliest", "max.poll.interval.ms": "10000",
                    "session.timeout.ms": "6000",
                ]),
            topics: topics, logger: logger)
        var distinct: [String: KafkaMessage] = [:]
        let deadline = Date().addingTimeInterval(seconds)
        while distinct.count < count, Date() < deadline {
            for message in try await reader.poll(maxMessages: 10, maxWait: .milliseconds(200)) {
                distinct[Self.origin(of: message)] = message
            }
        }
        await reader.close()
        try #require(distinct.count == count, "expected \(count) dead letters on \(topics), got \(distinct.keys.sorted())")
        return distinct.values.sorted { Self.origin(of: $0) < Self.origin(of: $1) }
    }

    static func origin(of message: KafkaMessage) -> String {
        [RawEventHeaders.originalTopic, RawEventHeaders.originalPartition, RawEventHeaders.originalOffset]
            .map { message.header($0)?.stringValue ?? "?" }.joined(separator: "/")
    }
}
