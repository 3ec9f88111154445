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
        let decoder = JSONDecoder()
        var intents: [NotificationIntent] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        for message in batch {
            guard let value = message.value else {
                rejected.append((message, "empty message (tombstone) on the notifications topic"))
                continue
            }
            do {
                intents.append(try decoder.decode(NotificationIntent.self, from: Data(value)))
            } catch {
                rejected.append((message, "not a notification intent: \(error)"))
            }
        }
        if !rejected.isEmpty {
            logger.warning("notify: \(rejected.count) message(s) dead-lettered", metadata: ["first_reason": "\(rejected[0].reason)"])
            try await deadLetters.send(rejected)
        }
        let pending = intents
        let stored = try await store.client.withTransaction(logger: logger) { try await store.storeNotifications(pending, on: $0) }
        logger.debug("notify: batch of \(batch.count), \(stored) new notification(s)")
    }
}
