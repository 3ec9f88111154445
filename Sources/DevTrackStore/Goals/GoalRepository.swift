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

/// Goals and their completed periods (`goals`, `goal_completions`, `users.goals_revision`).
public struct GoalRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension GoalRepository {
    /// Creates the goal and, in the same statement, queues `goal.created` for the user's endpoints subscribed to it.
    public func createGoal(_ goal: GoalRecord) async throws {
        let envelope = WebhookEnvelope.goalCreated(
            userID: goal.userID, goalID: goal.id, title: goal.title, target: goal.target, unit: goal.unit.description,
            period: goal.period.rawValue, deadline: goal.deadline, at: goal.createdAt)
        try await database.transaction { transaction in
            try await transaction.connection.query(
                """
                WITH created AS (
                    INSERT INTO goals (id, user_id, title, target, unit, period, deadline, timezone, created_at)
                    VALUES (\(goal.id), \(goal.userID), \(goal.title), \(goal.target), \(goal.unit.description), \(goal.period.rawValue),
                            \(goal.deadline), \(goal.timezone), \(goal.createdAt))
                    RETURNING user_id
                )
                UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM created)
                """, logger: logger)
            let event = WebhookEvent(
                userID: goal.userID, type: "goal.created", dedupeKey: "goal.created:\(goal.id.uuidString.lowercased())", payload: envelope.json())
            try await OutboxRepository(database).queueForSubscribedEndpoints([event], on: transaction)
        }
    }

    public func goals(userID: UUID) async throws -> [GoalRecord] {
        try await goalRows(
            client.query(
                """
                SELECT \(unescaped: Self.columns()) FROM goals
                WHERE user_id = \(userID) ORDER BY created_at, id
                """, logger: logger))
    }

    /// The user's goal, nil when it does not exist or belongs to someone else.
    public func goal(userID: UUID, id: UUID) async throws -> GoalRecord? {
        try await goalRows(
            client.query(
                """
                SELECT \(unescaped: Self.columns()) FROM goals
                WHERE user_id = \(userID) AND id = \(id)
                """, logger: logger)
        ).first
    }

    public func updateGoal(_ goal: GoalRecord) async throws {
        try await client.query(
            """
            WITH updated AS (
                UPDATE goals SET title = \(goal.title), target = \(goal.target), deadline = \(goal.deadline),
                                 timezone = \(goal.timezone), updated_at = now()
                WHERE id = \(goal.id) AND user_id = \(goal.userID)
                RETURNING user_id
            )
            UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM updated)
            """, logger: logger)
    }

    public func deleteGoal(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query(
            """
            WITH deleted AS (DELETE FROM goals WHERE user_id = \(userID) AND id = \(id) RETURNING user_id)
            UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM deleted) RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The columns a `GoalRecord` is read from, in `GoalColumns`' order (each prefixed `table.` when given).
    static func columns(of table: String? = nil) -> String {
        ["id", "user_id", "title", "target", "unit", "period", "deadline", "timezone", "created_at"]
            .map { column in table.map { "\($0).\(column)" } ?? column }.joined(separator: ", ")
    }

    typealias GoalColumns = (UUID, UUID, String, Int32, String, String, LocalDate?, String?, Date)

    /// The goal of one row of `columns`; nil for a unit or period this build does not know.
    static func record(_ row: GoalColumns) -> GoalRecord? {
        let (id, userID, title, target, unit, period, deadline, timezone, createdAt) = row
        guard let unit = GoalUnit(unit), let period = GoalPeriod(rawValue: period) else { return nil }
        return GoalRecord(
            id: id, userID: userID, title: title, target: Int(target), unit: unit, period: period,
            deadline: deadline.map { readableDeadline($0, createdAt: createdAt) }, timezone: timezone, createdAt: createdAt)
    }

    func goalRows(_ rows: PostgresRowSequence) async throws -> [GoalRecord] {
        var goals: [GoalRecord] = []
        for try await row in rows.decode(GoalColumns.self) {
            if let goal = Self.record(row) { goals.append(goal) }
        }
        return goals
    }

    /// The API accepts deadlines up to 10 years ahead (and migration 017 clamps older rows), but a row from
    /// before that check must still read back: a deadline more than 100 years after the goal's creation is
    /// read as that limit, so progress and history ranges stay within `DateRange`'s bound.
    static func readableDeadline(_ deadline: LocalDate, createdAt: Date) -> LocalDate {
        min(deadline, LocalDate(createdAt, in: .gmt).adding(days: 36_524))
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
            let seconds = try await CodingTimeRepository(database).codingTotals(userID: goal.userID, range: range).values.reduce(0) {
                $0 + $1.seconds
            }
            return GoalProgress(window: window, current: Int(seconds / 60), completedAt: nil)
        case .activeDays:
            let days = try await ActivityRepository(database).activeDays(userID: goal.userID).filter { $0 >= window.start && $0 <= window.end }
            let reachedOn = days.count >= goal.target ? days[goal.target - 1] : nil
            return GoalProgress(window: window, current: days.count, completedAt: reachedOn?.startOfDay(in: zone))
        default:
            let kind = goal.unit.factKind ?? ""
            let (start, end) = (window.start.startOfDay(in: zone), window.end.adding(days: 1).startOfDay(in: zone))
            let rows = try await client.query(
                """
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

extension GoalRepository {
    /// Records completions (idempotently: a completion already there stays as it was).
    public func recordCompletions(_ completions: [(key: GoalPeriodKey, at: Date)]) async throws {
        guard !completions.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO goal_completions (goal_id, period_start, completed_at)
            SELECT g, p, c FROM unnest(\(completions.map(\.key.goalID)), \(completions.map(\.key.periodStart)),
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

extension GoalRepository {
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
            if let deadline = goal.deadline, deadline < today { windows = [GoalWindow(start: created, end: max(created, deadline))] }
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
            perDay = try await CodingTimeRepository(database).codingTotals(userID: goal.userID, range: range).mapValues { $0.seconds / 60 }
        case .activeDays:
            for day in try await ActivityRepository(database).activeDays(userID: goal.userID) where day >= oldest && day <= newest { perDay[day] = 1 }
        default:
            let (start, end) = (oldest.startOfDay(in: zone), newest.adding(days: 1).startOfDay(in: zone))
            let rows = try await client.query(
                """
                SELECT (occurred_at AT TIME ZONE \(zoneName))::date, count(*) FROM activities
                WHERE user_id = \(goal.userID) AND kind = \(goal.unit.factKind ?? "") AND occurred_at >= \(start) AND occurred_at < \(end)
                GROUP BY 1
                """, logger: logger)
            for try await (day, count) in rows.decode((LocalDate, Int64).self) {
                perDay[day] = Double(count)
            }
        }
        return windows.map { window in
            let total = perDay.filter { $0.key >= window.start && $0.key <= window.end }.values.reduce(0, +)
            return GoalPeriodResult(window: window, achieved: Int(total))
        }
    }
}

// MARK: - The goals worker's evaluation

/// A goal with the zone its periods are read in and its current period.
public struct GoalInPeriod: Sendable {
    public let goal: GoalRecord
    public let zone: TimeZone
    /// True when the goal's periods follow the user's zone, the zone `daily_stats` is bucketed in.
    public let inUserZone: Bool
    public let window: GoalWindow

    public init(goal: GoalRecord, zone: TimeZone, inUserZone: Bool, window: GoalWindow) {
        self.goal = goal
        self.zone = zone
        self.inUserZone = inUserZone
        self.window = window
    }

    public var key: GoalPeriodKey { GoalPeriodKey(goalID: goal.id, periodStart: window.start) }
}

/// What the goals worker needs to know about a user to trust the goals it keeps in memory.
public struct GoalOwner: Sendable, Equatable {
    public let timezone: String
    public let goalsRevision: Int64
}

extension GoalRepository {
    /// Every goal of these users.
    public func goals(userIDs: [UUID]) async throws -> [UUID: [GoalRecord]] {
        guard !userIDs.isEmpty else { return [:] }
        var result: [UUID: [GoalRecord]] = [:]
        for goal in try await goalRows(
            client.query(
                """
                SELECT \(unescaped: Self.columns()) FROM goals
                WHERE user_id = ANY(\(userIDs))
                """, logger: logger))
        {
            result[goal.userID, default: []].append(goal)
        }
        return result
    }

    /// Which of these (goal, period) pairs are already recorded as completed.
    public func recordedCompletions(_ keys: [GoalPeriodKey]) async throws -> Set<GoalPeriodKey> {
        guard !keys.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT c.goal_id, c.period_start FROM goal_completions c
            JOIN unnest(\(keys.map(\.goalID)), \(keys.map(\.periodStart))) AS t(g, p) ON c.goal_id = t.g AND c.period_start = t.p
            """, logger: logger)
        var recorded: Set<GoalPeriodKey> = []
        for try await (goalID, start) in rows.decode((UUID, LocalDate).self) {
            recorded.insert(GoalPeriodKey(goalID: goalID, periodStart: start))
        }
        return recorded
    }

    /// The current-period progress of many goals in at most three queries, read from the daily aggregates
    /// (a window is at most a month of rows for recurring goals, whatever the user's history). Goals in a
    /// zone other than their user's, or of custom units, are counted from the facts one by one.
    public func currentProgress(_ goals: [GoalInPeriod]) async throws -> [UUID: Int] {
        var result: [UUID: Int] = [:]
        var byMeasure: [String: [GoalInPeriod]] = [:]
        for goal in goals {
            switch goal.goal.unit {
            case .codingMinutes: byMeasure["coding", default: []].append(goal)
            case .activeDays: byMeasure["active", default: []].append(goal)
            case .custom: byMeasure["facts", default: []].append(goal)
            default: byMeasure[goal.inUserZone ? "daily" : "facts", default: []].append(goal)
            }
        }
        if let daily = byMeasure["daily"] {
            let rows = try await client.query(
                """
                SELECT t.g, coalesce((SELECT sum(CASE t.unit WHEN 'commits' THEN d.commits WHEN 'prs_opened' THEN d.prs_opened
                                                         WHEN 'prs_merged' THEN d.prs_merged WHEN 'reviews' THEN d.reviews
                                                         ELSE d.issues_closed END)
                                      FROM daily_stats d WHERE d.user_id = t.u AND d.day BETWEEN t.s AND t.e), 0)::bigint
                FROM unnest(\(daily.map(\.goal.id)), \(daily.map(\.goal.userID)), \(daily.map(\.goal.unit.description)),
                            \(daily.map(\.window.start)), \(daily.map(\.window.end))) AS t(g, u, unit, s, e)
                """, logger: logger)
            for try await (goalID, value) in rows.decode((UUID, Int64).self) { result[goalID] = Int(value) }
        }
        if let coding = byMeasure["coding"] {
            let rows = try await client.query(
                """
                SELECT t.g, coalesce((SELECT sum(seconds) FROM coding_days(t.u, t.s, t.e)), 0)::double precision
                FROM unnest(\(coding.map(\.goal.id)), \(coding.map(\.goal.userID)), \(coding.map(\.window.start)),
                            \(coding.map(\.window.end))) AS t(g, u, s, e)
                """, logger: logger)
            for try await (goalID, seconds) in rows.decode((UUID, Double).self) { result[goalID] = Int(seconds / 60) }
        }
        if let active = byMeasure["active"] {
            let rows = try await client.query(
                """
                SELECT t.g, (SELECT count(*) FROM active_days(t.u, t.s, t.e))
                FROM unnest(\(active.map(\.goal.id)), \(active.map(\.goal.userID)), \(active.map(\.window.start)),
                            \(active.map(\.window.end))) AS t(g, u, s, e)
                """, logger: logger)
            for try await (goalID, days) in rows.decode((UUID, Int64).self) { result[goalID] = Int(days) }
        }
        for goal in byMeasure["facts"] ?? [] {
            let kind = goal.goal.unit.factKind ?? ""
            let (start, end) = (goal.window.start.startOfDay(in: goal.zone), goal.window.end.adding(days: 1).startOfDay(in: goal.zone))
            let rows = try await client.query(
                """
                SELECT count(*) FROM activities
                WHERE user_id = \(goal.goal.userID) AND kind = \(kind) AND occurred_at >= \(start) AND occurred_at < \(end)
                """, logger: logger)
            for try await count in rows.decode(Int64.self) { result[goal.goal.id] = Int(count) }
        }
        return result
    }
}
