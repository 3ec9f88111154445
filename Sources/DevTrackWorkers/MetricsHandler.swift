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
        let (facts, rejected) = decodeFacts(batch)
        try await deadLetters.send(rejected, worker: "metrics", logger: logger)
        let inserted = try await store.client.withTransaction(logger: logger) { connection in
            try await store.applyFacts(facts, on: connection).inserted
        }
        logger.debug("metrics: batch of \(batch.count), \(inserted) new fact(s)")
    }
}
