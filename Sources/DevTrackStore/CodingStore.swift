import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// One day's coding time from both sources; `seconds` is what metrics and goals count.
public struct CodingDayTotals: Sendable, Equatable {
    public var heartbeatSeconds: Double
    public var reportedSeconds: Double
    public var seconds: Double { max(heartbeatSeconds, reportedSeconds) }

    public init(heartbeatSeconds: Double = 0, reportedSeconds: Double = 0) {
        self.heartbeatSeconds = heartbeatSeconds
        self.reportedSeconds = reportedSeconds
    }
}

/// A coding API key as listed to its owner (never the key itself).
public struct CodingKeyRecord: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let hint: String
    public let createdAt: Date
    public let lastUsedAt: Date?
}

// MARK: - Coding API keys

extension HubStore {
    /// Creates a key (a random UUID v4, the only shape the wakatime CLI sends) and returns it with its record;
    /// only the key's hash is stored.
    public func createCodingKey(userID: UUID, name: String) async throws -> (record: CodingKeyRecord, key: String) {
        let key = UUID().uuidString.lowercased()
        let id = UUID()
        let hint = "…" + key.suffix(4)
        let rows = try await client.query(
            """
            INSERT INTO coding_api_keys (id, user_id, name, key_hash, hint) VALUES (\(id), \(userID), \(name), \(Credentials.hash(key)), \(hint))
            RETURNING created_at
            """, logger: logger)
        for try await createdAt in rows.decode(Date.self) {
            return (CodingKeyRecord(id: id, name: name, hint: hint, createdAt: createdAt, lastUsedAt: nil), key)
        }
        throw StoreError.notFound("the inserted key")
    }

    public func codingKeys(userID: UUID) async throws -> [CodingKeyRecord] {
        let rows = try await client.query(
            """
            SELECT id, name, hint, created_at, last_used_at FROM coding_api_keys
            WHERE user_id = \(userID) AND revoked_at IS NULL ORDER BY created_at
            """, logger: logger)
        var keys: [CodingKeyRecord] = []
        for try await (id, name, hint, createdAt, lastUsedAt) in rows.decode((UUID, String, String, Date, Date?).self) {
            keys.append(CodingKeyRecord(id: id, name: name, hint: hint, createdAt: createdAt, lastUsedAt: lastUsedAt))
        }
        return keys
    }

    /// Revokes one of the user's keys; false when the user has no such (unrevoked) key.
    public func revokeCodingKey(userID: UUID, id: UUID) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE coding_api_keys SET revoked_at = now() WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The user a key belongs to (`waka_` prefix accepted), nil for unknown or revoked keys. Marks the key
    /// used, at most once a minute.
    public func user(codingKey: String) async throws -> UserRecord? {
        let key = codingKey.hasPrefix("waka_") ? String(codingKey.dropFirst(5)) : codingKey
        let rows = try await client.query(
            """
            WITH hit AS (
                SELECT id, user_id, last_used_at FROM coding_api_keys WHERE key_hash = \(Credentials.hash(key.lowercased())) AND revoked_at IS NULL
            ), touched AS (
                UPDATE coding_api_keys k SET last_used_at = now() FROM hit
                WHERE k.id = hit.id AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute')
            )
            SELECT u.id, u.login, u.github_id, u.timezone FROM hit JOIN users u ON u.id = hit.user_id
            """, logger: logger)
        for try await (id, login, githubID, timezone) in rows.decode((UUID, String, Int64?, String).self) {
            return UserRecord(id: id, login: login, githubID: githubID, timezone: timezone)
        }
        return nil
    }
}

// MARK: - Heartbeats and coding durations

extension HubStore {
    /// Stores heartbeats (duplicates by `(time, entity)` are ignored) and recomputes `coding_daily` for every
    /// local day the new ones can change, from the stored heartbeats — so the result does not depend on
    /// arrival order. Run inside the caller's transaction. Returns how many heartbeats were new and the
    /// local days recomputed per user.
    @discardableResult
    public func applyHeartbeats(
        _ heartbeats: [UUID: [Heartbeat]], timeout: Double, on connection: PostgresConnection
    ) async throws -> (inserted: Int, days: [UUID: (zone: TimeZone, days: Set<LocalDate>)]) {
        var inserted = 0
        var changed: [UUID: (zone: TimeZone, days: Set<LocalDate>)] = [:]
        for (userID, beats) in heartbeats where !beats.isEmpty {
            let zoneRows = try await connection.query("SELECT timezone FROM users WHERE id = \(userID) FOR SHARE", logger: logger)
            var zoneName: String?
            for try await name in zoneRows.decode(String.self) { zoneName = name }
            guard let zoneName else { continue }  // the user was deleted: nothing to store
            let zone = TimeZones.named(zoneName) ?? .gmt

            let rows = try await connection.query(
                """
                INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
                SELECT \(userID), * FROM unnest(
                    \(beats.map(\.time)), \(beats.map(\.entity)), \(beats.map(\.type)), \(beats.map(\.category)),
                    \(beats.map(\.project)), \(beats.map(\.branch)), \(beats.map(\.language)), \(beats.map(\.editor)),
                    \(beats.map(\.machine)), \(beats.map(\.isWrite)))
                ON CONFLICT DO NOTHING
                RETURNING time
                """, logger: logger)
            var affected: Set<LocalDate> = []
            for try await time in rows.decode(Double.self) {
                inserted += 1
                // The new heartbeat changes the intervals that end and start at it.
                for instant in [time - timeout, time, time + timeout] {
                    affected.insert(LocalDate(Date(timeIntervalSince1970: instant), in: zone))
                }
            }
            for day in affected.sorted() {
                try await recomputeCodingDay(userID: userID, day: day, zone: zone, timeout: timeout, on: connection)
            }
            if !affected.isEmpty { changed[userID] = (zone, affected) }
        }
        return (inserted, changed)
    }

    /// Rebuilds all of a user's `coding_daily` in `zone` (after a time-zone change).
    func recomputeAllCoding(userID: UUID, zone: TimeZone, timeout: Double, on connection: PostgresConnection) async throws {
        let beats = try await heartbeats(userID: userID, from: -.infinity, to: .infinity, on: connection)
        try await connection.query("DELETE FROM coding_daily WHERE user_id = \(userID)", logger: logger)
        try await insertCoding(CodingDurations.slices(beats, timeout: timeout, timeZone: zone), userID: userID, on: connection)
    }

    private func heartbeats(userID: UUID, from: Double, to: Double, on connection: PostgresConnection) async throws -> [Heartbeat] {
        let rows = try await connection.query(
            """
            SELECT time, entity, type, category, project, branch, language, editor, machine, is_write FROM heartbeats
            WHERE user_id = \(userID) AND time >= \(from) AND time <= \(to)
            """, logger: logger)
        var beats: [Heartbeat] = []
        for try await (time, entity, type, category, project, branch, language, editor, machine, isWrite)
            in rows.decode((Double, String, String, String, String, String, String, String, String, Bool).self)
        {
            beats.append(
                Heartbeat(
                    time: time, entity: entity, type: type, category: category, project: project, branch: branch,
                    language: language, editor: editor, machine: machine, isWrite: isWrite))
        }
        return beats
    }

    private func insertCoding(_ slices: [CodingSlice], userID: UUID, on connection: PostgresConnection) async throws {
        guard !slices.isEmpty else { return }
        let dimensions = slices.map(\.dimensions)
        try await connection.query(
            """
            INSERT INTO coding_daily (user_id, day, project, language, editor, branch, category, machine, seconds)
            SELECT \(userID), d::date, p, l, e, b, c, m, s FROM unnest(
                \(slices.map(\.date.description)), \(dimensions.map(\.project)), \(dimensions.map(\.language)), \(dimensions.map(\.editor)),
                \(dimensions.map(\.branch)), \(dimensions.map(\.category)), \(dimensions.map(\.machine)), \(slices.map(\.seconds)))
                AS t(d, p, l, e, b, c, m, s)
            """, logger: logger)
    }

    private func recomputeCodingDay(userID: UUID, day: LocalDate, zone: TimeZone, timeout: Double, on connection: PostgresConnection) async throws {
        let start = day.startOfDay(in: zone).timeIntervalSince1970
        let end = day.adding(days: 1).startOfDay(in: zone).timeIntervalSince1970
        let beats = try await heartbeats(userID: userID, from: start - timeout, to: end + timeout, on: connection)
        let slices = CodingDurations.slices(beats, timeout: timeout, timeZone: zone).filter { $0.date == day }
        try await connection.query("DELETE FROM coding_daily WHERE user_id = \(userID) AND day = \(day.description)::date", logger: logger)
        try await insertCoding(slices, userID: userID, on: connection)
    }

    /// Replaces the reported totals of these days (the plugin sends cumulative totals). Skips deleted users.
    public func applyReportedDays(_ days: [ReportedCodingDay], userID: UUID, on connection: PostgresConnection) async throws {
        guard !days.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO coding_reported (user_id, day, seconds, file_count, project_count)
            SELECT \(userID), d::date, s, NULLIF(f, -1), NULLIF(p, -1)
            FROM unnest(\(days.map(\.date.description)), \(days.map(\.totalSeconds)), \(days.map { $0.fileCount ?? -1 }),
                        \(days.map { $0.projectCount ?? -1 })) AS t(d, s, f, p)
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID))
            ON CONFLICT (user_id, day) DO UPDATE
            SET seconds = EXCLUDED.seconds, file_count = EXCLUDED.file_count, project_count = EXCLUDED.project_count, updated_at = now()
            """, logger: logger)
    }

    /// Coding time per local date in `range` (dates without any are absent): from heartbeats, as reported
    /// by the original plugin, and the day's figure, the larger of the two.
    public func codingTotals(userID: UUID, range: DateRange) async throws -> [LocalDate: CodingDayTotals] {
        let (from, to) = (range.from.description, range.to.description)
        let rows = try await client.query(
            """
            SELECT day::text, sum(h), sum(r) FROM (
                SELECT day, seconds AS h, 0::double precision AS r FROM coding_daily
                WHERE user_id = \(userID) AND day BETWEEN \(from)::date AND \(to)::date
                UNION ALL
                SELECT day, 0, seconds FROM coding_reported
                WHERE user_id = \(userID) AND day BETWEEN \(from)::date AND \(to)::date
            ) t GROUP BY day
            """, logger: logger)
        var result: [LocalDate: CodingDayTotals] = [:]
        for try await (day, heartbeats, reported) in rows.decode((String, Double, Double).self) {
            if let date = LocalDate(day) { result[date] = CodingDayTotals(heartbeatSeconds: heartbeats, reportedSeconds: reported) }
        }
        return result
    }

    /// The reported totals of the last `days` local days up to `today`, newest first.
    public func reportedDays(userID: UUID, from: LocalDate, to: LocalDate) async throws -> [ReportedCodingDay] {
        let rows = try await client.query(
            """
            SELECT day::text, seconds, file_count, project_count FROM coding_reported
            WHERE user_id = \(userID) AND day BETWEEN \(from.description)::date AND \(to.description)::date ORDER BY day DESC
            """, logger: logger)
        var days: [ReportedCodingDay] = []
        for try await (day, seconds, files, projects) in rows.decode((String, Int32, Int32?, Int32?).self) {
            guard let date = LocalDate(day) else { continue }
            days.append(
                ReportedCodingDay(date: date, totalSeconds: Int(seconds), fileCount: files.map(Int.init), projectCount: projects.map(Int.init)))
        }
        return days
    }

    /// Every `coding_daily` row of the range, for breakdowns.
    public func codingSlices(userID: UUID, range: DateRange) async throws -> [CodingSlice] {
        let rows = try await client.query(
            """
            SELECT day::text, project, language, editor, branch, category, machine, seconds FROM coding_daily
            WHERE user_id = \(userID) AND day BETWEEN \(range.from.description)::date AND \(range.to.description)::date
            """, logger: logger)
        var slices: [CodingSlice] = []
        for try await (day, project, language, editor, branch, category, machine, seconds)
            in rows.decode((String, String, String, String, String, String, String, Double).self)
        {
            guard let date = LocalDate(day) else { continue }
            slices.append(
                CodingSlice(
                    date: date,
                    dimensions: CodingDimensions(
                        project: project, language: language, editor: editor, branch: branch, category: category, machine: machine), seconds: seconds)
            )
        }
        return slices
    }
}
