import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// A goal as stored.
public struct GoalRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public var title: String
    public var target: Int
    public var unit: GoalUnit
    public var period: GoalPeriod
    public var deadline: LocalDate?
    public var timezone: String?
    public let createdAt: Date

    public init(
        id: UUID, userID: UUID, title: String, target: Int, unit: GoalUnit, period: GoalPeriod, deadline: LocalDate?,
        timezone: String?, createdAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.title = title
        self.target = target
        self.unit = unit
        self.period = period
        self.deadline = deadline
        self.timezone = timezone
        self.createdAt = createdAt
    }
}

/// A goal's current period and how far it is.
public struct GoalProgress: Sendable, Equatable {
    public let window: GoalWindow
    public let current: Int
    /// When the target was reached in this period (for units counted from facts: the reaching fact's time).
    public let completedAt: Date?
}

extension HubStore {
    public func createGoal(_ goal: GoalRecord) async throws {
        try await client.query("""
            INSERT INTO goals (id, user_id, title, target, unit, period, deadline, timezone, created_at)
            VALUES (\(goal.id), \(goal.userID), \(goal.title), \(goal.target), \(goal.unit.description), \(goal.period.rawValue),
                    \(goal.deadline?.description)::date, \(goal.timezone), \(goal.createdAt))
            """, logger: logger)
    }

    public func goals(userID: UUID) async throws -> [GoalRecord] {
        try await goalRows(client.query("""
            SELECT id, user_id, title, target, unit, period, deadline::text, timezone, created_at FROM goals
            WHERE user_id = \(userID) ORDER BY created_at, id
            """, logger: logger))
    }

    /// The user's goal, nil when it does not exist or belongs to someone else.
    public func goal(userID: UUID, id: UUID) async throws -> GoalRecord? {
        try await goalRows(client.query("""
            SELECT id, user_id, title, target, unit, period, deadline::text, timezone, created_at FROM goals
            WHERE user_id = \(userID) AND id = \(id)
            """, logger: logger)).first
    }

    public func updateGoal(_ goal: GoalRecord) async throws {
        try await client.query("""
            UPDATE goals SET title = \(goal.title), target = \(goal.target), deadline = \(goal.deadline?.description)::date,
                             timezone = \(goal.timezone), updated_at = now()
            WHERE id = \(goal.id) AND user_id = \(goal.userID)
            """, logger: logger)
    }

    public func deleteGoal(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM goals WHERE user_id = \(userID) AND id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    private func goalRows(_ rows: PostgresRowSequence) async throws -> [GoalRecord] {
        var goals: [GoalRecord] = []
        for try await (id, userID, title, target, unit, period, deadline, timezone, createdAt)
            in rows.decode((UUID, UUID, String, Int32, String, String, String?, String?, Date).self) {
            guard let unit = GoalUnit(unit), let period = GoalPeriod(rawValue: period) else { continue }
            goals.append(GoalRecord(
                id: id, userID: userID, title: title, target: Int(target), unit: unit, period: period,
                deadline: deadline.flatMap { LocalDate($0) }, timezone: timezone, createdAt: createdAt))
        }
        return goals
    }

    /// Progress in the period containing `now`, in the goal's zone (else `userZone`): facts counted between
    /// the period's local midnights; coding minutes and active days from the user's daily aggregates.
    public func progress(of goal: GoalRecord, userZone: String, now: Date = Date()) async throws -> GoalProgress {
        let zone = TimeZones.named(goal.timezone ?? userZone) ?? .gmt
        let window = GoalMath.window(
            goal.period, containing: LocalDate(now, in: zone), created: LocalDate(goal.createdAt, in: zone), deadline: goal.deadline)
        let range = try DateRange(from: window.start, to: max(window.start, window.end), maximumDays: 100_000)
        switch goal.unit {
        case .codingMinutes:
            let seconds = try await codingTotals(userID: goal.userID, range: range).values.reduce(0) { $0 + $1.seconds }
            return GoalProgress(window: window, current: Int(seconds / 60), completedAt: nil)
        case .activeDays:
            let days = try await activeDays(userID: goal.userID).filter { $0 >= window.start && $0 <= window.end }
            let reachedOn = days.count >= goal.target ? days[goal.target - 1] : nil
            return GoalProgress(window: window, current: days.count, completedAt: reachedOn?.startOfDay(in: zone))
        default:
            let kind = goal.unit.factKind ?? ""
            let (start, end) = (window.start.startOfDay(in: zone), window.end.adding(days: 1).startOfDay(in: zone))
            let rows = try await client.query("""
                SELECT count(*), (array_agg(occurred_at ORDER BY occurred_at, id))[\(goal.target)] FROM activities
                WHERE user_id = \(goal.userID) AND kind = \(kind) AND occurred_at >= \(start) AND occurred_at < \(end)
                """, logger: logger)
            for try await (count, reachedAt) in rows.decode((Int64, Date?).self) {
                return GoalProgress(window: window, current: Int(count), completedAt: reachedAt)
            }
            return GoalProgress(window: window, current: 0, completedAt: nil)
        }
    }
}

extension HubStore {
    /// The (goal, period start) pairs among these that are already recorded as completed.
    public func recordedCompletions(goalIDs: [UUID]) async throws -> Set<GoalPeriodKey> {
        let rows = try await client.query("""
            SELECT goal_id, period_start::text FROM goal_completions WHERE goal_id = ANY(\(goalIDs))
            """, logger: logger)
        var keys: Set<GoalPeriodKey> = []
        for try await (goalID, start) in rows.decode((UUID, String).self) {
            if let date = LocalDate(start) { keys.insert(GoalPeriodKey(goalID: goalID, periodStart: date)) }
        }
        return keys
    }

    /// Records completions (idempotently: a completion already there stays as it was).
    public func recordCompletions(_ completions: [(key: GoalPeriodKey, at: Date)]) async throws {
        guard !completions.isEmpty else { return }
        try await client.query("""
            INSERT INTO goal_completions (goal_id, period_start, completed_at)
            SELECT g, p::date, c FROM unnest(\(completions.map(\.key.goalID)), \(completions.map(\.key.periodStart.description)),
                                            \(completions.map(\.at))) AS t(g, p, c)
            WHERE EXISTS (SELECT 1 FROM goals WHERE id = g)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }
}

public struct GoalPeriodKey: Hashable, Sendable {
    public let goalID: UUID
    public let periodStart: LocalDate

    public init(goalID: UUID, periodStart: LocalDate) {
        self.goalID = goalID
        self.periodStart = periodStart
    }
}

/// One finished period of a goal.
public struct GoalPeriodResult: Sendable, Equatable {
    public let window: GoalWindow
    public let achieved: Int
}

extension HubStore {
    /// Every finished period of a recurring goal (newest first, at most `limit`), or the whole run of a `once`
    /// goal whose deadline has passed, with what was achieved in it — computed from the facts and daily
    /// aggregates, like the current period's progress.
    public func history(of goal: GoalRecord, userZone: String, now: Date = Date(), limit: Int = 366) async throws -> [GoalPeriodResult] {
        let zoneName = goal.timezone ?? userZone
        let zone = TimeZones.named(zoneName) ?? .gmt
        let today = LocalDate(now, in: zone)
        let created = LocalDate(goal.createdAt, in: zone)
        var windows: [GoalWindow] = []
        if goal.period == .once {
            if let deadline = goal.deadline, deadline < today { windows = [GoalWindow(start: created, end: deadline)] }
        } else {
            var window = GoalMath.window(goal.period, containing: today, created: created, deadline: goal.deadline)
            while windows.count < limit {
                window = GoalMath.window(goal.period, containing: window.start.adding(days: -1), created: created, deadline: goal.deadline)
                guard window.end >= created else { break }
                windows.append(window)
            }
        }
        guard let oldest = windows.last?.start, let newest = windows.first?.end else { return [] }
        let range = try DateRange(from: oldest, to: newest, maximumDays: 100_000)
        // Per local day, then summed per window: one query whatever the number of periods.
        var perDay: [LocalDate: Double] = [:]
        switch goal.unit {
        case .codingMinutes:
            perDay = try await codingTotals(userID: goal.userID, range: range).mapValues { $0.seconds / 60 }
        case .activeDays:
            for day in try await activeDays(userID: goal.userID) where day >= oldest && day <= newest { perDay[day] = 1 }
        default:
            let (start, end) = (oldest.startOfDay(in: zone), newest.adding(days: 1).startOfDay(in: zone))
            let rows = try await client.query("""
                SELECT (occurred_at AT TIME ZONE \(zoneName))::date::text, count(*) FROM activities
                WHERE user_id = \(goal.userID) AND kind = \(goal.unit.factKind ?? "") AND occurred_at >= \(start) AND occurred_at < \(end)
                GROUP BY 1
                """, logger: logger)
            for try await (day, count) in rows.decode((String, Int64).self) {
                if let date = LocalDate(day) { perDay[date] = Double(count) }
            }
        }
        return windows.map { window in
            let total = perDay.filter { $0.key >= window.start && $0.key <= window.end }.values.reduce(0, +)
            return GoalPeriodResult(window: window, achieved: Int(total))
        }
    }
}
