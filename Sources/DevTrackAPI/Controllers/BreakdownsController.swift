import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// Where and when the signed-in user's activity went, over local dates of their zone: per repository
/// (`/metrics/repos`), per language (`/metrics/languages`: commits by their repository's language, coding
/// time by the editor's) and per weekday and hour (`/metrics/hourly`).
struct BreakdownsController: Sendable {
    let activity: ActivityRepository
    let codingTime: CodingTimeRepository
    let maxRangeDays: Int
    /// WakaTime's gap rule, as the coding worker applies it to daily totals.
    let codingTimeout: Double

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/metrics/repos") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let repositories = try await activity.repositoryCounters(
                userID: user.id, zone: user.timezone, range: range, limit: try request.pageLimit())
            return try JSONResponse.make(RepositoriesBody(timezone: user.timezone, from: range.from, to: range.to, repositories: repositories))
        }
        v1.get("/metrics/hourly") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let contributions = try await activity.contributionsByWeekdayHour(userID: user.id, zone: user.timezone, range: range)
            let coding = try await codingTime.codingByWeekdayHour(
                userID: user.id, zone: TimeZones.named(user.timezone) ?? .gmt, range: range, timeout: codingTimeout)
            return try JSONResponse.make(
                HourlyBody(
                    timezone: user.timezone, from: range.from, to: range.to, contributions: contributions,
                    codingSeconds: coding.map { $0.map { Int($0.rounded()) } }))
        }
        v1.get("/metrics/languages") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let commits = try await activity.commitsByLanguage(userID: user.id, zone: user.timezone, range: range)
            let coding = try await codingTime.codingByLanguage(userID: user.id, range: range)
            return try JSONResponse.make(
                LanguagesBody(
                    timezone: user.timezone, from: range.from, to: range.to,
                    commits: .init(
                        total: commits.reduce(0) { $0 + $1.commits },
                        languages: commits.map { .init(language: $0.language, amount: $0.commits) }),
                    coding: .init(
                        total: Int(coding.reduce(0) { $0 + $1.seconds }.rounded()),
                        languages: coding.map { .init(language: $0.language, amount: Int($0.seconds.rounded())) })))
        }
    }
}

struct RepositoriesBody: Encodable {
    struct Repository: Encodable {
        let repo: String
        let counters: DailyCounters
        func encode(to encoder: any Encoder) throws {
            try counters.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(repo, forKey: .repo)
            let c = counters
            try container.encode(c.commits + c.prsOpened + c.prsMerged + c.reviews + c.issuesOpened + c.issuesClosed + c.comments, forKey: .total)
        }
        enum Key: String, CodingKey { case repo, total }
    }
    let timezone: String
    let from: LocalDate
    let to: LocalDate
    let repositories: [Repository]

    init(timezone: String, from: LocalDate, to: LocalDate, repositories: [RepositoryCounters]) {
        (self.timezone, self.from, self.to) = (timezone, from, to)
        self.repositories = repositories.map { Repository(repo: $0.repo, counters: $0.counters) }
    }
}

/// Seven rows (Monday first) of 24 local hours each.
struct HourlyBody: Encodable {
    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    let timezone: String
    let from: LocalDate
    let to: LocalDate
    let weekdays = Self.weekdays
    let contributions: [[Int]]
    let codingSeconds: [[Int]]

    enum CodingKeys: String, CodingKey {
        case timezone, from, to, weekdays, contributions
        case codingSeconds = "coding_seconds"
    }
}

/// Commits and coding seconds per language, each with its share of the total (0 to 1, 4 decimals).
struct LanguagesBody: Encodable {
    struct Share: Encodable {
        let language: String?
        let amount: Int
    }
    struct Part: Encodable {
        let total: Int
        let languages: [Share]
    }
    let timezone: String
    let from: LocalDate
    let to: LocalDate
    let commits: Part
    let coding: Part

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        var commitsBox = container.nestedContainer(keyedBy: Key.self, forKey: .commits)
        try commitsBox.encode(commits.total, forKey: .total)
        try Self.encode(commits, amountKey: .commits, in: &commitsBox)
        var codingBox = container.nestedContainer(keyedBy: Key.self, forKey: .coding)
        try codingBox.encode(coding.total, forKey: .totalSeconds)
        try Self.encode(coding, amountKey: .seconds, in: &codingBox)
    }

    static func encode(_ part: Part, amountKey: Key, in box: inout KeyedEncodingContainer<Key>) throws {
        var list = box.nestedUnkeyedContainer(forKey: .languages)
        for share in part.languages {
            var item = list.nestedContainer(keyedBy: Key.self)
            try item.encode(share.language, forKey: .language)
            try item.encode(share.amount, forKey: amountKey)
            try item.encode(part.total > 0 ? (Double(share.amount) / Double(part.total) * 10_000).rounded() / 10_000 : 0, forKey: .share)
        }
    }

    enum Key: String, CodingKey {
        case timezone, from, to, commits, coding, total, languages, language, seconds, share
        case totalSeconds = "total_seconds"
    }
}
