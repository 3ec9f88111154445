import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird

/// What anyone may see without signing in, of users who made their profile public: `GET /api/v1/public/{login}`.
/// A private and an unknown login answer the same 404. Rate limited per client address across api processes
/// (429 with `Retry-After`); answers carry an `ETag` and `Cache-Control`, and `If-None-Match` gets a 304.
struct PublicProfileController: Sendable {
    let profiles: PublicProfiles
    let limiter: PublicRateLimiter
    /// `Cache-Control: public, max-age=…` of public answers.
    let maxAge: Int
    /// Where a reverse proxy in front writes the client's address (`api.client_address_header`); nil: the peer's.
    let clientAddressHeader: HTTPField.Name?

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("/public/{login}") { request, context in
            try await limit(request, context, .profile)
            let login = try Self.login(context)
            let body = try await profiles.body(login: login, variant: "profile") { snapshot in
                guard let snapshot else { throw HubHTTPError.notFound("no public profile for \(InputText.sanitized(login, maxBytes: 100))") }
                return PublicBody(bytes: try Self.json(PublicProfileBody(snapshot)), contentType: Self.jsonType)
            }
            return respond(request, body)
        }
    }

    /// Refuses the request when its address has used up the window's allowance.
    func limit(_ request: Request, _ context: APIRequestContext, _ kind: PublicRateLimiter.Kind) async throws {
        let address = ClientAddress.of(peer: context.clientAddress, header: clientAddressHeader.flatMap { request.headers[$0] })
        if let retryAfter = await limiter.admit(address: address, kind: kind) {
            throw HubHTTPError(
                .tooManyRequests, code: "rate_limited", "too many requests from this address: retry in \(retryAfter) s",
                headers: [.retryAfter: String(retryAfter)])
        }
    }

    /// A GitHub login as GitHub allows them (1–39 letters, digits and hyphens); anything else cannot be a user.
    static func login(_ context: APIRequestContext) throws -> String {
        let login = context.parameters.get("login") ?? ""
        guard (1...39).contains(login.utf8.count), login.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 < 128 && isalnum(Int32($0)) != 0) })
        else { throw HubHTTPError.notFound("no public profile for \(InputText.sanitized(login, maxBytes: 100))") }
        return login
    }

    /// `body` with its `ETag` and `Cache-Control`, or a 304 when the client holds the same bytes.
    func respond(_ request: Request, _ body: PublicBody) -> Response {
        var headers: HTTPFields = [.eTag: body.tag, .cacheControl: "public, max-age=\(body.maxAge ?? maxAge)"]
        if EntityTag.matches(request.headers[.ifNoneMatch], body.tag) { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = body.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }

    static let jsonType = "application/json; charset=utf-8"

    static func json(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONResponse.encode(value))
    }
}

/// A public profile: only the sections the user chose; repositories only those known to be public.
struct PublicProfileBody: Encodable {
    let snapshot: ProfileSnapshot

    init(_ snapshot: ProfileSnapshot) { self.snapshot = snapshot }

    enum Key: String, CodingKey {
        case login, bio, timezone, summary, streak, achievements, languages, repositories, coding, sections, today
        case displayName = "display_name"
        case last30Days = "last_30_days"
        case allTime = "all_time"
        case codingSeconds = "coding_seconds"
        case totalContributions = "total_contributions"
        case firstContribution = "first_contribution"
        case id, title, tier
        case unlockedAt = "unlocked_at"
        case language, commits, seconds, share, repo, total, current, longest
        case todayActive = "today_active"
        case currentStart = "current_start"
        case currentEnd = "current_end"
        case longestStart = "longest_start"
        case longestEnd = "longest_end"
    }

    func encode(to encoder: any Encoder) throws {
        var box = encoder.container(keyedBy: Key.self)
        let s = snapshot
        try box.encode(s.user.login, forKey: .login)
        try box.encode(s.displayName, forKey: .displayName)
        try box.encode(s.profile.bio, forKey: .bio)
        try box.encode(s.user.timezone, forKey: .timezone)
        try box.encode(s.today, forKey: .today)
        try box.encode(s.profile.sections, forKey: .sections)
        if s.shows("summary") {
            var summary = box.nestedContainer(keyedBy: Key.self, forKey: .summary)
            for (range, key) in [(PublicRange.month, Key.last30Days), (.all, .allTime)] {
                guard let totals = s.totals[range] else { continue }
                try summary.encode(PeriodBody(totals), forKey: key)
            }
        }
        if s.shows("streak") {
            var streak = box.nestedContainer(keyedBy: Key.self, forKey: .streak)
            try streak.encode(s.streak.current, forKey: .current)
            try streak.encode(s.streak.longest, forKey: .longest)
            try streak.encode(s.streak.todayActive, forKey: .todayActive)
            try streak.encode(s.streak.currentStart, forKey: .currentStart)
            try streak.encode(s.currentEnd, forKey: .currentEnd)
            try streak.encode(s.streak.longestStart, forKey: .longestStart)
            try streak.encode(s.streak.longestEnd, forKey: .longestEnd)
            try streak.encode(s.totals[.all].map { ContributionCount.of($0.counters) } ?? 0, forKey: .totalContributions)
            try streak.encode(s.firstActiveDay, forKey: .firstContribution)
        }
        if s.shows("achievements") {
            var list = box.nestedUnkeyedContainer(forKey: .achievements)
            for unlocked in s.achievements {
                guard let achievement = AchievementCatalogue.byID[unlocked.achievementID] else { continue }
                var item = list.nestedContainer(keyedBy: Key.self)
                try item.encode(achievement.id, forKey: .id)
                try item.encode(achievement.title, forKey: .title)
                try item.encode(achievement.tier.rawValue, forKey: .tier)
                try item.encode(Timestamps.format(unlocked.unlockedAt), forKey: .unlockedAt)
            }
        }
        if s.shows("languages") {
            let total = s.commitLanguages.reduce(0) { $0 + $1.commits }
            var list = box.nestedUnkeyedContainer(forKey: .languages)
            for entry in s.commitLanguages.prefix(10) {
                var item = list.nestedContainer(keyedBy: Key.self)
                try item.encode(entry.language, forKey: .language)
                try item.encode(entry.commits, forKey: .commits)
                try item.encode(Share.of(Double(entry.commits), Double(total)), forKey: .share)
            }
        }
        if s.shows("repositories") {
            var list = box.nestedUnkeyedContainer(forKey: .repositories)
            for repository in s.repositories {
                var item = list.nestedContainer(keyedBy: Key.self)
                try item.encode(repository.repo, forKey: .repo)
                try item.encode(repository.counters.commits, forKey: .commits)
                try item.encode(ContributionCount.all(repository.counters), forKey: .total)
            }
        }
        if s.shows("coding") {
            // The last 30 days as the summary counts them; the languages come from editor heartbeats (the original
            // plugin's reported time has none), their shares of what has one.
            let total = s.codingLanguages.reduce(0) { $0 + $1.seconds }
            var coding = box.nestedContainer(keyedBy: Key.self, forKey: .coding)
            try coding.encode(Int(clamping: Int64((s.totals[.month]?.codingSeconds ?? 0).rounded())), forKey: .codingSeconds)
            var list = coding.nestedUnkeyedContainer(forKey: .languages)
            for entry in s.codingLanguages.prefix(10) {
                var item = list.nestedContainer(keyedBy: Key.self)
                try item.encode(entry.language, forKey: .language)
                try item.encode(Int(entry.seconds.rounded()), forKey: .seconds)
                try item.encode(Share.of(entry.seconds, total), forKey: .share)
            }
        }
    }
}

/// One range's counters and coding seconds.
struct PeriodBody: Encodable {
    let totals: ProfileSnapshot.Totals
    init(_ totals: ProfileSnapshot.Totals) { self.totals = totals }
    func encode(to encoder: any Encoder) throws {
        try totals.counters.encode(to: encoder)
        var box = encoder.container(keyedBy: PublicProfileBody.Key.self)
        try box.encode(Int(totals.codingSeconds.rounded()), forKey: .codingSeconds)
    }
}

enum ContributionCount {
    /// What makes days active and what GitHub's calendar counts: commits, PRs opened, reviews, issues opened.
    static func of(_ c: DailyCounters) -> Int { c.commits + c.prsOpened + c.reviews + c.issuesOpened }
    /// Every counter.
    static func all(_ c: DailyCounters) -> Int { c.commits + c.prsOpened + c.prsMerged + c.reviews + c.issuesOpened + c.issuesClosed + c.comments }
}

enum Share {
    /// 0 to 1 with 4 decimals; 0 of nothing.
    static func of(_ part: Double, _ total: Double) -> Double { total > 0 ? (part / total * 10_000).rounded() / 10_000 : 0 }
}
