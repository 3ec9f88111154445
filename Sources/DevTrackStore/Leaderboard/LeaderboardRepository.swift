import DevTrackCore
import Foundation
import PostgresNIO

/// What the leaderboard ranks by.
public enum LeaderboardMetric: String, CaseIterable, Sendable {
    case commits
    case prsMerged = "prs_merged"
    case reviews
    case codingSeconds = "coding_seconds"
    case currentStreak = "current_streak"

    /// Metrics a `language` narrows: commits by their repository's language, coding time by the editor's.
    public var hasLanguages: Bool { self == .commits || self == .codingSeconds }
}

/// The rolling ranges the leaderboard ranks over, ending today in each user's own zone, as the user's own
/// `/metrics/summary?from=…&to=today` counts them. The current streak is one figure whatever the period.
public enum LeaderboardPeriod: String, CaseIterable, Sendable {
    case week, month, year, all

    /// Days before today that the period reaches back; nil for all time.
    public var daysBack: Int? {
        switch self {
        case .week: 6
        case .month: 29
        case .year: 364
        case .all: nil
        }
    }
}

/// One ranked user.
public struct LeaderboardEntry: Sendable, Equatable {
    public let rank: Int
    public let userID: UUID
    public let login: String
    public let displayName: String?
    public let score: Int64
}

/// Where a leaderboard page ends: its last entry's score and user.
public struct LeaderboardCursor: Sendable, Equatable {
    public let score: Int64
    public let userID: UUID

    public init(score: Int64, userID: UUID) { (self.score, self.userID) = (score, userID) }

    /// `{score}_{user id}`: opaque to clients.
    public var text: String { "\(score)_\(userID.uuidString.lowercased())" }

    public init?(_ text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard text.utf8.count <= 80, parts.count == 2, parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
            let score = Int64(parts[0]), let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        (self.score, userID) = (score, id)
    }
}

/// The leaderboard's tables: scores (`leaderboard_scores`) and how many each score bucket holds
/// (`leaderboard_buckets`), who changed (`leaderboard_changes`) and each zone's last local date (`leaderboard_zone_days`).
public struct LeaderboardRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension LeaderboardRepository {
    /// Notes in the caller's transaction that these users' scores may have changed. The row stays locked until the
    /// caller commits (`DO UPDATE`, not `DO NOTHING`), so the scheduler cannot take it and recompute from a snapshot
    /// without the caller's change; rows are locked in one order (by id), as everywhere, against deadlocks.
    public func markChanged(_ userIDs: some Collection<UUID>, on transaction: DatabaseTransaction) async throws {
        guard !userIDs.isEmpty else { return }
        try await transaction.connection.query(
            """
            INSERT INTO leaderboard_changes (user_id) SELECT * FROM unnest(\(Array(Set(userIDs)))) ORDER BY 1
            ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
            """, logger: logger)
    }

    /// Takes the user off every board at once (their profile stopped being listed).
    public func removeScores(userID: UUID, on transaction: DatabaseTransaction) async throws {
        try await removeScores(userIDs: [userID], on: transaction)
    }

    /// Takes a user whose account is being deleted off every board, and off the list of users to recompute.
    func removeUser(_ userID: UUID, on transaction: DatabaseTransaction) async throws {
        try await removeScores(userIDs: [userID], on: transaction)
        try await transaction.connection.query("DELETE FROM leaderboard_changes WHERE user_id = \(userID)", logger: logger)
    }

    /// Deletes these users' scores and takes them out of their boards' bucket counts.
    func removeScores(userIDs: [UUID], on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query(
            """
            WITH gone AS (DELETE FROM leaderboard_scores WHERE user_id = ANY(\(userIDs)) RETURNING metric, period, language, bucket)
            \(unescaped: Self.countInto(from: "gone", sign: "-"))
            """, logger: logger)
    }

    /// Adds (sign "+") or removes (sign "-") the rows of `source` to their boards' bucket counts, in one lock order.
    static func countInto(from source: String, sign: String) -> String {
        """
        INSERT INTO leaderboard_buckets AS b (metric, period, language, bucket, users)
        SELECT metric, period, language, bucket, \(sign)count(*) FROM \(source) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (metric, period, language, bucket) DO UPDATE SET users = b.users + EXCLUDED.users
        """
    }

    /// Notes outside any transaction that these users' scores may have changed (a profile changed, or a
    /// recompute failed and must be done again).
    public func markChanged(_ userIDs: [UUID]) async throws {
        try await client.query(
            "INSERT INTO leaderboard_changes (user_id) SELECT * FROM unnest(\(userIDs)) ORDER BY 1 ON CONFLICT DO NOTHING", logger: logger)
    }

    /// Takes up to `limit` changed users off the list (in a short transaction of its own, so writers that mark
    /// users meanwhile never wait long). A recompute that fails marks them again.
    public func takeChanged(limit: Int) async throws -> [UUID] {
        let rows = try await client.query(
            """
            DELETE FROM leaderboard_changes WHERE user_id IN (
                SELECT user_id FROM leaderboard_changes LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING user_id
            """, logger: logger)
        var users: [UUID] = []
        for try await id in rows.decode(UUID.self) { users.append(id) }
        return users
    }

    /// Marks every listed user of each zone whose local date is not the one recorded (all of them on the first
    /// run), and records the new dates; returns how many users it marked.
    @discardableResult
    public func markZonesThatRolledOver(now: Date) async throws -> Int {
        try await database.transaction { transaction in
            let rows = try await transaction.connection.query(
                """
                WITH zones AS (
                    SELECT DISTINCT u.timezone, (\(now)::timestamptz AT TIME ZONE u.timezone)::date AS day
                    FROM users u JOIN profiles p ON p.user_id = u.id WHERE p.is_public AND p.leaderboard_opt_in
                ), rolled AS (
                    INSERT INTO leaderboard_zone_days AS z (timezone, day) SELECT timezone, day FROM zones
                    ON CONFLICT (timezone) DO UPDATE SET day = EXCLUDED.day WHERE z.day IS DISTINCT FROM EXCLUDED.day
                    RETURNING timezone
                ), marked AS (
                    INSERT INTO leaderboard_changes (user_id)
                    SELECT u.id FROM users u JOIN profiles p ON p.user_id = u.id
                    WHERE p.is_public AND p.leaderboard_opt_in AND u.timezone IN (SELECT timezone FROM rolled)
                    ORDER BY u.id
                    ON CONFLICT DO NOTHING RETURNING 1
                )
                SELECT count(*) FROM marked
                """, logger: logger)
            var marked = 0
            for try await count in rows.decode(Int64.self) { marked = Int(count) }
            return marked
        }
    }

    /// Recomputes these users' scores from their daily stats, coding days, facts and streaks as of `now` in each
    /// one's zone: users no longer listed (private, opted out, deleted) lose their rows.
    public func recompute(_ userIDs: [UUID], now: Date) async throws {
        guard !userIDs.isEmpty else { return }
        // Most changed users are not listed: only the listed ones cost the reads below.
        var listed: [UUID] = []
        for try await id in try await client.query(
            """
            SELECT p.user_id FROM profiles p WHERE p.user_id = ANY(\(userIDs)) AND p.is_public AND p.leaderboard_opt_in
            """, logger: logger
        ).decode(UUID.self) {
            listed.append(id)
        }
        let streaks = listed.isEmpty ? [:] : try await currentStreaks(listed, now: now)
        try await database.transaction { transaction in
            let connection = transaction.connection
            try await removeScores(userIDs: userIDs, on: transaction)
            guard !listed.isEmpty else { return }
            try await connection.query(
                """
                WITH listed AS (
                    SELECT u.id, u.timezone, (\(now)::timestamptz AT TIME ZONE u.timezone)::date AS today
                    FROM users u JOIN profiles p ON p.user_id = u.id
                    WHERE u.id = ANY(\(listed)) AND p.is_public AND p.leaderboard_opt_in
                ), counters AS (
                    SELECT l.id, v.* FROM listed l
                    CROSS JOIN LATERAL (
                        SELECT \(unescaped: Self.sums(["commits", "prs_merged", "reviews"], day: "day"))
                        FROM daily_stats WHERE user_id = l.id AND day <= l.today) d
                    CROSS JOIN LATERAL (VALUES \(unescaped: Self.rows(["commits", "prs_merged", "reviews"], from: "d")))
                        AS v(period, commits, prs_merged, reviews)
                ), coding AS (
                    SELECT l.id, v.* FROM listed l
                    CROSS JOIN LATERAL (
                        SELECT \(unescaped: Self.sums(["seconds"], day: "day")) FROM coding_days(l.id, \(LocalDate.earliest), l.today)) c
                    CROSS JOIN LATERAL (VALUES \(unescaped: Self.rows(["seconds"], from: "c"))) AS v(period, seconds)
                ), commit_languages AS (
                    SELECT l.id, g.language, v.* FROM listed l
                    CROSS JOIN LATERAL (
                        SELECT lower(language) AS language, \(unescaped: Self.counts(instant: "occurred_at"))
                        FROM activities
                        WHERE user_id = l.id AND kind = 'commit' AND language IS NOT NULL
                          AND occurred_at < ((l.today + 1)::timestamp AT TIME ZONE l.timezone)
                        GROUP BY 1) g
                    CROSS JOIN LATERAL (VALUES \(unescaped: Self.rows(["commits"], from: "g"))) AS v(period, commits)
                ), coding_languages AS (
                    SELECT l.id, g.language, v.* FROM listed l
                    CROSS JOIN LATERAL (
                        SELECT lower(language) AS language, \(unescaped: Self.sums(["seconds"], day: "day"))
                        FROM coding_daily WHERE user_id = l.id AND day <= l.today AND language <> '' GROUP BY 1) g
                    CROSS JOIN LATERAL (VALUES \(unescaped: Self.rows(["seconds"], from: "g"))) AS v(period, seconds)
                ), scores (metric, period, language, user_id, score) AS (
                SELECT 'commits', period, '', id, commits FROM counters WHERE commits > 0
                UNION ALL SELECT 'prs_merged', period, '', id, prs_merged FROM counters WHERE prs_merged > 0
                UNION ALL SELECT 'reviews', period, '', id, reviews FROM counters WHERE reviews > 0
                UNION ALL SELECT 'coding_seconds', period, '', id, round(seconds)::bigint FROM coding WHERE round(seconds) > 0
                UNION ALL SELECT 'commits', period, language, id, commits FROM commit_languages WHERE commits > 0
                UNION ALL SELECT 'coding_seconds', period, language, id, round(seconds)::bigint FROM coding_languages WHERE round(seconds) > 0
                UNION ALL SELECT 'current_streak', 'all', '', id, s FROM unnest(\(streaks.map(\.key)), \(streaks.map { Int64($0.value) })) AS t(id, s)
                    WHERE s > 0
                ), added AS (
                    INSERT INTO leaderboard_scores (metric, period, language, user_id, score, bucket)
                    SELECT metric, period, language, user_id, score, leaderboard_bucket(score) FROM scores
                    RETURNING metric, period, language, bucket
                )
                \(unescaped: Self.countInto(from: "added", sign: "+"))
                """, logger: logger)
        }
    }

    // The recompute reads each user's rows once through their index (a lateral subquery per user) and sums every
    // period in that one pass; these write its repeated SQL from `LeaderboardPeriod`, constants only.

    /// `sum(c) FILTER (WHERE day >= l.today - back) AS c_week, …` for each column and period.
    static func sums(_ columns: [String], day: String) -> String {
        columns.flatMap { column in
            LeaderboardPeriod.allCases.map { period in
                let filter = period.daysBack.map { " FILTER (WHERE \(day) >= l.today - \($0))" } ?? ""
                return "sum(\(column))\(filter) AS \(column)_\(period.rawValue)"
            }
        }.joined(separator: ", ")
    }

    /// `count(*) FILTER (WHERE occurred_at >= local midnight back days ago) AS commits_week, …` for each period.
    static func counts(instant: String) -> String {
        LeaderboardPeriod.allCases.map { period in
            let filter = period.daysBack.map { " FILTER (WHERE \(instant) >= ((l.today - \($0))::timestamp AT TIME ZONE l.timezone))" } ?? ""
            return "count(*)\(filter) AS commits_\(period.rawValue)"
        }.joined(separator: ", ")
    }

    /// `('week', d.c_week, …), ('month', …)`: one row per period of what `sums` or `counts` gave.
    static func rows(_ columns: [String], from alias: String) -> String {
        LeaderboardPeriod.allCases.map { period in
            "('\(period.rawValue)', " + columns.map { "\(alias).\($0)_\(period.rawValue)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
    }

    /// Each user's current streak as their own `/metrics/streak` computes it (frozen days bridge, today does not
    /// break it), in their zone at `now`.
    func currentStreaks(_ userIDs: [UUID], now: Date) async throws -> [UUID: Int] {
        var zones: [UUID: TimeZone] = [:]
        for try await (id, zone) in try await client.query(
            "SELECT id, timezone FROM users WHERE id = ANY(\(userIDs))", logger: logger
        ).decode((UUID, String).self) {
            zones[id] = TimeZones.named(zone) ?? .gmt
        }
        var active: [UUID: [LocalDate]] = [:]
        for try await (id, day) in try await client.query(
            """
            SELECT u.id, a.day FROM unnest(\(userIDs)) AS u(id) CROSS JOIN LATERAL active_days(u.id, \(LocalDate.earliest), \(LocalDate.latest)) a
            """, logger: logger
        ).decode((UUID, LocalDate).self) {
            active[id, default: []].append(day)
        }
        var frozen: [UUID: [LocalDate]] = [:]
        for try await (id, day) in try await client.query(
            "SELECT user_id, day FROM streak_freezes WHERE user_id = ANY(\(userIDs))", logger: logger
        ).decode((UUID, LocalDate).self) {
            frozen[id, default: []].append(day)
        }
        var streaks: [UUID: Int] = [:]
        for (id, zone) in zones {
            let days = active[id] ?? []
            guard !days.isEmpty else { continue }
            streaks[id] = StreakSummary.compute(activeDays: days, frozenDays: frozen[id] ?? [], today: LocalDate(now, in: zone)).current
        }
        return streaks
    }
}
