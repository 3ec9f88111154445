import Foundation

/// A Discord webhook URL as users paste it from Discord's channel settings:
/// `https://discord.com/api/webhooks/{id}/{token}` (also `discordapp.com`, `ptb.` and `canary.` hosts and a
/// versioned `/api/v10/webhooks/…` path). Anything else is refused, so the hub never posts elsewhere
/// through this setting.
public struct DiscordWebhookURL: Sendable, Equatable {
    public let url: String
    public let webhookID: String

    static let hosts: Set<String> = [
        "discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com", "ptb.discordapp.com", "canary.discordapp.com",
    ]

    /// `allowHosts` (the operator's `notify.allow_hosts`) may stand in for Discord, over http and on any
    /// port: how tests point the hub at a fake Discord on loopback.
    public init?(_ text: String, allowHosts: Set<String> = []) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), components.user == nil, components.password == nil,
            components.query == nil, components.fragment == nil
        else { return nil }
        let standIn = allowHosts.contains(host)
        guard standIn || (scheme == "https" && Self.hosts.contains(host) && components.port == nil) else { return nil }
        guard scheme == "https" || scheme == "http" else { return nil }
        var path = components.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard path.first == "" else { return nil }
        path.removeFirst()
        if path.last == "" { path.removeLast() }
        // api / [vN /] webhooks / id / token
        guard path.count == 4 || path.count == 5, path[0] == "api" else { return nil }
        if path.count == 5 {
            guard path[1].count >= 2, path[1].first == "v", path[1].dropFirst().allSatisfy(\.isASCIIDigit) else { return nil }
            path.remove(at: 1)
        }
        let (id, token) = (path[2], path[3])
        guard path[1] == "webhooks", (17...20).contains(id.count), id.allSatisfy(\.isASCIIDigit),
            (1...100).contains(token.count),
            token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        url =
            standIn
            ? "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")/api/webhooks/\(id)/\(token)"
            : "https://\(host)/api/webhooks/\(id)/\(token)"
        webhookID = id
    }

    /// What the API shows back: enough to recognise the webhook, not enough to post to it.
    public var masked: String {
        "https://discord.com/api/webhooks/\(webhookID)/…"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// A Discord webhook message: JSON as Discord's "Execute Webhook" takes it.
public struct DiscordMessage: Codable, Sendable, Equatable {
    public struct Embed: Codable, Sendable, Equatable {
        public struct Field: Codable, Sendable, Equatable {
            public var name: String
            public var value: String
            public var inline: Bool

            public init(name: String, value: String, inline: Bool) {
                self.name = name
                self.value = value
                self.inline = inline
            }
        }

        public struct Footer: Codable, Sendable, Equatable {
            public var text: String

            public init(text: String) {
                self.text = text
            }
        }

        public var title: String
        public var description: String
        public var url: String?
        public var color: Int
        public var fields: [Field]
        public var footer: Footer?
        public var timestamp: String?

        public init(title: String, description: String, url: String?, color: Int, fields: [Field], footer: Footer?, timestamp: String?) {
            self.title = title
            self.description = description
            self.url = url
            self.color = color
            self.fields = fields
            self.footer = footer
            self.timestamp = timestamp
        }
    }

    public var content: String?
    public var username: String?
    public var embeds: [Embed]

    public init(content: String?, username: String?, embeds: [Embed]) {
        self.content = content
        self.username = username
        self.embeds = embeds
    }
}

/// Discord's documented limits for a webhook message; `fit` keeps a message within them.
public enum DiscordLimits {
    public static let content = 2_000
    public static let embeds = 10
    public static let title = 256
    public static let description = 4_096
    public static let fields = 25
    public static let fieldName = 256
    public static let fieldValue = 1_024
    public static let footer = 2_048
    /// Titles, descriptions, field names and values and footers of all embeds together.
    public static let total = 6_000

    /// The message cut to the limits: extra embeds and fields dropped, long texts shortened with "…"; while
    /// the total is over 6,000 characters, the last embeds' descriptions and fields give way first.
    public static func fit(_ message: DiscordMessage) -> DiscordMessage {
        var message = message
        message.content = message.content.map { cut($0, to: content) }
        message.embeds = Array(message.embeds.prefix(embeds)).map { embed in
            var embed = embed
            embed.title = cut(embed.title, to: title)
            embed.description = cut(embed.description, to: description)
            embed.fields = Array(embed.fields.prefix(fields)).map {
                DiscordMessage.Embed.Field(name: cut($0.name, to: fieldName), value: cut($0.value, to: fieldValue), inline: $0.inline)
            }
            embed.footer = embed.footer.map { DiscordMessage.Embed.Footer(text: cut($0.text, to: footer)) }
            return embed
        }
        var excess = characters(in: message) - total
        var index = message.embeds.count - 1
        while excess > 0, index >= 0 {
            let before = message.embeds[index].description.count
            let keep = before - excess
            message.embeds[index].description = keep <= 1 ? "" : cut(message.embeds[index].description, to: keep)
            excess -= before - message.embeds[index].description.count
            while excess > 0, let last = message.embeds[index].fields.popLast() { excess -= last.name.count + last.value.count }
            index -= 1
        }
        // Titles and footers alone fit in one embed (256 + 2,048): later embeds go first.
        while excess > 0, message.embeds.count > 1, let last = message.embeds.popLast() {
            excess -= last.title.count + (last.footer?.text.count ?? 0)
        }
        return message
    }

    /// Counted as Discord counts them (characters, not bytes).
    public static func characters(in message: DiscordMessage) -> Int {
        message.embeds.reduce(0) { sum, embed in
            sum + embed.title.count + embed.description.count + (embed.footer?.text.count ?? 0)
                + embed.fields.reduce(0) { $0 + $1.name.count + $1.value.count }
        }
    }

    static func cut(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(max(0, limit - 1))) + "…"
    }
}

extension DiscordMessage {
    /// The embed for a notification: title and body, the intent's figures as fields, a colour per type and
    /// a link back to the user's profile when the hub knows its public address.
    public static func notification(_ intent: NotificationIntent, profileURL: String?, at date: Date) -> DiscordMessage {
        let fields = intent.data.keys.sorted().filter { !$0.hasSuffix("_id") }.map { key in
            Embed.Field(name: key.replacingOccurrences(of: "_", with: " ").capitalized, value: intent.data[key] ?? "", inline: true)
        }
        let embed = Embed(
            title: intent.title, description: intent.body, url: profileURL, color: colour(of: intent.type), fields: fields,
            footer: Embed.Footer(text: "DevTrack · \(intent.type)"), timestamp: Timestamps.format(date))
        return DiscordLimits.fit(DiscordMessage(content: nil, username: "DevTrack", embeds: [embed]))
    }

    /// Green for completions, gold for achievements and milestones, orange for warnings, blue for summaries.
    public static func colour(of type: String) -> Int {
        switch type {
        case "goal.completed": 0x2E_CC71
        case "achievement.unlocked", "streak.milestone": 0xF1_C40F
        case "goal.deadline_near", "streak.at_risk": 0xE6_7E22
        case "daily.summary", "weekly.summary": 0x34_98DB
        default: 0x95_A5A6
        }
    }
}
