import Crypto
import Foundation

/// Something a user would want to hear about, on `devtrack.notifications`. Emitters may send an intent
/// more than once (after a crash, a redelivery or a replay); its `dedupeKey` (and the id derived from it)
/// stays the same, so the notify worker delivers it once.
public struct NotificationIntent: Codable, Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let type: String
    public let title: String
    public let body: String
    public let data: [String: String]
    public let dedupeKey: String

    public init(userID: UUID, type: String, title: String, body: String, data: [String: String], dedupeKey: String) {
        self.id = Self.id(for: dedupeKey)
        self.userID = userID
        self.type = type
        self.title = title
        self.body = body
        self.data = data
        self.dedupeKey = dedupeKey
    }

    /// Every type an intent can have (what users can opt out of per channel).
    public static let types = [
        "goal.completed", "goal.deadline_near", "achievement.unlocked", "streak.milestone", "streak.at_risk",
        "daily.summary", "weekly.summary", "account.reauth_needed",
    ]

    /// A UUID (version 8, RFC 9562) from the SHA-256 of the dedupe key.
    static func id(for dedupeKey: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Array(dedupeKey.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// `goal.completed`, once per goal and period.
    public static func goalCompleted(userID: UUID, goalID: UUID, title: String, target: Int, unit: GoalUnit, window: GoalWindow) -> NotificationIntent
    {
        let when = window.start == window.end ? window.start.description : "\(window.start) – \(window.end)"
        return NotificationIntent(
            userID: userID, type: "goal.completed", title: "Goal completed: \(title)", body: "You reached \(unit.phrase(target)) for \(when).",
            data: [
                "goal_id": goalID.uuidString.lowercased(), "period_start": window.start.description,
                "period_end": window.end.description, "target": String(target), "unit": unit.description,
            ],
            dedupeKey: "goal.completed:\(goalID.uuidString.lowercased()):\(window.start)")
    }

    /// `goal.deadline_near`, once per goal and deadline: sent 24 h before the deadline while incomplete.
    public static func goalDeadlineNear(
        userID: UUID, goalID: UUID, title: String, current: Int, target: Int, unit: GoalUnit, deadline: LocalDate
    ) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "goal.deadline_near", title: "Deadline tomorrow: \(title)",
            body: "\(current) of \(target) \(unit) so far; the goal ends on \(deadline).",
            data: [
                "goal_id": goalID.uuidString.lowercased(), "deadline": deadline.description, "current": String(current),
                "target": String(target), "unit": unit.description,
            ],
            dedupeKey: "goal.deadline_near:\(goalID.uuidString.lowercased()):\(deadline)")
    }

    /// `streak.at_risk`, once per user and local date: the evening of a day without activity yet, while a
    /// streak of at least 3 days ended yesterday.
    public static func streakAtRisk(userID: UUID, days: Int, date: LocalDate) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "streak.at_risk", title: "Keep your \(days)-day streak going",
            body: "Nothing counted today yet: one contribution or a few minutes of coding keeps your \(days)-day streak.",
            data: ["days": String(days), "date": date.description],
            dedupeKey: "streak.at_risk:\(userID.uuidString.lowercased()):\(date)")
    }

    /// `daily.summary`, once per user and local date, the day after an active day.
    public static func dailySummary(userID: UUID, _ summary: DaySummary) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "daily.summary", title: "Your day, \(summary.date)", body: summary.sentence,
            data: [
                "date": summary.date.description, "commits": String(summary.commits), "prs_opened": String(summary.prsOpened),
                "prs_merged": String(summary.prsMerged), "reviews": String(summary.reviews),
                "issues_closed": String(summary.issuesClosed), "coding_minutes": String(summary.codingMinutes),
            ],
            dedupeKey: "daily.summary:\(userID.uuidString.lowercased()):\(summary.date)")
    }

    /// `weekly.summary`, once per user and ISO week, on the Monday after an active week.
    public static func weeklySummary(userID: UUID, _ summary: WeekSummary) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "weekly.summary", title: "Your week of \(summary.totals.date)", body: summary.sentence,
            data: [
                "week_start": summary.totals.date.description, "commits": String(summary.totals.commits),
                "prs_opened": String(summary.totals.prsOpened), "prs_merged": String(summary.totals.prsMerged),
                "reviews": String(summary.totals.reviews), "issues_closed": String(summary.totals.issuesClosed),
                "coding_minutes": String(summary.totals.codingMinutes), "active_days": String(summary.activeDays),
                "goals_completed": String(summary.goalsCompleted), "achievements_unlocked": String(summary.achievementsUnlocked),
            ],
            dedupeKey: "weekly.summary:\(userID.uuidString.lowercased()):\(summary.totals.date)")
    }

    /// `achievement.unlocked`, once per user and achievement.
    public static func achievementUnlocked(userID: UUID, achievement: Achievement) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "achievement.unlocked", title: "Achievement unlocked: \(achievement.title)",
            body: achievement.description,
            data: ["achievement_id": achievement.id, "tier": achievement.tier.rawValue, "threshold": String(achievement.threshold)],
            dedupeKey: "achievement.unlocked:\(userID.uuidString.lowercased()):\(achievement.id)")
    }

    /// `streak.milestone`, once per user and milestone (7, 30, 100, 365 days).
    public static func streakMilestone(userID: UUID, days: Int) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "streak.milestone", title: "\(days)-day streak!",
            body: "You have been active \(days) days in a row.",
            data: ["days": String(days)],
            dedupeKey: "streak.milestone:\(userID.uuidString.lowercased()):\(days)")
    }

    /// `discord.disabled`, in the app only: Discord said the user's webhook is gone (each time the hub disables it).
    public static func discordDisabled(userID: UUID, reason: String) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "discord.disabled", title: "Discord messages stopped", body: reason, data: [:],
            dedupeKey: "discord.disabled:\(userID.uuidString.lowercased()):\(Int(Date().timeIntervalSince1970))")
    }

    /// Ids in lower case, like every other id the hub prints (Foundation would write them upper-case).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(userID.uuidString.lowercased(), forKey: .userID)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(body, forKey: .body)
        try container.encode(data, forKey: .data)
        try container.encode(dedupeKey, forKey: .dedupeKey)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, title, body, data
        case userID = "user_id"
        case dedupeKey = "dedupe_key"
    }
}

/// One local day's totals, as `daily.summary` tells them.
public struct DaySummary: Sendable, Equatable {
    public let date: LocalDate
    public let commits: Int
    public let prsOpened: Int
    public let prsMerged: Int
    public let reviews: Int
    public let issuesClosed: Int
    public let codingMinutes: Int

    public init(date: LocalDate, commits: Int, prsOpened: Int, prsMerged: Int, reviews: Int, issuesClosed: Int, codingMinutes: Int) {
        self.date = date
        self.commits = commits
        self.prsOpened = prsOpened
        self.prsMerged = prsMerged
        self.reviews = reviews
        self.issuesClosed = issuesClosed
        self.codingMinutes = codingMinutes
    }

    /// "3 commits, 1 pull request opened, 2 reviews and 1 h 20 min of coding." — only what happened.
    public var sentence: String {
        guard let list = Self.list(phrases) else { return "A quiet day." }
        return list + "."
    }

    /// "a, b and c"; nil for none.
    static func list(_ parts: [String]) -> String? {
        guard let last = parts.last else { return nil }
        return parts.count == 1 ? last : parts.dropLast().joined(separator: ", ") + " and " + last
    }

    /// What happened, one phrase per non-zero figure.
    var phrases: [String] {
        func count(_ value: Int, _ one: String, _ many: String) -> String? {
            value == 0 ? nil : "\(value) \(value == 1 ? one : many)"
        }
        let coding: String? =
            codingMinutes == 0
            ? nil
            : codingMinutes < 60
                ? "\(codingMinutes) min of coding"
                : codingMinutes % 60 == 0 ? "\(codingMinutes / 60) h of coding" : "\(codingMinutes / 60) h \(codingMinutes % 60) min of coding"
        let parts = [
            count(commits, "commit", "commits"), count(prsOpened, "pull request opened", "pull requests opened"),
            count(prsMerged, "pull request merged", "pull requests merged"), count(reviews, "review", "reviews"),
            count(issuesClosed, "issue closed", "issues closed"), coding,
        ].compactMap { $0 }
        return parts
    }
}

/// One ISO week's totals (`totals.date` is its Monday), as `weekly.summary` tells them.
public struct WeekSummary: Sendable, Equatable {
    public let totals: DaySummary
    public let activeDays: Int
    public let goalsCompleted: Int
    public let achievementsUnlocked: Int

    public init(totals: DaySummary, activeDays: Int, goalsCompleted: Int, achievementsUnlocked: Int) {
        self.totals = totals
        self.activeDays = activeDays
        self.goalsCompleted = goalsCompleted
        self.achievementsUnlocked = achievementsUnlocked
    }

    /// "12 commits and 3 h of coding on 5 active days; 2 goals completed and 1 achievement unlocked."
    public var sentence: String {
        var first = DaySummary.list(totals.phrases) ?? "No activity"
        if activeDays > 0 { first += " on \(activeDays) active day\(activeDays == 1 ? "" : "s")" }
        let rest = [
            goalsCompleted == 0 ? nil : "\(goalsCompleted) goal\(goalsCompleted == 1 ? "" : "s") completed",
            achievementsUnlocked == 0 ? nil : "\(achievementsUnlocked) achievement\(achievementsUnlocked == 1 ? "" : "s") unlocked",
        ].compactMap { $0 }
        return first + (DaySummary.list(rest).map { "; " + $0 } ?? "") + "."
    }
}
