import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// Goals: CRUD with validation that names the field, and progress in the current period on every read.
struct GoalsController: Sendable {
    let goals: GoalRepository

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/goals") { request, context in
            let user = try context.user
            let body = try await request.decode(as: GoalInput.self, context: context)
            let title = try Self.title(body.title)
            let target = try Self.target(body.target)
            guard let unitName = body.unit, let unit = GoalUnit(unitName) else {
                throw Self.invalid("unit", "unit must be one of \(GoalUnit.names.joined(separator: ", "))")
            }
            guard let periodName = body.period, let period = GoalPeriod(rawValue: periodName) else {
                throw Self.invalid("period", "period must be one of \(GoalPeriod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let timezone = try Self.timezone(body.timezone)
            let deadline = try Self.deadline(body.deadline, zone: timezone ?? user.timezone)
            let goal = GoalRecord(
                id: UUID(), userID: user.id, title: title, target: target, unit: unit, period: period, deadline: deadline,
                timezone: timezone, createdAt: Date())
            try await goals.createGoal(goal)
            return try JSONResponse.make(try await goalBody(goal, user: user), status: .created)
        }
        v1.get("/goals") { request, context in
            let user = try context.user
            var bodies: [GoalBody] = []
            for goal in try await goals.goals(userID: user.id) { bodies.append(try await goalBody(goal, user: user)) }
            return try JSONResponse.make(["goals": bodies])
        }
        v1.get("/goals/{id}") { request, context in
            let user = try context.user
            return try JSONResponse.make(try await goalBody(try await ownGoal(context, user: user), user: user))
        }
        v1.get("/goals/{id}/history") { request, context in
            let user = try context.user
            let goal = try await ownGoal(context, user: user)
            let periods = try await goals.history(of: goal, userZone: user.timezone)
            return try JSONResponse.make(["history": periods.map { GoalHistoryRow($0, target: goal.target) }])
        }
        v1.patch("/goals/{id}") { request, context in
            let user = try context.user
            var goal = try await ownGoal(context, user: user)
            let body = try await request.decode(as: GoalInput.self, context: context)
            if body.unit != nil || body.period != nil {
                throw HubHTTPError.badRequest("unit and period cannot change; create a new goal", code: "invalid_field")
            }
            if body.title != nil { goal.title = try Self.title(body.title) }
            if body.target != nil { goal.target = try Self.target(body.target) }
            if body.timezone != nil { goal.timezone = try Self.timezone(body.timezone) }
            if body.deadline != nil { goal.deadline = try Self.deadline(body.deadline, zone: goal.timezone ?? user.timezone) }
            try await goals.updateGoal(goal)
            return try JSONResponse.make(try await goalBody(goal, user: user))
        }
        v1.delete("/goals/{id}") { request, context in
            let user = try context.user
            let goal = try await ownGoal(context, user: user)
            _ = try await goals.deleteGoal(userID: user.id, id: goal.id)
            return Response(status: .noContent)
        }
    }

    func ownGoal(_ context: APIRequestContext, user: UserRecord) async throws -> GoalRecord {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text), let goal = try await goals.goal(userID: user.id, id: id) else {
            throw HubHTTPError.notFound("no goal \(text)")
        }
        return goal
    }

    func goalBody(_ goal: GoalRecord, user: UserRecord) async throws -> GoalBody {
        GoalBody(goal, progress: try await goals.progress(of: goal, userZone: user.timezone), userZone: user.timezone)
    }

    static func invalid(_ field: String, _ message: String) -> HubHTTPError {
        HubHTTPError.badRequest(message, code: "invalid_\(field)")
    }

    /// The largest target (the column is int4; no goal needs more).
    static let maximumTarget = 1_000_000_000
    /// How far ahead a deadline may be: 10 years (also what migration 017 clamps stored deadlines to).
    static let maximumDeadlineDays = 3_653

    static func title(_ text: String?) throws -> String {
        guard let title = text?.trimmingCharacters(in: .whitespaces), (1...200).contains(title.count) else {
            throw invalid("title", "title is required (1–200 characters)")
        }
        if let problem = InputText.problem(title, maxBytes: 800) { throw invalid("title", "title \(problem)") }
        return title
    }

    /// Read as any JSON number, so that `1.5` or `1e20` is named as the target's problem rather than the body's.
    static func target(_ value: Double?) throws -> Int {
        guard let value, value.rounded() == value, (1...Double(maximumTarget)).contains(value) else {
            throw invalid("target", "target must be a whole number from 1 to \(maximumTarget)")
        }
        return Int(value)
    }

    /// A deadline from today (in the goal's zone, `zone`) to `maximumDeadlineDays` ahead.
    static func deadline(_ text: String?, zone: String, now: Date = Date()) throws -> LocalDate? {
        guard let text else { return nil }
        guard let date = LocalDate(text) else { throw invalid("deadline", "deadline must be a date as YYYY-MM-DD") }
        let today = LocalDate(now, in: TimeZones.named(zone) ?? .gmt)
        let latest = today.adding(days: maximumDeadlineDays)
        guard date >= today, date <= latest else {
            throw invalid("deadline", "deadline must be between \(today) and \(latest)")
        }
        return date
    }

    static func timezone(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard TimeZones.validatedInput(text) != nil else {
            throw invalid(
                "timezone",
                "timezone '\(InputText.sanitized(text, maxBytes: 64))' is not an IANA time zone name "
                    + "(e.g. Europe/Berlin; offsets such as UTC+05:30 are not accepted)"
            )
        }
        return text
    }
}

struct GoalInput: Decodable {
    let title: String?
    let target: Double?
    let unit: String?
    let period: String?
    let deadline: String?
    let timezone: String?
}

struct GoalBody: Encodable {
    let id: String
    let title: String
    let target: Int
    let unit: String
    let period: String
    let deadline: String?
    let timezone: String
    let current: Int
    let percent: Double
    let periodStart: String
    let periodEnd: String
    let completedAt: String?
    let createdAt: String

    init(_ goal: GoalRecord, progress: GoalProgress, userZone: String) {
        id = goal.id.uuidString.lowercased()
        title = goal.title
        target = goal.target
        unit = goal.unit.description
        period = goal.period.rawValue
        deadline = goal.deadline?.description
        timezone = goal.timezone ?? userZone
        current = progress.current
        percent = GoalMath.percent(current: progress.current, target: goal.target)
        periodStart = progress.window.start.description
        periodEnd = progress.window.end.description
        completedAt = progress.current >= goal.target ? progress.completedAt.map(Timestamps.format) : nil
        createdAt = Timestamps.format(goal.createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, target, unit, period, deadline, timezone, current, percent
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case completedAt = "completed_at"
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(target, forKey: .target)
        try container.encode(unit, forKey: .unit)
        try container.encode(period, forKey: .period)
        try container.encode(deadline, forKey: .deadline)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(current, forKey: .current)
        try container.encode(percent, forKey: .percent)
        try container.encode(periodStart, forKey: .periodStart)
        try container.encode(periodEnd, forKey: .periodEnd)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

struct GoalHistoryRow: Encodable {
    let periodStart: String
    let periodEnd: String
    let achieved: Int
    let target: Int
    let completed: Bool

    init(_ period: GoalPeriodResult, target: Int) {
        periodStart = period.window.start.description
        periodEnd = period.window.end.description
        achieved = period.achieved
        self.target = target
        completed = period.achieved >= target
    }

    enum CodingKeys: String, CodingKey {
        case achieved, target, completed
        case periodStart = "period_start"
        case periodEnd = "period_end"
    }
}
