import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// An achievement a user has, with when and by which fact it was reached.
public struct UnlockedAchievement: Sendable, Equatable {
    public let achievementID: String
    public let unlockedAt: Date
    public let factID: String?
}

/// A new unlock to record.
public struct AchievementUnlock: Sendable {
    public let userID: UUID
    public let achievementID: String
    public let at: Date
    public let factID: String?

    public init(userID: UUID, achievementID: String, at: Date, factID: String?) {
        self.userID = userID
        self.achievementID = achievementID
        self.at = at
        self.factID = factID
    }
}

/// Achievements and what they are computed from (`user_achievements`, `user_marks`, `coding_day_credit`, the
/// streak and mark counters of `user_totals`).
public struct AchievementRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension AchievementRepository {
    /// Adds marks (a mark already there is ignored) and counts only the new ones into `user_totals`, in one
    /// statement. Marks of users that no longer exist are skipped.
    public func recordMarks(_ marks: [(userID: UUID, mark: AchievementMark)], on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !marks.isEmpty else { return }
        try await connection.query(
            """
            WITH added AS (
                INSERT INTO user_marks (user_id, kind, key)
                SELECT DISTINCT t.u, t.k, t.m FROM unnest(\(marks.map(\.userID)), \(marks.map(\.mark.kind.rawValue)), \(marks.map(\.mark.key)))
                    AS t(u, k, m) JOIN users ON users.id = t.u
                ON CONFLICT DO NOTHING
                RETURNING user_id, kind
            )
            INSERT INTO user_totals (user_id, night_owl_days, early_bird_days, active_weekends, commit_languages, coding_languages)
            SELECT user_id, count(*) FILTER (WHERE kind = 'night_owl'), count(*) FILTER (WHERE kind = 'early_bird'),
                   count(*) FILTER (WHERE kind = 'weekend'), count(*) FILTER (WHERE kind = 'commit_language'),
                   count(*) FILTER (WHERE kind = 'coding_language')
            FROM added GROUP BY user_id ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET
                night_owl_days = user_totals.night_owl_days + EXCLUDED.night_owl_days,
                early_bird_days = user_totals.early_bird_days + EXCLUDED.early_bird_days,
                active_weekends = user_totals.active_weekends + EXCLUDED.active_weekends,
                commit_languages = user_totals.commit_languages + EXCLUDED.commit_languages,
                coding_languages = user_totals.coding_languages + EXCLUDED.coding_languages,
                updated_at = now()
            """, logger: logger)
    }

    /// Sets the credited coding seconds of these local days to their current totals and adds the
    /// difference to `user_totals.coding_seconds`: re-crediting a day with the same total changes nothing.
    /// The caller holds the user's partition, so no one else credits this user's days at the same time.
    public func creditCodingDays(userID: UUID, seconds: [LocalDate: Double], on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !seconds.isEmpty else { return }
        let days = Array(seconds.keys)
        try await connection.query(
            """
            WITH incoming AS (
                SELECT d AS day, s FROM unnest(\(days), \(days.map { seconds[$0]! })) AS t(d, s)
                WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID))
            ), previous AS (
                SELECT c.day, c.seconds FROM coding_day_credit c JOIN incoming i ON i.day = c.day WHERE c.user_id = \(userID)
            ), credited AS (
                INSERT INTO coding_day_credit (user_id, day, seconds) SELECT \(userID), day, s FROM incoming
                ON CONFLICT (user_id, day) DO UPDATE SET seconds = EXCLUDED.seconds
                RETURNING 1
            )
            INSERT INTO user_totals (user_id, coding_seconds)
            SELECT \(userID), sum(i.s - coalesce(p.seconds, 0)) FROM incoming i LEFT JOIN previous p ON p.day = i.day
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID))
            HAVING count(*) > 0
            ON CONFLICT (user_id) DO UPDATE SET coding_seconds = user_totals.coding_seconds + EXCLUDED.coding_seconds, updated_at = now()
            """, logger: logger)
    }

    /// Stores each user's latest streak run and raises their longest streak to at least `longest`.
    public func updateStreaks(_ streaks: [UUID: (run: StreakRun, longest: Int)], on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !streaks.isEmpty else { return }
        let users = streaks.keys.sorted { $0.uuidString < $1.uuidString }
        let entries = users.map { streaks[$0]! }
        try await connection.query(
            """
            INSERT INTO user_totals (user_id, streak_start, streak_end, streak_days, longest_streak)
            SELECT t.u, t.s, t.e, t.d, t.l
            FROM unnest(\(users), \(entries.map(\.run.start)), \(entries.map(\.run.end)),
                        \(entries.map(\.run.activeDays)), \(entries.map(\.longest))) AS t(u, s, e, d, l)
                JOIN users ON users.id = t.u
            ON CONFLICT (user_id) DO UPDATE SET
                streak_start = EXCLUDED.streak_start, streak_end = EXCLUDED.streak_end, streak_days = EXCLUDED.streak_days,
                longest_streak = greatest(user_totals.longest_streak, EXCLUDED.longest_streak), updated_at = now()
            """, logger: logger)
    }

    /// Each user's time zone and latest streak run (deleted users are absent).
    public func achievementState(userIDs: [UUID]) async throws -> [UUID: (zone: TimeZone, run: StreakRun?)] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT u.id, u.timezone, t.streak_start, t.streak_end, t.streak_days
            FROM users u LEFT JOIN user_totals t ON t.user_id = u.id WHERE u.id = ANY(\(userIDs))
            """, logger: logger)
        var result: [UUID: (zone: TimeZone, run: StreakRun?)] = [:]
        var zones: [String: TimeZone] = [:]
        for try await (id, zoneName, start, end, days) in rows.decode((UUID, String, LocalDate?, LocalDate?, Int32?).self) {
            let zone = zones[zoneName] ?? TimeZones.named(zoneName) ?? .gmt
            zones[zoneName] = zone
            let run = start.flatMap { start in
                end.map { StreakRun(start: start, end: $0, activeDays: Int(days ?? 0)) }
            }
            result[id] = (zone, run)
        }
        return result
    }

    /// Each user's lifetime aggregates as achievement metrics (users without any are absent).
    public func achievementTotals(userIDs: [UUID]) async throws -> [UUID: AchievementTotals] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT user_id, commits, prs_opened, prs_merged, reviews, issues_closed, night_owl_days, early_bird_days,
                   active_weekends, greatest(commit_languages, coding_languages), coding_seconds, longest_streak
            FROM user_totals WHERE user_id = ANY(\(userIDs))
            """, logger: logger)
        var result: [UUID: AchievementTotals] = [:]
        for try await (userID, commits, prsOpened, prsMerged, reviews, issuesClosed, nightOwl, earlyBird, weekends, languages, coding, streak)
            in rows.decode((UUID, Int64, Int64, Int64, Int64, Int64, Int32, Int32, Int32, Int32, Double, Int32).self)
        {
            result[userID] = AchievementTotals([
                .commits: Int(commits), .prsOpened: Int(prsOpened), .prsMerged: Int(prsMerged), .reviews: Int(reviews),
                .issuesClosed: Int(issuesClosed), .nightOwlDays: Int(nightOwl), .earlyBirdDays: Int(earlyBird),
                .activeWeekends: Int(weekends), .languages: Int(languages), .codingHours: Int(coding / 3600),
                .streakDays: Int(streak),
            ])
        }
        return result
    }

    /// The id of the user's `n`-th fact of `kind` in time order (nil when there are fewer).
    public func nthFact(userID: UUID, kind: ActivityKind, n: Int) async throws -> String? {
        let rows = try await client.query(
            """
            SELECT id FROM activities WHERE user_id = \(userID) AND kind = \(kind.rawValue)
            ORDER BY occurred_at, id OFFSET \(max(0, n - 1)) LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    /// The achievements each user has unlocked.
    public func unlockedAchievements(userIDs: [UUID]) async throws -> [UUID: [UnlockedAchievement]] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT user_id, achievement_id, unlocked_at, fact_id FROM user_achievements WHERE user_id = ANY(\(userIDs))
            """, logger: logger)
        var result: [UUID: [UnlockedAchievement]] = [:]
        for try await (userID, id, at, factID) in rows.decode((UUID, String, Date, String?).self) {
            result[userID, default: []].append(UnlockedAchievement(achievementID: id, unlockedAt: at, factID: factID))
        }
        return result
    }

    /// Records unlocks; one already recorded keeps its first time and fact.
    public func recordUnlocks(_ unlocks: [AchievementUnlock]) async throws {
        guard !unlocks.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO user_achievements (user_id, achievement_id, unlocked_at, fact_id)
            SELECT t.u, t.a, t.at, NULLIF(t.f, '') FROM unnest(\(unlocks.map(\.userID)), \(unlocks.map(\.achievementID)),
                                                      \(unlocks.map(\.at)), \(unlocks.map { $0.factID ?? "" })) AS t(u, a, at, f)
                JOIN users ON users.id = t.u
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Active local days (contributions or coding time) of each user on or after `since`, with their frozen
    /// days: what a recent streak is computed from.
    public func recentActivity(userIDs: [UUID], since: LocalDate) async throws -> [UUID: (active: [LocalDate], frozen: [LocalDate])] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT u.id, a.day, false FROM unnest(\(userIDs)) AS u(id) CROSS JOIN LATERAL active_days(u.id, \(since), \(LocalDate.latest)) a
            UNION ALL SELECT user_id, day, true FROM streak_freezes WHERE user_id = ANY(\(userIDs)) AND day >= \(since)
            """, logger: logger)
        var result: [UUID: (active: [LocalDate], frozen: [LocalDate])] = [:]
        for try await (userID, day, frozen) in rows.decode((UUID, LocalDate, Bool).self) {
            let date = day
            if frozen { result[userID, default: ([], [])].frozen.append(date) } else { result[userID, default: ([], [])].active.append(date) }
        }
        return result
    }

    /// Coding seconds per language on each of these local days (from heartbeats), for language marks.
    public func codingLanguages(userID: UUID, days: [LocalDate]) async throws -> [LocalDate: [String: Double]] {
        guard !days.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT day, language, sum(seconds) FROM coding_daily
            WHERE user_id = \(userID) AND day = ANY(\(days)) GROUP BY 1, 2
            """, logger: logger)
        var result: [LocalDate: [String: Double]] = [:]
        for try await (day, language, seconds) in rows.decode((LocalDate, String, Double).self) {
            result[day, default: [:]][language] = seconds
        }
        return result
    }

    /// A user's all-time totals (their account is being deleted: the table has no foreign key).
    func deleteTotals(userID: UUID, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query("DELETE FROM user_totals WHERE user_id = \(userID)", logger: logger)
    }
}
