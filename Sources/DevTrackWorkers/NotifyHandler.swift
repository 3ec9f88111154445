import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `notify`: its own consumer group on `devtrack.notifications`. Every intent becomes one in-app
/// notification (unique by dedupe key, so redelivery and re-emission never duplicate), and each newly
/// stored one is queued in the `outbox` for Discord when the user has a webhook URL, no mute running and
/// the type not opted out, and for each of the user's enabled webhook endpoints subscribed to its type —
/// one PostgreSQL transaction per batch (two statements), which also announces each new notification to the
/// user's open web clients (`LiveEvent`); offsets are committed after it. Delivery
/// itself happens off the partition, from the outbox. Messages that are not intents go to the
/// dead-letter topic with the reason.
public struct NotifyHandler: BatchHandler {
    let store: HubStore
    let deadLetters: DeadLetters
    let logger: Logger
    /// The user's profile page for the link in Discord embeds, `{login}` replaced; nil for no link.
    let profileURLTemplate: String?
    let clock: @Sendable () -> Date

    public init(
        store: HubStore, producer: KafkaProducer, logger: Logger, profileURLTemplate: String? = nil,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.store = store
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
        self.profileURLTemplate = profileURLTemplate
        self.clock = clock
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let (intents, rejected) = decodeEach(batch, as: NotificationIntent.self, what: "a notification intent", decoder: JSONDecoder())
        try await deadLetters.send(rejected, worker: "notify", logger: logger)
        let pending = intents
        let now = clock()
        let (stored, queued) = try await store.client.withTransaction(logger: logger) { connection in
            let stored = try await store.storeNotifications(pending, on: connection, at: now)
            let deliveries = try stored.flatMap { notification -> [OutboxRow] in
                let intent = notification.intent
                var rows: [OutboxRow] = []
                if let login = notification.discordLogin {
                    let profileURL = profileURLTemplate.map { $0.replacingOccurrences(of: "{login}", with: login) }
                    let message = DiscordMessage.notification(intent, profileURL: profileURL, at: now)
                    rows.append(.discord(userID: intent.userID, dedupeKey: intent.dedupeKey, eventType: intent.type,
                                         payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self)))
                }
                if !notification.webhookEndpointIDs.isEmpty {
                    let payload = WebhookEnvelope.notification(intent, at: now).json()
                    rows += notification.webhookEndpointIDs.map { endpointID in
                        .webhook(userID: intent.userID, endpointID: endpointID, dedupeKey: intent.dedupeKey, eventType: intent.type, payload: payload)
                    }
                }
                return rows
            }
            return (stored.count, try await store.queueDeliveries(deliveries, on: connection).count)
        }
        logger.debug("notify: batch of \(batch.count), \(stored) new notification(s), \(queued) deliveries queued")
    }
}
