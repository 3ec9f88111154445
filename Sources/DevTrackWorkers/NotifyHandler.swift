import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `notify`: its own consumer group on `devtrack.notifications`. Every intent becomes one in-app
/// notification (unique by dedupe key, so redelivery and re-emission never duplicate), and each newly
/// stored one is queued in the `outbox` for Discord when the user has a webhook URL, no mute running and
/// the type not opted out, and for each of the user's enabled webhook endpoints subscribed to its type —
/// one PostgreSQL transaction per batch, which also announces each new notification to the user's open web
/// clients (`LiveEvent`); offsets are committed after it. Delivery
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
        let (stored, queued) = try await store.client.withTransaction(logger: logger) { connection in
            let stored = try await store.storeNotifications(pending, on: connection)
            try await store.announce(stored.map { LiveEvent.notification($0, createdAt: clock()) }, on: connection)
            let recipients = try await store.discordRecipients(userIDs: Array(Set(stored.map(\.userID))), on: connection)
            let now = clock()
            let deliveries = try stored.compactMap { intent -> DiscordDelivery? in
                guard let recipient = recipients[intent.userID], !recipient.optOuts.contains(intent.type) else { return nil }
                let profileURL = profileURLTemplate.map { $0.replacingOccurrences(of: "{login}", with: recipient.login) }
                let message = DiscordMessage.notification(intent, profileURL: profileURL, at: now)
                return DiscordDelivery(
                    userID: intent.userID, dedupeKey: intent.dedupeKey, eventType: intent.type,
                    payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self))
            }
            let discord = try await store.queueDiscordDeliveries(deliveries, on: connection)
            let endpoints = try await store.enabledWebhookEndpoints(userIDs: Array(Set(stored.map(\.userID))), on: connection)
            let byUser = Dictionary(grouping: endpoints, by: \.userID)
            let webhooks = stored.flatMap { intent in
                (byUser[intent.userID] ?? []).filter { $0.events.contains(intent.type) }.map { endpoint in
                    (userID: intent.userID, endpointID: endpoint.id, dedupeKey: intent.dedupeKey, eventType: intent.type,
                     payload: WebhookEnvelope.notification(intent, at: now).json())
                }
            }
            let queued = try await store.queueWebhookDeliveries(webhooks, on: connection).count
            return (stored.count, discord + queued)
        }
        logger.debug("notify: batch of \(batch.count), \(stored) new notification(s), \(queued) deliveries queued")
    }
}
