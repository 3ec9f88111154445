import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `metrics`: activity facts → `activities` + `daily_stats` in one PostgreSQL transaction per batch.
/// Duplicates collapse on the fact's natural id, so redelivery and replay never count twice.
public struct MetricsHandler: BatchHandler {
    let store: HubStore
    let deadLetters: DeadLetters
    let logger: Logger

    public init(store: HubStore, producer: KafkaProducer, logger: Logger) {
        self.store = store
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let decoder = FactCoding.decoder()
        var facts: [ActivityFact] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        for message in batch {
            guard let value = message.value else {
                rejected.append((message, "empty message (tombstone) on the activity topic"))
                continue
            }
            do {
                facts.append(try decoder.decode(ActivityFact.self, from: Data(value)))
            } catch {
                rejected.append((message, "not an activity fact: \(error)"))
            }
        }
        if !rejected.isEmpty {
            logger.warning("metrics: \(rejected.count) message(s) dead-lettered", metadata: ["first_reason": "\(rejected[0].reason)"])
            try await deadLetters.send(rejected)
        }
        let inserted = try await store.client.withTransaction(logger: logger) { connection in
            try await store.applyFacts(facts, on: connection).inserted
        }
        logger.debug("metrics: batch of \(batch.count), \(inserted) new fact(s)")
    }
}
