import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `notify`: its own consumer group on `devtrack.notifications`. Every intent becomes one in-app
/// notification (unique by dedupe key, so redelivery and re-emission never duplicate), one PostgreSQL
/// transaction per batch, offsets committed after it. Messages that are not intents go to the dead-letter
/// topic with the reason. (Discord and outbound webhooks are the next steps of this worker.)
public struct NotifyHandler: BatchHandler {
    let store: HubStore
    let deadLetters: DeadLetters
    let logger: Logger

    public init(store: HubStore, producer: KafkaProducer, logger: Logger) {
        self.store = store
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let (intents, rejected) = decodeEach(batch, as: NotificationIntent.self, what: "a notification intent", decoder: JSONDecoder())
        try await deadLetters.send(rejected, worker: "notify", logger: logger)
        let pending = intents
        let stored = try await store.client.withTransaction(logger: logger) { try await store.storeNotifications(pending, on: $0) }
        logger.debug("notify: batch of \(batch.count), \(stored) new notification(s)")
    }
}
