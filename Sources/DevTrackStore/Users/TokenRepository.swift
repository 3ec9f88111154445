import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// An API token as its owner sees it in `GET /api/v1/tokens` (never the secret, which is shown once).
public struct TokenRecord: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let expiresAt: Date?
}

/// A user a credential proved, and which credential it was (the stream re-checks it while it stays open).
public struct Authenticated: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        case token(id: UUID)
        /// A browser session; `csrfHash` is what a state-changing request's `X-CSRF-Token` must hash to.
        case session(id: UUID, csrfHash: String)
    }
    public let user: UserRecord
    public let credential: Credential
}

/// Bearer tokens (`api_tokens`): made by users (or the CLI), listed, revoked, and checked on every request.
public struct TokenRepository: Repository {
    let database: Database
    /// `last_used_at` is written at most this often per token, so reads do not become a write each.
    static let lastUsedGranularity: Double = 60

    public init(_ database: Database) { self.database = database }
}

extension TokenRepository {
    /// Creates a token and returns its record and the secret; only the secret's hash is stored.
    /// `limit` bounds the user's tokens that are neither revoked nor expired: beyond it, `StoreError.conflict`.
    public func createToken(userID: UUID, name: String, expiresAt: Date? = nil, limit: Int = .max) async throws -> (TokenRecord, String) {
        let token = Credentials.newToken(prefix: "dtk_")
        let id = UUID()
        let rows = try await client.query(
            """
            WITH live AS (
                SELECT count(*) AS n FROM api_tokens
                WHERE user_id = \(userID) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            )
            INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
            SELECT \(id), \(userID), \(Credentials.hash(token)), \(name), \(expiresAt) FROM live WHERE live.n < \(Int64(min(limit, Int(Int32.max))))
            RETURNING created_at
            """, logger: logger)
        for try await createdAt in rows.decode(Date.self) {
            return (TokenRecord(id: id, name: name, createdAt: createdAt, lastUsedAt: nil, expiresAt: expiresAt), token)
        }
        throw StoreError.conflict("\(limit) active tokens (revoke one first)")
    }

    /// The user's tokens that are not revoked (expired ones included, with their expiry), newest first.
    public func tokens(userID: UUID) async throws -> [TokenRecord] {
        let rows = try await client.query(
            """
            SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens
            WHERE user_id = \(userID) AND revoked_at IS NULL ORDER BY created_at DESC, id
            """, logger: logger)
        var tokens: [TokenRecord] = []
        for try await (id, name, createdAt, lastUsedAt, expiresAt) in rows.decode((UUID, String, Date, Date?, Date?).self) {
            tokens.append(TokenRecord(id: id, name: name, createdAt: createdAt, lastUsedAt: lastUsedAt, expiresAt: expiresAt))
        }
        return tokens
    }

    /// Revokes one of the user's tokens; false when they have no such live token.
    public func revoke(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL RETURNING id",
            logger: logger)
        for try await _ in rows.decode(UUID.self) { return true }
        return false
    }

    /// The user of a token that is neither revoked nor expired. Notes the use when the last note is older
    /// than a minute (one write per token and minute, not per request).
    public func authenticate(bearerToken: String) async throws -> Authenticated? {
        let rows = try await client.query(
            """
            SELECT t.id, t.last_used_at < now() - make_interval(secs => \(Self.lastUsedGranularity)) OR t.last_used_at IS NULL,
                   u.id, u.login, u.github_id, u.timezone
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(Credentials.hash(bearerToken)) AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
            """, logger: logger)
        var found: (Authenticated, stale: Bool)?
        for try await (tokenID, stale, id, login, githubID, timezone) in rows.decode((UUID, Bool, UUID, String, Int64?, String).self) {
            found = (
                Authenticated(user: UserRecord(id: id, login: login, githubID: githubID, timezone: timezone), credential: .token(id: tokenID)), stale
            )
        }
        guard let (authenticated, stale) = found else { return nil }
        if stale, case .token(let tokenID) = authenticated.credential {
            try await client.query("UPDATE api_tokens SET last_used_at = now() WHERE id = \(tokenID)", logger: logger)
        }
        return authenticated
    }

    /// Whether a token still authenticates (an open stream asks every few seconds).
    public func isLive(id: UUID) async throws -> Bool {
        let rows = try await client.query(
            "SELECT 1 FROM api_tokens WHERE id = \(id) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
            logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }
}
