import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// What the scheduler has sent and what is due (`goal_reminders`, `scheduled_intents`, the scheduler's lock).
public struct SchedulerRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension SchedulerRepository {
    /// Goals whose deadline is between `from` and `to` and that have no reminder for it yet, with their
    /// user's zone.
    public func goalsAwaitingReminder(deadlinesFrom from: LocalDate, to: LocalDate) async throws -> [(goal: GoalRecord, userZone: String)] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: GoalRepository.columns(of: "g")), u.timezone
            FROM goals g JOIN users u ON u.id = g.user_id
            WHERE g.deadline BETWEEN \(from) AND \(to)
              AND NOT EXISTS (SELECT 1 FROM goal_reminders r WHERE r.goal_id = g.id AND r.deadline = g.deadline)
            """, logger: logger)
        var result: [(goal: GoalRecord, userZone: String)] = []
        for try await (id, userID, title, target, unit, period, deadline, timezone, createdAt, userZone)
            in rows.decode((UUID, UUID, String, Int32, String, String, LocalDate?, String?, Date, String).self)
        {
            if let goal = GoalRepository.record((id, userID, title, target, unit, period, deadline, timezone, createdAt)) {
                result.append((goal, userZone))
            }
        }
        return result
    }

    public func recordReminders(_ reminders: [(goalID: UUID, deadline: LocalDate)]) async throws {
        guard !reminders.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO goal_reminders (goal_id, deadline)
            SELECT t.g, t.d FROM unnest(\(reminders.map(\.goalID)), \(reminders.map(\.deadline))) AS t(g, d)
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
            SELECT u.id, t.streak_days, l.today
            FROM user_totals t JOIN users u ON u.id = t.user_id
            CROSS JOIN LATERAL (SELECT (\(now)::timestamptz AT TIME ZONE u.timezone) AS local,
                                       (\(now)::timestamptz AT TIME ZONE u.timezone)::date AS today) l
            WHERE t.streak_days >= \(minimumDays) AND t.streak_end = l.today - 1 AND extract(hour FROM l.local) >= \(hour)
              AND NOT EXISTS (SELECT 1 FROM streak_freezes f WHERE f.user_id = u.id AND f.day = l.today)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s
                              WHERE s.user_id = u.id AND s.type = 'streak.at_risk' AND s.local_date = l.today)
            """, logger: logger)
        var result: [(userID: UUID, days: Int, date: LocalDate)] = []
        for try await (id, days, today) in rows.decode((UUID, Int32, LocalDate).self) {
            result.append((id, Int(days), today))
        }
        return result
    }

    /// Users whose local yesterday (at `now`) had activity or coding time and who got no `daily.summary`
    /// for it yet, with that day's totals.
    public func dailySummariesDue(now: Date) async throws -> [(userID: UUID, summary: DaySummary)] {
        let rows = try await client.query(
            """
            SELECT u.id, y.day, coalesce(d.commits, 0), coalesce(d.prs_opened, 0), coalesce(d.prs_merged, 0),
                   coalesce(d.reviews, 0), coalesce(d.issues_closed, 0), c.seconds
            FROM users u
            CROSS JOIN LATERAL (SELECT (\(now)::timestamptz AT TIME ZONE u.timezone)::date - 1 AS day) y
            LEFT JOIN daily_stats d ON d.user_id = u.id AND d.day = y.day
            CROSS JOIN LATERAL (SELECT coalesce((SELECT seconds FROM coding_days(u.id, y.day, y.day)), 0)::double precision AS seconds) c
            WHERE (coalesce(d.commits + d.prs_opened + d.prs_merged + d.reviews + d.issues_opened + d.issues_closed + d.comments, 0) > 0
                   OR c.seconds >= 60)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s WHERE s.user_id = u.id AND s.type = 'daily.summary' AND s.local_date = y.day)
            """, logger: logger)
        var result: [(userID: UUID, summary: DaySummary)] = []
        for try await (id, day, commits, prsOpened, prsMerged, reviews, issuesClosed, seconds)
            in rows.decode((UUID, LocalDate, Int, Int, Int, Int, Int, Double).self)
        {
            let date = day
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
            SELECT u.id, w.start, d.commits, d.prs_opened, d.prs_merged, d.reviews, d.issues_closed, c.seconds,
                   (SELECT count(*) FROM active_days(u.id, w.start, w.start + 6)),
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
            CROSS JOIN LATERAL (SELECT coalesce(sum(seconds), 0)::double precision AS seconds FROM coding_days(u.id, w.start, w.start + 6)) c
            WHERE extract(isodow FROM l.local) = 1 AND extract(hour FROM l.local) >= 9 AND (d.any > 0 OR c.seconds >= 60)
              AND NOT EXISTS (SELECT 1 FROM scheduled_intents s WHERE s.user_id = u.id AND s.type = 'weekly.summary' AND s.local_date = w.start)
            """, logger: logger)
        var result: [(userID: UUID, summary: WeekSummary)] = []
        for try await (id, start, commits, prsOpened, prsMerged, reviews, issuesClosed, seconds, activeDays, goals, achievements)
            in rows.decode((UUID, LocalDate, Int64, Int64, Int64, Int64, Int64, Double, Int64, Int64, Int64).self)
        {
            let date = start
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
            SELECT t.u, t.k, t.d FROM unnest(\(sent.map(\.userID)), \(sent.map(\.type)), \(sent.map(\.date))) AS t(u, k, d)
                JOIN users ON users.id = t.u
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Runs `body` only if no other scheduler holds the hub's scheduler lock right now (a transaction-scoped
    /// PostgreSQL advisory lock); returns whether it ran.
    public func withSchedulerLock(_ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await database.transaction { transaction in
            let connection = transaction.connection
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
