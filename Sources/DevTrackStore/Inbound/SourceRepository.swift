import DevTrackCore
import Foundation
import Logging
import PostgresNIO

public struct SourceRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let kind: String
    public let name: String
    public let enabled: Bool
    public let createdAt: Date
    public let rotatedAt: Date?
    /// How a custom source reads payloads not in the native format; nil for native and GitHub sources.
    public let mapping: EventMapping?
}

/// One inbound delivery as a source's log shows it (never with the secret).
public struct SourceDeliveryRecord: Sendable {
    public let deliveryID: String
    /// `processed`, `ignored`, `dead_lettered` or `refused`.
    public let status: String
    public let facts: Int
    public let error: String?
    public let receivedAt: Date
    public let bytes: Int?
    public let signature: String?
}

/// What ingest needs to verify a delivery to a user's own source.
public struct SourceCredentials: Sendable {
    public let source: SourceRecord
    public let sealedSecrets: [[UInt8]]
}

public struct DeliveryOutcome: Sendable, Equatable {
    /// `refused`: turned away at ingest (custom sources log those too).
    public enum Status: String, Sendable { case processed, ignored, deadLettered = "dead_lettered", refused }
    public let source: String
    public let deliveryID: String
    public let event: String
    public let status: Status
    public let facts: Int
    public let error: String?
    public let receivedAt: Date?
    /// The body's size, when known.
    public let bytes: Int?
    /// How it was signed and whether that held: `standard-webhooks`, `hmac-sha256`, or the refusal's code.
    public let signature: String?

    public init(
        source: String, deliveryID: String, event: String, status: Status, facts: Int, error: String?, receivedAt: Date?,
        bytes: Int? = nil, signature: String? = nil
    ) {
        self.source = source
        self.deliveryID = deliveryID
        self.event = event
        self.status = status
        self.facts = facts
        self.error = error
        self.receivedAt = receivedAt
        self.bytes = bytes
        self.signature = signature
    }
}

/// Users' webhook sources and the log of what each delivered (`webhook_sources`, inbound `webhook_deliveries`).
public struct SourceRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension SourceRepository {
    public func createSource(
        userID: UUID, kind: String, name: String, sealedSecret: [UInt8], mapping: EventMapping? = nil
    ) async throws -> SourceRecord {
        let id = UUID()
        let mappingJSON = try mapping.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let rows = try await client.query(
            """
            INSERT INTO webhook_sources (id, user_id, kind, name, secret_sealed, mapping)
            VALUES (\(id), \(userID), \(kind), \(name), \(ByteBuffer(bytes: sealedSecret)), \(mappingJSON)::jsonb)
            RETURNING \(unescaped: Self.sourceColumns)
            """, logger: logger)
        guard let source = try await Self.sources(rows).first else { throw StoreError.notFound("source \(id)") }
        return source
    }

    public func sources(userID: UUID) async throws -> [SourceRecord] {
        try await Self.sources(
            client.query(
                "SELECT \(unescaped: Self.sourceColumns) FROM webhook_sources WHERE user_id = \(userID) ORDER BY created_at", logger: logger))
    }

    /// Replaces the secret; the old one keeps verifying for `grace` so senders can be updated.
    public func rotateSourceSecret(userID: UUID, sourceID: UUID, sealedSecret: [UInt8], grace: Duration) async throws -> SourceRecord? {
        let seconds = Double(grace.components.seconds)
        return try await Self.sources(
            client.query(
                """
                UPDATE webhook_sources SET previous_secret_sealed = secret_sealed,
                    previous_secret_expires_at = now() + make_interval(secs => \(seconds)),
                    secret_sealed = \(ByteBuffer(bytes: sealedSecret)), rotated_at = now()
                WHERE id = \(sourceID) AND user_id = \(userID)
                RETURNING \(unescaped: Self.sourceColumns)
                """, logger: logger)
        ).first
    }

    /// The source's current secret and, within its grace period, the previous one.
    public func sourceCredentials(id: UUID) async throws -> SourceCredentials? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.sourceColumns), secret_sealed,
                   CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END
            FROM webhook_sources WHERE id = \(id)
            """, logger: logger)
        for try await row in rows {
            let (id, userID, kind, name, enabled, createdAt, rotatedAt, mapping, secret, previous) = try row.decode(
                (UUID, UUID, String, String, Bool, Date, Date?, String?, ByteBuffer, ByteBuffer?).self)
            let source = SourceRecord(
                id: id, userID: userID, kind: kind, name: name, enabled: enabled, createdAt: createdAt, rotatedAt: rotatedAt,
                mapping: Self.mapping(mapping))
            return SourceCredentials(source: source, sealedSecrets: [secret, previous].compactMap { $0.map { Array(buffer: $0) } })
        }
        return nil
    }

    static let sourceColumns = "id, user_id, kind, name, enabled, created_at, rotated_at, mapping::text"

    static func mapping(_ json: String?) -> EventMapping? {
        json.flatMap { try? JSONDecoder().decode(EventMapping.self, from: Data($0.utf8)) }
    }

    /// The mappings of these sources (sources without one are absent).
    public func sourceMappings(ids: [UUID]) async throws -> [UUID: EventMapping] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await client.query(
            "SELECT id, mapping::text FROM webhook_sources WHERE id = ANY(\(ids)) AND mapping IS NOT NULL", logger: logger)
        var mappings: [UUID: EventMapping] = [:]
        for try await (id, json) in rows.decode((UUID, String).self) { mappings[id] = Self.mapping(json) }
        return mappings
    }

    public func source(userID: UUID, id: UUID) async throws -> SourceRecord? {
        try await Self.sources(
            client.query(
                "SELECT \(unescaped: Self.sourceColumns) FROM webhook_sources WHERE user_id = \(userID) AND id = \(id)", logger: logger)
        ).first
    }

    /// Renames, disables or enables the user's source, or gives it a new mapping; nil when there is no such
    /// source. Deliveries already on the topic are read with the mapping the worker finds when it gets to them.
    public func updateSource(userID: UUID, id: UUID, name: String?, enabled: Bool?, mapping: EventMapping? = nil) async throws -> SourceRecord? {
        let mappingJSON = try mapping.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await Self.sources(
            client.query(
                """
                UPDATE webhook_sources SET name = coalesce(\(name), name), enabled = coalesce(\(enabled), enabled),
                    mapping = coalesce(\(mappingJSON)::jsonb, mapping)
                WHERE user_id = \(userID) AND id = \(id)
                RETURNING \(unescaped: Self.sourceColumns)
                """, logger: logger)
        ).first
    }

    /// Deletes the user's source (its facts stay: they happened); false when there is no such source.
    /// Deletes the source and its delivery log.
    public func deleteSource(userID: UUID, id: UUID) async throws -> Bool {
        try await database.transaction { transaction -> Bool in
            let rows = try await transaction.connection.query(
                "DELETE FROM webhook_sources WHERE user_id = \(userID) AND id = \(id) RETURNING id", logger: logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            if deleted { _ = try await deleteDeliveryLog(sourceIDs: [id.uuidString.lowercased()], on: transaction) }
            return deleted
        }
    }

    /// The source's inbound deliveries, newest first.
    public func sourceDeliveries(sourceID: UUID, limit: Int) async throws -> [SourceDeliveryRecord] {
        let rows = try await client.query(
            """
            SELECT delivery_id, status, facts, error, received_at, processed_at, bytes, signature FROM webhook_deliveries
            WHERE direction = 'inbound' AND source = \(sourceID.uuidString.lowercased())
            ORDER BY processed_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var result: [SourceDeliveryRecord] = []
        for try await (id, status, facts, error, received, processed, bytes, signature)
            in rows.decode((String, String, Int, String?, Date?, Date, Int?, String?).self)
        {
            result.append(
                SourceDeliveryRecord(
                    deliveryID: id, status: status, facts: facts, error: error, receivedAt: received ?? processed, bytes: bytes, signature: signature)
            )
        }
        return result
    }

    static func sources(_ rows: PostgresRowSequence) async throws -> [SourceRecord] {
        var sources: [SourceRecord] = []
        for try await (id, userID, kind, name, enabled, createdAt, rotatedAt, mapping)
            in rows.decode((UUID, UUID, String, String, Bool, Date, Date?, String?).self)
        {
            sources.append(
                SourceRecord(
                    id: id, userID: userID, kind: kind, name: name, enabled: enabled, createdAt: createdAt, rotatedAt: rotatedAt,
                    mapping: Self.mapping(mapping)))
        }
        return sources
    }
}

extension SourceRepository {
    /// Records outcomes idempotently (a redelivered message updates its row), in one statement (atomic alone, so no
    /// transaction around it). Outcomes of a source that no longer exists are not kept: nobody can read them, and its
    /// owner may have deleted their account.
    public func recordInboundDeliveries(_ batch: [DeliveryOutcome]) async throws {
        guard let query = Self.recordingQuery(batch) else { return }
        try await client.query(query, logger: logger)
    }

    private static func recordingQuery(_ batch: [DeliveryOutcome]) -> PostgresQuery? {
        // One row per delivery: a batch may hold the same delivery twice (GitHub's redeliver button), and
        // ON CONFLICT cannot touch a row twice in one statement. The later outcome wins.
        var latest: [String: DeliveryOutcome] = [:]
        for outcome in batch { latest["\(outcome.source)\u{0}\(outcome.deliveryID)"] = outcome }
        let outcomes = Array(latest.values)
        guard !outcomes.isEmpty else { return nil }
        return """
            INSERT INTO webhook_deliveries (direction, source, delivery_id, event, status, facts, error, received_at, bytes, signature)
            SELECT 'inbound', s, d, e, st, f, NULLIF(er, ''), r, NULLIF(b, -1), NULLIF(sg, '')
            FROM unnest(\(outcomes.map(\.source)), \(outcomes.map(\.deliveryID)), \(outcomes.map(\.event)),
                        \(outcomes.map(\.status.rawValue)), \(outcomes.map { Int64($0.facts) }), \(outcomes.map { $0.error ?? "" }),
                        \(outcomes.map { $0.receivedAt ?? Date() }), \(outcomes.map { $0.bytes ?? -1 }), \(outcomes.map { $0.signature ?? "" }))
                AS t(s, d, e, st, f, er, r, b, sg)
            WHERE s !~ \(unescaped: uuidPattern)
               OR EXISTS (SELECT 1 FROM webhook_sources w WHERE w.id = CASE WHEN s ~ \(unescaped: uuidPattern) THEN s::uuid END)
            ON CONFLICT (direction, source, delivery_id) DO UPDATE
            SET status = EXCLUDED.status, facts = EXCLUDED.facts, error = EXCLUDED.error, processed_at = now(),
                received_at = coalesce(EXCLUDED.received_at, webhook_deliveries.received_at),
                bytes = coalesce(EXCLUDED.bytes, webhook_deliveries.bytes), signature = coalesce(EXCLUDED.signature, webhook_deliveries.signature)
            """
    }
}

extension SourceRepository {
    /// The owner of each existing source among `ids`.
    public func sourceOwners(ids: [UUID]) async throws -> [UUID: UserIdentity] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT s.id, u.id, u.login, u.github_id FROM webhook_sources s JOIN users u ON u.id = s.user_id
            WHERE s.id = ANY(\(ids))
            """, logger: logger)
        var owners: [UUID: UserIdentity] = [:]
        for try await (sourceID, userID, login, githubID) in rows.decode((UUID, UUID, String, Int64?).self) {
            owners[sourceID] = UserIdentity(userID: userID, login: login, githubID: githubID)
        }
        return owners
    }
}

extension SourceRepository {
    /// Retention: removes up to `limit` inbound delivery-log rows processed before `cutoff`; returns how many.
    /// (Facts are deduplicated by natural id, not by this log, so an old delivery sent again still counts once.)
    public func deleteDeliveryLog(before cutoff: Date, limit: Int = 1000) async throws -> Int {
        try await rowCount(
            """
            DELETE FROM webhook_deliveries WHERE id IN (
                SELECT id FROM webhook_deliveries WHERE processed_at < \(cutoff) ORDER BY processed_at LIMIT \(limit))
            RETURNING 1
            """)
    }

    /// The ids (canonical text, as the delivery log names them) of a user's sources.
    func sourceIDs(userID: UUID, on transaction: DatabaseTransaction) async throws -> [String] {
        var ids: [String] = []
        let rows = try await transaction.connection.query("SELECT id::text FROM webhook_sources WHERE user_id = \(userID)", logger: logger)
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// The inbound delivery log of these sources (their owner's account is being deleted: the log has no foreign key).
    func deleteDeliveryLog(sourceIDs: [String], on transaction: DatabaseTransaction) async throws -> Int {
        guard !sourceIDs.isEmpty else { return 0 }
        return try await rowCount(
            "DELETE FROM webhook_deliveries WHERE direction = 'inbound' AND source = ANY(\(sourceIDs)) RETURNING 1", on: transaction)
    }
}

/// A canonical source id as the delivery log spells it (lowercase); anything else there is the hub-wide endpoint's.
private let uuidPattern = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
