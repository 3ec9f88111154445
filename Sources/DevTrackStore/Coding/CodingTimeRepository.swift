import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// One day's coding time from both sources; `seconds` is what metrics and goals count, by `coding_days()`'s rule.
public struct CodingDayTotals: Sendable, Equatable {
    public var heartbeatSeconds: Double
    public var reportedSeconds: Double
    public var seconds: Double

    public init(heartbeatSeconds: Double = 0, reportedSeconds: Double = 0, seconds: Double = 0) {
        self.heartbeatSeconds = heartbeatSeconds
        self.reportedSeconds = reportedSeconds
        self.seconds = seconds
    }
}

/// Coding time: heartbeats, the durations computed from them, and the totals the original plugin reports
/// (`heartbeats`, `coding_daily`, `coding_reported`).
public struct CodingTimeRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension CodingTimeRepository {
    /// Stores heartbeats (duplicates by `(time, entity)` are ignored) and recomputes `coding_daily` for every
    /// local day the new ones can change, from the stored heartbeats — so the result does not depend on
    /// arrival order. Run inside the caller's transaction. Returns how many heartbeats were new and the
    /// local days recomputed per user.
    @discardableResult
    public func applyHeartbeats(
        _ heartbeats: [UUID: [Heartbeat]], timeout: Double, on transaction: DatabaseTransaction
    ) async throws -> (inserted: Int, days: [UUID: (zone: TimeZone, days: Set<LocalDate>)]) {
        let connection = transaction.connection
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
                try await recomputeCodingDay(userID: userID, day: day, zone: zone, timeout: timeout, on: transaction)
            }
            if !affected.isEmpty { changed[userID] = (zone, affected) }
        }
        try await LeaderboardRepository(database).markChanged(changed.keys, on: transaction)
        return (inserted, changed)
    }

    /// Rebuilds all of a user's `coding_daily` in `zone` (after a time-zone change).
    /// Where retention deleted old heartbeats, only the local days after the horizon's are rebuilt (the days before keep
    /// the coding time they had: the heartbeats to rebucket them are gone).
    func recomputeAllCoding(userID: UUID, zone: TimeZone, timeout: Double, on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        var keptFrom: Double?
        for try await time in try await connection.query(
            "SELECT kept_from FROM heartbeat_horizons WHERE user_id = \(userID)", logger: logger
        ).decode(Double.self) { keptFrom = time }
        guard let keptFrom else {
            let beats = try await heartbeats(userID: userID, from: -.infinity, to: .infinity, on: transaction)
            try await connection.query("DELETE FROM coding_daily WHERE user_id = \(userID)", logger: logger)
            try await insertCoding(CodingDurations.slices(beats, timeout: timeout, timeZone: zone), userID: userID, on: transaction)
            return
        }
        let firstWholeDay = LocalDate(Date(timeIntervalSince1970: keptFrom), in: zone).adding(days: 1)
        let beats = try await heartbeats(userID: userID, from: keptFrom, to: .infinity, on: transaction)
        try await connection.query("DELETE FROM coding_daily WHERE user_id = \(userID) AND day >= \(firstWholeDay)", logger: logger)
        let slices = CodingDurations.slices(beats, timeout: timeout, timeZone: zone).filter { $0.date >= firstWholeDay }
        try await insertCoding(slices, userID: userID, on: transaction)
    }

    /// Deletes up to `limit` heartbeats older than `cutoff` (Unix seconds), the oldest of each user first, and notes for
    /// each user touched that heartbeats before `cutoff` may be gone. One index range per user (the primary key's), so
    /// heartbeats need no index by time alone, which every insert would pay for.
    public func deleteHeartbeats(before cutoff: Double, limit: Int = 1000) async throws -> Int {
        try await rowCount(
            """
            WITH doomed AS (
                SELECT h.user_id, h.time, h.entity FROM users u CROSS JOIN LATERAL (
                    SELECT user_id, time, entity FROM heartbeats WHERE user_id = u.id AND time < \(cutoff) ORDER BY time LIMIT \(limit)
                ) h LIMIT \(limit)
            ), gone AS (
                DELETE FROM heartbeats h USING doomed d WHERE h.user_id = d.user_id AND h.time = d.time AND h.entity = d.entity
                RETURNING h.user_id
            ), horizon AS (
                INSERT INTO heartbeat_horizons AS o (user_id, kept_from) SELECT DISTINCT user_id, \(cutoff)::double precision FROM gone
                ON CONFLICT (user_id) DO UPDATE SET kept_from = greatest(o.kept_from, EXCLUDED.kept_from)
            )
            SELECT 1 FROM gone
            """)
    }

    private func heartbeats(userID: UUID, from: Double, to: Double, on transaction: DatabaseTransaction) async throws -> [Heartbeat] {
        let connection = transaction.connection
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

    private func insertCoding(_ slices: [CodingSlice], userID: UUID, on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !slices.isEmpty else { return }
        let dimensions = slices.map(\.dimensions)
        try await connection.query(
            """
            INSERT INTO coding_daily (user_id, day, project, language, editor, branch, category, machine, seconds)
            SELECT \(userID), d, p, l, e, b, c, m, s FROM unnest(
                \(slices.map(\.date)), \(dimensions.map(\.project)), \(dimensions.map(\.language)), \(dimensions.map(\.editor)),
                \(dimensions.map(\.branch)), \(dimensions.map(\.category)), \(dimensions.map(\.machine)), \(slices.map(\.seconds)))
                AS t(d, p, l, e, b, c, m, s)
            """, logger: logger)
    }

    private func recomputeCodingDay(userID: UUID, day: LocalDate, zone: TimeZone, timeout: Double, on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        let start = day.startOfDay(in: zone).timeIntervalSince1970
        let end = day.adding(days: 1).startOfDay(in: zone).timeIntervalSince1970
        let beats = try await heartbeats(userID: userID, from: start - timeout, to: end + timeout, on: transaction)
        let slices = CodingDurations.slices(beats, timeout: timeout, timeZone: zone).filter { $0.date == day }
        try await connection.query("DELETE FROM coding_daily WHERE user_id = \(userID) AND day = \(day)", logger: logger)
        try await insertCoding(slices, userID: userID, on: transaction)
    }

    /// Replaces the reported totals of these days (the plugin sends cumulative totals). Skips deleted users.
    public func applyReportedDays(_ days: [ReportedCodingDay], userID: UUID, on transaction: DatabaseTransaction) async throws {
        let connection = transaction.connection
        guard !days.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO coding_reported (user_id, day, seconds, file_count, project_count)
            SELECT \(userID), d, s, NULLIF(f, -1), NULLIF(p, -1)
            FROM unnest(\(days.map(\.date)), \(days.map(\.totalSeconds)), \(days.map { $0.fileCount ?? -1 }),
                        \(days.map { $0.projectCount ?? -1 })) AS t(d, s, f, p)
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID))
            ON CONFLICT (user_id, day) DO UPDATE
            SET seconds = EXCLUDED.seconds, file_count = EXCLUDED.file_count, project_count = EXCLUDED.project_count, updated_at = now()
            """, logger: logger)
        try await LeaderboardRepository(database).markChanged([userID], on: transaction)
    }

    /// Coding time per local date in `range` (dates without any are absent): from heartbeats, as reported
    /// by the original plugin, and the day's figure, the larger of the two.
    public func codingTotals(userID: UUID, range: DateRange) async throws -> [LocalDate: CodingDayTotals] {
        let rows = try await client.query(
            "SELECT day, heartbeat_seconds, reported_seconds, seconds FROM coding_days(\(userID), \(range.from), \(range.to))", logger: logger)
        var result: [LocalDate: CodingDayTotals] = [:]
        for try await (day, heartbeats, reported, seconds) in rows.decode((LocalDate, Double, Double, Double).self) {
            result[day] = CodingDayTotals(heartbeatSeconds: heartbeats, reportedSeconds: reported, seconds: seconds)
        }
        return result
    }

    /// The reported totals of the last `days` local days up to `today`, newest first.
    public func reportedDays(userID: UUID, from: LocalDate, to: LocalDate) async throws -> [ReportedCodingDay] {
        let rows = try await client.query(
            """
            SELECT day, seconds, file_count, project_count FROM coding_reported
            WHERE user_id = \(userID) AND day BETWEEN \(from) AND \(to) ORDER BY day DESC
            """, logger: logger)
        var days: [ReportedCodingDay] = []
        for try await (day, seconds, files, projects) in rows.decode((LocalDate, Int32, Int32?, Int32?).self) {
            let date = day
            days.append(
                ReportedCodingDay(date: date, totalSeconds: Int(seconds), fileCount: files.map(Int.init), projectCount: projects.map(Int.init)))
        }
        return days
    }

    /// Every `coding_daily` row of the range, for breakdowns.
    public func codingSlices(userID: UUID, range: DateRange) async throws -> [CodingSlice] {
        let rows = try await client.query(
            """
            SELECT day, project, language, editor, branch, category, machine, seconds FROM coding_daily
            WHERE user_id = \(userID) AND day BETWEEN \(range.from) AND \(range.to)
            """, logger: logger)
        var slices: [CodingSlice] = []
        for try await (day, project, language, editor, branch, category, machine, seconds)
            in rows.decode((LocalDate, String, String, String, String, String, String, Double).self)
        {
            let date = day
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
