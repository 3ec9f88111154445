import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A user's Discord settings as stored (the URL still sealed).
public struct DiscordSettings: Sendable, Equatable {
    public var sealedWebhookURL: [UInt8]?
    public var mutedUntil: Date?
    public var optOuts: [String]
    public var disabledAt: Date?
    public var disabledReason: String?

    public init(
        sealedWebhookURL: [UInt8]? = nil, mutedUntil: Date? = nil, optOuts: [String] = [], disabledAt: Date? = nil, disabledReason: String? = nil
    ) {
        self.sealedWebhookURL = sealedWebhookURL
        self.mutedUntil = mutedUntil
        self.optOuts = optOuts
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
    }
}

/// A change to Discord settings: nil leaves a setting as it is; `.some(nil)` clears it.
public struct DiscordSettingsChange: Sendable {
    public var sealedWebhookURL: [UInt8]??
    public var mutedUntil: Date??
    public var optOuts: [String]?

    public init(sealedWebhookURL: [UInt8]?? = nil, mutedUntil: Date?? = nil, optOuts: [String]? = nil) {
        self.sealedWebhookURL = sealedWebhookURL
        self.mutedUntil = mutedUntil
        self.optOuts = optOuts
    }
}

/// A row of the outbox as the API and tests see it.
public struct OutboxEntry: Sendable {
    public let id: UUID
    public let dedupeKey: String
    public let eventType: String
    public let status: String
    public let attempts: Int
    public let failures: Int
    public let lastError: String?
    public let payload: String
}

/// Each user's Discord webhook and what it is sent (the `discord_*` columns of `users`).
public struct DiscordSettingsRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension DiscordSettingsRepository {
    public func discordSettings(userID: UUID) async throws -> DiscordSettings? {
        let rows = try await client.query(
            """
            SELECT discord_webhook_sealed, discord_muted_until, discord_opt_outs, discord_disabled_at, discord_disabled_reason
            FROM users WHERE id = \(userID)
            """, logger: logger)
        for try await (sealed, muted, optOuts, disabledAt, reason) in rows.decode((ByteBuffer?, Date?, [String], Date?, String?).self) {
            return DiscordSettings(
                sealedWebhookURL: sealed.map { Array($0.readableBytesView) }, mutedUntil: muted, optOuts: optOuts, disabledAt: disabledAt,
                disabledReason: reason)
        }
        return nil
    }

    /// Applies `change`; a new webhook URL also clears an earlier "disabled" mark. Returns the settings as
    /// they are now (nil when the user is gone).
    public func updateDiscordSettings(userID: UUID, _ change: DiscordSettingsChange) async throws -> DiscordSettings? {
        let setURL = change.sealedWebhookURL != nil
        let setMute = change.mutedUntil != nil
        let setOptOuts = change.optOuts != nil
        try await client.query(
            """
            UPDATE users SET
                discord_webhook_sealed = CASE WHEN \(setURL) THEN \((change.sealedWebhookURL ?? nil).map { ByteBuffer(bytes: $0) })
                    ELSE discord_webhook_sealed END,
                discord_disabled_at = CASE WHEN \(setURL) THEN NULL ELSE discord_disabled_at END,
                discord_disabled_reason = CASE WHEN \(setURL) THEN NULL ELSE discord_disabled_reason END,
                discord_muted_until = CASE WHEN \(setMute) THEN \(change.mutedUntil ?? nil) ELSE discord_muted_until END,
                discord_opt_outs = CASE WHEN \(setOptOuts) THEN \(change.optOuts ?? []) ELSE discord_opt_outs END
            WHERE id = \(userID)
            """, logger: logger)
        return try await discordSettings(userID: userID)
    }

    /// The user's queued deliveries on `channel`, newest first (what the API lists and tests inspect).
    public func outbox(userID: UUID, channel: String, limit: Int = 100) async throws -> [OutboxEntry] {
        let rows = try await client.query(
            """
            SELECT id, dedupe_key, event_type, status, attempts, failures, last_error, payload::text FROM outbox
            WHERE user_id = \(userID) AND channel = \(channel) ORDER BY created_at DESC, dedupe_key LIMIT \(limit)
            """, logger: logger)
        var result: [OutboxEntry] = []
        for try await (id, key, type, status, attempts, failures, error, payload) in rows.decode(
            (UUID, String, String, String, Int, Int, String?, String).self)
        {
            result.append(
                OutboxEntry(
                    id: id, dedupeKey: key, eventType: type, status: status, attempts: attempts, failures: failures, lastError: error,
                    payload: payload))
        }
        return result
    }

    /// Discord says the webhook is gone: stop posting to it, drop what was waiting for it, and tell the
    /// user in the app (once per webhook).
    public func disableDiscordWebhook(userID: UUID, reason: String, notification: NotificationIntent) async throws {
        try await database.transaction { transaction in
            try await transaction.connection.query(
                """
                UPDATE users SET discord_disabled_at = now(), discord_disabled_reason = \(reason) WHERE id = \(userID)
                """, logger: logger)
            try await OutboxRepository(database).failPending(
                channel: "discord", destination: userID.uuidString.lowercased(), reason: reason, on: transaction)
            try await NotificationRepository(database).storeNotifications([notification], on: transaction)
        }
    }
}
