import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// An outbound webhook endpoint as stored (secrets still sealed).
public struct WebhookEndpointRecord: Sendable {
    public let id: UUID
    public let userID: UUID
    public let name: String
    public let url: String
    public let events: [String]
    public let enabled: Bool
    public let disabledReason: String?
    public let createdAt: Date
    public let updatedAt: Date
    /// The current secret first, then the previous one while it still signs.
    public let sealedSecrets: [[UInt8]]
}

/// One attempt at a delivery, as `GET …/deliveries` lists it.
public struct DeliveryAttemptRecord: Sendable {
    public let attempt: Int
    public let attemptedAt: Date
    public let statusCode: Int?
    public let latencyMs: Int
    public let error: String?
}

/// A delivery to an endpoint with its attempts.
public struct WebhookDeliveryRecord: Sendable {
    public let entry: OutboxEntry
    public let createdAt: Date
    public let attempts: [DeliveryAttemptRecord]
}

/// A change to an endpoint: nil leaves a field as it is.
public struct WebhookEndpointChange: Sendable {
    public var name: String?
    public var url: String?
    public var events: [String]?
    public var enabled: Bool?

    public init(name: String? = nil, url: String? = nil, events: [String]? = nil, enabled: Bool? = nil) {
        self.name = name
        self.url = url
        self.events = events
        self.enabled = enabled
    }
}

/// Users' outbound webhook endpoints (`webhook_endpoints`).
public struct WebhookEndpointRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension WebhookEndpointRepository {
    static let endpointColumns = """
        id, user_id, name, url, events, enabled, disabled_reason, created_at, updated_at, secret_sealed,
        CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END
        """

    private func endpoints(_ rows: PostgresRowSequence) async throws -> [WebhookEndpointRecord] {
        var result: [WebhookEndpointRecord] = []
        for try await (id, userID, name, url, events, enabled, reason, created, updated, secret, previous)
            in rows.decode((UUID, UUID, String, String, [String], Bool, String?, Date, Date, ByteBuffer, ByteBuffer?).self)
        {
            result.append(
                WebhookEndpointRecord(
                    id: id, userID: userID, name: name, url: url, events: events, enabled: enabled, disabledReason: reason,
                    createdAt: created, updatedAt: updated,
                    sealedSecrets: [Array(secret.readableBytesView)] + (previous.map { [Array($0.readableBytesView)] } ?? [])))
        }
        return result
    }

    /// Creates an endpoint unless the user already has `limit`; nil when over the limit. The count and the
    /// insert are serialised per user (row lock), so two requests at once cannot pass the limit together.
    public func createWebhookEndpoint(
        userID: UUID, name: String, url: String, events: [String], sealedSecret: [UInt8], limit: Int
    ) async throws -> WebhookEndpointRecord? {
        try await database.transaction { transaction in
            let connection = transaction.connection
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            let counted = try await connection.query("SELECT count(*) FROM webhook_endpoints WHERE user_id = \(userID)", logger: logger)
            var count = 0
            for try await value in counted.decode(Int64.self) { count = Int(value) }
            guard count < limit else { return nil }
            let rows = try await connection.query(
                """
                INSERT INTO webhook_endpoints (id, user_id, name, url, events, secret_sealed)
                VALUES (\(UUID()), \(userID), \(name), \(url), \(events), \(ByteBuffer(bytes: sealedSecret)))
                RETURNING \(unescaped: Self.endpointColumns)
                """, logger: logger)
            return try await endpoints(rows).first
        }
    }

    public func webhookEndpoints(userID: UUID) async throws -> [WebhookEndpointRecord] {
        try await endpoints(
            client.query(
                "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE user_id = \(userID) ORDER BY created_at, id", logger: logger))
    }

    public func webhookEndpoint(userID: UUID, id: UUID) async throws -> WebhookEndpointRecord? {
        try await endpoints(
            client.query(
                "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE user_id = \(userID) AND id = \(id)", logger: logger)
        ).first
    }

    /// Applies `change`; enabling an endpoint clears why it was disabled.
    public func updateWebhookEndpoint(userID: UUID, id: UUID, _ change: WebhookEndpointChange) async throws -> WebhookEndpointRecord? {
        try await endpoints(
            client.query(
                """
                UPDATE webhook_endpoints SET name = coalesce(\(change.name), name), url = coalesce(\(change.url), url),
                    events = coalesce(\(change.events), events), enabled = coalesce(\(change.enabled), enabled),
                    disabled_reason = CASE WHEN \(change.enabled) THEN NULL ELSE disabled_reason END, updated_at = now()
                WHERE user_id = \(userID) AND id = \(id)
                RETURNING \(unescaped: Self.endpointColumns)
                """, logger: logger)
        ).first
    }

    /// Deletes the endpoint and its deliveries (with their attempts). False when there is no such endpoint.
    public func deleteWebhookEndpoint(userID: UUID, id: UUID) async throws -> Bool {
        try await database.transaction { transaction in
            try await OutboxRepository(database).deleteAll(userID: userID, webhookEndpoint: id, on: transaction)
            let rows = try await transaction.connection.query(
                "DELETE FROM webhook_endpoints WHERE user_id = \(userID) AND id = \(id) RETURNING 1", logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    /// A new secret; the current one keeps signing beside it for `grace`.
    public func rotateWebhookSecret(userID: UUID, id: UUID, sealedSecret: [UInt8], grace: Duration) async throws -> WebhookEndpointRecord? {
        let seconds = Double(grace.components.seconds)
        return try await endpoints(
            client.query(
                """
                UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed,
                    previous_secret_expires_at = now() + make_interval(secs => \(seconds)),
                    secret_sealed = \(ByteBuffer(bytes: sealedSecret)), updated_at = now()
                WHERE user_id = \(userID) AND id = \(id)
                RETURNING \(unescaped: Self.endpointColumns)
                """, logger: logger)
        ).first
    }

    /// Endpoints of these users that are enabled (for queueing).
    public func enabledWebhookEndpoints(userIDs: [UUID], on transaction: DatabaseTransaction) async throws -> [WebhookEndpointRecord] {
        let connection = transaction.connection
        guard !userIDs.isEmpty else { return [] }
        return try await endpoints(
            connection.query(
                """
                SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE user_id = ANY(\(userIDs)) AND enabled
                """, logger: logger))
    }

    /// Queues one `test` delivery to the endpoint; returns its id.
    public func queueTestWebhookDelivery(userID: UUID, endpointID: UUID, payload: String) async throws -> UUID? {
        try await database.transaction { transaction in
            let test = OutboxRow.webhook(
                userID: userID, endpointID: endpointID, dedupeKey: "test:\(UUID().uuidString.lowercased())", eventType: "test", payload: payload)
            return try await OutboxRepository(database).queueDeliveries([test], on: transaction).ids.first
        }
    }

    /// The endpoint's deliveries, newest first, each with its attempts.
    public func webhookDeliveries(userID: UUID, endpointID: UUID, limit: Int) async throws -> [WebhookDeliveryRecord] {
        let rows = try await client.query(
            """
            SELECT id, dedupe_key, event_type, status, attempts, failures, last_error, payload::text, created_at FROM outbox
            WHERE user_id = \(userID) AND channel = 'webhook' AND destination = \(endpointID.uuidString.lowercased())
            ORDER BY created_at DESC, id LIMIT \(limit)
            """, logger: logger)
        var entries: [(OutboxEntry, Date)] = []
        for try await (id, key, type, status, attempts, failures, error, payload, created)
            in rows.decode((UUID, String, String, String, Int, Int, String?, String, Date).self)
        {
            entries.append(
                (
                    OutboxEntry(
                        id: id, dedupeKey: key, eventType: type, status: status, attempts: attempts, failures: failures,
                        lastError: error, payload: payload), created
                ))
        }
        guard !entries.isEmpty else { return [] }
        let attemptRows = try await client.query(
            """
            SELECT outbox_id, attempt, attempted_at, status_code, latency_ms, error FROM delivery_attempts
            WHERE outbox_id = ANY(\(entries.map(\.0.id))) ORDER BY attempt
            """, logger: logger)
        var attempts: [UUID: [DeliveryAttemptRecord]] = [:]
        for try await (id, attempt, at, code, latency, error) in attemptRows.decode((UUID, Int, Date, Int?, Int, String?).self) {
            attempts[id, default: []].append(
                DeliveryAttemptRecord(attempt: attempt, attemptedAt: at, statusCode: code, latencyMs: latency, error: error))
        }
        return entries.map { WebhookDeliveryRecord(entry: $0.0, createdAt: $0.1, attempts: attempts[$0.0.id] ?? []) }
    }

    /// Sends a delivery again as it was first queued (same payload, same id): pending now, failures reset.
    /// False when the user has no such delivery on that endpoint.
    public func retryWebhookDelivery(userID: UUID, endpointID: UUID, deliveryID: UUID) async throws -> Bool {
        try await OutboxRepository(database).retry(
            deliveryID: deliveryID, userID: userID, channel: "webhook", destination: endpointID.uuidString.lowercased())
    }

    /// The endpoint answered 410 Gone: stop sending to it and fail what waits for it.
    public func disableWebhookEndpoint(id: UUID, reason: String) async throws {
        try await database.transaction { transaction in
            try await transaction.connection.query(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = \(reason), updated_at = now() WHERE id = \(id)", logger: logger)
            try await OutboxRepository(database).failPending(
                channel: "webhook", destination: id.uuidString.lowercased(), reason: reason, on: transaction)
        }
    }
}
