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
    /// Creates the goal and, in the same statement, queues `goal.created` for the user's endpoints subscribed to it.
    public func createGoal(_ goal: GoalRecord) async throws {
        let envelope = WebhookEnvelope.goalCreated(
            userID: goal.userID, goalID: goal.id, title: goal.title, target: goal.target, unit: goal.unit.description,
            period: goal.period.rawValue, deadline: goal.deadline, at: goal.createdAt)
        try await client.query(
            """
            WITH created AS (
                INSERT INTO goals (id, user_id, title, target, unit, period, deadline, timezone, created_at)
                VALUES (\(goal.id), \(goal.userID), \(goal.title), \(goal.target), \(goal.unit.description), \(goal.period.rawValue),
                        \(goal.deadline?.description)::date, \(goal.timezone), \(goal.createdAt))
                RETURNING user_id
            ), revised AS (
                UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM created)
            )
            INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
            SELECT gen_random_uuid(), e.user_id, 'webhook', e.id::text, \("goal.created:\(goal.id.uuidString.lowercased())"),
                   'goal.created', \(envelope.json())::jsonb
            FROM webhook_endpoints e
            WHERE e.user_id IN (SELECT user_id FROM created) AND e.enabled AND 'goal.created' = ANY(e.events)
            ON CONFLICT (channel, destination, dedupe_key) DO NOTHING
            """, logger: logger)
    }

    public func goals(userID: UUID) async throws -> [GoalRecord] {
        try await goalRows(
            client.query(
                """
                SELECT id, user_id, title, target, unit, period, deadline::text, timezone, created_at FROM goals
                WHERE user_id = \(userID) ORDER BY created_at, id
                """, logger: logger))
    }

    /// The user's goal, nil when it does not exist or belongs to someone else.
    public func goal(userID: UUID, id: UUID) async throws -> GoalRecord? {
        try await goalRows(
            client.query(
                """
                SELECT id, user_id, title, target, unit, period, deadline::text, timezone, created_at FROM goals
                WHERE user_id = \(userID) AND id = \(id)
                """, logger: logger)
        ).first
    }

    public func updateGoal(_ goal: GoalRecord) async throws {
        try await client.query(
            """
            WITH updated AS (
                UPDATE goals SET title = \(goal.title), target = \(goal.target), deadline = \(goal.deadline?.description)::date,
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

    func goalRows(_ rows: PostgresRowSequence) async throws -> [GoalRecord] {
        var goals: [GoalRecord] = []
        for try await (id, userID, title, target, unit, period, deadline, timezone, createdAt)
            in rows.decode((UUID, UUID, String, Int32, String, String, String?, String?, Date).self)
        {
            guard let unit = GoalUnit(unit), let period = GoalPeriod(rawValue: period) else { continue }
            goals.append(
                GoalRecord(
                    id: id, userID: userID, title: title, target: Int(target), unit: unit, period: period,
                    deadline: deadline.flatMap { LocalDate($0) }.map { Self.readableDeadline($0, createdAt: createdAt) },
                    timezone: timezone, createdAt: createdAt))
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
            let seconds = try await codingTotals(userID: goal.userID, range: range).values.reduce(0) { $0 + $1.seconds }
            return GoalProgress(window: window, current: Int(seconds / 60), completedAt: nil)
        case .activeDays:
            let days = try await activeDays(userID: goal.userID).filter { $0 >= window.start && $0 <= window.end }
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

extension HubStore {
    /// Records completions (idempotently: a completion already there stays as it was).
    public func recordCompletions(_ completions: [(key: GoalPeriodKey, at: Date)]) async throws {
        guard !completions.isEmpty else { return }
        try await client.query(
            """
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
            perDay = try await codingTotals(userID: goal.userID, range: range).mapValues { $0.seconds / 60 }
        case .activeDays:
            for day in try await activeDays(userID: goal.userID) where day >= oldest && day <= newest { perDay[day] = 1 }
        default:
            let (start, end) = (oldest.startOfDay(in: zone), newest.adding(days: 1).startOfDay(in: zone))
            let rows = try await client.query(
                """
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

extension HubStore {
    /// Every goal of these users.
    public func goals(userIDs: [UUID]) async throws -> [UUID: [GoalRecord]] {
        guard !userIDs.isEmpty else { return [:] }
        var result: [UUID: [GoalRecord]] = [:]
        for goal in try await goalRows(
            client.query(
                """
                SELECT id, user_id, title, target, unit, period, deadline::text, timezone, created_at FROM goals
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
            SELECT c.goal_id, c.period_start::text FROM goal_completions c
            JOIN unnest(\(keys.map(\.goalID)), \(keys.map(\.periodStart.description))) AS t(g, p) ON c.goal_id = t.g AND c.period_start = t.p::date
            """, logger: logger)
        var recorded: Set<GoalPeriodKey> = []
        for try await (goalID, start) in rows.decode((UUID, String).self) {
            if let date = LocalDate(start) { recorded.insert(GoalPeriodKey(goalID: goalID, periodStart: date)) }
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
                                      FROM daily_stats d WHERE d.user_id = t.u AND d.day BETWEEN t.s::date AND t.e::date), 0)::bigint
                FROM unnest(\(daily.map(\.goal.id)), \(daily.map(\.goal.userID)), \(daily.map(\.goal.unit.description)),
                            \(daily.map(\.window.start.description)), \(daily.map(\.window.end.description))) AS t(g, u, unit, s, e)
                """, logger: logger)
            for try await (goalID, value) in rows.decode((UUID, Int64).self) { result[goalID] = Int(value) }
        }
        if let coding = byMeasure["coding"] {
            let rows = try await client.query(
                """
                SELECT t.g, coalesce((SELECT sum(m) FROM (
                    SELECT greatest(sum(h), sum(r)) AS m FROM (
                        SELECT day, seconds AS h, 0::double precision AS r FROM coding_daily
                        WHERE user_id = t.u AND day BETWEEN t.s::date AND t.e::date
                        UNION ALL
                        SELECT day, 0, seconds FROM coding_reported WHERE user_id = t.u AND day BETWEEN t.s::date AND t.e::date
                    ) x GROUP BY day) y), 0)::double precision
                FROM unnest(\(coding.map(\.goal.id)), \(coding.map(\.goal.userID)), \(coding.map(\.window.start.description)),
                            \(coding.map(\.window.end.description))) AS t(g, u, s, e)
                """, logger: logger)
            for try await (goalID, seconds) in rows.decode((UUID, Double).self) { result[goalID] = Int(seconds / 60) }
        }
        if let active = byMeasure["active"] {
            let rows = try await client.query(
                """
                SELECT t.g, (SELECT count(*) FROM (
                    SELECT day FROM daily_stats WHERE user_id = t.u AND day BETWEEN t.s::date AND t.e::date
                                                  AND commits + prs_opened + reviews + issues_opened > 0
                    UNION SELECT day FROM coding_daily WHERE user_id = t.u AND day BETWEEN t.s::date AND t.e::date AND seconds > 0
                    UNION SELECT day FROM coding_reported WHERE user_id = t.u AND day BETWEEN t.s::date AND t.e::date AND seconds > 0
                ) d)
                FROM unnest(\(active.map(\.goal.id)), \(active.map(\.goal.userID)), \(active.map(\.window.start.description)),
                            \(active.map(\.window.end.description))) AS t(g, u, s, e)
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

// MARK: - Deadline reminders

extension HubStore {
    /// Goals whose deadline is between `from` and `to` and that have no reminder for it yet, with their
    /// user's zone.
    public func goalsAwaitingReminder(deadlinesFrom from: LocalDate, to: LocalDate) async throws -> [(goal: GoalRecord, userZone: String)] {
        let rows = try await client.query(
            """
            SELECT g.id, g.user_id, g.title, g.target, g.unit, g.period, g.deadline::text, g.timezone, g.created_at, u.timezone
            FROM goals g JOIN users u ON u.id = g.user_id
            WHERE g.deadline BETWEEN \(from.description)::date AND \(to.description)::date
              AND NOT EXISTS (SELECT 1 FROM goal_reminders r WHERE r.goal_id = g.id AND r.deadline = g.deadline)
            """, logger: logger)
        var result: [(goal: GoalRecord, userZone: String)] = []
        for try await (id, userID, title, target, unit, period, deadline, timezone, createdAt, userZone)
            in rows.decode((UUID, UUID, String, Int32, String, String, String?, String?, Date, String).self)
        {
            guard let unit = GoalUnit(unit), let period = GoalPeriod(rawValue: period) else { continue }
            result.append(
                (
                    GoalRecord(
                        id: id, userID: userID, title: title, target: Int(target), unit: unit, period: period,
                        deadline: deadline.flatMap { LocalDate($0) }, timezone: timezone, createdAt: createdAt), userZone
                ))
        }
        return result
    }

    public func recordReminders(_ reminders: [(goalID: UUID, deadline: LocalDate)]) async throws {
        guard !reminders.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO goal_reminders (goal_id, deadline)
            SELECT t.g, t.d::date FROM unnest(\(reminders.map(\.goalID)), \(reminders.map(\.deadline.description))) AS t(g, d)
            WHERE EXISTS (SELECT 1 FROM goals WHERE id = t.g)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Users whose streak (at least `minimumDays` active days) ended yesterday in their zone, whose local time
    /// is at or after `hour`:00, with no freeze for today and no `streak.at_risk` sent today: the latest
    /// streak run is the one the achievements worker keeps in `user_totals`.
    public func streaksAtRisk(now: Date, hour: Int, minimumDays: Int) async throws -> [(userID: UUID, days: Int, date: LocalDate)] {
        let rows = try await client.query(
            """
            SELECT u.id, t.streak_days, l.today::text
            FROM user_totals t JOIN users u ON u.id = t.user_id
            CROSS JOIN LATERAL (SELECT (\(now)::timestamptz AT TIME ZONE u.timezone) AS local,
                                       (\(now)::timestamptz AT TIME ZONE u.timezone)::date AS today) l
            WHERE t.streak_days >= \(minimumDays) AND t.streak_end = l.today - 1 AND extract(hour FROM l.local) >= \(hour)
              AND NOT EXISTS (SELECT 1 FROM streak_freezes f WHERE f.user_id = u.id AND f.day = l.today)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s
                              WHERE s.user_id = u.id AND s.type = 'streak.at_risk' AND s.local_date = l.today)
            """, logger: logger)
        var result: [(userID: UUID, days: Int, date: LocalDate)] = []
        for try await (id, days, today) in rows.decode((UUID, Int32, String).self) {
            if let date = LocalDate(today) { result.append((id, Int(days), date)) }
        }
        return result
    }

    /// Users whose local yesterday (at `now`) had activity or coding time and who got no `daily.summary`
    /// for it yet, with that day's totals.
    public func dailySummariesDue(now: Date) async throws -> [(userID: UUID, summary: DaySummary)] {
        let rows = try await client.query(
            """
            SELECT u.id, y.day::text, coalesce(d.commits, 0), coalesce(d.prs_opened, 0), coalesce(d.prs_merged, 0),
                   coalesce(d.reviews, 0), coalesce(d.issues_closed, 0), c.seconds
            FROM users u
            CROSS JOIN LATERAL (SELECT (\(now)::timestamptz AT TIME ZONE u.timezone)::date - 1 AS day) y
            LEFT JOIN daily_stats d ON d.user_id = u.id AND d.day = y.day
            CROSS JOIN LATERAL (SELECT greatest(
                coalesce((SELECT sum(seconds) FROM coding_daily WHERE user_id = u.id AND day = y.day), 0),
                coalesce((SELECT seconds FROM coding_reported WHERE user_id = u.id AND day = y.day), 0))::double precision AS seconds) c
            WHERE (coalesce(d.commits + d.prs_opened + d.prs_merged + d.reviews + d.issues_opened + d.issues_closed + d.comments, 0) > 0
                   OR c.seconds >= 60)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s WHERE s.user_id = u.id AND s.type = 'daily.summary' AND s.local_date = y.day)
            """, logger: logger)
        var result: [(userID: UUID, summary: DaySummary)] = []
        for try await (id, day, commits, prsOpened, prsMerged, reviews, issuesClosed, seconds)
            in rows.decode((UUID, String, Int, Int, Int, Int, Int, Double).self)
        {
            guard let date = LocalDate(day) else { continue }
            result.append(
                (
                    id,
                    DaySummary(
                        date: date, commits: commits, prsOpened: prsOpened, prsMerged: prsMerged, reviews: reviews,
                        issuesClosed: issuesClosed, codingMinutes: Int(seconds / 60))
                ))
        }
        return result
    }

    /// Users for whom it is Monday, 09:00 or later, in their zone, whose previous ISO week had activity or
    /// coding time, and who got no `weekly.summary` for it yet, with that week's totals.
    public func weeklySummariesDue(now: Date) async throws -> [(userID: UUID, summary: WeekSummary)] {
        let rows = try await client.query(
            """
            SELECT u.id, w.start::text, d.commits, d.prs_opened, d.prs_merged, d.reviews, d.issues_closed, c.seconds,
                   (SELECT count(*) FROM (
                       SELECT day FROM daily_stats WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6
                                                     AND commits + prs_opened + reviews + issues_opened > 0
                       UNION SELECT day FROM coding_daily WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6 AND seconds > 0
                       UNION SELECT day FROM coding_reported WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6 AND seconds > 0) a),
                   (SELECT count(*) FROM goal_completions gc JOIN goals g ON g.id = gc.goal_id
                    WHERE g.user_id = u.id AND gc.completed_at >= w.from_instant AND gc.completed_at < w.to_instant),
                   (SELECT count(*) FROM user_achievements ua
                    WHERE ua.user_id = u.id AND ua.unlocked_at >= w.from_instant AND ua.unlocked_at < w.to_instant)
            FROM users u
            CROSS JOIN LATERAL (SELECT \(now)::timestamptz AT TIME ZONE u.timezone AS local) l
            CROSS JOIN LATERAL (SELECT l.local::date - 7 AS start,
                                       ((l.local::date - 7)::timestamp AT TIME ZONE u.timezone) AS from_instant,
                                       (l.local::date::timestamp AT TIME ZONE u.timezone) AS to_instant) w
            CROSS JOIN LATERAL (SELECT coalesce(sum(commits), 0)::bigint AS commits, coalesce(sum(prs_opened), 0)::bigint AS prs_opened,
                                       coalesce(sum(prs_merged), 0)::bigint AS prs_merged, coalesce(sum(reviews), 0)::bigint AS reviews,
                                       coalesce(sum(issues_closed), 0)::bigint AS issues_closed,
                                       coalesce(sum(commits + prs_opened + prs_merged + reviews + issues_opened + issues_closed + comments), 0) AS any
                                FROM daily_stats WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6) d
            CROSS JOIN LATERAL (SELECT coalesce(sum(m), 0)::double precision AS seconds FROM (
                SELECT greatest(sum(h), sum(r)) AS m FROM (
                    SELECT day, seconds AS h, 0::double precision AS r FROM coding_daily WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6
                    UNION ALL
                    SELECT day, 0, seconds FROM coding_reported WHERE user_id = u.id AND day BETWEEN w.start AND w.start + 6
                ) x GROUP BY day) y) c
            WHERE extract(isodow FROM l.local) = 1 AND extract(hour FROM l.local) >= 9 AND (d.any > 0 OR c.seconds >= 60)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s WHERE s.user_id = u.id AND s.type = 'weekly.summary' AND s.local_date = w.start)
            """, logger: logger)
        var result: [(userID: UUID, summary: WeekSummary)] = []
        for try await (id, start, commits, prsOpened, prsMerged, reviews, issuesClosed, seconds, activeDays, goals, achievements)
            in rows.decode((UUID, String, Int64, Int64, Int64, Int64, Int64, Double, Int64, Int64, Int64).self)
        {
            guard let date = LocalDate(start) else { continue }
            let totals = DaySummary(
                date: date, commits: Int(commits), prsOpened: Int(prsOpened), prsMerged: Int(prsMerged), reviews: Int(reviews),
                issuesClosed: Int(issuesClosed), codingMinutes: Int(seconds / 60))
            result.append(
                (id, WeekSummary(totals: totals, activeDays: Int(activeDays), goalsCompleted: Int(goals), achievementsUnlocked: Int(achievements))))
        }
        return result
    }

    /// Records scheduled intents as sent (one already recorded stays).
    public func recordScheduledIntents(_ sent: [(userID: UUID, type: String, date: LocalDate)]) async throws {
        guard !sent.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO scheduled_intents (user_id, type, local_date)
            SELECT t.u, t.k, t.d::date FROM unnest(\(sent.map(\.userID)), \(sent.map(\.type)), \(sent.map(\.date.description))) AS t(u, k, d)
                JOIN users ON users.id = t.u
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Runs `body` only if no other scheduler holds the hub's scheduler lock right now (a transaction-scoped
    /// PostgreSQL advisory lock); returns whether it ran.
    public func withSchedulerLock(_ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.schedulerLockKey))", logger: logger)
            var acquired = false
            for try await value in rows.decode(Bool.self) { acquired = value }
            guard acquired else { return false }
            try await body()
            return true
        }
    }

    static let schedulerLockKey: Int64 = 0x6465_7674_7363_6864  // "devtschd"
}
