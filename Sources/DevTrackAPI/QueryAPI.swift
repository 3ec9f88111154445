import DevTrackCore
import DevTrackHTTP
import DevTrackOutbound
import DevTrackStore
import Foundation
import Hummingbird
import Logging

public struct APIConfiguration: Sendable {
    /// Base URL under which ingest is reachable from GitHub, used to show a source's webhook URL.
    public var publicIngestURL: String
    public var maxRangeDays: Int
    /// How long a rotated-out secret keeps verifying.
    public var secretRotationGrace: Duration
    /// WakaTime's keystroke timeout, to recompute coding time when the user's zone changes.
    public var codingTimeout: Duration
    /// Streak freezes a user may use per calendar month.
    public var streakFreezesPerMonth: Int

    /// Hosts that may stand in for Discord and skip the public-address check (`notify.allow_hosts`).
    public var outboundAllowHosts: Set<String>
    /// The link in Discord messages back to a user's profile, `{login}` replaced.
    public var profileURLTemplate: String?
    /// Outbound webhook endpoints a user may have.
    public var maxWebhooksPerUser: Int

    public init(
        publicIngestURL: String, maxRangeDays: Int = 366, secretRotationGrace: Duration = .seconds(24 * 3600),
        codingTimeout: Duration = .seconds(900), streakFreezesPerMonth: Int = 2, outboundAllowHosts: Set<String> = [],
        profileURLTemplate: String? = nil, maxWebhooksPerUser: Int = 5
    ) {
        self.publicIngestURL = publicIngestURL
        self.maxRangeDays = maxRangeDays
        self.secretRotationGrace = secretRotationGrace
        self.codingTimeout = codingTimeout
        self.streakFreezesPerMonth = streakFreezesPerMonth
        self.outboundAllowHosts = outboundAllowHosts
        self.profileURLTemplate = profileURLTemplate
        self.maxWebhooksPerUser = maxWebhooksPerUser
    }
}

/// The HTTP query API for web clients (`/api/v1/...`). Bearer tokens; a resource of another user is a 404.
public struct QueryAPI: Sendable {
    let store: HubStore
    let secretBox: SecretBox
    let configuration: APIConfiguration
    /// For `POST /api/v1/settings/discord/test`.
    let outbound: OutboundHTTPClient
    /// For `POST /api/v1/sources/{id}/test`: the hub's own ingest, at the operator's URL (not user-controlled).
    let selfClient: OutboundHTTPClient
    /// For `GET /api/v1/stream`; runs as a service beside the HTTP server.
    let live: LiveEventsHub

    public init(store: HubStore, secretBox: SecretBox, configuration: APIConfiguration, live: LiveEventsHub) throws {
        self.store = store
        self.secretBox = secretBox
        self.configuration = configuration
        self.outbound = try OutboundHTTPClient(allowList: configuration.outboundAllowHosts)
        self.selfClient = try OutboundHTTPClient(
            allowList: Set([URLComponents(string: configuration.publicIngestURL)?.host].compactMap { $0 }), timeout: .seconds(10))
        self.live = live
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        let v1 = router.group("/api/v1")
        v1.get("/me") { request, _ in
            let user = try await authenticate(request)
            return try JSONResponse.make(MeBody(user))
        }
        addSourceRoutes(to: v1)

        v1.get("/metrics/daily") { request, _ in
            let user = try await authenticate(request)
            let range = try dateRange(request, user: user)
            let counters = try await store.dailyCounters(userID: user.id, range: range)
            let coding = try await store.codingTotals(userID: user.id, range: range)
            return try JSONResponse.make(
                DailyBody(
                    timezone: user.timezone,
                    days: range.dates.map { DayBody(date: $0, counters: counters[$0] ?? DailyCounters(), coding: coding[$0] ?? CodingDayTotals()) }))
        }
        v1.get("/metrics/summary") { request, _ in
            let user = try await authenticate(request)
            let range = try dateRange(request, user: user)
            let counters = try await store.dailyCounters(userID: user.id, range: range)
            let coding = try await store.codingTotals(userID: user.id, range: range)
            return try JSONResponse.make(
                SummaryBody(
                    timezone: user.timezone, from: range.from, to: range.to,
                    totals: counters.values.reduce(DailyCounters(), +),
                    activeDays: Set(counters.filter { $0.value.isActive }.keys).union(coding.filter { $0.value.seconds > 0 }.keys).count,
                    coding: coding.values))
        }
        v1.get("/metrics/custom") { request, _ in
            let user = try await authenticate(request)
            let range = try dateRange(request, user: user)
            let days = try await store.customMetrics(userID: user.id, zone: user.timezone, range: range)
            return try JSONResponse.make(CustomMetricsBody(timezone: user.timezone, range: range, days: days))
        }
        addCodingRoutes(to: v1)
        addGoalRoutes(to: v1)
        addStreakFreezeRoutes(to: v1)
        addAchievementRoutes(to: v1)
        addNotificationRoutes(to: v1)
        addSettingsRoutes(to: v1)
        addWebhookRoutes(to: v1)
        addStreamRoute(to: v1)
        v1.get("/metrics/streak") { request, _ in
            let user = try await authenticate(request)
            let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
            let streak = StreakSummary.compute(
                activeDays: try await store.activeDays(userID: user.id), frozenDays: try await store.streakFreezes(userID: user.id), today: today)
            return try JSONResponse.make(streak)
        }
    }

    /// `Authorization: Bearer <token>` → the token's user, or 401.
    func authenticate(_ request: Request) async throws -> UserRecord {
        guard let header = request.headers[.authorization] else {
            throw HubHTTPError.unauthorized("missing Authorization: Bearer <token> header")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HubHTTPError.unauthorized("Authorization header must be 'Bearer <token>'")
        }
        guard let user = try await store.user(bearerToken: String(parts[1])) else {
            throw HubHTTPError.unauthorized("unknown or revoked token", code: "invalid_token")
        }
        return user
    }

    /// `from`/`to` (YYYY-MM-DD, inclusive). Defaults: the last 30 local days.
    func dateRange(_ request: Request, user: UserRecord) throws -> DateRange {
        let query = request.uri.queryParameters
        let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
        func date(_ name: String, default value: LocalDate) throws -> LocalDate {
            guard let text = query[name[...]] else { return value }
            guard let date = LocalDate(text), (1970...9999).contains(date.components.year) else {
                throw HubHTTPError.badRequest(
                    "\(name) must be a date as YYYY-MM-DD from 1970-01-01 to 9999-12-31, got '\(InputText.sanitized(String(text), maxBytes: 40))'",
                    code: "invalid_date")
            }
            return date
        }
        let to = try date("to", default: today)
        let from = try date("from", default: to.adding(days: -29))
        do {
            return try DateRange(from: from, to: to, maximumDays: configuration.maxRangeDays)
        } catch {
            throw HubHTTPError.badRequest(error.description, code: "invalid_range")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw HubHTTPError.badRequest("invalid JSON body: \(Self.describe(error))", code: "invalid_body")
        }
    }

    /// `?limit=` of a paged list: 1–100, default 20; anything else is 400 `invalid_limit`.
    func pageLimit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 20 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw HubHTTPError.badRequest("limit must be a whole number from 1 to 100", code: "invalid_limit")
        }
        return value
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted(let context): context.debugDescription
        @unknown default: "\(error)"
        }
    }
}

// MARK: - Bodies

struct MeBody: Encodable {
    let id: String
    let login: String
    let githubID: Int64?
    let timezone: String
    enum CodingKeys: String, CodingKey {
        case id, login, timezone
        case githubID = "github_id"
    }
    init(_ user: UserRecord) {
        id = user.id.uuidString.lowercased()
        login = user.login
        githubID = user.githubID
        timezone = user.timezone
    }
}

struct DayBody: Encodable {
    let date: LocalDate
    let counters: DailyCounters
    let coding: CodingDayTotals
    func encode(to encoder: any Encoder) throws {
        try counters.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(date, forKey: .date)
        try CodingFields(coding.seconds, coding.heartbeatSeconds, coding.reportedSeconds).encode(to: encoder)
    }
    enum Key: String, CodingKey { case date }
}

/// `coding_seconds` (what counts: per day the larger of the two sources), and both sources.
struct CodingFields: Encodable {
    let total: Double
    let heartbeats: Double
    let reported: Double
    init(_ total: Double, _ heartbeats: Double, _ reported: Double) {
        (self.total, self.heartbeats, self.reported) = (total, heartbeats, reported)
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(Int(total.rounded()), forKey: .total)
        try container.encode(Int(heartbeats.rounded()), forKey: .heartbeats)
        try container.encode(Int(reported.rounded()), forKey: .reported)
    }
    enum Key: String, CodingKey {
        case total = "coding_seconds"
        case heartbeats = "coding_heartbeat_seconds"
        case reported = "coding_reported_seconds"
    }
}

struct DailyBody: Encodable {
    let timezone: String
    let days: [DayBody]
}

struct SummaryBody: Encodable {
    let timezone: String
    let from: LocalDate
    let to: LocalDate
    let totals: DailyCounters
    let activeDays: Int
    let coding: Dictionary<LocalDate, CodingDayTotals>.Values
    func encode(to encoder: any Encoder) throws {
        try totals.encode(to: encoder)
        try CodingFields(
            coding.reduce(0) { $0 + $1.seconds }, coding.reduce(0) { $0 + $1.heartbeatSeconds },
            coding.reduce(0) { $0 + $1.reportedSeconds }
        ).encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(activeDays, forKey: .activeDays)
    }
    enum Key: String, CodingKey {
        case timezone, from, to
        case activeDays = "active_days"
    }
}

/// `GET /api/v1/metrics/custom`: events from custom sources per local day and type, and totals per type.
struct CustomMetricsBody: Encodable {
    struct Day: Encodable {
        let date: String
        let kind: String
        let count: Int
        let value: Double
    }

    struct Total: Encodable {
        let kind: String
        let count: Int
        let value: Double
    }

    let timezone: String
    let from: String
    let to: String
    let days: [Day]
    let totals: [Total]

    init(timezone: String, range: DateRange, days: [CustomKindDay]) {
        self.timezone = timezone
        from = range.from.description
        to = range.to.description
        self.days = days.map { Day(date: $0.date.description, kind: $0.kind, count: $0.count, value: $0.value) }
        totals = Dictionary(grouping: days, by: \.kind).map { kind, days in
            Total(kind: kind, count: days.reduce(0) { $0 + $1.count }, value: days.reduce(0) { $0 + $1.value })
        }.sorted { $0.kind < $1.kind }
    }
}
