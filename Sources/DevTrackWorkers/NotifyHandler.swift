import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Synchronization

/// `notify`: its own consumer group on `devtrack.notifications`. Every intent becomes one in-app
/// notification (unique by dedupe key, so redelivery and re-emission never duplicate), and each newly
/// stored one is queued in the `outbox` for Discord when the user has a webhook URL, no mute running and
/// the type not opted out, and for each of the user's enabled webhook endpoints subscribed to its type —
/// one PostgreSQL transaction per batch (two statements), which also announces each new notification to the
/// user's open web clients (`LiveEvent`); offsets are committed after it. Delivery itself happens off the
/// partition: rows whose destination a deliverer of this process can take at once are queued leased and
/// handed to it after the commit (`DeliveryHandoff`), the others wait in the outbox for a claim. Messages
/// that are not intents go to the dead-letter topic with the reason.
public struct NotifyHandler: BatchHandler {
    let database: Database
    let notifications: NotificationRepository
    let outbox: OutboxRepository
    let deadLetters: DeadLetters
    let logger: Logger
    /// The user's profile page for the link in Discord embeds, `{login}` replaced; nil for no link.
    let profileURLTemplate: String?
    let clock: @Sendable () -> Date
    /// This process's deliverers, by channel.
    let handoffs: [String: any DeliveryHandoff]
    /// The lease rows handed off are queued with (the shortest of the deliverers').
    let lease: Duration

    public init(
        database: Database, producer: KafkaProducer, logger: Logger, profileURLTemplate: String? = nil,
        handoffs: [any DeliveryHandoff] = [], clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.database = database
        self.notifications = NotificationRepository(database)
        self.outbox = OutboxRepository(database)
        self.handoffs = Dictionary(handoffs.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
        self.lease = handoffs.map(\.lease).min() ?? .seconds(60)
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
        let reservations = Reservations()
        let queued: QueuedDeliveries
        let stored: Int
        do {
            (stored, queued) = try await database.transaction { transaction in
                let stored = try await notifications.storeNotifications(pending, on: transaction, at: now)
                let deliveries = try stored.flatMap { notification -> [OutboxRow] in
                    let intent = notification.intent
                    var rows: [OutboxRow] = []
                    if let login = notification.discordLogin {
                        let profileURL = profileURLTemplate.map { $0.replacingOccurrences(of: "{login}", with: login) }
                        let message = DiscordMessage.notification(intent, profileURL: profileURL, at: now)
                        rows.append(
                            .discord(
                                userID: intent.userID, dedupeKey: intent.dedupeKey, eventType: intent.type,
                                payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self)))
                    }
                    if !notification.webhookEndpointIDs.isEmpty {
                        let payload = WebhookEnvelope.notification(intent, at: now).json()
                        rows += notification.webhookEndpointIDs.map { endpointID in
                            .webhook(
                                userID: intent.userID, endpointID: endpointID, dedupeKey: intent.dedupeKey, eventType: intent.type, payload: payload)
                        }
                    }
                    return rows
                }
                let (leasing, notBefore) = reservations.reserve(deliveries, from: handoffs)
                return (
                    stored.count,
                    try await outbox.queueDeliveries(
                        deliveries, leasing: leasing, lease: lease, notBefore: notBefore, on: transaction)
                )
            }
        } catch {
            reservations.releaseAll(handoffs)
            throw error
        }
        reservations.start(queued.leased, handoffs)
        logger.debug(
            "notify: batch of \(batch.count), \(stored) new notification(s), \(queued.ids.count) deliveries queued, \(queued.leased.count) handed off"
        )
    }
}

/// The request slots one batch reserved from this process's deliverers: the first row of each reserved
/// destination is queued leased; after the commit those go to their deliverer and unused slots go back.
final class Reservations: Sendable {
    private let reserved = Mutex<[String: Set<String>]>([:])

    /// Reserves what the deliverers can take now; returns the indices of the rows to queue leased, and when
    /// the rows for held destinations are first due.
    func reserve(_ rows: [OutboxRow], from handoffs: [String: any DeliveryHandoff]) -> (leasing: Set<Int>, notBefore: [Int: Date]) {
        guard !handoffs.isEmpty else { return ([], [:]) }
        var rowsByDestination: [String: [String: [Int]]] = [:]
        for (index, row) in rows.enumerated() where handoffs[row.channel] != nil {
            rowsByDestination[row.channel, default: [:]][row.destination, default: []].append(index)
        }
        var leasing: Set<Int> = []
        var notBefore: [Int: Date] = [:]
        for (channel, indicesByDestination) in rowsByDestination {
            let handoff = handoffs[channel]!
            let reservation = handoff.reserve(Set(indicesByDestination.keys))
            for (destination, until) in reservation.heldUntil {
                for index in indicesByDestination[destination]! { notBefore[index] = until }
            }
            guard !reservation.granted.isEmpty else { continue }
            reserved.withLock { $0[channel, default: []].formUnion(reservation.granted) }
            for destination in reservation.granted { leasing.insert(indicesByDestination[destination]![0]) }
        }
        return (leasing, notBefore)
    }

    /// Hands the leased deliveries to their deliverers and gives back the slots that were not used.
    func start(_ leased: [ClaimedDelivery], _ handoffs: [String: any DeliveryHandoff]) {
        let byChannel = Dictionary(grouping: leased, by: \.channel)
        let reserved = reserved.withLock { $0 }
        for (channel, destinations) in reserved {
            let deliveries = byChannel[channel] ?? []
            handoffs[channel]?.start(deliveries)
            handoffs[channel]?.release(destinations.subtracting(deliveries.map(\.destination)))
        }
    }

    func releaseAll(_ handoffs: [String: any DeliveryHandoff]) {
        for (channel, destinations) in reserved.withLock({ $0 }) { handoffs[channel]?.release(destinations) }
    }
}
