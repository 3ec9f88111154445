import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A GitHub account linked to a hub user.
public struct GitHubAccountRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        case active
        /// GitHub refused the token: the sync waits until the user signs in with this account again.
        case needsReauth = "needs_reauth"
    }
    public let id: UUID
    public let userID: UUID
    public let githubID: Int64
    public let login: String
    public let scopes: String
    public let status: Status
    public let linkedAt: Date
    /// The account the user signed up with (`users.github_id`): it cannot be unlinked.
    public let isPrimary: Bool
    /// Whether the hub holds a token for it (accounts known only by id, from the CLI, have none).
    public let hasToken: Bool
}

public enum UnlinkOutcome: Sendable, Equatable {
    case unlinked
    case notFound
    case primary
}

/// Linked GitHub accounts (`github_accounts`): signing in, linking, and which user a GitHub identity credits.
public struct GitHubAccountRepository: Repository {
    let database: Database
    static let columns = """
        a.id, a.user_id, a.github_id, a.login, a.scopes, a.status, a.linked_at, a.github_id = u.github_id IS TRUE, a.token_sealed IS NOT NULL
        """

    public init(_ database: Database) { self.database = database }
}

extension GitHubAccountRepository {
    /// The hub user of a GitHub sign-in: the user this GitHub account is linked to, else a new one named after
    /// the GitHub login (or `login-id` when another user holds that login). The account's token is replaced,
    /// its login follows a rename on GitHub, and so does the user's when this is their sign-up account.
    public func signIn(_ profile: GitHubProfile, sealedToken: [UInt8], scopes: String) async throws -> (user: UserRecord, created: Bool) {
        try await database.transaction { transaction in
            let connection = transaction.connection
            var created = false
            var userID = try await linkedUser(githubID: profile.id, on: transaction)
            if userID == nil {
                for login in [profile.login, "\(profile.login)-\(profile.id)"] {
                    let rows = try await connection.query(
                        """
                        INSERT INTO users (id, login, github_id, timezone) VALUES (\(UUID()), \(login), \(profile.id), 'UTC')
                        ON CONFLICT DO NOTHING RETURNING id
                        """, logger: logger)
                    for try await id in rows.decode(UUID.self) { userID = id }
                    if userID != nil { created = true; break }
                    // A concurrent sign-in of the same account won the race, or the login is someone else's.
                    let existing = try await connection.query("SELECT id FROM users WHERE github_id = \(profile.id)", logger: logger)
                    for try await id in existing.decode(UUID.self) { userID = id }
                    if userID != nil { break }
                }
            }
            guard let userID else { throw StoreError.conflict("GitHub account \(profile.id)'s login \(profile.login)") }
            try await upsert(userID: userID, profile, sealedToken: sealedToken, scopes: scopes, on: transaction)
            try await connection.query(
                """
                UPDATE users SET login = \(profile.login)
                WHERE id = \(userID) AND github_id = \(profile.id) AND login <> \(profile.login)
                  AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.login) = lower(\(profile.login)) AND o.id <> \(userID))
                """, logger: logger)
            let rows = try await connection.query("SELECT id, login, github_id, timezone FROM users WHERE id = \(userID)", logger: logger)
            for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
                return (UserRecord(id: id, login: login, githubID: githubID, timezone: timezone), created)
            }
            throw StoreError.notFound("user \(userID)")
        }
    }

    /// Links a further GitHub account to a signed-in user (or refreshes its token when it is theirs already).
    /// - Throws: `StoreError.conflict` when the account belongs to another hub user.
    public func link(userID: UUID, _ profile: GitHubProfile, sealedToken: [UInt8], scopes: String) async throws -> GitHubAccountRecord {
        try await database.transaction { transaction in
            if let owner = try await linkedUser(githubID: profile.id, on: transaction), owner != userID {
                throw StoreError.conflict("GitHub account \(profile.login) is linked to another DevTrack user")
            }
            let other = try await transaction.connection.query(
                "SELECT 1 FROM users WHERE github_id = \(profile.id) AND id <> \(userID)", logger: logger)
            for try await _ in other.decode(Int.self) {
                throw StoreError.conflict("GitHub account \(profile.login) is linked to another DevTrack user")
            }
            try await upsert(userID: userID, profile, sealedToken: sealedToken, scopes: scopes, on: transaction)
            let rows = try await transaction.connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM github_accounts a JOIN users u ON u.id = a.user_id WHERE a.github_id = \(profile.id)
                """, logger: logger)
            guard let account = try await Self.records(rows).first else { throw StoreError.notFound("GitHub account \(profile.id)") }
            return account
        }
    }

    /// Records the account of a user created with a GitHub id by the CLI (no token yet: the user signs in later).
    public func recordKnownAccount(userID: UUID, githubID: Int64, login: String, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query(
            """
            INSERT INTO github_accounts (id, user_id, github_id, login) VALUES (\(UUID()), \(userID), \(githubID), \(login))
            ON CONFLICT (github_id) DO NOTHING
            """, logger: logger)
    }

    public func accounts(userID: UUID) async throws -> [GitHubAccountRecord] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM github_accounts a JOIN users u ON u.id = a.user_id
            WHERE a.user_id = \(userID) ORDER BY a.linked_at, a.id
            """, logger: logger)
        return try await Self.records(rows)
    }

    public func account(userID: UUID, id: UUID) async throws -> GitHubAccountRecord? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM github_accounts a JOIN users u ON u.id = a.user_id
            WHERE a.user_id = \(userID) AND a.id = \(id)
            """, logger: logger)
        return try await Self.records(rows).first
    }

    /// Unlinks an account the user linked after signing up. Facts already counted stay counted; activity of
    /// that GitHub identity arriving afterwards no longer credits the user.
    public func unlink(userID: UUID, id: UUID) async throws -> UnlinkOutcome {
        guard let account = try await account(userID: userID, id: id) else { return .notFound }
        if account.isPrimary { return .primary }
        try await client.query("DELETE FROM github_accounts WHERE id = \(id) AND user_id = \(userID)", logger: logger)
        return .unlinked
    }

    /// GitHub refused this account's token: it waits for the user to sign in with it again.
    public func markNeedsReauth(id: UUID) async throws {
        try await client.query(
            "UPDATE github_accounts SET status = 'needs_reauth', updated_at = now() WHERE id = \(id)", logger: logger)
    }

    /// The sealed token of an active account (nil when there is none or GitHub refused it).
    public func sealedToken(accountID: UUID) async throws -> [UInt8]? {
        let rows = try await client.query(
            "SELECT token_sealed FROM github_accounts WHERE id = \(accountID) AND status = 'active' AND token_sealed IS NOT NULL",
            logger: logger)
        for try await token in rows.decode(ByteBuffer.self) { return Array(buffer: token) }
        return nil
    }

    /// The identities of users matching any of these GitHub ids or logins: each user's sign-up identity
    /// and every account linked to them (a user with two linked accounts appears under both).
    public func identities(githubIDs: [Int64], logins: [String]) async throws -> [UserIdentity] {
        let lowered = logins.map { $0.lowercased() }
        return try await Self.identities(
            client.query(
                """
                SELECT id, login, github_id FROM users WHERE github_id = ANY(\(githubIDs)) OR lower(login) = ANY(\(lowered))
                UNION
                SELECT user_id, login, github_id FROM github_accounts WHERE github_id = ANY(\(githubIDs)) OR lower(login) = ANY(\(lowered))
                """, logger: logger))
    }

    /// Every identity of these users (for the sources they own: only their own activity counts there).
    public func identities(ofUsers userIDs: [UUID]) async throws -> [UUID: [UserIdentity]] {
        guard !userIDs.isEmpty else { return [:] }
        let found = try await Self.identities(
            client.query(
                """
                SELECT id, login, github_id FROM users WHERE id = ANY(\(userIDs))
                UNION
                SELECT user_id, login, github_id FROM github_accounts WHERE user_id = ANY(\(userIDs))
                """, logger: logger))
        return Dictionary(grouping: found, by: \.userID)
    }

    private func linkedUser(githubID: Int64, on transaction: DatabaseTransaction) async throws -> UUID? {
        let rows = try await transaction.connection.query(
            """
            SELECT user_id FROM github_accounts WHERE github_id = \(githubID)
            UNION ALL SELECT id FROM users WHERE github_id = \(githubID)
            LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    private func upsert(
        userID: UUID, _ profile: GitHubProfile, sealedToken: [UInt8], scopes: String, on transaction: DatabaseTransaction
    ) async throws {
        let rows = try await transaction.connection.query(
            """
            INSERT INTO github_accounts (id, user_id, github_id, login, token_sealed, scopes)
            VALUES (\(UUID()), \(userID), \(profile.id), \(profile.login), \(ByteBuffer(bytes: sealedToken)), \(scopes))
            ON CONFLICT (github_id) DO UPDATE
            SET login = EXCLUDED.login, token_sealed = EXCLUDED.token_sealed, scopes = EXCLUDED.scopes, status = 'active', updated_at = now()
            RETURNING id
            """, logger: logger)
        // A new token: the sync runs for it now (the first backfill, or again after GitHub refused the old one).
        var accountIDs: [UUID] = []
        for try await accountID in rows.decode(UUID.self) { accountIDs.append(accountID) }
        for accountID in accountIDs { try await GitHubSyncRepository(database).scheduleNow(accountID: accountID, on: transaction) }
    }

    static func records(_ rows: PostgresRowSequence) async throws -> [GitHubAccountRecord] {
        var accounts: [GitHubAccountRecord] = []
        for try await (id, userID, githubID, login, scopes, status, linkedAt, isPrimary, hasToken) in rows.decode(
            (UUID, UUID, Int64, String, String, String, Date, Bool, Bool).self)
        {
            accounts.append(
                GitHubAccountRecord(
                    id: id, userID: userID, githubID: githubID, login: login, scopes: scopes,
                    status: GitHubAccountRecord.Status(rawValue: status) ?? .needsReauth, linkedAt: linkedAt, isPrimary: isPrimary,
                    hasToken: hasToken))
        }
        return accounts
    }

    static func identities(_ rows: PostgresRowSequence) async throws -> [UserIdentity] {
        var identities: [UserIdentity] = []
        for try await (id, login, githubID) in rows.decode((UUID, String, Int64?).self) {
            identities.append(UserIdentity(userID: id, login: login, githubID: githubID))
        }
        return identities
    }
}
