import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// Applies the numbered SQL files of `schema/` (`001_name.sql`, ...) in order, each in its own
/// transaction, under a PostgreSQL advisory lock so that concurrent `devtrack migrate` runs are safe.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadableDirectory(String)
        case badFileName(String)
        case duplicateVersion(Int)
        case schemaBehind(applied: Int, required: Int)

        public var description: String {
            switch self {
            case .unreadableDirectory(let path): "cannot read migrations in \(path)"
            case .badFileName(let name): "migration file \(name) must be named NNN_description.sql"
            case .duplicateVersion(let version): "two migrations share version \(version)"
            case .schemaBehind(let applied, let required):
                "database schema is at version \(applied) but this build needs \(required): run `devtrack migrate`"
            }
        }
    }

    /// An arbitrary, fixed key for `pg_advisory_lock`.
    static let lockKey: Int64 = 0x64_65_76_74_72_61_63_6b

    public let migrations: [Migration]

    public init(directory: String) throws(Failure) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw .unreadableDirectory(directory)
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let versionText = name.split(separator: "_").first, let version = Int(versionText) else {
                throw .badFileName(name)
            }
            guard let sql = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else {
                throw .unreadableDirectory("\(directory)/\(name)")
            }
            if migrations.contains(where: { $0.version == version }) { throw .duplicateVersion(version) }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies what is missing; returns the names applied now (empty when up to date).
    @discardableResult
    public func migrate(_ database: Database, logger: Logger) async throws -> [String] {
        try await database.client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let applied = try await Self.ensureTable(connection, logger: logger)
                var names: [String] = []
                for migration in migrations where !applied.contains(migration.version) {
                    logger.info("applying migration \(migration.name)")
                    try await connection.withTransaction(logger: logger) { connection in
                        for statement in SQLScript.statements(migration.sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                    }
                    names.append(migration.name)
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return names
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The newest migration the database has (0 for a database never migrated).
    public func appliedVersion(_ database: Database, logger: Logger) async throws -> Int {
        try await database.client.withConnection { try await Self.ensureTable($0, logger: logger) }.max() ?? 0
    }

    /// Refuses to run against a database whose schema is older than this build.
    public func requireCurrent(_ database: Database, logger: Logger) async throws {
        let applied = try await database.client.withConnection { try await Self.ensureTable($0, logger: logger) }
        let current = applied.max() ?? 0
        if current < latestVersion { throw Failure.schemaBehind(applied: current, required: latestVersion) }
    }

    private static func ensureTable(_ connection: PostgresConnection, logger: Logger) async throws -> Set<Int> {
        _ = try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var versions: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            versions.insert(version)
        }
        return versions
    }
}
