import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// Custom events of one kind on one local day: how many, and the sum of their values.
public struct CustomKindDay: Sendable, Equatable {
    public let date: LocalDate
    /// The event type (`deploy` for `custom:deploy`).
    public let kind: String
    public let count: Int
    public let value: Double
}

extension ActivityRepository {
    /// The user's custom facts per local day (in `zone`) and type within `range`, by date then type.
    public func customMetrics(userID: UUID, zone: String, range: DateRange) async throws -> [CustomKindDay] {
        let timeZone = TimeZones.named(zone) ?? .gmt
        let start = range.from.startOfDay(in: timeZone)
        let end = range.to.adding(days: 1).startOfDay(in: timeZone)
        let rows = try await client.query(
            """
            SELECT (occurred_at AT TIME ZONE \(zone))::date, substr(kind, 8), count(*), sum(value)::float8
            FROM activities
            WHERE user_id = \(userID) AND occurred_at >= \(start) AND occurred_at < \(end) AND kind LIKE 'custom:%'
            GROUP BY 1, 2 ORDER BY 1, 2
            """, logger: logger)
        var days: [CustomKindDay] = []
        for try await (date, kind, count, value) in rows.decode((LocalDate, String, Int64, Double).self) {
            let day = date
            days.append(CustomKindDay(date: day, kind: kind, count: Int(count), value: value))
        }
        return days
    }
}
