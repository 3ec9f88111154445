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

/// Users and their API tokens (`users`, `api_tokens`).
public struct UserRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension UserRepository {
    public func createUser(login: String, githubID: Int64?, timezone: String) async throws -> UserRecord {
        let id = UUID()
        do {
            try await client.query(
                """
                INSERT INTO users (id, login, github_id, timezone) VALUES (\(id), \(login), \(githubID), \(timezone))
                """, logger: logger)
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

    /// The user a bearer token belongs to, unless the token is unknown or revoked.
    public func user(bearerToken: String) async throws -> UserRecord? {
        let hash = Credentials.hash(bearerToken)
        return try await firstUser(
            client.query(
                """
                SELECT u.id, u.login, u.github_id, u.timezone FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = \(hash) AND t.revoked_at IS NULL
                """, logger: logger))
    }

    /// Creates a token and returns it; only its hash is stored.
    public func createToken(userID: UUID, name: String = "") async throws -> String {
        let token = Credentials.newToken(prefix: "dtk_")
        try await client.query(
            """
            INSERT INTO api_tokens (id, user_id, token_hash, name) VALUES (\(UUID()), \(userID), \(Credentials.hash(token)), \(name))
            """, logger: logger)
        return token
    }

    /// Changes the user's zone and re-buckets their daily stats and coding time in it, in one transaction. The row lock
    /// taken by the UPDATE orders this against the metrics worker (which locks users FOR SHARE).
    /// Coding time is recomputed from the stored heartbeats with `codingTimeout` (WakaTime's rule).
    public func updateTimezone(
        userID: UUID, timezone: String, codingTimeout: Double = CodingDurations.defaultTimeout
    ) async throws -> UserRecord? {
        try await database.transaction { transaction -> UserRecord? in
            let rows = try await transaction.connection.query(
                "UPDATE users SET timezone = \(timezone) WHERE id = \(userID) RETURNING id, login, github_id, timezone",
                logger: logger)
            guard let user = try await firstUser(rows) else { return nil }
            try await ActivityRepository(database).rebucketDailyStats(userID: userID, timezone: timezone, on: transaction)
            try await CodingTimeRepository(database).recomputeAllCoding(
                userID: userID, zone: TimeZones.named(timezone) ?? .gmt, timeout: codingTimeout, on: transaction)
            return user
        }
    }

    /// GitHub identities of the users matching any of these ids or logins.
    public func identities(githubIDs: [Int64], logins: [String]) async throws -> [UserIdentity] {
        let lowered = logins.map { $0.lowercased() }
        let rows = try await client.query(
            """
            SELECT id, login, github_id FROM users WHERE github_id = ANY(\(githubIDs)) OR lower(login) = ANY(\(lowered))
            """, logger: logger)
        var identities: [UserIdentity] = []
        for try await (id, login, githubID) in rows.decode((UUID, String, Int64?).self) {
            identities.append(UserIdentity(userID: id, login: login, githubID: githubID))
        }
        return identities
    }

    private func firstUser(_ rows: PostgresRowSequence) async throws -> UserRecord? {
        for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
            return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
        }
        return nil
    }
}
