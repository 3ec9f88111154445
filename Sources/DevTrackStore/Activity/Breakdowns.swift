import DevTrackCore
import Foundation
import PostgresNIO

/// One repository's contributions in a range.
public struct RepositoryCounters: Sendable, Equatable {
    public let repo: String
    public let counters: DailyCounters
}

/// Where and when a user's activity went: per repository, per repository language and per local weekday and hour,
/// over local dates of their zone.
extension ActivityRepository {
    /// Contributions (the kinds that make a day active) between `range`'s local dates in `zone`, per local
    /// weekday (index 0 is Monday) and hour.
    public func contributionsByWeekdayHour(userID: UUID, zone: String, range: DateRange) async throws -> [[Int]] {
        let rows = try await client.query(
            """
            SELECT extract(isodow FROM occurred_at AT TIME ZONE \(zone))::int - 1, extract(hour FROM occurred_at AT TIME ZONE \(zone))::int,
                   count(*)
            FROM activities
            WHERE user_id = \(userID) AND kind IN ('commit', 'pr_opened', 'review', 'issue_opened')
              AND occurred_at >= (\(range.from)::timestamp AT TIME ZONE \(zone))
              AND occurred_at < ((\(range.to) + 1)::timestamp AT TIME ZONE \(zone))
            GROUP BY 1, 2
            """, logger: logger)
        var grid = Array(repeating: Array(repeating: 0, count: 24), count: 7)
        for try await (weekday, hour, count) in rows.decode((Int, Int, Int).self) where (0..<7).contains(weekday) && (0..<24).contains(hour) {
            grid[weekday][hour] = count
        }
        return grid
    }

    /// The `limit` repositories with the most contributions between `range`'s local dates in `zone`.
    public func repositoryCounters(userID: UUID, zone: String, range: DateRange, limit: Int) async throws -> [RepositoryCounters] {
        let rows = try await client.query(
            """
            SELECT repo, \(unescaped: DailyCounters.countExpressions)
            FROM activities
            WHERE user_id = \(userID) AND repo IS NOT NULL AND kind IN (\(unescaped: Self.gitHubKinds))
              AND occurred_at >= (\(range.from)::timestamp AT TIME ZONE \(zone))
              AND occurred_at < ((\(range.to) + 1)::timestamp AT TIME ZONE \(zone))
            GROUP BY repo ORDER BY count(*) DESC, repo LIMIT \(Int64(limit))
            """, logger: logger)
        return try await Self.repositoryCounters(rows)
    }

    static let gitHubKinds = "'commit', 'pr_opened', 'pr_merged', 'review', 'issue_opened', 'issue_closed', 'comment'"

    /// Rows of `repo` and `DailyCounters.countExpressions`.
    static func repositoryCounters(_ rows: PostgresRowSequence) async throws -> [RepositoryCounters] {
        var result: [RepositoryCounters] = []
        for try await (repo, commits, prsOpened, prsMerged, reviews, issuesOpened, issuesClosed, comments) in rows.decode(
            (String, Int, Int, Int, Int, Int, Int, Int).self)
        {
            var counters = DailyCounters()
            (counters.commits, counters.prsOpened, counters.prsMerged, counters.reviews) = (commits, prsOpened, prsMerged, reviews)
            (counters.issuesOpened, counters.issuesClosed, counters.comments) = (issuesOpened, issuesClosed, comments)
            result.append(RepositoryCounters(repo: repo, counters: counters))
        }
        return result
    }

    /// The `limit` repositories with the most contributions of all time that are known to be public: every one
    /// of their facts, of any kind, says so (a repository that was private once, or of which a source never said,
    /// is left out).
    public func publicRepositoryCounters(userID: UUID, limit: Int) async throws -> [RepositoryCounters] {
        let rows = try await client.query(
            """
            SELECT repo, \(unescaped: DailyCounters.countExpressions)
            FROM activities
            WHERE user_id = \(userID) AND repo IS NOT NULL
            GROUP BY repo
            HAVING bool_and(repo_private IS FALSE) AND count(*) FILTER (WHERE kind IN (\(unescaped: Self.gitHubKinds))) > 0
            ORDER BY count(*) FILTER (WHERE kind IN (\(unescaped: Self.gitHubKinds))) DESC, repo LIMIT \(Int64(limit))
            """, logger: logger)
        return try await Self.repositoryCounters(rows)
    }

    /// Commits between `range`'s local dates in `zone`, by their repository's language (nil: none known), most first.
    public func commitsByLanguage(userID: UUID, zone: String, range: DateRange) async throws -> [(language: String?, commits: Int)] {
        let rows = try await client.query(
            """
            SELECT nullif(language, ''), count(*) FROM activities
            WHERE user_id = \(userID) AND kind = 'commit'
              AND occurred_at >= (\(range.from)::timestamp AT TIME ZONE \(zone))
              AND occurred_at < ((\(range.to) + 1)::timestamp AT TIME ZONE \(zone))
            GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST
            """, logger: logger)
        var result: [(language: String?, commits: Int)] = []
        for try await (language, commits) in rows.decode((String?, Int).self) { result.append((language, commits)) }
        return result
    }
}

extension CodingTimeRepository {
    /// Coding seconds from heartbeats between `range`'s local dates in `zone`, per local weekday (0 is Monday) and
    /// hour; intervals reaching past either end count only their part inside (as the daily totals do).
    public func codingByWeekdayHour(userID: UUID, zone: TimeZone, range: DateRange, timeout: Double) async throws -> [[Double]] {
        let start = range.from.startOfDay(in: zone).timeIntervalSince1970
        let end = range.to.adding(days: 1).startOfDay(in: zone).timeIntervalSince1970
        let rows = try await client.query(
            """
            SELECT DISTINCT time FROM heartbeats WHERE user_id = \(userID) AND time >= \(start - timeout) AND time <= \(end + timeout) ORDER BY 1
            """, logger: logger)
        var times: [Double] = []
        for try await time in rows.decode(Double.self) { times.append(time) }
        return CodingDurations.weekdayHourGrid(times: times, timeout: timeout, timeZone: zone, within: start..<end)
    }

    /// Coding time from heartbeats between two local dates, by the editor's language (nil: none known), most
    /// first. The original plugin's reported days carry no language and are not in it.
    public func codingByLanguage(userID: UUID, range: DateRange) async throws -> [(language: String?, seconds: Double)] {
        let rows = try await client.query(
            """
            SELECT nullif(language, ''), sum(seconds) FROM coding_daily
            WHERE user_id = \(userID) AND day BETWEEN \(range.from) AND \(range.to)
            GROUP BY 1 HAVING sum(seconds) > 0 ORDER BY 2 DESC, 1 NULLS LAST
            """, logger: logger)
        var result: [(language: String?, seconds: Double)] = []
        for try await (language, seconds) in rows.decode((String?, Double).self) { result.append((language, seconds)) }
        return result
    }
}
