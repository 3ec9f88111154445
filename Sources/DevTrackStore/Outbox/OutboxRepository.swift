import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A delivery a deliverer has claimed: leased to it until the lease runs out (then another deliverer may
/// take it again, so a crash mid-send means a retry, never a loss).
public struct ClaimedDelivery: Sendable {
    public let id: UUID
    public let userID: UUID
    public let channel: String
    /// The user's id for Discord, the endpoint's id for webhooks: one request at a time per destination.
    public let destination: String
    public let eventType: String
    public let payload: String
    /// This attempt's number (1 for the first).
    public let attempt: Int
    /// Failures so far that count towards the limit.
    public let failures: Int
    public let createdAt: Date
    /// Where it goes, read with the claim; nil when the destination is gone or disabled.
    public let target: DeliveryTarget?
}

/// An event for whichever of the user's endpoints subscribe to its type (`queueForSubscribedEndpoints`).
public struct WebhookEvent: Sendable {
    public let userID: UUID
    public let type: String
    /// Unique per endpoint: queueing the same occurrence again is ignored.
    public let dedupeKey: String
    /// The envelope, JSON.
    public let payload: String

    public init(userID: UUID, type: String, dedupeKey: String, payload: String) {
        self.userID = userID
        self.type = type
        self.dedupeKey = dedupeKey
        self.payload = payload
    }
}

/// A delivery to queue in the outbox.
public struct OutboxRow: Sendable {
    public let userID: UUID
    public let channel: String
    /// The user's id for Discord, the endpoint's id for webhooks.
    public let destination: String
    /// Unique per channel and destination: queueing the same occurrence again is ignored.
    public let dedupeKey: String
    public let eventType: String
    /// JSON.
    public let payload: String

    public static func discord(userID: UUID, dedupeKey: String, eventType: String, payload: String) -> OutboxRow {
        OutboxRow(
            userID: userID, channel: "discord", destination: userID.uuidString.lowercased(), dedupeKey: dedupeKey, eventType: eventType,
            payload: payload)
    }

    public static func webhook(userID: UUID, endpointID: UUID, dedupeKey: String, eventType: String, payload: String) -> OutboxRow {
        OutboxRow(
            userID: userID, channel: "webhook", destination: endpointID.uuidString.lowercased(), dedupeKey: dedupeKey, eventType: eventType,
            payload: payload)
    }
}

/// What `queueDeliveries` queued: the new rows' ids, and those of them queued already leased.
public struct QueuedDeliveries: Sendable {
    public let ids: [UUID]
    public let leased: [ClaimedDelivery]
}

/// A deliverer in this process that sends freshly queued deliveries at once: the queueing transaction takes
/// the lease itself (`queueDeliveries(_:leasing:…)`), so a first attempt needs no claim and no poll.
public protocol DeliveryHandoff: Sendable {
    /// The outbox `channel` it delivers.
    var channel: String { get }
    var lease: Duration { get }
    /// Reserves a request slot for each of these destinations that may be sent to now (not busy, not held,
    /// a slot free), and says which of them it holds.
    func reserve(_ destinations: Set<String>) -> DeliveryReservation
    /// Gives back reserved slots that were not used (the row was queued before, or the transaction failed).
    func release(_ destinations: Set<String>)
    /// Sends deliveries queued leased under a reservation, once their transaction has committed.
    func start(_ deliveries: [ClaimedDelivery])
}

/// What a deliverer granted: request slots, and the destinations it holds (rate-limited or failing) with
/// until when, so that rows for them are queued to wait that long rather than sit due in every claim's way.
public struct DeliveryReservation: Sendable {
    public var granted: Set<String> = []
    public var heldUntil: [String: Date] = [:]

    public init() {}
}

/// A claimed delivery's destination as it is now.
public enum DeliveryTarget: Sendable, Equatable {
    /// A user's endpoint: its URL, and its sealed secrets (the current one first, then the previous one
    /// while it still signs).
    case webhook(url: String, sealedSecrets: [[UInt8]])
    /// A user's Discord webhook URL, sealed.
    case discord(sealedURL: [UInt8])
}

/// One attempt to record.
public struct DeliveryAttemptResult: Sendable {
    public let delivery: ClaimedDelivery
    public let outcome: AttemptOutcome
    public let statusCode: Int?
    public let latency: Duration
    public let error: String?

    public init(_ delivery: ClaimedDelivery, outcome: AttemptOutcome, statusCode: Int?, latency: Duration, error: String?) {
        self.delivery = delivery
        self.outcome = outcome
        self.statusCode = statusCode
        self.latency = latency
        self.error = error
    }
}

/// What became of one attempt.
public enum AttemptOutcome: Sendable, Equatable {
    case delivered
    /// Try again at `at`; `counts` says whether it counts towards the attempt limit (rate limits do not).
    case retry(at: Date, counts: Bool)
    /// Given up: the destination refused it, is gone, or the limit was reached.
    case failed
}

/// Deliveries waiting to go out and every attempt made (`outbox`, `delivery_attempts`).
public struct OutboxRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension OutboxRepository {
    /// Queues deliveries, in the caller's transaction (one per channel, destination and dedupe key; a second
    /// queueing is ignored). The rows at the indices in `leasing` are queued already claimed for `lease` (their
    /// first attempt under way, as a claim would leave them) and come back as claimed deliveries with their
    /// destinations, for a deliverer in this process to send once the transaction commits (`DeliveryHandoff`);
    /// if it never does, the lease runs out and any deliverer claims them. Rows with a time in `notBefore` are
    /// first due then (their destination is held).
    @discardableResult
    public func queueDeliveries(
        _ rows: [OutboxRow], leasing: Set<Int> = [], lease: Duration = .seconds(60), notBefore: [Int: Date] = [:],
        on transaction: DatabaseTransaction
    ) async throws -> QueuedDeliveries {
        let connection = transaction.connection
        guard !rows.isEmpty else { return QueuedDeliveries(ids: [], leased: []) }
        var bindings = PostgresBindings(capacity: 8)
        bindings.append(rows.map(\.userID))
        bindings.append(rows.map(\.channel))
        bindings.append(rows.map(\.destination))
        bindings.append(rows.map(\.dedupeKey))
        bindings.append(rows.map(\.eventType))
        bindings.append(rows.map(\.payload))
        bindings.append(rows.indices.map(leasing.contains))
        bindings.append(Double(lease.components.seconds))
        bindings.append(rows.indices.map { notBefore[$0] ?? .distantPast })  // arrays cannot carry NULLs
        let inserted = try await connection.execute(QueueDeliveriesStatement(bindings: bindings), logger: logger)
        var ids: [UUID] = []
        var claimed: [ClaimedDelivery] = []
        for delivery in try await Self.claimedDeliveries(inserted) {
            ids.append(delivery.id)
            if delivery.attempt == 1 { claimed.append(delivery) }
        }
        return QueuedDeliveries(ids: ids, leased: claimed)
    }

    /// Claims up to `limit` due deliveries of `channel`, at most one per destination and none for the
    /// destinations in `busy` (a destination gets one request at a time, and a held one none), oldest first,
    /// each with its destination as it is now; rows other deliverers hold are skipped.
    public func claimDeliveries(channel: String, excluding busy: [String], limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        guard limit > 0 else { return [] }
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(channel)
        bindings.append(busy)
        bindings.append(limit * 4)
        bindings.append(limit)
        bindings.append(Double(lease.components.seconds))
        let rows = try await client.execute(ClaimDeliveriesStatement(bindings: bindings), logger: logger)
        return try await Self.claimedDeliveries(rows)
            .sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
    }

    private static func claimedDeliveries(_ rows: some AsyncSequence<PostgresRow, any Error>) async throws -> [ClaimedDelivery] {
        var claimed: [ClaimedDelivery] = []
        for try await (id, userID, channel, destination, type, payload, attempts, failures, created, url, secret, previous, discordURL)
            in rows.decode((UUID, UUID, String, String, String, String, Int, Int, Date, String?, ByteBuffer?, ByteBuffer?, ByteBuffer?).self)
        {
            let target: DeliveryTarget? =
                if let url, let secret {
                    .webhook(url: url, sealedSecrets: [Array(secret.readableBytesView)] + (previous.map { [Array($0.readableBytesView)] } ?? []))
                } else if let discordURL {
                    .discord(sealedURL: Array(discordURL.readableBytesView))
                } else {
                    nil
                }
            claimed.append(
                ClaimedDelivery(
                    id: id, userID: userID, channel: channel, destination: destination, eventType: type, payload: payload,
                    attempt: attempts, failures: failures, createdAt: created, target: target))
        }
        return claimed
    }

    /// Records attempts and their outcomes, atomically, in one statement (one round trip for a batch).
    public func recordDeliveryAttempts(_ results: [DeliveryAttemptResult]) async throws {
        guard !results.isEmpty else { return }
        let statuses = results.map { result -> String in
            switch result.outcome {
            case .delivered: "delivered"
            case .retry: "pending"
            case .failed: "failed"
            }
        }
        let nextAttempts = results.map { result -> Date in
            if case .retry(let at, _) = result.outcome { return at }
            return Date()
        }
        let counted = results.map { result -> Bool in
            switch result.outcome {
            case .delivered: false
            case .retry(_, let counts): counts
            case .failed: true
            }
        }
        let milliseconds = results.map(\.latency.wholeMilliseconds)
        var bindings = PostgresBindings(capacity: 8)
        bindings.append(results.map(\.delivery.id))
        bindings.append(results.map(\.delivery.attempt))
        bindings.append(results.map { $0.statusCode ?? -1 })
        bindings.append(milliseconds)
        bindings.append(results.map { $0.error ?? "" })
        bindings.append(statuses)
        bindings.append(nextAttempts)
        bindings.append(counted)
        _ = try await client.execute(RecordDeliveryAttemptsStatement(bindings: bindings), logger: logger)
    }

    /// Hands claimed deliveries back, due at `dueAt`, without counting the attempt their claim counted: a deliverer
    /// claimed them but its destination asked to wait before they were sent.
    public func unclaimDeliveries(ids: [UUID], dueAt: Date) async throws {
        guard !ids.isEmpty else { return }
        try await client.query(
            """
            UPDATE outbox SET next_attempt_at = \(dueAt), attempts = greatest(attempts - 1, 0), updated_at = now()
            WHERE id = ANY(\(ids)) AND status = 'pending'
            """, logger: logger)
    }

    /// Holds back a destination's pending deliveries until `until` (a rate limit).
    public func postponeDeliveries(channel: String, destination: String, until: Date) async throws {
        try await client.query(
            """
            UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, \(until)), updated_at = now()
            WHERE channel = \(channel) AND destination = \(destination) AND status = 'pending'
            """, logger: logger)
    }

    /// Queues each event for every enabled endpoint of its user that subscribes to its type, in the caller's
    /// transaction (the one place events fan out to endpoints by subscription; a second queueing is ignored).
    public func queueForSubscribedEndpoints(_ events: [WebhookEvent], on transaction: DatabaseTransaction) async throws {
        guard !events.isEmpty else { return }
        try await transaction.connection.query(
            """
            INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
            SELECT gen_random_uuid(), t.u, 'webhook', e.id::text, t.k, t.e, t.p::jsonb
            FROM unnest(\(events.map(\.userID)), \(events.map(\.type)), \(events.map(\.dedupeKey)), \(events.map(\.payload))) AS t(u, e, k, p)
            JOIN webhook_endpoints e ON e.user_id = t.u
            WHERE e.enabled AND t.e = ANY(e.events)
            ON CONFLICT (channel, destination, dedupe_key) DO NOTHING
            """, logger: logger)
    }

    /// Fails what still waits for one destination (a Discord webhook or an endpoint that is gone).
    func failPending(channel: String, destination: String, reason: String, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query(
            """
            UPDATE outbox SET status = 'failed', last_error = \(reason), updated_at = now()
            WHERE channel = \(channel) AND destination = \(destination) AND status = 'pending'
            """, logger: logger)
    }

    /// Sends a delivery again as it was first queued (same payload, same id): pending now, failures reset.
    /// False when the user has no such delivery to that destination.
    func retry(deliveryID: UUID, userID: UUID, channel: String, destination: String) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE outbox SET status = 'pending', next_attempt_at = now(), failures = 0, updated_at = now()
            WHERE id = \(deliveryID) AND user_id = \(userID) AND channel = \(channel) AND destination = \(destination)
            RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Every attempt of one delivery, oldest first.
    public func deliveryAttempts(outboxID: UUID) async throws -> [(attempt: Int, statusCode: Int?, error: String?)] {
        let rows = try await client.query(
            """
            SELECT attempt, status_code, error FROM delivery_attempts WHERE outbox_id = \(outboxID) ORDER BY attempt
            """, logger: logger)
        var result: [(attempt: Int, statusCode: Int?, error: String?)] = []
        for try await (attempt, code, error) in rows.decode((Int, Int?, String?).self) { result.append((attempt, code, error)) }
        return result
    }
}

/// Where a claimed or leased row goes, as it is now: the endpoint's URL and secrets, or the user's Discord URL
/// (looked up per row, by primary key).
private let deliveryTargets = """
    LEFT JOIN LATERAL (
        SELECT e.url, e.secret_sealed, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_sealed END AS previous_secret
        FROM webhook_endpoints e WHERE c.channel = 'webhook' AND e.id = c.destination::uuid AND e.enabled LIMIT 1
    ) e ON true
    LEFT JOIN LATERAL (
        SELECT u.discord_webhook_sealed FROM users u WHERE c.channel = 'discord' AND u.id = c.user_id AND u.discord_disabled_at IS NULL LIMIT 1
    ) u ON true
    """

/// Queues a batch of deliveries, some of them leased (`queueDeliveries`).
struct QueueDeliveriesStatement: PreparedBatchStatement {
    static let sql = """
        WITH queued AS (
            INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload, attempts, next_attempt_at)
            SELECT gen_random_uuid(), t.u, t.c, t.d, t.k, t.e, t.p::jsonb, CASE WHEN t.l THEN 1 ELSE 0 END,
                   CASE WHEN t.l THEN now() + make_interval(secs => $8) ELSE greatest(now(), t.n) END
            FROM unnest($1, $2, $3, $4, $5, $6, $7, $9) AS t(u, c, d, k, e, p, l, n)
            ON CONFLICT (channel, destination, dedupe_key) DO NOTHING
            RETURNING id, user_id, channel, destination, event_type, CASE WHEN attempts = 1 THEN payload::text ELSE '' END AS payload,
                      attempts, failures, created_at
        )
        SELECT c.*, e.url, e.secret_sealed, e.previous_secret, u.discord_webhook_sealed
        FROM (SELECT * FROM queued WHERE attempts = 1) c
        \(deliveryTargets)
        UNION ALL
        SELECT id, user_id, channel, destination, event_type, payload, attempts, failures, created_at, NULL, NULL, NULL, NULL
        FROM queued WHERE attempts = 0
        """
    let bindings: PostgresBindings
}

/// Claims due deliveries (`claimDeliveries`). One statement: read a window of due rows, keep the oldest of
/// each destination, lock those (skipping rows another deliverer holds; a row another one leased meanwhile
/// is no longer due when re-checked under the lock), lease them, read their destinations.
struct ClaimDeliveriesStatement: PreparedBatchStatement {
    static let sql = """
        WITH due AS (
            SELECT id, destination, next_attempt_at, created_at FROM outbox
            WHERE channel = $1 AND status = 'pending' AND next_attempt_at <= now() AND NOT (destination = ANY($2))
            ORDER BY next_attempt_at, created_at LIMIT $3
        ), oldest AS (
            SELECT id FROM (
                SELECT DISTINCT ON (destination) id, next_attempt_at, created_at FROM due
                ORDER BY destination, next_attempt_at, created_at
            ) per_destination ORDER BY next_attempt_at, created_at LIMIT $4
        ), chosen AS (
            SELECT id FROM outbox
            WHERE id IN (SELECT id FROM oldest) AND status = 'pending' AND next_attempt_at <= now()
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $5), updated_at = now()
            WHERE id IN (SELECT id FROM chosen)
            RETURNING id, user_id, channel, destination, event_type, payload::text, attempts, failures, created_at
        )
        SELECT c.*, e.url, e.secret_sealed, e.previous_secret, u.discord_webhook_sealed FROM claimed c
        \(deliveryTargets)
        """
    let bindings: PostgresBindings
}

/// Records a batch of attempts and their outcomes (`recordDeliveryAttempts`). Arrays cannot carry NULLs
/// here: -1 stands for "no status code", "" for "no error", and the next attempt time is used only for rows
/// that stay pending.
struct RecordDeliveryAttemptsStatement: PreparedBatchStatement {
    static let sql = """
        WITH result AS (
            SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8)
                AS t(id, attempt, status_code, latency_ms, error, status, next_attempt_at, counts)
        ), attempt AS (
            INSERT INTO delivery_attempts (outbox_id, attempt, status_code, latency_ms, error)
            SELECT id, attempt, NULLIF(status_code, -1), latency_ms, NULLIF(error, '') FROM result
            ON CONFLICT DO NOTHING
        )
        UPDATE outbox o SET status = r.status,
            next_attempt_at = CASE WHEN r.status = 'pending' THEN r.next_attempt_at ELSE o.next_attempt_at END,
            failures = o.failures + CASE WHEN r.counts AND r.status <> 'delivered' THEN 1 ELSE 0 END,
            last_error = NULLIF(r.error, ''), updated_at = now()
        FROM result r WHERE o.id = r.id
        """
    let bindings: PostgresBindings
}
