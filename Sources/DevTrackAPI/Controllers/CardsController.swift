import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird

/// README images of public profiles, after github-readme-stats and github-readme-streak-stats: SVG cards, flat
/// badges and shields.io endpoint JSON under `/api/v1/public/{login}/…`. A private or unknown user (or a section
/// the user hides) gets the same neutral "not available" image with a 200, because GitHub's image proxy shows
/// nothing for an error status; parameters that are wrong are a 400 naming the parameter.
struct CardsController: Sendable {
    let profiles: PublicProfiles
    let publicRoutes: PublicProfileController

    static let svg = "image/svg+xml; charset=utf-8"

    /// What a badge or a shields.io endpoint can show.
    enum Metric: String, CaseIterable {
        case commits
        case prsOpened = "prs_opened"
        case prsMerged = "prs_merged"
        case reviews, issues
        case codingTime = "coding_time"
        case currentStreak = "current_streak"
        case longestStreak = "longest_streak"

        var label: String {
            switch self {
            case .commits: "commits"
            case .prsOpened: "PRs opened"
            case .prsMerged: "PRs merged"
            case .reviews: "reviews"
            case .issues: "issues"
            case .codingTime: "coding time"
            case .currentStreak: "current streak"
            case .longestStreak: "longest streak"
            }
        }

        var section: String { self == .currentStreak || self == .longestStreak ? "streak" : "summary" }

        func message(_ snapshot: ProfileSnapshot, range: PublicRange) -> String {
            let totals = snapshot.totals[range]
            let counters = totals?.counters ?? DailyCounters()
            func days(_ count: Int) -> String { "\(CardNumberFormat.thousands(count)) \(count == 1 ? "day" : "days")" }
            switch self {
            case .commits: return CardNumberFormat.thousands(counters.commits)
            case .prsOpened: return CardNumberFormat.thousands(counters.prsOpened)
            case .prsMerged: return CardNumberFormat.thousands(counters.prsMerged)
            case .reviews: return CardNumberFormat.thousands(counters.reviews)
            case .issues: return CardNumberFormat.thousands(counters.issuesOpened)
            case .codingTime: return CardNumberFormat.hoursAndMinutes(seconds: Int(clamping: Int64((totals?.codingSeconds ?? 0).rounded())))
            case .currentStreak: return days(snapshot.streak.current)
            case .longestStreak: return days(snapshot.streak.longest)
            }
        }
    }

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("/public/{login}/cards/streak.svg") { request, context in
            try await publicRoutes.limit(request, context, .image)
            let style = try CardStyle(request)
            return try await answer(request, context, variant: "streak|\(style.key)") { snapshot in
                guard let snapshot, snapshot.shows("streak") else { return unavailable(style) }
                let model = StreakCardModel(
                    totalContributions: snapshot.totals[.all].map { ContributionCount.of($0.counters) } ?? 0,
                    firstContribution: snapshot.firstActiveDay, streak: snapshot.streak, currentEnd: snapshot.currentEnd, today: snapshot.today,
                    title: "\(snapshot.displayName)'s contribution streak")
                return Self.svg(StreakCard.render(model, theme: style.theme, hideBorder: style.hideBorder))
            }
        }
        group.get("/public/{login}/cards/stats.svg") { request, context in
            try await publicRoutes.limit(request, context, .image)
            let style = try CardStyle(request)
            let range = try Self.range(request)
            let hide = Set(
                try Self.list(request, "hide").map { name throws -> StatsCardRow in
                    guard let row = StatsCardRow(rawValue: name) else {
                        let rows = StatsCardRow.allCases.map(\.rawValue).joined(separator: ", ")
                        throw HubHTTPError.badRequest(
                            "hide: '\(InputText.sanitized(name, maxBytes: 40))' is not a row (\(rows))", code: "invalid_hide")
                    }
                    return row
                })
            let variant = "stats|\(style.key)|\(range.rawValue)|\(hide.map(\.rawValue).sorted().joined(separator: ","))"
            return try await answer(request, context, variant: variant) { snapshot in
                guard let snapshot, snapshot.shows("summary"), let totals = snapshot.totals[range] else { return unavailable(style) }
                let c = totals.counters
                let model = StatsCardModel(
                    displayName: snapshot.displayName, commits: c.commits, pullRequests: c.prsOpened, pullRequestsMerged: c.prsMerged,
                    reviews: c.reviews, issues: c.issuesOpened, codingSeconds: Int(totals.codingSeconds.rounded()), caption: range.caption)
                return Self.svg(StatsCard.render(model, theme: style.theme, hideBorder: style.hideBorder, hide: hide))
            }
        }
        group.get("/public/{login}/cards/languages.svg") { request, context in
            try await publicRoutes.limit(request, context, .image)
            let style = try CardStyle(request)
            let query = request.uri.queryParameters
            let count = try query.get("count").map { text -> Int in
                guard let count = Int(text), (1...TopLanguagesCard.maxCount).contains(count) else {
                    throw HubHTTPError.badRequest("count must be a whole number from 1 to \(TopLanguagesCard.maxCount)", code: "invalid_count")
                }
                return count
            }
            let byCoding: Bool
            switch query.get("by") {
            case nil, "commits": byCoding = false
            case "coding": byCoding = true
            default: throw HubHTTPError.badRequest("by must be commits or coding", code: "invalid_by")
            }
            let hide = Set(try Self.list(request, "hide").map { $0.lowercased() })
            let variant = "languages|\(style.key)|\(count ?? 0)|\(byCoding)|\(hide.sorted().joined(separator: ","))"
            return try await answer(request, context, variant: variant) { snapshot in
                guard let snapshot, snapshot.shows(byCoding ? "coding" : "languages") else { return unavailable(style) }
                let languages: [(name: String, amount: Double)] =
                    byCoding
                    ? snapshot.codingLanguages.compactMap { entry in entry.language.map { ($0, entry.seconds) } }
                    : snapshot.commitLanguages.compactMap { entry in entry.language.map { ($0, Double(entry.commits)) } }
                return Self.svg(
                    TopLanguagesCard.render(
                        languages, count: count ?? TopLanguagesCard.defaultCount, theme: style.theme, hideBorder: style.hideBorder, hide: hide))
            }
        }
        group.get("/public/{login}/badges/{metric}") { request, context in
            try await publicRoutes.limit(request, context, .image)
            let metric = try Self.metric(context, suffix: ".svg")
            let range = try Self.range(request)
            let label = try Self.label(request) ?? metric.label
            let color = String((request.uri.queryParameters.get("color") ?? "blue").prefix(Self.maxColorLength))
            return try await answer(request, context, variant: "badge|\(metric.rawValue)|\(range.rawValue)|\(label)|\(color)") { snapshot in
                guard let snapshot, snapshot.shows(metric.section) else { return Self.svg(Badge.renderUnavailable(label: label), maxAge: 60) }
                return Self.svg(Badge.render(label: label, message: metric.message(snapshot, range: range), color: color))
            }
        }
        group.get("/public/{login}/shields/{metric}") { request, context in
            try await publicRoutes.limit(request, context, .image)
            let metric = try Self.metric(context, suffix: ".json")
            let range = try Self.range(request)
            let label = try Self.label(request) ?? metric.label
            let color = ShieldsColor.valid(request.uri.queryParameters.get("color")) ?? "blue"
            return try await answer(request, context, variant: "shields|\(metric.rawValue)|\(range.rawValue)|\(label)|\(color)") { snapshot in
                guard let snapshot, snapshot.shows(metric.section) else {
                    let body = ShieldsEndpointBody(label: label, message: "not available", color: "lightgrey", isError: true)
                    return PublicBody(bytes: try PublicProfileController.json(body), contentType: PublicProfileController.jsonType, maxAge: 60)
                }
                let body = ShieldsEndpointBody(label: label, message: metric.message(snapshot, range: range), color: color, isError: nil)
                return PublicBody(bytes: try PublicProfileController.json(body), contentType: PublicProfileController.jsonType)
            }
        }
    }

    /// The answer for the request's login, rendered once per snapshot; a login GitHub could not have is rendered
    /// as an unknown one, uncached.
    func answer(
        _ request: Request, _ context: APIRequestContext, variant: String, render: (ProfileSnapshot?) throws -> PublicBody
    ) async throws -> Response {
        guard let login = try? PublicProfileController.login(context) else { return publicRoutes.respond(request, try render(nil)) }
        return publicRoutes.respond(request, try await profiles.body(login: login, variant: variant, render: render))
    }

    static let maxColorLength = 30

    static func svg(_ text: String, maxAge: Int? = nil) -> PublicBody { PublicBody(bytes: Array(text.utf8), contentType: svg, maxAge: maxAge) }

    func unavailable(_ style: CardStyle) -> PublicBody {
        Self.svg(UnavailableCard.render(theme: style.theme, hideBorder: style.hideBorder), maxAge: 60)
    }

    static func range(_ request: Request) throws -> PublicRange {
        guard let text = request.uri.queryParameters.get("range") else { return .all }
        guard let range = PublicRange(rawValue: text) else {
            throw HubHTTPError.badRequest("range must be one of 7d, 30d, 365d, all", code: "invalid_range")
        }
        return range
    }

    /// `{metric}.svg` or `{metric}.json` of the path.
    static func metric(_ context: APIRequestContext, suffix: String) throws -> Metric {
        let name = context.parameters.get("metric") ?? ""
        guard name.hasSuffix(suffix), let metric = Metric(rawValue: String(name.dropLast(suffix.count))) else {
            let metrics = Metric.allCases.map { $0.rawValue + suffix }.joined(separator: ", ")
            throw HubHTTPError.notFound(
                "no badge \(InputText.sanitized(name, maxBytes: 60)): metrics are \(metrics)"
            )
        }
        return metric
    }

    static func label(_ request: Request) throws -> String? {
        guard let label = request.uri.queryParameters.get("label") else { return nil }
        if let problem = InputText.problem(label, maxBytes: 50) { throw HubHTTPError.badRequest("label \(problem)", code: "invalid_label") }
        return label
    }

    /// A comma-separated parameter's items (at most 20, each at most 40 bytes).
    static func list(_ request: Request, _ name: String) throws -> [String] {
        guard let text = request.uri.queryParameters.get(name), !text.isEmpty else { return [] }
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard items.count <= 20, items.allSatisfy({ InputText.isAcceptable($0, maxBytes: 40) }) else {
            throw HubHTTPError.badRequest("\(name) takes at most 20 comma-separated names of at most 40 bytes", code: "invalid_\(name)")
        }
        return items
    }
}

/// `?theme=` and `?hide_border=` of every card.
struct CardStyle {
    let theme: CardTheme
    let hideBorder: Bool

    /// What tells two renderings apart, for the cache.
    var key: String { "\(theme.rawValue)|\(hideBorder)" }

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let name = query.get("theme") {
            guard let theme = CardTheme(rawValue: name) else {
                throw HubHTTPError.badRequest(
                    "theme must be one of \(CardTheme.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid_theme")
            }
            self.theme = theme
        } else {
            theme = .default
        }
        switch query.get("hide_border") {
        case nil, "false": hideBorder = false
        case "true": hideBorder = true
        default: throw HubHTTPError.badRequest("hide_border must be true or false", code: "invalid_hide_border")
        }
    }
}

/// shields.io's endpoint schema (https://shields.io/badges/endpoint-badge).
struct ShieldsEndpointBody: Encodable {
    let schemaVersion = 1
    let label: String
    let message: String
    let color: String
    let isError: Bool?
}

/// A colour shields.io understands and that cannot carry anything else: a plain name or 3/6 hex digits.
enum ShieldsColor {
    static func valid(_ text: String?) -> String? {
        guard let text, (1...20).contains(text.utf8.count) else { return nil }
        let hex = text.hasPrefix("#") ? text.dropFirst() : Substring(text)
        if (hex.count == 3 || hex.count == 6) && hex.allSatisfy({ $0.isASCII && $0.isHexDigit }) { return String(hex) }
        return text.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) ? text : nil
    }
}
