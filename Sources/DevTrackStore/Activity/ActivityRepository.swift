import DevTrackCore
import Foundation
import Logging
import PostgresNIO

public struct DailyCounters: Sendable, Equatable, Codable {
    public var commits = 0
    public var prsOpened = 0
    public var prsMerged = 0
    public var reviews = 0
    public var issuesOpened = 0
    public var issuesClosed = 0
    public var comments = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case commits, reviews, comments
        case prsOpened = "prs_opened"
        case prsMerged = "prs_merged"
        case issuesOpened = "issues_opened"
        case issuesClosed = "issues_closed"
    }

    /// A day is active when it has at least one contribution (commit, PR opened, review, issue opened).
    public var isActive: Bool { commits + prsOpened + reviews + issuesOpened > 0 }

    public static func + (lhs: DailyCounters, rhs: DailyCounters) -> DailyCounters {
        var sum = lhs
        sum.commits += rhs.commits
        sum.prsOpened += rhs.prsOpened
        sum.prsMerged += rhs.prsMerged
        sum.reviews += rhs.reviews
        sum.issuesOpened += rhs.issuesOpened
        sum.issuesClosed += rhs.issuesClosed
        sum.comments += rhs.comments
        return sum
    }

    static let columnList = "commits, prs_opened, prs_merged, reviews, issues_opened, issues_closed, comments"
    static let countExpressions = """
        count(*) FILTER (WHERE kind = 'commit'), count(*) FILTER (WHERE kind = 'pr_opened'),
        count(*) FILTER (WHERE kind = 'pr_merged'), count(*) FILTER (WHERE kind = 'review'),
        count(*) FILTER (WHERE kind = 'issue_opened'), count(*) FILTER (WHERE kind = 'issue_closed'),
        count(*) FILTER (WHERE kind = 'comment')
        """
}

/// What `applyFacts` did: how many facts were new, and each (still existing) user's zone and goals
/// revision as the batch began (a change committed meanwhile shows in the next batch).
public struct AppliedFacts: Sendable {
    /// New facts per user (users without any are absent).
    public let insertedByUser: [UUID: Int]
    public let owners: [UUID: GoalOwner]

    public var inserted: Int { insertedByUser.values.reduce(0, +) }
}

/// Activity facts and what is counted from them (`activities`, `daily_stats`, the counters of `user_totals`).
public struct ActivityRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension ActivityRepository {
    /// Inserts facts (duplicates by natural id are ignored) and adds only the new ones to the daily stats, bucketed in
    /// each user's time zone, and to the lifetime `user_totals`, and notes the users for the leaderboard — one
    /// statement, so it is all or nothing with the caller's transaction — and announces `metrics.updated` to users
    /// with new facts (live, and as a webhook). Facts of users that no longer exist, and coding-day signals, are
    /// skipped. Returns how many were new per user, and the facts' users as they are now.
    ///
    /// A first statement reads the users and looks up each fact of the batch; when all are stored (the usual case for
    /// the workers behind `normalize`, which stores them first), the storing statement is not run at all: it costs
    /// PostgreSQL ~0.6 ms, most of it planning, the lookup ~0.2 ms. Otherwise it is given only the facts not stored yet.
    @discardableResult
    public func applyFacts(_ facts: [ActivityFact], on transaction: DatabaseTransaction) async throws -> AppliedFacts {
        let probe = try await probeFacts(facts) { try await transaction.connection.execute($0, logger: logger) }
        guard !probe.unstored.isEmpty else { return AppliedFacts(insertedByUser: [:], owners: probe.owners) }
        return try await storeFacts(probe.unstored, owners: probe.owners, skippingStored: true, on: transaction)
    }

    /// `applyFacts` in a transaction of its own, opened only when some facts are not stored yet: a batch another
    /// worker stored first costs one round trip instead of three.
    ///
    /// The facts the lookup found unstored are inserted without a conflict clause, whose speculative insertion (a
    /// second descent of the primary key and one more WAL record per row) cost 14–16% of the metrics worker's rate.
    /// When another worker stores one of them in between, the insert fails on the primary key, nothing of it is kept,
    /// and the batch is applied again with the clause, in the usual order: lookup, then the skipping insert.
    @discardableResult
    public func applyFacts(_ facts: [ActivityFact]) async throws -> AppliedFacts {
        let probe = try await probeFacts(facts) { try await client.execute($0, logger: logger) }
        guard !probe.unstored.isEmpty else { return AppliedFacts(insertedByUser: [:], owners: probe.owners) }
        do {
            return try await database.transaction {
                try await storeFacts(probe.unstored, owners: probe.owners, skippingStored: false, on: $0)
            }
        } catch let error where Self.isStoredFactConflict(error) {
            logger.debug("facts stored by another worker since the lookup: applying the batch again, skipping them")
            return try await database.transaction { try await applyFacts(facts, on: $0) }
        }
    }

    /// A unique violation of `activities`' primary key: a fact stored since the lookup by another transaction.
    static func isStoredFactConflict(_ error: any Error) -> Bool {
        guard let error = StoreFailures.underlying(error) as? PSQLError, error.code == .server else { return false }
        return error.serverInfo?[.sqlState] == "23505" && error.serverInfo?[.constraintName] == "activities_pkey"
    }

    /// The facts' users as they are now, and the facts of kinds kept in `activities` that are not stored yet (each once).
    private func probeFacts<Rows: AsyncSequence<PostgresRow, any Error>>(
        _ facts: [ActivityFact], execute: (FactOwnersStatement) async throws -> Rows
    ) async throws -> (owners: [UUID: GoalOwner], unstored: [ActivityFact]) {
        let userIDs = Array(Set(facts.map(\.userID)))
        guard !userIDs.isEmpty else { return ([:], []) }
        let stored = facts.filter(\.kind.isStoredActivity)
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(userIDs)
        bindings.append(stored.map(\.userID))
        bindings.append(stored.map(\.id))
        var owners: [UUID: GoalOwner] = [:]
        var unstoredOrdinals: [Int32] = []
        for try await (id, timezone, revision, ordinals) in try await execute(FactOwnersStatement(bindings: bindings)).decode(
            (UUID, String, Int64, [Int32]).self)
        {
            owners[id] = GoalOwner(timezone: timezone, goalsRevision: revision)
            unstoredOrdinals += ordinals
        }
        var seen = Set<FactKey>()
        let unstored = unstoredOrdinals.sorted().compactMap { ordinal -> ActivityFact? in
            guard ordinal >= 1, Int(ordinal) <= stored.count else { return nil }
            let fact = stored[Int(ordinal) - 1]
            return seen.insert(FactKey(userID: fact.userID, id: fact.id)).inserted ? fact : nil
        }
        return (owners, unstored)
    }

    /// Runs the storing statement on facts of stored kinds, each once: `skippingStored`, facts stored since the lookup
    /// are skipped; otherwise such a fact fails the statement with a unique violation.
    private func storeFacts(
        _ facts: [ActivityFact], owners: [UUID: GoalOwner], skippingStored: Bool, on transaction: DatabaseTransaction
    ) async throws -> AppliedFacts {
        let connection = transaction.connection
        var bindings = PostgresBindings(capacity: 11)
        bindings.append(facts.map(\.id))
        bindings.append(facts.map(\.userID))
        bindings.append(facts.map(\.kind.rawValue))
        bindings.append(facts.map(\.occurredAt))
        bindings.append(facts.map(\.value))
        bindings.append(facts.map { $0.repo ?? "" })  // arrays cannot carry NULLs: '' stands for none
        bindings.append(facts.map { $0.language ?? "" })
        bindings.append(facts.map(\.source))
        bindings.append(facts.map { $0.repoPrivate.map { $0 ? "t" : "f" } ?? "" })
        bindings.append(facts.map { $0.title ?? "" })
        bindings.append(facts.map { $0.url ?? "" })
        var insertedByUser: [UUID: Int] = [:]
        let rows =
            skippingStored
            ? try await connection.execute(StoreFactsSkippingStoredStatement(bindings: bindings), logger: logger)
            : try await connection.execute(StoreNewFactsStatement(bindings: bindings), logger: logger)
        for try await (userID, count) in rows.decode((UUID, Int64).self) { insertedByUser[userID] = Int(count) }
        // Whichever worker stores a fact first tells the user's open web clients and endpoints.
        try await announceMetricsUpdated(insertedByUser, on: transaction)
        return AppliedFacts(insertedByUser: insertedByUser, owners: owners)
    }

    /// `metrics.updated` for users with new facts, in the caller's transaction: announced to their open web
    /// clients, and queued for their endpoints subscribed to it. Facts are new only once, so each occurrence
    /// is queued once (a fresh dedupe key each time).
    private func announceMetricsUpdated(_ newFactsByUser: [UUID: Int], on transaction: DatabaseTransaction) async throws {
        guard !newFactsByUser.isEmpty else { return }
        let now = Date()
        try await LiveEventRepository(database).announce(
            newFactsByUser.map { LiveEvent.metricsUpdated(userID: $0.key, newFacts: $0.value) }, on: transaction)
        try await OutboxRepository(database).queueForSubscribedEndpoints(
            newFactsByUser.map { userID, count in
                WebhookEvent(
                    userID: userID, type: "metrics.updated", dedupeKey: "metrics.updated:\(UUID().uuidString.lowercased())",
                    payload: WebhookEnvelope.metricsUpdated(userID: userID, newFacts: count, at: now).json())
            }, on: transaction)
    }

    /// Re-buckets all of the user's daily stats in `timezone` (after they changed it), from the facts.
    func rebucketDailyStats(userID: UUID, timezone: String, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query("DELETE FROM daily_stats WHERE user_id = \(userID)", logger: logger)
        try await transaction.connection.query(
            """
            INSERT INTO daily_stats (user_id, day, \(unescaped: DailyCounters.columnList))
            SELECT user_id, (occurred_at AT TIME ZONE \(timezone))::date, \(unescaped: DailyCounters.countExpressions)
            FROM activities WHERE user_id = \(userID) GROUP BY 1, 2
            """, logger: logger)
    }

    /// Counters per local date in `range` (dates without activity are absent).
    public func dailyCounters(userID: UUID, range: DateRange) async throws -> [LocalDate: DailyCounters] {
        let rows = try await client.query(
            """
            SELECT day, \(unescaped: DailyCounters.columnList) FROM daily_stats
            WHERE user_id = \(userID) AND day BETWEEN \(range.from) AND \(range.to)
            """, logger: logger)
        var result: [LocalDate: DailyCounters] = [:]
        for try await (day, commits, prsOpened, prsMerged, reviews, issuesOpened, issuesClosed, comments)
            in rows.decode((LocalDate, Int, Int, Int, Int, Int, Int, Int).self)
        {
            let date = day
            var counters = DailyCounters()
            counters.commits = commits
            counters.prsOpened = prsOpened
            counters.prsMerged = prsMerged
            counters.reviews = reviews
            counters.issuesOpened = issuesOpened
            counters.issuesClosed = issuesClosed
            counters.comments = comments
            result[date] = counters
        }
        return result
    }

    /// Every active local date: at least one contribution (commit, PR opened, review, issue opened) or
    /// some coding time.
    public func activeDays(userID: UUID) async throws -> [LocalDate] {
        let rows = try await client.query(
            """
            SELECT day FROM active_days(\(userID), \(LocalDate.earliest), \(LocalDate.latest)) ORDER BY 1
            """, logger: logger)
        var days: [LocalDate] = []
        for try await day in rows.decode(LocalDate.self) {
            days.append(day)
        }
        return days
    }

    /// A user's facts and daily stats (their account is being deleted: neither table has a foreign key).
    func deleteAll(userID: UUID, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query("DELETE FROM daily_stats WHERE user_id = \(userID)", logger: logger)
        try await transaction.connection.query("DELETE FROM activities WHERE user_id = \(userID)", logger: logger)
    }
}

/// A fact's natural key in `activities`: a batch may carry the same fact twice (a redelivery beside the original).
private struct FactKey: Hashable {
    let userID: UUID
    let id: String
}

/// The users of a batch of facts as they are now, each with the positions (1-based, in `$2`/`$3`) of its facts not
/// stored yet (`applyFacts`). Each fact is looked up in the primary key on its own (a lateral subquery with a limit is
/// never turned into a join): as an anti-join, the planner picked hash or merge joins that read all of `activities` once
/// per batch while the table was small — 67–91 ms for 5,000 facts beside 13–18 ms for the lookups, growing with the table.
struct FactOwnersStatement: PreparedBatchStatement {
    static let sql = """
        WITH unstored AS (
            SELECT f.user_id, array_agg(f.ordinal::int4) AS ordinals FROM unnest($2, $3) WITH ORDINALITY AS f(user_id, id, ordinal)
            LEFT JOIN LATERAL (SELECT true AS stored FROM activities a WHERE a.user_id = f.user_id AND a.id = f.id LIMIT 1) s ON true
            WHERE s.stored IS NULL
            GROUP BY f.user_id
        )
        SELECT u.id, u.timezone, u.goals_revision, coalesce(s.ordinals, '{}') FROM users u LEFT JOIN unstored s ON s.user_id = u.id
        WHERE u.id = ANY($1)
        """
    let bindings: PostgresBindings
}

/// Stores a batch of facts not stored yet (by `FactOwnersStatement`) and counts the new ones (`applyFacts`); a fact
/// another worker stored since the lookup fails it with a unique violation of `activities_pkey`.
struct StoreNewFactsStatement: PreparedBatchStatement {
    static let sql = StoreFactsSQL.text(conflictClause: "")
    let bindings: PostgresBindings
}

/// `StoreNewFactsStatement`, but a fact another worker stored since the lookup is skipped and not counted.
struct StoreFactsSkippingStoredStatement: PreparedBatchStatement {
    static let sql = StoreFactsSQL.text(conflictClause: "ON CONFLICT (user_id, id) DO NOTHING")
    let bindings: PostgresBindings
}

/// The storing statement. Its facts' users are locked (FOR SHARE, against a concurrent time-zone change, which
/// re-buckets under the row's lock), and the new facts are bucketed in the zone read under that lock, added to the
/// lifetime totals and marked for the leaderboard; it returns the new facts' count per user.
enum StoreFactsSQL {
    static func text(conflictClause: String) -> String {
        """
        WITH incoming AS (
            SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                AS t(id, user_id, kind, occurred_at, value, repo, language, source, repo_private, title, url)
        ), locked AS (
            SELECT id, timezone FROM users WHERE id IN (SELECT user_id FROM incoming) ORDER BY id FOR SHARE
        ), inserted AS (
            INSERT INTO activities (id, user_id, kind, occurred_at, value, repo, language, source, repo_private, title, url)
            SELECT f.id, f.user_id, f.kind, f.occurred_at, f.value, NULLIF(f.repo, ''), NULLIF(f.language, ''), f.source,
                   NULLIF(f.repo_private, '')::boolean, NULLIF(f.title, ''), NULLIF(f.url, '')
            FROM incoming f JOIN locked u ON u.id = f.user_id
            \(conflictClause)
            RETURNING user_id, kind, occurred_at
        ), bucketed AS (
            INSERT INTO daily_stats (user_id, day, \(DailyCounters.columnList))
            SELECT n.user_id, (n.occurred_at AT TIME ZONE u.timezone)::date, \(DailyCounters.countExpressions)
            FROM inserted n JOIN locked u ON u.id = n.user_id
            GROUP BY 1, 2
            ON CONFLICT (user_id, day) DO UPDATE SET
                commits = daily_stats.commits + EXCLUDED.commits,
                prs_opened = daily_stats.prs_opened + EXCLUDED.prs_opened,
                prs_merged = daily_stats.prs_merged + EXCLUDED.prs_merged,
                reviews = daily_stats.reviews + EXCLUDED.reviews,
                issues_opened = daily_stats.issues_opened + EXCLUDED.issues_opened,
                issues_closed = daily_stats.issues_closed + EXCLUDED.issues_closed,
                comments = daily_stats.comments + EXCLUDED.comments,
                updated_at = now()
            RETURNING 1
        ), totals AS (
            INSERT INTO user_totals (user_id, commits, prs_opened, prs_merged, reviews, issues_closed)
            SELECT user_id, count(*) FILTER (WHERE kind = 'commit'), count(*) FILTER (WHERE kind = 'pr_opened'),
                   count(*) FILTER (WHERE kind = 'pr_merged'), count(*) FILTER (WHERE kind = 'review'),
                   count(*) FILTER (WHERE kind = 'issue_closed')
            FROM inserted GROUP BY user_id ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET
                commits = user_totals.commits + EXCLUDED.commits,
                prs_opened = user_totals.prs_opened + EXCLUDED.prs_opened,
                prs_merged = user_totals.prs_merged + EXCLUDED.prs_merged,
                reviews = user_totals.reviews + EXCLUDED.reviews,
                issues_closed = user_totals.issues_closed + EXCLUDED.issues_closed,
                updated_at = now()
            RETURNING 1
        ), leaderboard AS (
            INSERT INTO leaderboard_changes (user_id) SELECT DISTINCT user_id FROM inserted ORDER BY 1
            ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
            RETURNING 1
        )
        SELECT user_id, count(*) FROM inserted GROUP BY user_id
        """
    }
}
