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
}
