import DevTrackCore
import Foundation
import Logging
import PostgresNIO

public struct UserRecord: Sendable, Equatable {
    public let id: UUID
    public let login: String
    public let githubID: Int64?
    public let timezone: String

    public var identity: UserIdentity { UserIdentity(userID: id, login: login, githubID: githubID) }
}

/// Users (`users`): their login, sign-up GitHub id and time zone. Tokens, sessions and linked accounts have
/// their own repositories beside this one.
public struct UserRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension UserRepository {
    public func createUser(login: String, githubID: Int64?, timezone: String) async throws -> UserRecord {
        let id = UUID()
        do {
            try await database.transaction { transaction in
                try await transaction.connection.query(
                    """
                    INSERT INTO users (id, login, github_id, timezone) VALUES (\(id), \(login), \(githubID), \(timezone))
                    """, logger: logger)
                if let githubID {
                    try await GitHubAccountRepository(database).recordKnownAccount(userID: id, githubID: githubID, login: login, on: transaction)
                }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreError.conflict("a user with login \(login) or GitHub id \(githubID.map(String.init) ?? "-")")
        }
        return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
    }

    public func user(login: String) async throws -> UserRecord? {
        try await firstUser(
            client.query(
                "SELECT id, login, github_id, timezone FROM users WHERE lower(login) = lower(\(login))", logger: logger))
    }

    public func user(id: UUID) async throws -> UserRecord? {
        try await firstUser(
            client.query(
                "SELECT id, login, github_id, timezone FROM users WHERE id = \(id)", logger: logger))
    }

    /// Changes the user's zone and re-buckets their daily stats and coding time in it, in one transaction. The row lock
    /// taken by the UPDATE orders this against the metrics worker (which locks users FOR SHARE).
    /// Coding time is recomputed from the stored heartbeats with `codingTimeout` (WakaTime's rule).
    public func updateTimezone(
        userID: UUID, timezone: String, codingTimeout: Double
    ) async throws -> UserRecord? {
        try await database.transaction { transaction -> UserRecord? in
            let rows = try await transaction.connection.query(
                "UPDATE users SET timezone = \(timezone) WHERE id = \(userID) RETURNING id, login, github_id, timezone",
                logger: logger)
            guard let user = try await firstUser(rows) else { return nil }
            try await ActivityRepository(database).rebucketDailyStats(userID: userID, timezone: timezone, on: transaction)
            try await CodingTimeRepository(database).recomputeAllCoding(
                userID: userID, zone: TimeZones.named(timezone) ?? .gmt, timeout: codingTimeout, on: transaction)
            try await LeaderboardRepository(database).markChanged([userID], on: transaction)
            return user
        }
    }

    private func firstUser(_ rows: PostgresRowSequence) async throws -> UserRecord? {
        for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
            return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
        }
        return nil
    }
}
