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

    /// nil for anything this endpoint cannot have returned, including a time before 1970 or more than a
    /// day ahead of `now` (PostgreSQL answers "timestamp out of range" for far ones, which must stay a 400).
    public init?(_ text: String, now: Date = Date()) {
        let parts = text.split(separator: "_")
        guard text.utf8.count <= 100, parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        let latest = Int64(((now.timeIntervalSince1970 + 86_400) * 1_000_000).rounded())
        guard (0...latest).contains(micros) else { return nil }
        self.microseconds = micros
        self.id = id
    }
}

/// A newly stored notification and where it should go: the user's Discord (when a webhook URL is set,
/// not disabled, no mute running and the type not opted out) and the user's enabled endpoints subscribed
/// to its type.
public struct StoredNotification: Sendable {
    public let intent: NotificationIntent
    /// The user's login when the notification should go to their Discord (for the profile link).
    public let discordLogin: String?
    public let webhookEndpointIDs: [UUID]
}

/// In-app notifications (`notifications`).
public struct NotificationRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension NotificationRepository {
    /// Stores intents as notifications, and in the same statement announces each new one to the user's
    /// open web clients (`LiveEvent`) and reads where it should be delivered. One already stored (same
    /// dedupe key) and intents of users that no longer exist are skipped. Returns the intents that were new.
    @discardableResult
    public func storeNotifications(
        _ intents: [NotificationIntent], on transaction: DatabaseTransaction, at date: Date = Date()
    ) async throws -> [StoredNotification] {
        let connection = transaction.connection
        guard !intents.isEmpty else { return [] }
        let data = intents.map { FlatJSONObject.text($0.data) }
        let live = intents.map { LiveEvent.notification($0, createdAt: date).payload }
        var bindings = PostgresBindings(capacity: 8)
        bindings.append(intents.map(\.id))
        bindings.append(intents.map(\.userID))
        bindings.append(intents.map(\.type))
        bindings.append(intents.map(\.title))
        bindings.append(intents.map(\.body))
        bindings.append(data)
        bindings.append(intents.map(\.dedupeKey))
        bindings.append(live)
        let rows = try await connection.execute(StoreNotificationsStatement(bindings: bindings), logger: logger)
        var destinations: [String: (discordLogin: String?, endpointIDs: [UUID])] = [:]
        for try await (key, login, endpoints) in rows.decode((String, String?, [UUID]).self) { destinations[key] = (login, endpoints) }
        var seen: Set<String> = []
        return intents.compactMap { intent in
            guard let found = destinations[intent.dedupeKey], seen.insert(intent.dedupeKey).inserted else { return nil }
            return StoredNotification(intent: intent, discordLogin: found.discordLogin, webhookEndpointIDs: found.endpointIDs)
        }
    }

    /// A page of the user's notifications, newest first, and how many are unread in all.
    public func notifications(
        userID: UUID, unreadOnly: Bool, limit: Int, after cursor: NotificationCursor?
    ) async throws -> (page: [NotificationRecord], unread: Int) {
        let rows = try await client.query(
            """
            SELECT id, type, title, body, data::text, created_at, read_at FROM notifications
            WHERE user_id = \(userID) AND (NOT \(unreadOnly) OR read_at IS NULL)
              AND (\(cursor == nil)
                   OR (created_at, id) < ('epoch'::timestamptz + \(cursor?.microseconds ?? 0) * interval '1 microsecond', \(cursor?.id ?? UUID())))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var page: [NotificationRecord] = []
        for try await (id, type, title, body, data, createdAt, readAt) in rows.decode((UUID, String, String, String, String, Date, Date?).self) {
            let fields = (try? JSONDecoder().decode([String: String].self, from: Data(data.utf8))) ?? [:]
            page.append(NotificationRecord(id: id, type: type, title: title, body: body, data: fields, createdAt: createdAt, readAt: readAt))
        }
        var unread = 0
        for try await count in try await client.query(
            "SELECT count(*) FROM notifications WHERE user_id = \(userID) AND read_at IS NULL", logger: logger
        ).decode(Int64.self) {
            unread = Int(count)
        }
        return (page, unread)
    }

    /// Marks one of the user's notifications read (keeping the first read time); nil when it is not theirs.
    public func markNotificationRead(userID: UUID, id: UUID) async throws -> NotificationRecord? {
        let rows = try await client.query(
            """
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
        let rows = try await client.query(
            """
            UPDATE notifications SET read_at = now() WHERE user_id = \(userID) AND read_at IS NULL RETURNING 1
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}

/// Stores a batch of intents (`storeNotifications`).
struct StoreNotificationsStatement: PreparedBatchStatement {
    static let sql = """
        WITH incoming AS (
            SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) AS t(id, user_id, type, title, body, data, dedupe_key, live)
        ), stored AS (
            INSERT INTO notifications (id, user_id, type, title, body, data, dedupe_key)
            SELECT DISTINCT ON (t.dedupe_key) t.id, t.user_id, t.type, t.title, t.body, t.data::jsonb, t.dedupe_key
            FROM incoming t JOIN users ON users.id = t.user_id
            ON CONFLICT DO NOTHING
            RETURNING id, user_id, type, dedupe_key
        )
        SELECT s.dedupe_key, d.login,
               ARRAY(SELECT e.id FROM webhook_endpoints e WHERE e.user_id = s.user_id AND e.enabled AND s.type = ANY(e.events))
        FROM stored s
        CROSS JOIN LATERAL (SELECT pg_notify('\(LiveEvent.channel)', i.live) FROM incoming i WHERE i.id = s.id LIMIT 1) announced
        LEFT JOIN LATERAL (
            SELECT d.login FROM users d
            WHERE d.id = s.user_id AND d.discord_webhook_sealed IS NOT NULL AND d.discord_disabled_at IS NULL
              AND (d.discord_muted_until IS NULL OR d.discord_muted_until <= now()) AND NOT (s.type = ANY(d.discord_opt_outs))
            LIMIT 1
        ) d ON true
        """
    let bindings: PostgresBindings
}

extension NotificationRepository {
    /// Retention: removes up to `limit` notifications read before `cutoff` (unread ones stay); returns how many.
    public func deleteRead(before cutoff: Date, limit: Int = 1000) async throws -> Int {
        try await rowCount(
            """
            DELETE FROM notifications WHERE id IN (
                SELECT id FROM notifications WHERE read_at < \(cutoff) ORDER BY read_at LIMIT \(limit))
            RETURNING 1
            """)
    }

    /// Every notification of a user (their account is being deleted: the table has no foreign key).
    func deleteAll(userID: UUID, on transaction: DatabaseTransaction) async throws -> Int {
        try await rowCount("DELETE FROM notifications WHERE user_id = \(userID) RETURNING 1", on: transaction)
    }
}
