import DevTrackCore
import Foundation
import Logging
import PostgresNIO

// The outbox's upkeep, apart from the delivery path: retention, account deletion, and the backlog operators watch.
extension OutboxRepository {
    /// Retention: removes up to `limit` finished deliveries (delivered, failed or dropped) created before `cutoff`,
    /// with their attempts (no foreign key ties them, migration 016: in one statement); pending ones are never
    /// removed. Returns how many.
    public func deleteFinishedDeliveries(before cutoff: Date, limit: Int = 1000) async throws -> Int {
        try await rowCount(
            """
            WITH gone AS (
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox WHERE status <> 'pending' AND created_at < \(cutoff) ORDER BY created_at LIMIT \(limit))
                RETURNING id
            ), attempts AS (
                DELETE FROM delivery_attempts WHERE outbox_id IN (SELECT id FROM gone)
            )
            SELECT 1 FROM gone
            """)
    }

    /// Every delivery of a user, pending or not, with its attempts (their account is being deleted: neither table has a
    /// foreign key). A deliverer holding one of them finds it gone when it records the attempt, which then changes nothing.
    func deleteAll(userID: UUID, on transaction: DatabaseTransaction) async throws -> Int {
        try await rowCount(
            """
            WITH gone AS (
                DELETE FROM outbox WHERE user_id = \(userID) RETURNING id
            ), attempts AS (
                DELETE FROM delivery_attempts WHERE outbox_id IN (SELECT id FROM gone)
            )
            SELECT 1 FROM gone
            """, on: transaction)
    }

    /// Every delivery to one of a user's webhook endpoints, with its attempts (the endpoint is being deleted).
    func deleteAll(userID: UUID, webhookEndpoint id: UUID, on transaction: DatabaseTransaction) async throws {
        _ = try await rowCount(
            """
            WITH gone AS (
                DELETE FROM outbox WHERE channel = 'webhook' AND destination = \(id.uuidString.lowercased()) AND user_id = \(userID) RETURNING id
            ), attempts AS (
                DELETE FROM delivery_attempts WHERE outbox_id IN (SELECT id FROM gone)
            )
            SELECT 1 FROM gone
            """, on: transaction)
    }

    /// Per channel: pending deliveries, and how long the oldest due one has waited (0 when none is due). Both from the
    /// partial index of pending rows.
    public func backlog() async throws -> [String: (pending: Int, oldestDueSeconds: Double)] {
        let rows = try await client.query(
            """
            SELECT channel, count(*)::bigint,
                   coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())), 0)::float8
            FROM outbox WHERE status = 'pending' GROUP BY channel
            """, logger: logger)
        var backlog: [String: (pending: Int, oldestDueSeconds: Double)] = [:]
        for try await (channel, pending, oldest) in rows.decode((String, Int, Double).self) { backlog[channel] = (pending, oldest) }
        return backlog
    }
}
