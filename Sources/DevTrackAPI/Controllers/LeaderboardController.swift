import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// `GET /api/v1/leaderboard`: users with a public profile who opted in, ranked by one metric over a rolling
/// period of their own local days; open to anyone (rate limited per address), with the caller's own place when
/// signed in. Scores are what the scheduler last computed (at most one of its ticks old).
struct LeaderboardController: Sendable {
    let leaderboard: LeaderboardRepository
    let publicRoutes: PublicProfileController

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("/leaderboard") { request, context in
            if context.identity == nil { try await publicRoutes.limit(request, context, .profile) }
            let query = request.uri.queryParameters
            let metric = try Self.choice(query.get("metric"), default: LeaderboardMetric.commits, name: "metric")
            let period = try Self.choice(query.get("period"), default: LeaderboardPeriod.week, name: "period")
            let language = try Self.language(query.get("language"), metric: metric)
            let limit = try request.pageLimit()
            let cursor = try query.get("cursor").map { text -> LeaderboardCursor in
                guard let cursor = LeaderboardCursor(text) else {
                    throw HubHTTPError.badRequest("cursor must be a next_cursor this endpoint returned", code: "invalid_cursor")
                }
                return cursor
            }
            let entries = try await leaderboard.page(metric: metric, period: period, language: language ?? "", limit: limit, after: cursor)
            var me = LeaderboardBody.Me.absent
            if let identity = context.identity {
                me = .value(
                    try await leaderboard.entry(userID: identity.user.id, metric: metric, period: period, language: language ?? "")
                        .map(LeaderboardEntryBody.init))
            }
            return try JSONResponse.make(
                LeaderboardBody(
                    metric: metric.rawValue, period: metric == .currentStreak ? LeaderboardPeriod.all.rawValue : period.rawValue,
                    language: language, entries: entries.map(LeaderboardEntryBody.init),
                    nextCursor: entries.count == limit ? entries.last.map { LeaderboardCursor(score: $0.score, userID: $0.userID).text } : nil,
                    me: me))
        }
    }

    static func choice<Value: RawRepresentable & CaseIterable>(_ text: String?, default value: Value, name: String) throws -> Value
    where Value.RawValue == String {
        guard let text else { return value }
        guard let chosen = Value(rawValue: text) else {
            throw HubHTTPError.badRequest(
                "\(name) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid_\(name)")
        }
        return chosen
    }

    /// A language name, compared without case; only commits and coding time have languages.
    static func language(_ text: String?, metric: LeaderboardMetric) throws -> String? {
        guard let text else { return nil }
        guard metric.hasLanguages else {
            throw HubHTTPError.badRequest("language applies to the metrics commits and coding_seconds only", code: "invalid_language")
        }
        if let problem = InputText.problem(text, maxBytes: 100) { throw HubHTTPError.badRequest("language \(problem)", code: "invalid_language") }
        let language = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !language.isEmpty else { throw HubHTTPError.badRequest("language must not be empty", code: "invalid_language") }
        return language
    }
}

struct LeaderboardEntryBody: Encodable {
    let rank: Int
    let login: String
    let displayName: String?
    let score: Int64

    init(_ entry: LeaderboardEntry) { (rank, login, displayName, score) = (entry.rank, entry.login, entry.displayName, entry.score) }

    enum CodingKeys: String, CodingKey {
        case rank, login, score
        case displayName = "display_name"
    }

    func encode(to encoder: any Encoder) throws {
        var box = encoder.container(keyedBy: CodingKeys.self)
        try box.encode(rank, forKey: .rank)
        try box.encode(login, forKey: .login)
        try box.encode(displayName ?? login, forKey: .displayName)
        try box.encode(score, forKey: .score)
    }
}

struct LeaderboardBody: Encodable {
    /// `me` is absent for anonymous callers, null for a signed-in caller without a place.
    enum Me {
        case absent
        case value(LeaderboardEntryBody?)
    }
    let metric: String
    let period: String
    let language: String?
    let entries: [LeaderboardEntryBody]
    let nextCursor: String?
    let me: Me

    enum CodingKeys: String, CodingKey {
        case metric, period, language, entries, me
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var box = encoder.container(keyedBy: CodingKeys.self)
        try box.encode(metric, forKey: .metric)
        try box.encode(period, forKey: .period)
        try box.encode(language, forKey: .language)
        try box.encode(entries, forKey: .entries)
        try box.encode(nextCursor, forKey: .nextCursor)
        if case .value(let me) = me { try box.encode(me, forKey: .me) }
    }
}
