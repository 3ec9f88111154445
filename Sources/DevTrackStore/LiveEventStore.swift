import DevTrackCore
import Foundation
import Logging
import PostgresNIO

extension HubStore {
    /// Announces events on `LiveEvent.channel` in the caller's transaction: listeners hear them when (and
    /// only if) it commits.
    public func announce(_ events: [LiveEvent], on connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        try await connection.query(
            "SELECT pg_notify(\(LiveEvent.channel), p) FROM unnest(\(events.map(\.payload))) AS p", logger: logger)
    }

    /// `metrics.updated` for users with new facts, in the caller's transaction: announced to their open web
    /// clients, and queued for their endpoints subscribed to it. Facts are new only once, so each occurrence
    /// is queued once (a fresh dedupe key each time).
    func announceMetricsUpdated(_ newFactsByUser: [UUID: Int], on connection: PostgresConnection) async throws {
        guard !newFactsByUser.isEmpty else { return }
        let users = Array(newFactsByUser.keys)
        let now = Date()
        let live = users.map { LiveEvent.metricsUpdated(userID: $0, newFacts: newFactsByUser[$0]!).payload }
        let envelopes = users.map { WebhookEnvelope.metricsUpdated(userID: $0, newFacts: newFactsByUser[$0]!, at: now).json() }
        try await connection.query(
            """
            WITH updated AS (
                SELECT * FROM unnest(\(users), \(live), \(envelopes)) AS t(user_id, live, envelope)
            ), queued AS (
                INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
                SELECT gen_random_uuid(), e.user_id, 'webhook', e.id::text, 'metrics.updated:' || gen_random_uuid()::text,
                       'metrics.updated', u.envelope::jsonb
                FROM updated u JOIN webhook_endpoints e ON e.user_id = u.user_id
                WHERE e.enabled AND 'metrics.updated' = ANY(e.events)
            )
            SELECT pg_notify(\(LiveEvent.channel), live) FROM updated
            """, logger: logger)
    }
}
