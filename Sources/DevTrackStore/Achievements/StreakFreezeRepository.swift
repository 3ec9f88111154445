import DevTrackCore
import Foundation
import Logging
import PostgresNIO

public enum FreezeOutcome: Sendable, Equatable {
    case added(remainingThisMonth: Int)
    case alreadyFrozen(remainingThisMonth: Int)
    case allowanceExhausted(allowance: Int)
}

/// Days a user froze so that their streak holds (`streak_freezes`).
public struct StreakFreezeRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension StreakFreezeRepository {
    public func streakFreezes(userID: UUID) async throws -> [LocalDate] {
        let rows = try await client.query("SELECT day FROM streak_freezes WHERE user_id = \(userID) ORDER BY day", logger: logger)
        var days: [LocalDate] = []
        for try await day in rows.decode(LocalDate.self) {
            days.append(day)
        }
        return days
    }

    /// Freezes `day` unless the user already used `allowance` freezes in its calendar month. Serialized per
    /// user (row lock), so two requests at once cannot both take the last one.
    public func freeze(userID: UUID, day: LocalDate, allowance: Int) async throws -> FreezeOutcome {
        try await database.transaction { transaction in
            let connection = transaction.connection
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            let (year, month, _) = day.components
            let first = LocalDate(year: year, month: month, day: 1)!
            let last = LocalDate(year: year, month: month, day: LocalDate.daysIn(month: month, year: year))!
            let rows = try await connection.query(
                """
                SELECT count(*), count(*) FILTER (WHERE day = \(day)) FROM streak_freezes
                WHERE user_id = \(userID) AND day BETWEEN \(first) AND \(last)
                """, logger: logger)
            var (used, already) = (0, 0)
            for try await (count, same) in rows.decode((Int64, Int64).self) { (used, already) = (Int(count), Int(same)) }
            if already > 0 { return .alreadyFrozen(remainingThisMonth: max(0, allowance - used)) }
            guard used < allowance else { return .allowanceExhausted(allowance: allowance) }
            try await connection.query("INSERT INTO streak_freezes (user_id, day) VALUES (\(userID), \(day))", logger: logger)
            try await LeaderboardRepository(database).markChanged([userID], on: transaction)
            return .added(remainingThisMonth: allowance - used - 1)
        }
    }
}
