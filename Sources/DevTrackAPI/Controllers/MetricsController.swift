import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// The user's numbers: per day, summed over a range, from custom sources, and the streak.
struct MetricsController: Sendable {
    let activity: ActivityRepository
    let codingTime: CodingTimeRepository
    let streakFreezes: StreakFreezeRepository
    let maxRangeDays: Int

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/metrics/daily") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let counters = try await activity.dailyCounters(userID: user.id, range: range)
            let coding = try await codingTime.codingTotals(userID: user.id, range: range)
            return try JSONResponse.make(
                DailyBody(
                    timezone: user.timezone,
                    days: range.dates.map { DayBody(date: $0, counters: counters[$0] ?? DailyCounters(), coding: coding[$0] ?? CodingDayTotals()) }))
        }
        v1.get("/metrics/summary") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let counters = try await activity.dailyCounters(userID: user.id, range: range)
            let coding = try await codingTime.codingTotals(userID: user.id, range: range)
            return try JSONResponse.make(
                SummaryBody(
                    timezone: user.timezone, from: range.from, to: range.to,
                    totals: counters.values.reduce(DailyCounters(), +),
                    activeDays: Set(counters.filter { $0.value.isActive }.keys).union(coding.filter { $0.value.seconds > 0 }.keys).count,
                    coding: coding.values))
        }
        v1.get("/metrics/custom") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let days = try await activity.customMetrics(userID: user.id, zone: user.timezone, range: range)
            return try JSONResponse.make(CustomMetricsBody(timezone: user.timezone, range: range, days: days))
        }
        v1.get("/metrics/streak") { _, context in
            let user = try context.user
            let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
            let streak = StreakSummary.compute(
                activeDays: try await activity.activeDays(userID: user.id), frozenDays: try await streakFreezes.streakFreezes(userID: user.id),
                today: today)
            return try JSONResponse.make(streak)
        }
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
