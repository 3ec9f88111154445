import DevTrackCore
import Foundation
import PostgresNIO

/// One repository's contributions in a range.
public struct RepositoryCounters: Sendable, Equatable {
    public let repo: String
    public let counters: DailyCounters
}

/// Where a user's activity went: per repository and per repository language, over local dates of their zone.
extension ActivityRepository {
    /// The `limit` repositories with the most contributions between `range`'s local dates in `zone`.
    public func repositoryCounters(userID: UUID, zone: String, range: DateRange, limit: Int) async throws -> [RepositoryCounters] {
        let rows = try await client.query(
            """
            SELECT repo,
                   count(*) FILTER (WHERE kind = 'commit'), count(*) FILTER (WHERE kind = 'pr_opened'),
                   count(*) FILTER (WHERE kind = 'pr_merged'), count(*) FILTER (WHERE kind = 'review'),
                   count(*) FILTER (WHERE kind = 'issue_opened'), count(*) FILTER (WHERE kind = 'issue_closed'),
                   count(*) FILTER (WHERE kind = 'comment')
            FROM activities
            WHERE user_id = \(userID) AND repo IS NOT NULL
              AND kind IN ('commit', 'pr_opened', 'pr_merged', 'review', 'issue_opened', 'issue_closed', 'comment')
              AND occurred_at >= (\(range.from)::timestamp AT TIME ZONE \(zone))
              AND occurred_at < ((\(range.to) + 1)::timestamp AT TIME ZONE \(zone))
            GROUP BY repo ORDER BY count(*) DESC, repo LIMIT \(Int64(limit))
            """, logger: logger)
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
