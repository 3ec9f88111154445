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
}

/// What became of one attempt.
public enum AttemptOutcome: Sendable, Equatable {
    case delivered
    /// Try again at `at`; `counts` says whether it counts towards the attempt limit (rate limits do not).
    case retry(at: Date, counts: Bool)
    /// Given up: the destination refused it, is gone, or the limit was reached.
    case failed
}

extension HubStore {
    /// Claims up to `limit` due deliveries of `channel`, at most one per destination and none for the
    /// destinations in `busy` (a destination gets one request at a time), oldest first; rows other
    /// deliverers hold are skipped.
    public func claimDeliveries(channel: String, excluding busy: [String], limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        guard limit > 0 else { return [] }
        // One statement: lock a window of due rows (skipping rows other deliverers hold), keep the oldest of
        // each destination, lease them. Rows locked but not kept are released when the statement ends.
        let seconds = Double(lease.components.seconds)
        let rows = try await client.query("""
            WITH due AS (
                SELECT id, destination, next_attempt_at, created_at FROM outbox
                WHERE channel = \(channel) AND status = 'pending' AND next_attempt_at <= now() AND NOT (destination = ANY(\(busy)))
                ORDER BY next_attempt_at, created_at LIMIT \(limit * 4)
                FOR UPDATE SKIP LOCKED
            ), chosen AS (
                SELECT id FROM (
                    SELECT DISTINCT ON (destination) id, next_attempt_at, created_at FROM due
                    ORDER BY destination, next_attempt_at, created_at
                ) oldest ORDER BY next_attempt_at, created_at LIMIT \(limit)
            )
            UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => \(seconds)), updated_at = now()
            WHERE id IN (SELECT id FROM chosen)
            RETURNING id, user_id, channel, destination, event_type, payload::text, attempts, failures, created_at
            """, logger: logger)
        var claimed: [ClaimedDelivery] = []
        for try await (id, userID, channel, destination, type, payload, attempts, failures, created)
            in rows.decode((UUID, UUID, String, String, String, String, Int, Int, Date).self) {
            claimed.append(ClaimedDelivery(
                id: id, userID: userID, channel: channel, destination: destination, eventType: type, payload: payload,
                attempt: attempts, failures: failures, createdAt: created))
        }
        return claimed.sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
    }

    /// Records an attempt and its outcome, atomically.
    public func recordDeliveryAttempt(
        _ delivery: ClaimedDelivery, outcome: AttemptOutcome, statusCode: Int?, latency: Duration, error: String?
    ) async throws {
        let milliseconds = Int(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000)
        let (status, nextAttempt, counts): (String, Date?, Bool) = switch outcome {
        case .delivered: ("delivered", nil, false)
        case .retry(let at, let counts): ("pending", at, counts)
        case .failed: ("failed", nil, true)
        }
        // One statement (one round trip): the attempt row and the outbox row change together.
        try await client.query("""
            WITH attempt AS (
                INSERT INTO delivery_attempts (outbox_id, attempt, status_code, latency_ms, error)
                VALUES (\(delivery.id), \(delivery.attempt), \(statusCode), \(milliseconds), \(error))
                ON CONFLICT DO NOTHING
            )
            UPDATE outbox SET status = \(status), next_attempt_at = coalesce(\(nextAttempt), next_attempt_at),
                failures = failures + CASE WHEN \(counts) AND \(status) <> 'delivered' THEN 1 ELSE 0 END,
                last_error = \(error), updated_at = now()
            WHERE id = \(delivery.id)
            """, logger: logger)
    }

    /// Holds back a destination's pending deliveries until `until` (a rate limit).
    public func postponeDeliveries(channel: String, destination: String, until: Date) async throws {
        try await client.query("""
            UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, \(until)), updated_at = now()
            WHERE channel = \(channel) AND destination = \(destination) AND status = 'pending'
            """, logger: logger)
    }

    /// Discord says the webhook is gone: stop posting to it, drop what was waiting for it, and tell the
    /// user in the app (once per webhook).
    public func disableDiscordWebhook(userID: UUID, reason: String, notification: NotificationIntent) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                UPDATE users SET discord_disabled_at = now(), discord_disabled_reason = \(reason) WHERE id = \(userID)
                """, logger: logger)
            try await connection.query("""
                UPDATE outbox SET status = 'failed', last_error = \(reason), updated_at = now()
                WHERE channel = 'discord' AND user_id = \(userID) AND status = 'pending'
                """, logger: logger)
            try await storeNotifications([notification], on: connection)
        }
    }

    /// Every attempt of one delivery, oldest first.
    public func deliveryAttempts(outboxID: UUID) async throws -> [(attempt: Int, statusCode: Int?, error: String?)] {
        let rows = try await client.query("""
            SELECT attempt, status_code, error FROM delivery_attempts WHERE outbox_id = \(outboxID) ORDER BY attempt
            """, logger: logger)
        var result: [(attempt: Int, statusCode: Int?, error: String?)] = []
        for try await (attempt, code, error) in rows.decode((Int, Int?, String?).self) { result.append((attempt, code, error)) }
        return result
    }
}
