import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// An in-app notification as the API lists it.
public struct NotificationRecord: Sendable, Equatable {
    public let id: UUID
    public let type: String
    public let title: String
    public let body: String
    public let data: [String: String]
    public let createdAt: Date
    public let readAt: Date?
}

/// Where a page of notifications ends: the next page starts after this (created_at, id). Kept in whole
/// microseconds, PostgreSQL's precision, so the comparison is exact.
public struct NotificationCursor: Sendable, Equatable {
    public let microseconds: Int64
    public let id: UUID

    public init(createdAt: Date, id: UUID) {
        self.microseconds = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        self.id = id
    }

    /// `{microseconds since the epoch}_{id}`: opaque to clients.
    public var text: String { "\(microseconds)_\(id.uuidString.lowercased())" }

    public init?(_ text: String) {
        let parts = text.split(separator: "_")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.microseconds = micros
        self.id = id
    }
}

extension HubStore {
    /// Stores intents as notifications; one already stored (same dedupe key) and intents of users that no
    /// longer exist are skipped. Returns the intents that were new.
    @discardableResult
    public func storeNotifications(_ intents: [NotificationIntent], on connection: PostgresConnection) async throws -> [NotificationIntent] {
        guard !intents.isEmpty else { return [] }
        let data = try intents.map { String(decoding: try JSONEncoder().encode($0.data), as: UTF8.self) }
        let rows = try await connection.query("""
            INSERT INTO notifications (id, user_id, type, title, body, data, dedupe_key)
            SELECT DISTINCT ON (t.k) t.i, t.u, t.ty, t.ti, t.b, t.d::jsonb, t.k
            FROM unnest(\(intents.map(\.id)), \(intents.map(\.userID)), \(intents.map(\.type)), \(intents.map(\.title)),
                        \(intents.map(\.body)), \(data), \(intents.map(\.dedupeKey))) AS t(i, u, ty, ti, b, d, k)
                JOIN users ON users.id = t.u
            ON CONFLICT DO NOTHING
            RETURNING dedupe_key
            """, logger: logger)
        var inserted: Set<String> = []
        for try await key in rows.decode(String.self) { inserted.insert(key) }
        var seen: Set<String> = []
        return intents.filter { inserted.contains($0.dedupeKey) && seen.insert($0.dedupeKey).inserted }
    }

    /// A page of the user's notifications, newest first, and how many are unread in all.
    public func notifications(
        userID: UUID, unreadOnly: Bool, limit: Int, after cursor: NotificationCursor?
    ) async throws -> (page: [NotificationRecord], unread: Int) {
        let rows = try await client.query("""
            SELECT id, type, title, body, data::text, created_at, read_at FROM notifications
            WHERE user_id = \(userID) AND (NOT \(unreadOnly) OR read_at IS NULL)
              AND (\(cursor == nil) OR (created_at, id) < ('epoch'::timestamptz + \(cursor?.microseconds ?? 0) * interval '1 microsecond', \(cursor?.id ?? UUID())))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var page: [NotificationRecord] = []
        for try await (id, type, title, body, data, createdAt, readAt) in rows.decode((UUID, String, String, String, String, Date, Date?).self) {
            let fields = (try? JSONDecoder().decode([String: String].self, from: Data(data.utf8))) ?? [:]
            page.append(NotificationRecord(id: id, type: type, title: title, body: body, data: fields, createdAt: createdAt, readAt: readAt))
        }
        var unread = 0
        for try await count in try await client.query(
            "SELECT count(*) FROM notifications WHERE user_id = \(userID) AND read_at IS NULL", logger: logger).decode(Int64.self) {
            unread = Int(count)
        }
        return (page, unread)
    }

    /// Marks one of the user's notifications read (keeping the first read time); nil when it is not theirs.
    public func markNotificationRead(userID: UUID, id: UUID) async throws -> NotificationRecord? {
        let rows = try await client.query("""
            UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE user_id = \(userID) AND id = \(id)
            RETURNING id, type, title, body, data::text, created_at, read_at
            """, logger: logger)
        for try await (id, type, title, body, data, createdAt, readAt) in rows.decode((UUID, String, String, String, String, Date, Date?).self) {
            let fields = (try? JSONDecoder().decode([String: String].self, from: Data(data.utf8))) ?? [:]
            return NotificationRecord(id: id, type: type, title: title, body: body, data: fields, createdAt: createdAt, readAt: readAt)
        }
        return nil
    }

    /// Marks all of the user's unread notifications read; returns how many.
    public func markAllNotificationsRead(userID: UUID) async throws -> Int {
        let rows = try await client.query("""
            UPDATE notifications SET read_at = now() WHERE user_id = \(userID) AND read_at IS NULL RETURNING 1
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}
