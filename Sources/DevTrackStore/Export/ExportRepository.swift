import DevTrackCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A user's data export as the API shows it: the row count of each section when it was made, in `ExportSections`'
/// order.
public struct ExportRecord: Sendable, Equatable {
    public let id: UUID
    public let createdAt: Date
    public let expiresAt: Date
    public let rows: [(section: String, count: Int)]

    public static func == (left: ExportRecord, right: ExportRecord) -> Bool {
        left.id == right.id && left.createdAt == right.createdAt && left.expiresAt == right.expiresAt
            && left.rows.map(\.section) == right.rows.map(\.section) && left.rows.map(\.count) == right.rows.map(\.count)
    }
}

/// Data exports (`data_exports`), and the one reader of every table a user has rows in: an export's download is
/// written from a single read-only snapshot, row by row as PostgreSQL sends them, in chunks of about 64 KB — a user with
/// millions of heartbeats costs no more memory than one with ten.
public struct ExportRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }

    /// About how many bytes of lines are handed on at once.
    static let chunkBytes = 64 * 1024
}

extension ExportRepository {
    /// What asking for an export gave: the export, or the time the user's oldest live export expires (they have `limit`).
    public enum Creation: Sendable {
        case created(ExportRecord)
        case limitReached(nextAt: Date)
    }

    /// Counts each section's rows and records the export, unless the user already has `limit` exports that have not
    /// expired (expired ones are deleted here). Nil when there is no such user.
    public func createExport(userID: UUID, lifetime: Duration, limit: Int) async throws -> Creation? {
        try await database.transaction { transaction -> Creation? in
            let connection = transaction.connection
            // One export at a time per user is made here (the row lock), so the limit holds under concurrent requests.
            var found = false
            for try await _ in try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger) { found = true }
            guard found else { return nil }
            try await connection.query("DELETE FROM data_exports WHERE user_id = \(userID) AND expires_at <= now()", logger: logger)
            var live: [Date] = []
            for try await expiry in try await connection.query(
                "SELECT expires_at FROM data_exports WHERE user_id = \(userID) ORDER BY expires_at", logger: logger
            ).decode(Date.self) { live.append(expiry) }
            if live.count >= limit, let next = live.first { return .limitReached(nextAt: next) }
            var rows: [(section: String, count: Int)] = []
            for section in ExportSections.all {
                var bindings = PostgresBindings()
                bindings.append(userID)
                let query = PostgresQuery(unsafeSQL: "SELECT count(*) FROM (\(section.rows)) t", binds: bindings)
                for try await count in try await connection.query(query, logger: logger).decode(Int.self) { rows.append((section.name, count)) }
            }
            let id = UUID()
            let counts = String(
                decoding: try JSONEncoder().encode(Dictionary(uniqueKeysWithValues: rows.map { ($0.section, $0.count) })), as: UTF8.self)
            let created = try await connection.query(
                """
                INSERT INTO data_exports (id, user_id, expires_at, rows)
                VALUES (\(id), \(userID), now() + make_interval(secs => \(Double(lifetime.components.seconds))), \(counts)::jsonb)
                RETURNING created_at, expires_at
                """, logger: logger)
            for try await (createdAt, expiresAt) in created.decode((Date, Date).self) {
                return .created(ExportRecord(id: id, createdAt: createdAt, expiresAt: expiresAt, rows: rows))
            }
            return nil
        }
    }

    /// The user's export, if it exists and has not expired.
    public func export(userID: UUID, id: UUID) async throws -> ExportRecord? {
        let rows = try await client.query(
            """
            SELECT created_at, expires_at, rows::text FROM data_exports WHERE id = \(id) AND user_id = \(userID) AND expires_at > now()
            """, logger: logger)
        for try await (createdAt, expiresAt, counts) in rows.decode((Date, Date, String).self) {
            let stored = (try? JSONDecoder().decode([String: Int].self, from: Data(counts.utf8))) ?? [:]
            return ExportRecord(
                id: id, createdAt: createdAt, expiresAt: expiresAt, rows: ExportSections.all.map { ($0.name, stored[$0.name] ?? 0) })
        }
        return nil
    }

    /// Writes every section's rows as NDJSON lines (`{"section": …, "data": {…}}`) to `write`, from one repeatable-read
    /// snapshot, and notes the download; returns how many rows each section had.
    public func writeRows(
        of exportID: UUID, userID: UUID, to write: (ByteBuffer) async throws -> Void
    ) async throws -> [(section: String, count: Int)] {
        try await client.query("UPDATE data_exports SET downloads = downloads + 1 WHERE id = \(exportID)", logger: logger)
        return try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                // Timestamps in UTC, whatever the server's zone.
                try await connection.query("SET LOCAL TimeZone = 'UTC'", logger: logger)
                var counts: [(section: String, count: Int)] = []
                var buffer = ByteBuffer()
                buffer.reserveCapacity(Self.chunkBytes + 4096)
                for section in ExportSections.all {
                    var bindings = PostgresBindings()
                    bindings.append(userID)
                    // The section's name is one of ours (a constant), never input.
                    let query = PostgresQuery(
                        unsafeSQL: "SELECT json_build_object('section', '\(section.name)', 'data', row_to_json(t))::text FROM (\(section.rows)) t",
                        binds: bindings)
                    var count = 0
                    for try await line in try await connection.query(query, logger: logger).decode(String.self) {
                        buffer.writeString(line)
                        buffer.writeInteger(UInt8(ascii: "\n"))
                        count += 1
                        if buffer.readableBytes >= Self.chunkBytes {
                            try await write(buffer)
                            buffer.clear()
                        }
                    }
                    counts.append((section.name, count))
                }
                if buffer.readableBytes > 0 { try await write(buffer) }
                try await connection.query("COMMIT", logger: logger)
                return counts
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
