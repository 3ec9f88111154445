import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `custom`: its own consumer group on `devtrack.custom.events`. Each delivery to a user's custom source
/// becomes the owner's `custom:<type>` facts on `devtrack.activity` (named by the event's id, else by the
/// delivery's id and the event's position, so a re-sent delivery adds nothing); a delivery it cannot read
/// goes to the dead-letter topic with the reason, which also shows in the source's delivery log. Facts are
/// acknowledged by Kafka before the outcomes are recorded, and offsets are committed after that.
public struct CustomEventsHandler: BatchHandler {
    let store: HubStore
    let activity: FactPublisher
    let deadLetters: DeadLetters
    let logger: Logger

    public init(store: HubStore, producer: KafkaProducer, logger: Logger) {
        self.store = store
        self.activity = FactPublisher(producer: producer)
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    struct Delivery {
        let sourceID: UUID
        let deliveryID: String
        let receivedAt: Date?
        let bytes: Int
        let signature: String?
        let events: [CustomEvent]
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        var deliveries: [Delivery] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        var outcomes: [DeliveryOutcome] = []
        for message in batch {
            let sourceText = message.header(RawEventHeaders.sourceID)?.stringValue ?? ""
            let deliveryID = message.header(RawEventHeaders.webhookID)?.stringValue ?? ""
            let receivedAt = message.header(RawEventHeaders.receivedAt).flatMap { Timestamps.parse($0.stringValue) }
            let signature = message.header(RawEventHeaders.signature)?.stringValue
            let reason: String
            if let sourceID = UUID(uuidString: sourceText), !deliveryID.isEmpty, let body = message.value {
                do {
                    deliveries.append(Delivery(
                        sourceID: sourceID, deliveryID: deliveryID, receivedAt: receivedAt, bytes: body.count, signature: signature,
                        events: try CustomEvent.parse(body)))
                    continue
                } catch {
                    reason = error.description
                }
            } else {
                reason = "missing \(RawEventHeaders.sourceID) or \(RawEventHeaders.webhookID) header, or an empty body"
            }
            rejected.append((message, reason))
            if UUID(uuidString: sourceText) != nil, !deliveryID.isEmpty {
                outcomes.append(DeliveryOutcome(
                    source: sourceText.lowercased(), deliveryID: deliveryID, event: "custom", status: .deadLettered, facts: 0,
                    error: reason, receivedAt: receivedAt, bytes: message.value?.count, signature: signature))
            }
        }

        let owners = try await store.sourceOwners(ids: Array(Set(deliveries.map(\.sourceID))))
        var facts: [ActivityFact] = []
        for delivery in deliveries {
            let source = delivery.sourceID.uuidString.lowercased()
            guard let owner = owners[delivery.sourceID] else {
                outcomes.append(DeliveryOutcome(
                    source: source, deliveryID: delivery.deliveryID, event: "custom", status: .ignored, facts: 0,
                    error: "source \(source) no longer exists", receivedAt: delivery.receivedAt, bytes: delivery.bytes, signature: delivery.signature))
                continue
            }
            let made = delivery.events.enumerated().filter { $0.element.type != CustomEvent.testType }.map { index, event in
                event.fact(userID: owner.userID, source: "custom:\(source)", deliveryID: delivery.deliveryID, index: index)
            }
            facts += made
            outcomes.append(DeliveryOutcome(
                source: source, deliveryID: delivery.deliveryID, event: "custom", status: .processed, facts: made.count, error: nil,
                receivedAt: delivery.receivedAt, bytes: delivery.bytes, signature: delivery.signature))
        }

        try await activity.publish(facts)
        try await deadLetters.send(rejected, worker: "custom", logger: logger)
        try await store.client.withTransaction(logger: logger) { connection in
            try await store.recordInboundDeliveries(outcomes, on: connection)
        }
    }
}
