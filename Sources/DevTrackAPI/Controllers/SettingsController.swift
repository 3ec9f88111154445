import DevTrackCore
import DevTrackHTTP
import DevTrackOutbound
import DevTrackStore
import Foundation
import Hummingbird

struct SettingsController: Sendable {
    let users: UserRepository
    let profiles: ProfileRepository
    /// Told when a profile changes, so that its owner sees the change at once.
    let publicProfiles: PublicProfiles
    let discord: DiscordSettingsRepository
    let secretBox: SecretBox
    /// Hosts a Discord URL may name besides discord.com (a fake Discord in tests).
    let outboundAllowHosts: Set<String>
    /// Gap between heartbeats that still counts as coding, for rebuilding days when the zone changes.
    let codingTimeout: Duration
    /// The link a test message gives for the user's profile (`{login}` is replaced).
    let profileURLTemplate: String?
    /// For `POST /api/v1/settings/discord/test`.
    let outbound: OutboundHTTPClient

    /// `GET|PATCH /api/v1/settings`: the time zone, where notifications go in Discord, and the public profile
    /// (whether it is shown, what it says, which sections, the leaderboard). The Discord webhook URL is validated,
    /// stored sealed, and shown back masked.
    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        addDiscordTestRoute(to: v1)
        v1.get("/settings") { request, context in
            let user = try context.user
            return try JSONResponse.make(try await settingsBody(user.id, timezone: user.timezone))
        }
        v1.patch("/settings") { request, context in
            let user = try context.user
            let patch = try await request.decode(as: SettingsPatch.self, context: context)
            let profileChange = try patch.profileChange()
            var change = DiscordSettingsChange()
            switch patch.discordWebhookURL {
            case .absent: break
            case .null: change.sealedWebhookURL = .some(nil)
            case .value(let text):
                guard let url = DiscordWebhookURL(text, allowHosts: outboundAllowHosts) else {
                    throw HubHTTPError.badRequest(
                        "discord_webhook_url must be a Discord webhook URL (https://discord.com/api/webhooks/{id}/{token})",
                        code: "invalid_discord_webhook_url")
                }
                change.sealedWebhookURL = .some(secretBox.seal(url.url))
            }
            switch patch.discordMutedUntil {
            case .absent: break
            case .null: change.mutedUntil = .some(nil)
            case .value(let text):
                guard let date = Timestamps.parse(text) else {
                    throw HubHTTPError.badRequest(
                        "discord_muted_until must be an ISO-8601 timestamp (e.g. 2026-12-01T08:00:00Z) or null", code: "invalid_discord_muted_until")
                }
                change.mutedUntil = .some(date)
            }
            if let optOuts = patch.discordOptOuts {
                if let unknown = optOuts.first(where: { !NotificationIntent.types.contains($0) }) {
                    throw HubHTTPError.badRequest(
                        "discord_opt_outs: '\(unknown)' is not a notification type (\(NotificationIntent.types.joined(separator: ", ")))",
                        code: "invalid_discord_opt_outs")
                }
                change.optOuts = Array(Set(optOuts)).sorted()
            }
            var timezone = user.timezone
            if let requested = patch.timezone {
                guard TimeZones.validatedInput(requested) != nil else {
                    throw HubHTTPError.badRequest(
                        "timezone '\(InputText.sanitized(requested, maxBytes: 64))' is not an IANA time zone name "
                            + "(e.g. Europe/Berlin; offsets such as UTC+05:30 are not accepted)",
                        code: "invalid_timezone")
                }
                if requested != user.timezone {
                    let updated = try await users.updateTimezone(
                        userID: user.id, timezone: requested, codingTimeout: Double(codingTimeout.components.seconds))
                    timezone = updated?.timezone ?? requested
                }
            }
            _ = try await discord.updateDiscordSettings(userID: user.id, change)
            try await profiles.updateProfile(userID: user.id, profileChange)
            publicProfiles.forget(login: user.login)
            return try JSONResponse.make(try await settingsBody(user.id, timezone: timezone))
        }
    }

    /// `POST /api/v1/settings/discord/test`: posts a test message to the user's Discord webhook now (not
    /// through the outbox) and reports what Discord answered. A 404 disables the URL as a delivery would.
    func addDiscordTestRoute(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/settings/discord/test") { request, context in
            let user = try context.user
            guard let sealed = try await discord.discordSettings(userID: user.id)?.sealedWebhookURL else {
                throw HubHTTPError(.conflict, code: "discord_not_configured", "no discord_webhook_url is set (PATCH /api/v1/settings)")
            }
            let url = try secretBox.open(sealed)
            let message = DiscordMessage.notification(
                NotificationIntent(
                    userID: user.id, type: "test", title: "DevTrack test message",
                    body: "If you can read this, DevTrack can post notifications to this channel.", data: [:],
                    dedupeKey: "test:\(UUID().uuidString)"),
                profileURL: profileURLTemplate?.replacingOccurrences(of: "{login}", with: user.login), at: Date())
            let started = ContinuousClock.now
            let result: DiscordTestResult
            do {
                let response = try await outbound.post(
                    OutboundRequest(
                        url: url, headers: [("Content-Type", "application/json")], body: Array(try JSONEncoder().encode(message))))
                let elapsed = (ContinuousClock.now - started).wholeMilliseconds
                switch DiscordAnswer.classify(status: response.status, headers: response.headers, body: response.body) {
                case .delivered:
                    result = DiscordTestResult(delivered: true, statusCode: response.status, latencyMs: elapsed, error: nil)
                case .rateLimited(let seconds, _):
                    result = DiscordTestResult(
                        delivered: false, statusCode: 429, latencyMs: elapsed, error: "rate limited by Discord: try again in \(seconds) s")
                case .webhookGone:
                    let reason = "Discord answered 404 Unknown Webhook: the webhook was deleted; set a new URL to get Discord messages again"
                    try await discord.disableDiscordWebhook(
                        userID: user.id, reason: reason, notification: .discordDisabled(userID: user.id, reason: reason))
                    result = DiscordTestResult(delivered: false, statusCode: 404, latencyMs: elapsed, error: reason)
                case .transient(let reason), .rejected(let reason):
                    result = DiscordTestResult(delivered: false, statusCode: response.status, latencyMs: elapsed, error: reason)
                }
            } catch let failure as OutboundFailure {
                result = DiscordTestResult(
                    delivered: false, statusCode: nil, latencyMs: (ContinuousClock.now - started).wholeMilliseconds, error: failure.description)
            }
            return try JSONResponse.make(result)
        }
    }

    private func settingsBody(_ userID: UUID, timezone: String) async throws -> SettingsBody {
        let discord = try await discord.discordSettings(userID: userID) ?? DiscordSettings()
        let url = try discord.sealedWebhookURL.map { sealed throws(SecretBox.Failure) in try secretBox.open(sealed) }.flatMap {
            DiscordWebhookURL($0, allowHosts: outboundAllowHosts)
        }
        return SettingsBody(
            timezone: timezone, discordWebhookURL: url?.masked, discordMutedUntil: discord.mutedUntil.map(Timestamps.format),
            discordOptOuts: discord.optOuts, discordDisabledReason: discord.disabledReason, profile: try await profiles.profile(userID: userID))
    }
}

struct DiscordTestResult: Encodable {
    let delivered: Bool
    let statusCode: Int?
    let latencyMs: Int
    let error: String?

    enum CodingKeys: String, CodingKey {
        case delivered, error
        case statusCode = "status_code"
        case latencyMs = "latency_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(delivered, forKey: .delivered)
        try container.encode(statusCode, forKey: .statusCode)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(error, forKey: .error)
    }
}

struct SettingsBody: Encodable {
    let timezone: String
    let discordWebhookURL: String?
    let discordMutedUntil: String?
    let discordOptOuts: [String]
    let discordDisabledReason: String?
    let profile: ProfileSettings

    enum CodingKeys: String, CodingKey {
        case timezone, bio
        case discordWebhookURL = "discord_webhook_url"
        case discordMutedUntil = "discord_muted_until"
        case discordOptOuts = "discord_opt_outs"
        case discordDisabledReason = "discord_disabled_reason"
        case isPublic = "is_public"
        case displayName = "display_name"
        case leaderboardOptIn = "leaderboard_opt_in"
        case profileSections = "profile_sections"
    }

    // Absent values are written as null, so clients see every setting.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(discordWebhookURL, forKey: .discordWebhookURL)
        try container.encode(discordMutedUntil, forKey: .discordMutedUntil)
        try container.encode(discordOptOuts, forKey: .discordOptOuts)
        try container.encode(discordDisabledReason, forKey: .discordDisabledReason)
        try container.encode(profile.isPublic, forKey: .isPublic)
        try container.encode(profile.displayName, forKey: .displayName)
        try container.encode(profile.bio, forKey: .bio)
        try container.encode(profile.leaderboardOptIn, forKey: .leaderboardOptIn)
        try container.encode(profile.sections, forKey: .profileSections)
    }
}

/// A PATCH field that may be absent (leave it), null (clear it) or a value.
enum Patch<Value: Decodable & Sendable>: Sendable {
    case absent
    case null
    case value(Value)
}

struct SettingsPatch: Decodable {
    let timezone: String?
    let discordWebhookURL: Patch<String>
    let discordMutedUntil: Patch<String>
    let discordOptOuts: [String]?
    let isPublic: Bool?
    let displayName: Patch<String>
    let bio: Patch<String>
    let leaderboardOptIn: Bool?
    let profileSections: [String]?

    static let maxDisplayNameBytes = 100
    static let maxBioBytes = 500

    enum CodingKeys: String, CodingKey {
        case timezone, bio
        case discordWebhookURL = "discord_webhook_url"
        case discordMutedUntil = "discord_muted_until"
        case discordOptOuts = "discord_opt_outs"
        case isPublic = "is_public"
        case displayName = "display_name"
        case leaderboardOptIn = "leaderboard_opt_in"
        case profileSections = "profile_sections"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func patch(_ key: CodingKeys) throws -> Patch<String> {
            guard container.contains(key) else { return .absent }
            return try container.decodeNil(forKey: key) ? .null : .value(try container.decode(String.self, forKey: key))
        }
        timezone = try container.decodeIfPresent(String.self, forKey: .timezone)
        discordWebhookURL = try patch(.discordWebhookURL)
        discordMutedUntil = try patch(.discordMutedUntil)
        discordOptOuts = try container.decodeIfPresent([String].self, forKey: .discordOptOuts)
        isPublic = try container.decodeIfPresent(Bool.self, forKey: .isPublic)
        displayName = try patch(.displayName)
        bio = try patch(.bio)
        leaderboardOptIn = try container.decodeIfPresent(Bool.self, forKey: .leaderboardOptIn)
        profileSections = try container.decodeIfPresent([String].self, forKey: .profileSections)
    }

    /// The profile part, validated: texts are trimmed, an empty one clears the field.
    func profileChange() throws -> ProfileChange {
        var change = ProfileChange()
        change.isPublic = isPublic
        change.leaderboardOptIn = leaderboardOptIn
        change.displayName = try Self.text(displayName, field: "display_name", maxBytes: Self.maxDisplayNameBytes, lineBreaks: false)
        change.bio = try Self.text(bio, field: "bio", maxBytes: Self.maxBioBytes, lineBreaks: true)
        if let sections = profileSections {
            if let unknown = sections.first(where: { !ProfileSettings.sections.contains($0) }) {
                let known = ProfileSettings.sections.joined(separator: ", ")
                throw HubHTTPError.badRequest(
                    "profile_sections: '\(InputText.sanitized(unknown, maxBytes: 40))' is not a section (\(known))", code: "invalid_profile_sections")
            }
            change.sections = ProfileSettings.sections.filter(sections.contains)
        }
        return change
    }

    static func text(_ patch: Patch<String>, field: String, maxBytes: Int, lineBreaks: Bool) throws -> String?? {
        switch patch {
        case .absent: return nil
        case .null: return .some(nil)
        case .value(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let problem = InputText.problem(trimmed, maxBytes: maxBytes, lineBreaks: lineBreaks) {
                throw HubHTTPError.badRequest("\(field) \(problem)", code: "invalid_\(field)")
            }
            return .some(trimmed.isEmpty ? nil : trimmed)
        }
    }
}
