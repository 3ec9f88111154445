import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// Live events for open web clients: PostgreSQL notifications on `LiveEvent.channel`, sent when the
/// transaction that announces them commits (no table).
public struct LiveEventRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension LiveEventRepository {
    /// Announces events on `LiveEvent.channel` in the caller's transaction: listeners hear them when (and
    /// only if) it commits.
    public func announce(_ events: [LiveEvent], on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !events.isEmpty else { return }
        try await connection.query(
            "SELECT pg_notify(\(LiveEvent.channel), p) FROM unnest(\(events.map(\.payload))) AS p", logger: logger)
    }
}
