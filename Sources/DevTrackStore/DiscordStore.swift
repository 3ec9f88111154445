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

    public init(sealedWebhookURL: [UInt8]? = nil, mutedUntil: Date? = nil, optOuts: [String] = [], disabledAt: Date? = nil, disabledReason: String? = nil) {
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

/// One queued delivery to Discord.
public struct DiscordDelivery: Sendable {
    public let userID: UUID
    public let dedupeKey: String
    public let eventType: String
    public let payload: String

    public init(userID: UUID, dedupeKey: String, eventType: String, payload: String) {
        self.userID = userID
        self.dedupeKey = dedupeKey
        self.eventType = eventType
        self.payload = payload
    }
}

extension HubStore {
    public func discordSettings(userID: UUID) async throws -> DiscordSettings? {
        let rows = try await client.query("""
            SELECT discord_webhook_sealed, discord_muted_until, discord_opt_outs, discord_disabled_at, discord_disabled_reason
            FROM users WHERE id = \(userID)
            """, logger: logger)
        for try await (sealed, muted, optOuts, disabledAt, reason) in rows.decode((ByteBuffer?, Date?, [String], Date?, String?).self) {
            return DiscordSettings(sealedWebhookURL: sealed.map { Array($0.readableBytesView) }, mutedUntil: muted, optOuts: optOuts, disabledAt: disabledAt, disabledReason: reason)
        }
        return nil
    }

    /// Applies `change`; a new webhook URL also clears an earlier "disabled" mark. Returns the settings as
    /// they are now (nil when the user is gone).
    public func updateDiscordSettings(userID: UUID, _ change: DiscordSettingsChange) async throws -> DiscordSettings? {
        let setURL = change.sealedWebhookURL != nil
        let setMute = change.mutedUntil != nil
        let setOptOuts = change.optOuts != nil
        try await client.query("""
            UPDATE users SET
                discord_webhook_sealed = CASE WHEN \(setURL) THEN \((change.sealedWebhookURL ?? nil).map { ByteBuffer(bytes: $0) }) ELSE discord_webhook_sealed END,
                discord_disabled_at = CASE WHEN \(setURL) THEN NULL ELSE discord_disabled_at END,
                discord_disabled_reason = CASE WHEN \(setURL) THEN NULL ELSE discord_disabled_reason END,
                discord_muted_until = CASE WHEN \(setMute) THEN \(change.mutedUntil ?? nil) ELSE discord_muted_until END,
                discord_opt_outs = CASE WHEN \(setOptOuts) THEN \(change.optOuts ?? []) ELSE discord_opt_outs END
            WHERE id = \(userID)
            """, logger: logger)
        return try await discordSettings(userID: userID)
    }

    /// Of these users, those Discord messages go to now, with their logins and opted-out types: a URL is
    /// set and not disabled, and no mute is running.
    public func discordRecipients(userIDs: [UUID], on connection: PostgresConnection) async throws -> [UUID: (login: String, optOuts: Set<String>)] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT id, login, discord_opt_outs FROM users
            WHERE id = ANY(\(userIDs)) AND discord_webhook_sealed IS NOT NULL AND discord_disabled_at IS NULL
              AND (discord_muted_until IS NULL OR discord_muted_until <= now())
            """, logger: logger)
        var result: [UUID: (login: String, optOuts: Set<String>)] = [:]
        for try await (id, login, optOuts) in rows.decode((UUID, String, [String]).self) { result[id] = (login, Set(optOuts)) }
        return result
    }

    /// Queues Discord deliveries (one per user and dedupe key; a second queueing is ignored). Returns how
    /// many were new.
    @discardableResult
    public func queueDiscordDeliveries(_ deliveries: [DiscordDelivery], on connection: PostgresConnection) async throws -> Int {
        guard !deliveries.isEmpty else { return 0 }
        let rows = try await connection.query("""
            INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
            SELECT gen_random_uuid(), t.u, 'discord', lower(t.u::text), t.k, t.e, t.p::jsonb
            FROM unnest(\(deliveries.map(\.userID)), \(deliveries.map(\.dedupeKey)), \(deliveries.map(\.eventType)),
                        \(deliveries.map(\.payload))) AS t(u, k, e, p)
            ON CONFLICT (channel, destination, dedupe_key) DO NOTHING
            RETURNING 1
            """, logger: logger)
        var inserted = 0
        for try await _ in rows { inserted += 1 }
        return inserted
    }

    /// The user's queued deliveries on `channel`, newest first (what the API lists and tests inspect).
    public func outbox(userID: UUID, channel: String, limit: Int = 100) async throws -> [OutboxEntry] {
        let rows = try await client.query("""
            SELECT id, dedupe_key, event_type, status, attempts, failures, last_error, payload::text FROM outbox
            WHERE user_id = \(userID) AND channel = \(channel) ORDER BY created_at DESC, dedupe_key LIMIT \(limit)
            """, logger: logger)
        var result: [OutboxEntry] = []
        for try await (id, key, type, status, attempts, failures, error, payload) in rows.decode((UUID, String, String, String, Int, Int, String?, String).self) {
            result.append(OutboxEntry(id: id, dedupeKey: key, eventType: type, status: status, attempts: attempts, failures: failures, lastError: error, payload: payload))
        }
        return result
    }
}
