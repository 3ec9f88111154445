import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `metrics`: activity facts → `activities` + `daily_stats` in one PostgreSQL transaction per batch (none when
/// `normalize` stored them all first). Duplicates collapse on the fact's natural id, so redelivery and replay never
/// count twice.
public struct MetricsHandler: BatchHandler {
    let activity: ActivityRepository
    let deadLetters: DeadLetters
    let logger: Logger

    public init(database: Database, producer: KafkaProducer, logger: Logger) {
        self.activity = ActivityRepository(database)
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let (facts, rejected) = decodeFacts(batch)
        try await deadLetters.send(rejected, worker: "metrics", logger: logger)
        let inserted = try await activity.applyFacts(facts).inserted
        logger.debug("metrics: batch of \(batch.count), \(inserted) new fact(s)")
    }
}
