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

/// The leaderboard's tables: scores (`leaderboard_scores`), who changed (`leaderboard_changes`) and each zone's
/// last local date (`leaderboard_zone_days`).
public struct LeaderboardRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension LeaderboardRepository {
    /// Notes in the caller's transaction that these users' scores may have changed.
    public func markChanged(_ userIDs: some Collection<UUID>, on transaction: DatabaseTransaction) async throws {
        guard !userIDs.isEmpty else { return }
        try await transaction.connection.query(
            """
            INSERT INTO leaderboard_changes (user_id) SELECT * FROM unnest(\(Array(Set(userIDs)).sorted { $0.uuidString < $1.uuidString }))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Notes outside any transaction that these users' scores may have changed (a profile changed, or a
    /// recompute failed and must be done again).
    public func markChanged(_ userIDs: [UUID]) async throws {
        try await client.query(
            "INSERT INTO leaderboard_changes (user_id) SELECT * FROM unnest(\(userIDs)) ON CONFLICT DO NOTHING", logger: logger)
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
        let streaks = try await currentStreaks(userIDs, now: now)
        try await database.transaction { transaction in
            let connection = transaction.connection
            try await connection.query("DELETE FROM leaderboard_scores WHERE user_id = ANY(\(userIDs))", logger: logger)
            try await connection.query(
                """
                WITH listed AS (
                    SELECT u.id, u.timezone, (\(now)::timestamptz AT TIME ZONE u.timezone)::date AS today
                    FROM users u JOIN profiles p ON p.user_id = u.id
                    WHERE u.id = ANY(\(userIDs)) AND p.is_public AND p.leaderboard_opt_in
                ), periods (period, back) AS (
                    VALUES ('week', 6), ('month', 29), ('year', 364), ('all', NULL::int)
                ), counters AS (
                    SELECT l.id, pr.period, sum(d.commits) AS commits, sum(d.prs_merged) AS prs_merged, sum(d.reviews) AS reviews
                    FROM listed l CROSS JOIN periods pr
                    JOIN daily_stats d ON d.user_id = l.id AND d.day <= l.today AND (pr.back IS NULL OR d.day >= l.today - pr.back)
                    GROUP BY 1, 2
                ), coding AS (
                    SELECT l.id, pr.period, sum(c.seconds) AS seconds
                    FROM listed l CROSS JOIN LATERAL coding_days(l.id, \(LocalDate.earliest), l.today) c
                    JOIN periods pr ON pr.back IS NULL OR c.day >= l.today - pr.back
                    GROUP BY 1, 2
                ), commit_languages AS (
                    SELECT l.id, pr.period, lower(a.language) AS language, count(*) AS commits
                    FROM listed l CROSS JOIN periods pr
                    JOIN activities a ON a.user_id = l.id AND a.kind = 'commit' AND a.language IS NOT NULL
                     AND a.occurred_at < ((l.today + 1)::timestamp AT TIME ZONE l.timezone)
                     AND (pr.back IS NULL OR a.occurred_at >= ((l.today - pr.back)::timestamp AT TIME ZONE l.timezone))
                    GROUP BY 1, 2, 3
                ), coding_languages AS (
                    SELECT l.id, pr.period, lower(c.language) AS language, sum(c.seconds) AS seconds
                    FROM listed l CROSS JOIN periods pr
                    JOIN coding_daily c ON c.user_id = l.id AND c.language <> '' AND c.day <= l.today
                     AND (pr.back IS NULL OR c.day >= l.today - pr.back)
                    GROUP BY 1, 2, 3
                )
                INSERT INTO leaderboard_scores (metric, period, language, user_id, score)
                SELECT 'commits', period, '', id, commits FROM counters WHERE commits > 0
                UNION ALL SELECT 'prs_merged', period, '', id, prs_merged FROM counters WHERE prs_merged > 0
                UNION ALL SELECT 'reviews', period, '', id, reviews FROM counters WHERE reviews > 0
                UNION ALL SELECT 'coding_seconds', period, '', id, round(seconds)::bigint FROM coding WHERE round(seconds) > 0
                UNION ALL SELECT 'commits', period, language, id, commits FROM commit_languages
                UNION ALL SELECT 'coding_seconds', period, language, id, round(seconds)::bigint FROM coding_languages WHERE round(seconds) > 0
                UNION ALL SELECT 'current_streak', 'all', '', id, s FROM unnest(\(streaks.map(\.key)), \(streaks.map { Int64($0.value) })) AS t(id, s)
                    WHERE s > 0 AND id IN (SELECT id FROM listed)
                """, logger: logger)
        }
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

    /// A page of the ranking, highest first (ties by user id), after `cursor`. Ranks are competition ranks: users
    /// with equal scores share one, and the next takes its place in the order (1, 2, 2, 4).
    public func page(
        metric: LeaderboardMetric, period: LeaderboardPeriod, language: String, limit: Int, after cursor: LeaderboardCursor?
    ) async throws -> [LeaderboardEntry] {
        let period = metric == .currentStreak ? LeaderboardPeriod.all : period
        let rows = try await client.query(
            """
            SELECT s.user_id, u.login, p.display_name, s.score FROM leaderboard_scores s
            JOIN users u ON u.id = s.user_id JOIN profiles p ON p.user_id = s.user_id
            WHERE s.metric = \(metric.rawValue) AND s.period = \(period.rawValue) AND s.language = \(language)
              AND (\(cursor == nil) OR (s.score, s.user_id) < (\(cursor?.score ?? 0), \(cursor?.userID ?? UUID())))
            ORDER BY s.score DESC, s.user_id DESC LIMIT \(Int64(limit))
            """, logger: logger)
        var found: [(UUID, String, String?, Int64)] = []
        for try await row in rows.decode((UUID, String, String?, Int64).self) { found.append(row) }
        guard let first = found.first else { return [] }
        // Two index range counts place the page: how many score higher than its first entry, and how many come before it.
        let (higher, before) = try await placement(metric: metric, period: period, language: language, score: first.3, userID: first.0)
        var entries: [LeaderboardEntry] = []
        for (index, (id, login, displayName, score)) in found.enumerated() {
            let rank = index == 0 ? higher + 1 : (score == entries[index - 1].score ? entries[index - 1].rank : before + index + 1)
            entries.append(LeaderboardEntry(rank: rank, userID: id, login: login, displayName: displayName, score: score))
        }
        return entries
    }

    /// The user's own place: nil when they have no score (not listed, or nothing in the period).
    public func entry(
        userID: UUID, metric: LeaderboardMetric, period: LeaderboardPeriod, language: String
    ) async throws -> LeaderboardEntry? {
        let period = metric == .currentStreak ? LeaderboardPeriod.all : period
        let rows = try await client.query(
            """
            SELECT u.login, p.display_name, s.score FROM leaderboard_scores s
            JOIN users u ON u.id = s.user_id JOIN profiles p ON p.user_id = s.user_id
            WHERE s.metric = \(metric.rawValue) AND s.period = \(period.rawValue) AND s.language = \(language) AND s.user_id = \(userID)
            """, logger: logger)
        for try await (login, displayName, score) in rows.decode((String, String?, Int64).self) {
            let (higher, _) = try await placement(metric: metric, period: period, language: language, score: score, userID: userID)
            return LeaderboardEntry(rank: higher + 1, userID: userID, login: login, displayName: displayName, score: score)
        }
        return nil
    }

    private func placement(
        metric: LeaderboardMetric, period: LeaderboardPeriod, language: String, score: Int64, userID: UUID
    ) async throws -> (higher: Int, before: Int) {
        let rows = try await client.query(
            """
            SELECT count(*) FILTER (WHERE score > \(score)), count(*) FROM leaderboard_scores
            WHERE metric = \(metric.rawValue) AND period = \(period.rawValue) AND language = \(language)
              AND (score, user_id) > (\(score), \(userID))
            """, logger: logger)
        for try await (higher, before) in rows.decode((Int64, Int64).self) { return (Int(higher), Int(before)) }
        return (0, 0)
    }
}
