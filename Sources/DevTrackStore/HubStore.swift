import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// Every PostgreSQL query of the hub, grouped by concern in the extensions below. Holds a
/// `PostgresClient` whose `run()` the owning role's `ServiceGroup` drives.
public struct HubStore: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case conflict(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .conflict(let what): "already exists: \(what)"
        case .notFound(let what): "not found: \(what)"
        }
    }
}

public struct UserRecord: Sendable, Equatable {
    public let id: UUID
    public let login: String
    public let githubID: Int64?
    public let timezone: String

    public var identity: UserIdentity { UserIdentity(userID: id, login: login, githubID: githubID) }
}

// MARK: - Users and tokens

extension HubStore {
    public func createUser(login: String, githubID: Int64?, timezone: String) async throws -> UserRecord {
        let id = UUID()
        do {
            try await client.query(
                """
                INSERT INTO users (id, login, github_id, timezone) VALUES (\(id), \(login), \(githubID), \(timezone))
                """, logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreError.conflict("a user with login \(login) or GitHub id \(githubID.map(String.init) ?? "-")")
        }
        return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
    }

    public func user(login: String) async throws -> UserRecord? {
        try await firstUser(
            client.query(
                "SELECT id, login, github_id, timezone FROM users WHERE lower(login) = lower(\(login))", logger: logger))
    }

    public func user(id: UUID) async throws -> UserRecord? {
        try await firstUser(
            client.query(
                "SELECT id, login, github_id, timezone FROM users WHERE id = \(id)", logger: logger))
    }

    /// The user a bearer token belongs to, unless the token is unknown or revoked.
    public func user(bearerToken: String) async throws -> UserRecord? {
        let hash = Credentials.hash(bearerToken)
        return try await firstUser(
            client.query(
                """
                SELECT u.id, u.login, u.github_id, u.timezone FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = \(hash) AND t.revoked_at IS NULL
                """, logger: logger))
    }

    /// Creates a token and returns it; only its hash is stored.
    public func createToken(userID: UUID, name: String = "") async throws -> String {
        let token = Credentials.newToken(prefix: "dtk_")
        try await client.query(
            """
            INSERT INTO api_tokens (id, user_id, token_hash, name) VALUES (\(UUID()), \(userID), \(Credentials.hash(token)), \(name))
            """, logger: logger)
        return token
    }

    /// Changes the user's zone and re-buckets their daily stats and coding time in it, in one transaction. The row lock
    /// taken by the UPDATE orders this against the metrics worker (which locks users FOR SHARE).
    /// Coding time is recomputed from the stored heartbeats with `codingTimeout` (WakaTime's rule).
    public func updateTimezone(
        userID: UUID, timezone: String, codingTimeout: Double = CodingDurations.defaultTimeout
    ) async throws -> UserRecord? {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE users SET timezone = \(timezone) WHERE id = \(userID) RETURNING id, login, github_id, timezone",
                logger: logger)
            guard let user = try await firstUser(rows) else { return nil }
            try await connection.query("DELETE FROM daily_stats WHERE user_id = \(userID)", logger: logger)
            try await connection.query(
                """
                INSERT INTO daily_stats (user_id, day, \(unescaped: DailyCounters.columnList))
                SELECT user_id, (occurred_at AT TIME ZONE \(timezone))::date, \(unescaped: DailyCounters.countExpressions)
                FROM activities WHERE user_id = \(userID) GROUP BY 1, 2
                """, logger: logger)
            try await recomputeAllCoding(userID: userID, zone: TimeZones.named(timezone) ?? .gmt, timeout: codingTimeout, on: connection)
            return user
        }
    }

    /// GitHub identities of the users matching any of these ids or logins.
    public func identities(githubIDs: [Int64], logins: [String]) async throws -> [UserIdentity] {
        let lowered = logins.map { $0.lowercased() }
        let rows = try await client.query(
            """
            SELECT id, login, github_id FROM users WHERE github_id = ANY(\(githubIDs)) OR lower(login) = ANY(\(lowered))
            """, logger: logger)
        var identities: [UserIdentity] = []
        for try await (id, login, githubID) in rows.decode((UUID, String, Int64?).self) {
            identities.append(UserIdentity(userID: id, login: login, githubID: githubID))
        }
        return identities
    }

    private func firstUser(_ rows: PostgresRowSequence) async throws -> UserRecord? {
        for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
            return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
        }
        return nil
    }
}

// MARK: - Webhook sources

public struct SourceRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let kind: String
    public let name: String
    public let enabled: Bool
    public let createdAt: Date
    public let rotatedAt: Date?
    /// How a custom source reads payloads not in the native format; nil for native and GitHub sources.
    public let mapping: EventMapping?
}

/// One inbound delivery as a source's log shows it (never with the secret).
public struct SourceDeliveryRecord: Sendable {
    public let deliveryID: String
    /// `processed`, `ignored`, `dead_lettered` or `refused`.
    public let status: String
    public let facts: Int
    public let error: String?
    public let receivedAt: Date
    public let bytes: Int?
    public let signature: String?
}

/// What ingest needs to verify a delivery to a user's own source.
public struct SourceCredentials: Sendable {
    public let source: SourceRecord
    public let sealedSecrets: [[UInt8]]
}

extension HubStore {
    public func createSource(
        userID: UUID, kind: String, name: String, sealedSecret: [UInt8], mapping: EventMapping? = nil
    ) async throws -> SourceRecord {
        let id = UUID()
        let mappingJSON = try mapping.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let rows = try await client.query(
            """
            INSERT INTO webhook_sources (id, user_id, kind, name, secret_sealed, mapping)
            VALUES (\(id), \(userID), \(kind), \(name), \(ByteBuffer(bytes: sealedSecret)), \(mappingJSON)::jsonb)
            RETURNING \(unescaped: Self.sourceColumns)
            """, logger: logger)
        guard let source = try await Self.sources(rows).first else { throw StoreError.notFound("source \(id)") }
        return source
    }

    public func sources(userID: UUID) async throws -> [SourceRecord] {
        try await Self.sources(
            client.query(
                "SELECT \(unescaped: Self.sourceColumns) FROM webhook_sources WHERE user_id = \(userID) ORDER BY created_at", logger: logger))
    }

    /// Replaces the secret; the old one keeps verifying for `grace` so senders can be updated.
    public func rotateSourceSecret(userID: UUID, sourceID: UUID, sealedSecret: [UInt8], grace: Duration) async throws -> SourceRecord? {
        let seconds = Double(grace.components.seconds)
        return try await Self.sources(
            client.query(
                """
                UPDATE webhook_sources SET previous_secret_sealed = secret_sealed,
                    previous_secret_expires_at = now() + make_interval(secs => \(seconds)),
                    secret_sealed = \(ByteBuffer(bytes: sealedSecret)), rotated_at = now()
                WHERE id = \(sourceID) AND user_id = \(userID)
                RETURNING \(unescaped: Self.sourceColumns)
                """, logger: logger)
        ).first
    }

    /// The source's current secret and, within its grace period, the previous one.
    public func sourceCredentials(id: UUID) async throws -> SourceCredentials? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.sourceColumns), secret_sealed,
                   CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END
            FROM webhook_sources WHERE id = \(id)
            """, logger: logger)
        for try await row in rows {
            let (id, userID, kind, name, enabled, createdAt, rotatedAt, mapping, secret, previous) = try row.decode(
                (UUID, UUID, String, String, Bool, Date, Date?, String?, ByteBuffer, ByteBuffer?).self)
            let source = SourceRecord(
                id: id, userID: userID, kind: kind, name: name, enabled: enabled, createdAt: createdAt, rotatedAt: rotatedAt,
                mapping: Self.mapping(mapping))
            return SourceCredentials(source: source, sealedSecrets: [secret, previous].compactMap { $0.map { Array(buffer: $0) } })
        }
        return nil
    }

    static let sourceColumns = "id, user_id, kind, name, enabled, created_at, rotated_at, mapping::text"

    static func mapping(_ json: String?) -> EventMapping? {
        json.flatMap { try? JSONDecoder().decode(EventMapping.self, from: Data($0.utf8)) }
    }

    /// The mappings of these sources (sources without one are absent).
    public func sourceMappings(ids: [UUID]) async throws -> [UUID: EventMapping] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await client.query(
            "SELECT id, mapping::text FROM webhook_sources WHERE id = ANY(\(ids)) AND mapping IS NOT NULL", logger: logger)
        var mappings: [UUID: EventMapping] = [:]
        for try await (id, json) in rows.decode((UUID, String).self) { mappings[id] = Self.mapping(json) }
        return mappings
    }

    public func source(userID: UUID, id: UUID) async throws -> SourceRecord? {
        try await Self.sources(
            client.query(
                "SELECT \(unescaped: Self.sourceColumns) FROM webhook_sources WHERE user_id = \(userID) AND id = \(id)", logger: logger)
        ).first
    }

    /// Renames, disables or enables the user's source, or gives it a new mapping; nil when there is no such
    /// source. Deliveries already on the topic are read with the mapping the worker finds when it gets to them.
    public func updateSource(userID: UUID, id: UUID, name: String?, enabled: Bool?, mapping: EventMapping? = nil) async throws -> SourceRecord? {
        let mappingJSON = try mapping.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await Self.sources(
            client.query(
                """
                UPDATE webhook_sources SET name = coalesce(\(name), name), enabled = coalesce(\(enabled), enabled),
                    mapping = coalesce(\(mappingJSON)::jsonb, mapping)
                WHERE user_id = \(userID) AND id = \(id)
                RETURNING \(unescaped: Self.sourceColumns)
                """, logger: logger)
        ).first
    }

    /// Deletes the user's source (its facts stay: they happened); false when there is no such source.
    public func deleteSource(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query(
            "DELETE FROM webhook_sources WHERE user_id = \(userID) AND id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The source's inbound deliveries, newest first.
    public func sourceDeliveries(sourceID: UUID, limit: Int) async throws -> [SourceDeliveryRecord] {
        let rows = try await client.query(
            """
            SELECT delivery_id, status, facts, error, received_at, processed_at, bytes, signature FROM webhook_deliveries
            WHERE direction = 'inbound' AND source = \(sourceID.uuidString.lowercased())
            ORDER BY processed_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var result: [SourceDeliveryRecord] = []
        for try await (id, status, facts, error, received, processed, bytes, signature)
            in rows.decode((String, String, Int, String?, Date?, Date, Int?, String?).self)
        {
            result.append(
                SourceDeliveryRecord(
                    deliveryID: id, status: status, facts: facts, error: error, receivedAt: received ?? processed, bytes: bytes, signature: signature)
            )
        }
        return result
    }

    static func sources(_ rows: PostgresRowSequence) async throws -> [SourceRecord] {
        var sources: [SourceRecord] = []
        for try await (id, userID, kind, name, enabled, createdAt, rotatedAt, mapping)
            in rows.decode((UUID, UUID, String, String, Bool, Date, Date?, String?).self)
        {
            sources.append(
                SourceRecord(
                    id: id, userID: userID, kind: kind, name: name, enabled: enabled, createdAt: createdAt, rotatedAt: rotatedAt,
                    mapping: Self.mapping(mapping)))
        }
        return sources
    }
}

// MARK: - Deliveries

/// What the normalize worker made of one inbound delivery.
public struct DeliveryOutcome: Sendable, Equatable {
    /// `refused`: turned away at ingest (custom sources log those too).
    public enum Status: String, Sendable { case processed, ignored, deadLettered = "dead_lettered", refused }
    public let source: String
    public let deliveryID: String
    public let event: String
    public let status: Status
    public let facts: Int
    public let error: String?
    public let receivedAt: Date?
    /// The body's size, when known.
    public let bytes: Int?
    /// How it was signed and whether that held: `standard-webhooks`, `hmac-sha256`, or the refusal's code.
    public let signature: String?

    public init(
        source: String, deliveryID: String, event: String, status: Status, facts: Int, error: String?, receivedAt: Date?,
        bytes: Int? = nil, signature: String? = nil
    ) {
        self.source = source
        self.deliveryID = deliveryID
        self.event = event
        self.status = status
        self.facts = facts
        self.error = error
        self.receivedAt = receivedAt
        self.bytes = bytes
        self.signature = signature
    }
}

extension HubStore {
    /// Records outcomes idempotently (a redelivered message updates its row).
    public func recordInboundDeliveries(_ batch: [DeliveryOutcome], on connection: PostgresConnection) async throws {
        // One row per delivery: a batch may hold the same delivery twice (GitHub's redeliver button), and
        // ON CONFLICT cannot touch a row twice in one statement. The later outcome wins.
        var latest: [String: DeliveryOutcome] = [:]
        for outcome in batch { latest["\(outcome.source)\u{0}\(outcome.deliveryID)"] = outcome }
        let outcomes = Array(latest.values)
        guard !outcomes.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO webhook_deliveries (direction, source, delivery_id, event, status, facts, error, received_at, bytes, signature)
            SELECT 'inbound', s, d, e, st, f, NULLIF(er, ''), r, NULLIF(b, -1), NULLIF(sg, '')
            FROM unnest(\(outcomes.map(\.source)), \(outcomes.map(\.deliveryID)), \(outcomes.map(\.event)),
                        \(outcomes.map(\.status.rawValue)), \(outcomes.map { Int64($0.facts) }), \(outcomes.map { $0.error ?? "" }),
                        \(outcomes.map { $0.receivedAt ?? Date() }), \(outcomes.map { $0.bytes ?? -1 }), \(outcomes.map { $0.signature ?? "" }))
                AS t(s, d, e, st, f, er, r, b, sg)
            ON CONFLICT (direction, source, delivery_id) DO UPDATE
            SET status = EXCLUDED.status, facts = EXCLUDED.facts, error = EXCLUDED.error, processed_at = now(),
                received_at = coalesce(EXCLUDED.received_at, webhook_deliveries.received_at),
                bytes = coalesce(EXCLUDED.bytes, webhook_deliveries.bytes), signature = coalesce(EXCLUDED.signature, webhook_deliveries.signature)
            """, logger: logger)
    }
}

// MARK: - Activities and daily stats

/// The per-day counters of `daily_stats`.
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

extension HubStore {
    /// Inserts facts (duplicates by natural id are ignored) and adds only the new ones to the daily
    /// stats, bucketed in each user's time zone, and to the lifetime `user_totals` — one statement, so it is
    /// all or nothing with the caller's transaction — and announces `metrics.updated` to users with new
    /// facts (live, and as a webhook). Facts of users that no longer exist, and coding-day signals, are skipped. Returns how many were
    /// new per user, and the facts' users as they are now.
    @discardableResult
    public func applyFacts(_ facts: [ActivityFact], on connection: PostgresConnection) async throws -> AppliedFacts {
        let userIDs = Array(Set(facts.map(\.userID)))
        guard !userIDs.isEmpty else { return AppliedFacts(insertedByUser: [:], owners: [:]) }
        var owners: [UUID: GoalOwner] = [:]
        let users = try await connection.query(
            "SELECT id, timezone, goals_revision FROM users WHERE id = ANY(\(userIDs))", logger: logger)
        for try await (id, timezone, revision) in users.decode((UUID, String, Int64).self) {
            owners[id] = GoalOwner(timezone: timezone, goalsRevision: revision)
        }
        let facts = facts.filter(\.kind.isStoredActivity)
        guard !facts.isEmpty else { return AppliedFacts(insertedByUser: [:], owners: owners) }
        // Only users with facts not stored yet are locked (FOR SHARE, against a concurrent time-zone change,
        // which re-buckets under the row's lock), and their new facts are bucketed in the zone read under
        // that lock. Facts another worker stored first cost one index probe and no lock.
        let rows = try await connection.query(
            """
            WITH incoming AS (
                SELECT * FROM unnest(\(facts.map(\.id)), \(facts.map(\.userID)), \(facts.map(\.kind.rawValue)),
                                     \(facts.map(\.occurredAt)), \(facts.map(\.value)), \(facts.map { $0.repo ?? "" }),
                                     \(facts.map { $0.language ?? "" }), \(facts.map(\.source)))
                    AS t(id, user_id, kind, occurred_at, value, repo, language, source)
            ), fresh AS (
                SELECT DISTINCT ON (i.user_id, i.id) i.* FROM incoming i
                WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.user_id = i.user_id AND a.id = i.id)
            ), locked AS (
                SELECT id, timezone FROM users WHERE id IN (SELECT user_id FROM fresh) ORDER BY id FOR SHARE
            ), inserted AS (
                INSERT INTO activities (id, user_id, kind, occurred_at, value, repo, language, source)
                SELECT f.id, f.user_id, f.kind, f.occurred_at, f.value, NULLIF(f.repo, ''), NULLIF(f.language, ''), f.source
                FROM fresh f JOIN locked u ON u.id = f.user_id
                ON CONFLICT (user_id, id) DO NOTHING
                RETURNING user_id, kind, occurred_at
            ), bucketed AS (
                INSERT INTO daily_stats (user_id, day, \(unescaped: DailyCounters.columnList))
                SELECT n.user_id, (n.occurred_at AT TIME ZONE u.timezone)::date, \(unescaped: DailyCounters.countExpressions)
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
            )
            SELECT user_id, count(*) FROM inserted GROUP BY user_id
            """, logger: logger)
        var insertedByUser: [UUID: Int] = [:]
        for try await (userID, count) in rows.decode((UUID, Int64).self) { insertedByUser[userID] = Int(count) }
        // Whichever worker stores a fact first tells the user's open web clients and endpoints.
        try await announceMetricsUpdated(insertedByUser, on: connection)
        return AppliedFacts(insertedByUser: insertedByUser, owners: owners)
    }

    /// Counters per local date in `range` (dates without activity are absent).
    public func dailyCounters(userID: UUID, range: DateRange) async throws -> [LocalDate: DailyCounters] {
        let rows = try await client.query(
            """
            SELECT day::text, \(unescaped: DailyCounters.columnList) FROM daily_stats
            WHERE user_id = \(userID) AND day BETWEEN \(range.from.description)::date AND \(range.to.description)::date
            """, logger: logger)
        var result: [LocalDate: DailyCounters] = [:]
        for try await (day, commits, prsOpened, prsMerged, reviews, issuesOpened, issuesClosed, comments)
            in rows.decode((String, Int, Int, Int, Int, Int, Int, Int).self)
        {
            guard let date = LocalDate(day) else { continue }
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
            SELECT day::text FROM daily_stats WHERE user_id = \(userID) AND commits + prs_opened + reviews + issues_opened > 0
            UNION SELECT day::text FROM coding_daily WHERE user_id = \(userID) AND seconds > 0
            UNION SELECT day::text FROM coding_reported WHERE user_id = \(userID) AND seconds > 0
            ORDER BY 1
            """, logger: logger)
        var days: [LocalDate] = []
        for try await day in rows.decode(String.self) {
            if let date = LocalDate(day) { days.append(date) }
        }
        return days
    }
}

// MARK: - Source owners

extension HubStore {
    /// The owner of each existing source among `ids`.
    public func sourceOwners(ids: [UUID]) async throws -> [UUID: UserIdentity] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT s.id, u.id, u.login, u.github_id FROM webhook_sources s JOIN users u ON u.id = s.user_id
            WHERE s.id = ANY(\(ids))
            """, logger: logger)
        var owners: [UUID: UserIdentity] = [:]
        for try await (sourceID, userID, login, githubID) in rows.decode((UUID, UUID, String, Int64?).self) {
            owners[sourceID] = UserIdentity(userID: userID, login: login, githubID: githubID)
        }
        return owners
    }
}
