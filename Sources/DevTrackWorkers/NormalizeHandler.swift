import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `normalize`: raw GitHub deliveries → user-resolved activity facts on `devtrack.activity`.
///
/// Per batch: decode and extract (bad ones to the DLQ), resolve users in one query, store the facts (so the API sees
/// them one hop sooner: freshness), produce them and wait for their acks (the metrics, goals and achievements workers
/// apply them too; storing is idempotent by the facts' ids, so whichever comes first counts them once), then record
/// each delivery's outcome in PostgreSQL. The batch's offsets are committed by `BatchWorker` only after that.
public struct NormalizeHandler: BatchHandler {
    let database: Database
    let sources: SourceRepository
    let accounts: GitHubAccountRepository
    let activity: FactPublisher
    /// Where the facts are stored (`activity` is where they are published).
    let factStore: ActivityRepository
    let deadLetters: DeadLetters
    let logger: Logger
    public static let hubSource = "github-app"

    public init(database: Database, producer: KafkaProducer, logger: Logger) {
        self.database = database
        self.sources = SourceRepository(database)
        self.accounts = GitHubAccountRepository(database)
        self.activity = FactPublisher(producer: producer)
        self.factStore = ActivityRepository(database)
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
    }

    struct Delivery {
        let message: KafkaMessage
        let event: String
        let deliveryID: String
        let sourceID: UUID?
        let receivedAt: Date?
        let candidates: [FactCandidate]
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        var deliveries: [Delivery] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        var outcomes: [DeliveryOutcome] = []
        let (messages, missing) = try await LargePayloadResolver(largePayloads: LargePayloadRepository(database)).resolve(batch)
        for (message, reason) in missing {
            rejected.append((message, reason))
            if let outcome = Self.deadLetteredOutcome(message, reason: reason) { outcomes.append(outcome) }
        }
        for message in messages {
            switch Self.decode(message) {
            case .success(let delivery): deliveries.append(delivery)
            case .failure(let error):
                rejected.append((message, error.description))
                if let outcome = Self.deadLetteredOutcome(message, reason: error.description) { outcomes.append(outcome) }
            }
        }

        let owners = try await sources.sourceOwners(ids: Array(Set(deliveries.compactMap(\.sourceID))))
        let ownerIdentities = try await accounts.identities(ofUsers: Array(Set(owners.values.map(\.userID))))
        let actors = deliveries.flatMap { $0.candidates.map(\.actor) }
        let directory = UserDirectory(
            try await accounts.identities(
                githubIDs: Array(Set(actors.compactMap(\.id))), logins: Array(Set(actors.compactMap(\.login)))))

        var facts: [ActivityFact] = []
        for delivery in deliveries {
            let policy: CreditPolicy
            let source: String
            if let sourceID = delivery.sourceID {
                guard let owner = owners[sourceID] else {
                    outcomes.append(outcome(delivery, .ignored, facts: 0, error: "source \(sourceID) no longer exists"))
                    continue
                }
                policy = .sourceOwner(ownerIdentities[owner.userID] ?? [owner])
                source = "github:\(sourceID.uuidString.lowercased())"
            } else {
                policy = .byIdentity
                source = Self.hubSource
            }
            let credited = FactCrediting.credit(delivery.candidates, policy: policy, directory: directory, source: source)
            facts += credited
            outcomes.append(outcome(delivery, credited.isEmpty ? .ignored : .processed, facts: credited.count, error: nil))
        }

        try await store(facts)
        try await activity.publish(facts)
        try await deadLetters.send(rejected, worker: "normalize", logger: logger)
        try await sources.recordInboundDeliveries(outcomes)
    }

    /// Stores the batch's facts in one transaction. A fact PostgreSQL refuses (a user whose stored zone it does not know)
    /// is left to the metrics worker, which dead-letters that fact alone on `devtrack.activity.dlq`; the delivery itself
    /// is fine. Transient trouble is thrown, so the batch waits it out.
    func store(_ facts: [ActivityFact]) async throws {
        guard !facts.isEmpty else { return }
        do {
            try await factStore.applyFacts(facts)
        } catch  where StoreFailures.classify(error) != .transient {
            logger.info("normalize: \(facts.count) fact(s) left to the metrics worker: \(StoreFailures.summary(error))")
        }
    }

    /// Poison the worker loop found: shown in the source's delivery log as dead-lettered, with the reason.
    public func deadLettered(_ items: [DeadLetter]) async throws {
        let outcomes = items.compactMap { Self.deadLetteredOutcome($0.message, reason: $0.reason) }
        guard !outcomes.isEmpty else { return }
        try await sources.recordInboundDeliveries(outcomes)
    }

    /// A dead-lettered delivery's log row, under the source id's canonical spelling (what the log is read by).
    static func deadLetteredOutcome(_ message: KafkaMessage, reason: String) -> DeliveryOutcome? {
        guard let deliveryID = message.header(RawEventHeaders.deliveryID)?.stringValue, !deliveryID.isEmpty else { return nil }
        let source = message.header(RawEventHeaders.sourceID).flatMap { SourceIDs.canonical($0.stringValue) } ?? Self.hubSource
        return DeliveryOutcome(
            source: source, deliveryID: InputText.sanitized(deliveryID, maxBytes: DeliveryIDs.maxBytes),
            event: InputText.sanitized(message.header(RawEventHeaders.event)?.stringValue ?? "", maxBytes: 100), status: .deadLettered,
            facts: 0, error: InputText.sanitized(reason, maxBytes: 1000), receivedAt: nil)
    }

    private func outcome(_ delivery: Delivery, _ status: DeliveryOutcome.Status, facts: Int, error: String?) -> DeliveryOutcome {
        DeliveryOutcome(
            source: delivery.sourceID?.uuidString.lowercased() ?? Self.hubSource, deliveryID: delivery.deliveryID,
            event: delivery.event, status: status, facts: facts, error: error, receivedAt: delivery.receivedAt)
    }

    static func decode(_ message: KafkaMessage) -> Result<Delivery, PayloadError> {
        guard let body = message.value else { return .failure(PayloadError("empty message (tombstone) on a raw topic")) }
        guard let event = message.header(RawEventHeaders.event)?.stringValue, !event.isEmpty else {
            return .failure(PayloadError("missing \(RawEventHeaders.event) header"))
        }
        guard let deliveryID = message.header(RawEventHeaders.deliveryID)?.stringValue, !deliveryID.isEmpty else {
            return .failure(PayloadError("missing \(RawEventHeaders.deliveryID) header"))
        }
        let sourceText = message.header(RawEventHeaders.sourceID)?.stringValue ?? ""
        var sourceID: UUID?
        if !sourceText.isEmpty {
            guard let id = UUID(uuidString: sourceText) else { return .failure(PayloadError("invalid source id \(sourceText)")) }
            sourceID = id
        }
        let contentType = message.header(RawEventHeaders.contentType)?.stringValue ?? "application/json"
        var payload = body
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            guard let field = FormEncoding.field("payload", in: body) else {
                return .failure(PayloadError("form-encoded body without a payload field"))
            }
            payload = field
        }
        do {
            let candidates = try GitHubFactExtractor.candidates(event: event, payload: Data(payload))
            return .success(
                Delivery(
                    message: message, event: event, deliveryID: deliveryID, sourceID: sourceID,
                    receivedAt: message.header(RawEventHeaders.receivedAt).flatMap { Timestamps.parse($0.stringValue) },
                    candidates: candidates))
        } catch {
            return .failure(error)
        }
    }
}
