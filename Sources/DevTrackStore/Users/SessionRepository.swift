import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// What a sign-in started with, read back once on GitHub's callback.
public struct OAuthStart: Sendable, Equatable {
    public let browserHash: String
    public let verifierSealed: [UInt8]
    public let linkUserID: UUID?
    public let returnTo: String

    public init(browserHash: String, verifierSealed: [UInt8], linkUserID: UUID?, returnTo: String) {
        self.browserHash = browserHash
        self.verifierSealed = verifierSealed
        self.linkUserID = linkUserID
        self.returnTo = returnTo
    }
}

/// Browser sessions (`sessions`), the OAuth flow's one-time states (`oauth_states`) and one-time sign-in links
/// (`sign_in_links`).
public struct SessionRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension SessionRepository {
    /// Starts a session; returns the cookie's value and the CSRF token (only their hashes are stored).
    public func createSession(userID: UUID, lifetime: Duration) async throws -> (cookie: String, csrf: String) {
        let cookie = Credentials.newToken(prefix: "dts_")
        let csrf = Credentials.newToken(prefix: "")
        try await client.query(
            """
            INSERT INTO sessions (id, user_id, token_hash, csrf_hash, expires_at)
            VALUES (\(UUID()), \(userID), \(Credentials.hash(cookie)), \(Credentials.hash(csrf)),
                    now() + make_interval(secs => \(Double(lifetime.components.seconds))))
            """, logger: logger)
        return (cookie, csrf)
    }

    /// The user of a live session cookie; notes the use at most once a minute.
    public func authenticate(sessionCookie: String) async throws -> Authenticated? {
        let rows = try await client.query(
            """
            SELECT s.id, s.csrf_hash, s.last_used_at < now() - interval '1 minute' OR s.last_used_at IS NULL,
                   u.id, u.login, u.github_id, u.timezone
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = \(Credentials.hash(sessionCookie)) AND s.expires_at > now()
            """, logger: logger)
        var found: (Authenticated, staleSession: UUID?)?
        for try await (sessionID, csrfHash, stale, id, login, githubID, timezone) in rows.decode(
            (UUID, String, Bool, UUID, String, Int64?, String).self)
        {
            found = (
                Authenticated(
                    user: UserRecord(id: id, login: login, githubID: githubID, timezone: timezone),
                    credential: .session(id: sessionID, csrfHash: csrfHash)),
                stale ? sessionID : nil
            )
        }
        guard let (authenticated, stale) = found else { return nil }
        if let stale { try await client.query("UPDATE sessions SET last_used_at = now() WHERE id = \(stale)", logger: logger) }
        return authenticated
    }

    /// Ends the session the cookie names (signing out); a no-op for an unknown cookie.
    public func endSession(cookie: String) async throws {
        try await client.query("DELETE FROM sessions WHERE token_hash = \(Credentials.hash(cookie))", logger: logger)
    }

    public func isLive(id: UUID) async throws -> Bool {
        let rows = try await client.query("SELECT 1 FROM sessions WHERE id = \(id) AND expires_at > now()", logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    /// Records a started sign-in. Expired states and sessions are cleared on the way, so rows made by
    /// unauthenticated visitors never outlive their expiry by more than one sign-in.
    public func startOAuth(stateHash: String, start: OAuthStart, lifetime: Duration) async throws {
        try await database.transaction { transaction in
            try await transaction.connection.query("DELETE FROM oauth_states WHERE expires_at < now()", logger: logger)
            try await transaction.connection.query("DELETE FROM sessions WHERE expires_at < now()", logger: logger)
            try await transaction.connection.query(
                """
                INSERT INTO oauth_states (state_hash, browser_hash, verifier_sealed, link_user_id, return_to, expires_at)
                VALUES (\(stateHash), \(start.browserHash), \(ByteBuffer(bytes: start.verifierSealed)), \(start.linkUserID), \(start.returnTo),
                        now() + make_interval(secs => \(Double(lifetime.components.seconds))))
                """, logger: logger)
        }
    }

    /// Takes a state for its callback: at most once, and only before it expires (nil otherwise).
    public func consumeOAuth(stateHash: String) async throws -> OAuthStart? {
        let rows = try await client.query(
            """
            UPDATE oauth_states SET used_at = now()
            WHERE state_hash = \(stateHash) AND used_at IS NULL AND expires_at > now()
            RETURNING browser_hash, verifier_sealed, link_user_id, return_to
            """, logger: logger)
        for try await (browserHash, verifier, linkUserID, returnTo) in rows.decode((String, ByteBuffer, UUID?, String).self) {
            return OAuthStart(browserHash: browserHash, verifierSealed: Array(buffer: verifier), linkUserID: linkUserID, returnTo: returnTo)
        }
        return nil
    }

    /// A one-time sign-in link's token for `userID` (only its hash is stored). Expired links are cleared on the way.
    public func createSignInLink(userID: UUID, lifetime: Duration) async throws -> String {
        let token = Credentials.newURLSafeToken()
        try await database.transaction { transaction in
            try await transaction.connection.query("DELETE FROM sign_in_links WHERE expires_at < now()", logger: logger)
            try await transaction.connection.query(
                """
                INSERT INTO sign_in_links (token_hash, user_id, expires_at)
                VALUES (\(Credentials.hash(token)), \(userID), now() + make_interval(secs => \(Double(lifetime.components.seconds))))
                """, logger: logger)
        }
        return token
    }

    /// The user a sign-in link is for, taking the link: at most once, and only before it expires (nil otherwise).
    public func consumeSignInLink(token: String) async throws -> UUID? {
        let rows = try await client.query(
            """
            UPDATE sign_in_links SET used_at = now()
            WHERE token_hash = \(Credentials.hash(token)) AND used_at IS NULL AND expires_at > now()
            RETURNING user_id
            """, logger: logger)
        for try await userID in rows.decode(UUID.self) { return userID }
        return nil
    }
}
