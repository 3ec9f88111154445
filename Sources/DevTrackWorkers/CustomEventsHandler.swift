import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `custom`: its own consumer group on `devtrack.custom.events`. Each delivery to a user's custom source
/// becomes the owner's facts on `devtrack.activity` — `custom:<type>` from the native format, or whatever
/// kinds the source's mapping reads (GitLab commits count as commits) — (named by the event's id, else by the
/// delivery's id and the event's position, so a re-sent delivery adds nothing); a delivery it cannot read
/// goes to the dead-letter topic with the reason, which also shows in the source's delivery log. Facts are
/// acknowledged by Kafka before the outcomes are recorded, and offsets are committed after that.
public struct CustomEventsHandler: BatchHandler {
    let database: Database
    let sources: SourceRepository
    let activity: FactPublisher
    let deadLetters: DeadLetters
    let logger: Logger

    public init(database: Database, producer: KafkaProducer, logger: Logger) {
        self.database = database
        self.sources = SourceRepository(database)
        self.activity = FactPublisher(producer: producer)
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    struct Delivery {
        let message: KafkaMessage
        let sourceID: UUID
        let deliveryID: String
        let receivedAt: Date?
        let body: [UInt8]
        let signature: String?

        func outcome(_ status: DeliveryOutcome.Status, facts: Int, error: String?) -> DeliveryOutcome {
            DeliveryOutcome(
                source: sourceID.uuidString.lowercased(), deliveryID: deliveryID, event: "custom", status: status, facts: facts,
                error: error, receivedAt: receivedAt, bytes: body.count, signature: signature)
        }
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        var deliveries: [Delivery] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        var outcomes: [DeliveryOutcome] = []
        let (messages, missing) = try await LargePayloadResolver(largePayloads: LargePayloadRepository(database)).resolve(batch)
        rejected += missing
        for message in messages {
            guard let sourceID = UUID(uuidString: message.header(RawEventHeaders.sourceID)?.stringValue ?? ""),
                let deliveryID = message.header(RawEventHeaders.webhookID)?.stringValue, !deliveryID.isEmpty,
                let body = message.value
            else {
                rejected.append((message, "missing \(RawEventHeaders.sourceID) or \(RawEventHeaders.webhookID) header, or an empty body"))
                continue
            }
            deliveries.append(
                Delivery(
                    message: message, sourceID: sourceID, deliveryID: deliveryID,
                    receivedAt: message.header(RawEventHeaders.receivedAt).flatMap { Timestamps.parse($0.stringValue) }, body: body,
                    signature: message.header(RawEventHeaders.signature)?.stringValue))
        }

        let sourceIDs = Array(Set(deliveries.map(\.sourceID)))
        let owners = try await sources.sourceOwners(ids: sourceIDs)
        let mappings = try await sources.sourceMappings(ids: sourceIDs)
        var facts: [ActivityFact] = []
        for delivery in deliveries {
            let source = "custom:\(delivery.sourceID.uuidString.lowercased())"
            guard let owner = owners[delivery.sourceID] else {
                outcomes.append(delivery.outcome(.ignored, facts: 0, error: "source \(delivery.sourceID.uuidString.lowercased()) no longer exists"))
                continue
            }
            // Each event keeps its position in the delivery: it names the fact when the event has no id.
            let events: [(index: Int, event: MappedEvent)]
            do {
                if let mapping = mappings[delivery.sourceID] {
                    events = try mapping.events(in: delivery.body, receivedAt: delivery.receivedAt ?? Date()).enumerated().map { ($0, $1) }
                } else {
                    events = try CustomEvent.parse(delivery.body).enumerated().filter { $0.element.type != CustomEvent.testType }.map {
                        ($0, $1.mapped)
                    }
                }
            } catch {
                let reason = "\(error)"
                rejected.append((delivery.message, reason))
                outcomes.append(delivery.outcome(.deadLettered, facts: 0, error: reason))
                continue
            }
            let made = events.map { $0.event.fact(userID: owner.userID, source: source, deliveryID: delivery.deliveryID, index: $0.index) }
            facts += made
            outcomes.append(delivery.outcome(.processed, facts: made.count, error: nil))
        }

        try await activity.publish(facts)
        try await deadLetters.send(rejected, worker: "custom", logger: logger)
        try await sources.recordInboundDeliveries(outcomes)
    }

    /// Poison the worker loop found: shown in the source's delivery log as dead-lettered, with the reason.
    public func deadLettered(_ items: [DeadLetter]) async throws {
        let outcomes = items.compactMap { letter -> DeliveryOutcome? in
            guard let source = letter.message.header(RawEventHeaders.sourceID).flatMap({ SourceIDs.canonical($0.stringValue) }),
                let deliveryID = letter.message.header(RawEventHeaders.webhookID)?.stringValue, !deliveryID.isEmpty
            else { return nil }
            return DeliveryOutcome(
                source: source, deliveryID: InputText.sanitized(deliveryID, maxBytes: DeliveryIDs.maxBytes), event: "custom",
                status: .deadLettered, facts: 0, error: InputText.sanitized(letter.reason, maxBytes: 1000), receivedAt: nil,
                bytes: letter.message.value?.count, signature: letter.message.header(RawEventHeaders.signature)?.stringValue)
        }
        guard !outcomes.isEmpty else { return }
        try await sources.recordInboundDeliveries(outcomes)
    }
}
