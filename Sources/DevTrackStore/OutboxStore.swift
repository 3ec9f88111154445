import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A Discord delivery a deliverer has claimed: leased to it until `lease` runs out (then another
/// deliverer may take it again, so a crash mid-send means a retry, never a loss).
public struct ClaimedDiscordDelivery: Sendable {
    public let id: UUID
    public let userID: UUID
    public let eventType: String
    public let payload: String
    /// This attempt's number (1 for the first).
    public let attempt: Int
    /// Failures so far that count towards the limit.
    public let failures: Int
    public let sealedWebhookURL: [UInt8]?
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
    /// Claims up to `limit` due Discord deliveries, at most one per user and none for users in `busy`
    /// (a destination gets one request at a time), oldest first; rows other deliverers hold are skipped.
    public func claimDiscordDeliveries(excluding busy: [UUID], limit: Int, lease: Duration) async throws -> [ClaimedDiscordDelivery] {
        guard limit > 0 else { return [] }
        return try await client.withTransaction(logger: logger) { connection in
            let due = try await connection.query("""
                SELECT id, user_id FROM outbox
                WHERE channel = 'discord' AND status = 'pending' AND next_attempt_at <= now() AND NOT (user_id = ANY(\(busy)))
                ORDER BY next_attempt_at, created_at LIMIT \(limit * 4)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var chosen: [UUID] = []
            var users: Set<UUID> = []
            for try await (id, userID) in due.decode((UUID, UUID).self) where chosen.count < limit && users.insert(userID).inserted {
                chosen.append(id)
            }
            guard !chosen.isEmpty else { return [] }
            let seconds = Double(lease.components.seconds)
            let rows = try await connection.query("""
                UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => \(seconds)), updated_at = now()
                FROM users u WHERE o.id = ANY(\(chosen)) AND u.id = o.user_id
                RETURNING o.id, o.user_id, o.event_type, o.payload::text, o.attempts, o.failures, u.discord_webhook_sealed
                """, logger: logger)
            var claimed: [ClaimedDiscordDelivery] = []
            for try await (id, userID, type, payload, attempts, failures, sealed) in rows.decode((UUID, UUID, String, String, Int, Int, ByteBuffer?).self) {
                claimed.append(ClaimedDiscordDelivery(
                    id: id, userID: userID, eventType: type, payload: payload, attempt: attempts, failures: failures,
                    sealedWebhookURL: sealed.map { Array($0.readableBytesView) }))
            }
            return claimed
        }
    }

    /// Records an attempt and its outcome in one transaction.
    public func recordDeliveryAttempt(
        _ delivery: ClaimedDiscordDelivery, outcome: AttemptOutcome, statusCode: Int?, latency: Duration, error: String?
    ) async throws {
        let milliseconds = Int(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000)
        let (status, nextAttempt, counts): (String, Date?, Bool) = switch outcome {
        case .delivered: ("delivered", nil, false)
        case .retry(let at, let counts): ("pending", at, counts)
        case .failed: ("failed", nil, true)
        }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                INSERT INTO delivery_attempts (outbox_id, attempt, status_code, latency_ms, error)
                VALUES (\(delivery.id), \(delivery.attempt), \(statusCode), \(milliseconds), \(error))
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query("""
                UPDATE outbox SET status = \(status), next_attempt_at = coalesce(\(nextAttempt), next_attempt_at),
                    failures = failures + CASE WHEN \(counts) AND \(status) <> 'delivered' THEN 1 ELSE 0 END,
                    last_error = \(error), updated_at = now()
                WHERE id = \(delivery.id)
                """, logger: logger)
        }
    }

    /// Holds back the user's pending Discord deliveries until `until` (a rate limit on their webhook).
    public func postponeDiscordDeliveries(userID: UUID, until: Date) async throws {
        try await client.query("""
            UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, \(until)), updated_at = now()
            WHERE channel = 'discord' AND user_id = \(userID) AND status = 'pending'
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
