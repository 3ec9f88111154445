import DevTrackCore
import Foundation
import PostgresNIO

// Reading the ranking: pages, one user's place, and the prepared statements behind them.
extension LeaderboardRepository {
    /// A page of the ranking, highest first (ties by user id), after `cursor`. Ranks are competition ranks: users
    /// with equal scores share one, and the next takes its place in the order (1, 2, 2, 4).
    public func page(
        metric: LeaderboardMetric, period: LeaderboardPeriod, language: String, limit: Int, after cursor: LeaderboardCursor?
    ) async throws -> [LeaderboardEntry] {
        let period = metric == .currentStreak ? LeaderboardPeriod.all : period
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(metric.rawValue)
        bindings.append(period.rawValue)
        bindings.append(language)
        var found: [(id: UUID, score: Int64, bucket: Int64)] = []
        func read(_ rows: some AsyncSequence<PostgresRow, any Error>) async throws {
            for try await row in rows { found.append(try row.decode((UUID, Int64, Int64).self)) }
        }
        if let cursor {
            bindings.append(cursor.score)
            bindings.append(cursor.userID)
            bindings.append(Int64(limit))
            try await read(try await client.execute(LeaderboardPageAfterStatement(bindings: bindings), logger: logger))
        } else {
            bindings.append(Int64(limit))
            try await read(try await client.execute(LeaderboardFirstPageStatement(bindings: bindings), logger: logger))
        }
        let ranks = try await ranks(of: found.map { ($0.score, $0.bucket) }, metric: metric, period: period, language: language)
        let names = try await listedNames(found.map(\.id))
        return found.compactMap { entry in
            names[entry.id].map {
                LeaderboardEntry(rank: ranks[entry.score] ?? 0, userID: entry.id, login: $0.login, displayName: $0.displayName, score: entry.score)
            }
        }
    }

    /// The logins and display names of those of `userIDs` who are listed (a user unlisted since the last recompute
    /// is left out; their scores go in the same transaction as the change, so this is a guard, not the rule).
    private func listedNames(_ userIDs: [UUID]) async throws -> [UUID: (login: String, displayName: String?)] {
        guard !userIDs.isEmpty else { return [:] }
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(userIDs)
        var names: [UUID: (login: String, displayName: String?)] = [:]
        for try await row in try await client.execute(LeaderboardNamesStatement(bindings: bindings), logger: logger) {
            let (id, login, displayName) = try row.decode((UUID, String, String?).self)
            names[id] = (login, displayName)
        }
        return names
    }

    /// The user's own place: nil when they have no score (not listed, or nothing in the period).
    public func entry(
        userID: UUID, metric: LeaderboardMetric, period: LeaderboardPeriod, language: String
    ) async throws -> LeaderboardEntry? {
        let period = metric == .currentStreak ? LeaderboardPeriod.all : period
        let rows = try await client.query(
            """
            SELECT score, bucket FROM leaderboard_scores
            WHERE metric = \(metric.rawValue) AND period = \(period.rawValue) AND language = \(language) AND user_id = \(userID)
            """, logger: logger)
        for try await (score, bucket) in rows.decode((Int64, Int64).self) {
            guard let name = try await listedNames([userID])[userID] else { return nil }
            let ranks = try await ranks(of: [(score, bucket)], metric: metric, period: period, language: language)
            return LeaderboardEntry(rank: ranks[score] ?? 0, userID: userID, login: name.login, displayName: name.displayName, score: score)
        }
        return nil
    }

    /// The competition rank of each score: 1 + the users of the board's buckets above its own + those of its own
    /// bucket with a higher score.
    private func ranks(
        of scores: [(score: Int64, bucket: Int64)], metric: LeaderboardMetric, period: LeaderboardPeriod, language: String
    ) async throws -> [Int64: Int] {
        guard !scores.isEmpty else { return [:] }
        let bucketOf = Dictionary(scores.map { ($0.score, $0.bucket) }, uniquingKeysWith: { first, _ in first })
        let distinct = Array(bucketOf.keys)
        let buckets = distinct.map { bucketOf[$0] ?? 0 }
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(metric.rawValue)
        bindings.append(period.rawValue)
        bindings.append(language)
        bindings.append(distinct)
        bindings.append(buckets)
        let rows = try await client.execute(LeaderboardRanksStatement(bindings: bindings), logger: logger)
        var ranks: [Int64: Int] = [:]
        for try await row in rows {
            let (score, rank) = try row.decode((Int64, Int64).self)
            ranks[score] = Int(rank)
        }
        return ranks
    }
}

// The leaderboard's read statements, prepared once per connection: planning them (three tables, several indexes)
// cost more than running them, and under load planning was most of a request's time.

/// The top of a board (one table: a join here made PostgreSQL set up memoized nested loops costing ten times the
/// scan itself).
struct LeaderboardFirstPageStatement: PreparedBatchStatement {
    static let sql = """
        SELECT user_id, score, bucket FROM leaderboard_scores
        WHERE metric = $1 AND period = $2 AND language = $3
        ORDER BY score DESC, user_id DESC LIMIT $4
        """
    let bindings: PostgresBindings
}

/// A board after a cursor: the row comparison bounds the index range.
struct LeaderboardPageAfterStatement: PreparedBatchStatement {
    static let sql = """
        SELECT user_id, score, bucket FROM leaderboard_scores
        WHERE metric = $1 AND period = $2 AND language = $3 AND (score, user_id) < ($4, $5)
        ORDER BY score DESC, user_id DESC LIMIT $6
        """
    let bindings: PostgresBindings
}

/// Who a page's users are, if still listed.
struct LeaderboardNamesStatement: PreparedBatchStatement {
    static let sql = """
        SELECT u.id, u.login, p.display_name FROM users u JOIN profiles p ON p.user_id = u.id
        WHERE u.id = ANY($1) AND p.is_public AND p.leaderboard_opt_in
        """
    let bindings: PostgresBindings
}

/// Each score's competition rank on a board: 1 + the users of the buckets above its own + those of its own bucket
/// with a higher score.
struct LeaderboardRanksStatement: PreparedBatchStatement {
    static let sql = """
        SELECT t.score, (1 + (
            SELECT coalesce(sum(b.users), 0) FROM leaderboard_buckets b
            WHERE b.metric = $1 AND b.period = $2 AND b.language = $3 AND b.bucket > t.bucket
        ) + (
            SELECT count(*) FROM leaderboard_scores s
            WHERE s.metric = $1 AND s.period = $2 AND s.language = $3 AND s.bucket = t.bucket AND s.score > t.score
        ))::bigint
        FROM unnest($4::bigint[], $5::bigint[]) AS t(score, bucket)
        """
    let bindings: PostgresBindings
}
