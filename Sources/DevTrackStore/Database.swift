import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// The hub's PostgreSQL: a pool of connections (whose `run()` the owning role's `ServiceGroup` drives) and
/// the unit of work. Only repositories of this module run SQL; everyone else asks a repository, and work that
/// must be all or nothing passes one `DatabaseTransaction` from repository to repository.
public struct Database: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. What `body` threw
    /// comes out as it was (not wrapped), once the rollback went through.
    public func transaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (DatabaseTransaction) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await client.withTransaction(logger: logger, isolation: isolation) {
                try await body(DatabaseTransaction(connection: $0))
            }
        } catch let error as PostgresTransactionError {
            if let thrown = error.closureError, error.rollbackError == nil { throw thrown }
            throw error
        }
    }

    /// True when PostgreSQL answers a trivial query.
    public func isReachable() async -> Bool {
        (try? await client.query("SELECT 1", logger: logger)) != nil
    }

    /// Listens on `channel` on one connection, for as long as `body` consumes the notifications.
    public func listen(
        on channel: String, _ body: (PostgresNotificationSequence) async throws -> Void
    ) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: channel, consume: body)
        }
    }

    /// Creates the database `name` on this server unless it exists (what `devtrack dev` runs against).
    public func createDatabaseIfMissing(_ name: String) async throws {
        let rows = try await client.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger)
        for try await _ in rows { return }
        try await client.query("CREATE DATABASE \(unescaped: "\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"")", logger: logger)
    }
}

/// One open transaction, handed from repository to repository so that what they write commits together.
public struct DatabaseTransaction: Sendable {
    let connection: PostgresConnection
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case conflict(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .conflict(let what): "already exists: \(what)"
        case .notFound(let what): "not found: \(what)"
        }
    }
}

/// Every repository reads through its `Database`; these spare each of them the same two lines.
extension Database {
    /// This process's connections by state, as PostgreSQL sees them (for the ops listener's pool figures).
    public func connectionStates() async throws -> [String: Int] {
        var states: [String: Int] = [:]
        let rows = try await client.query(
            """
            SELECT coalesce(state, 'unknown'), count(*)::bigint FROM pg_stat_activity
            WHERE application_name = \(DatabaseURL.applicationName) GROUP BY 1
            """, logger: logger)
        for try await (state, count) in rows.decode((String, Int).self) { states[state] = count }
        return states
    }
}

protocol Repository: Sendable {
    var database: Database { get }
}

extension Repository {
    var client: PostgresClient { database.client }
    var logger: Logger { database.logger }

    /// Runs a statement that returns one row per row it touched (`… RETURNING 1`), and counts them.
    func rowCount(_ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(query, logger: logger) { count += 1 }
        return count
    }

    /// The same, inside the caller's transaction.
    func rowCount(_ query: PostgresQuery, on transaction: DatabaseTransaction) async throws -> Int {
        var count = 0
        for try await _ in try await transaction.connection.query(query, logger: logger) { count += 1 }
        return count
    }
}

// MARK: - LocalDate as PostgreSQL's `date`

/// `date` travels as days since 2000-01-01 (Int32). Values beyond what `LocalDate` prints (PostgreSQL's
/// `infinity`, years past 9999) read as the nearest of 0001-01-01 and 9999-12-31, so a stored value never
/// fails a read.
extension LocalDate: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable,
    PostgresArrayEncodable, PostgresDecodable, PostgresArrayDecodable
{
    static let postgresEpoch = 10_957  // 2000-01-01 in days since 1970-01-01
    public static let earliest = LocalDate(year: 1, month: 1, day: 1)!
    public static let latest = LocalDate(year: 9999, month: 12, day: 31)!

    public static var psqlType: PostgresDataType { .date }
    public static var psqlFormat: PostgresFormat { .binary }
    public static var psqlArrayType: PostgresDataType { .dateArray }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(Int32(clamping: daysSinceEpoch - Self.postgresEpoch))
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        switch (type, format) {
        case (.date, .binary):
            guard buffer.readableBytes == 4, let days = buffer.readInteger(as: Int32.self) else { throw PostgresDecodingError.Code.failure }
            let date = LocalDate(daysSinceEpoch: Int(days) + Self.postgresEpoch)
            self = min(max(date, Self.earliest), Self.latest)
        case (.date, .text), (.text, _), (.varchar, _):
            guard let date = LocalDate(buffer.readString(length: buffer.readableBytes) ?? "") else {
                throw PostgresDecodingError.Code.failure
            }
            self = date
        default:
            throw PostgresDecodingError.Code.typeMismatch
        }
    }
}
