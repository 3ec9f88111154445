import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A coding API key as listed to its owner (never the key itself).
public struct CodingKeyRecord: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let hint: String
    public let createdAt: Date
    public let lastUsedAt: Date?
}

/// The keys editor plugins send heartbeats with (`coding_api_keys`).
public struct CodingKeyRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension CodingKeyRepository {
    /// Creates a key (a random UUID v4, the only shape the wakatime CLI sends) and returns it with its record;
    /// only the key's hash is stored.
    public func createCodingKey(userID: UUID, name: String) async throws -> (record: CodingKeyRecord, key: String) {
        let key = UUID().uuidString.lowercased()
        let id = UUID()
        let hint = "…" + key.suffix(4)
        let rows = try await client.query(
            """
            INSERT INTO coding_api_keys (id, user_id, name, key_hash, hint) VALUES (\(id), \(userID), \(name), \(Credentials.hash(key)), \(hint))
            RETURNING created_at
            """, logger: logger)
        for try await createdAt in rows.decode(Date.self) {
            return (CodingKeyRecord(id: id, name: name, hint: hint, createdAt: createdAt, lastUsedAt: nil), key)
        }
        throw StoreError.notFound("the inserted key")
    }

    public func codingKeys(userID: UUID) async throws -> [CodingKeyRecord] {
        let rows = try await client.query(
            """
            SELECT id, name, hint, created_at, last_used_at FROM coding_api_keys
            WHERE user_id = \(userID) AND revoked_at IS NULL ORDER BY created_at
            """, logger: logger)
        var keys: [CodingKeyRecord] = []
        for try await (id, name, hint, createdAt, lastUsedAt) in rows.decode((UUID, String, String, Date, Date?).self) {
            keys.append(CodingKeyRecord(id: id, name: name, hint: hint, createdAt: createdAt, lastUsedAt: lastUsedAt))
        }
        return keys
    }

    /// Revokes one of the user's keys; false when the user has no such (unrevoked) key.
    public func revokeCodingKey(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE coding_api_keys SET revoked_at = now() WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The user a key belongs to (`waka_` prefix accepted), nil for unknown or revoked keys. Marks the key
    /// used, at most once a minute.
    public func user(codingKey: String) async throws -> UserRecord? {
        let key = codingKey.hasPrefix("waka_") ? String(codingKey.dropFirst(5)) : codingKey
        let rows = try await client.query(
            """
            WITH hit AS (
                SELECT id, user_id, last_used_at FROM coding_api_keys WHERE key_hash = \(Credentials.hash(key.lowercased())) AND revoked_at IS NULL
            ), touched AS (
                UPDATE coding_api_keys k SET last_used_at = now() FROM hit
                WHERE k.id = hit.id AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute')
            )
            SELECT u.id, u.login, u.github_id, u.timezone FROM hit JOIN users u ON u.id = hit.user_id
            """, logger: logger)
        for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
            return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
        }
        return nil
    }
}
