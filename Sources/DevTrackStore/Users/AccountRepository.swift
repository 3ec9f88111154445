import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// What deleting an account removed from the notification path's tables, which have no foreign keys (facts, daily stats
/// and totals, which have none either, go too; everything else goes with the user's row, by `ON DELETE CASCADE`).
public struct AccountDeletion: Sendable, Equatable, Encodable {
    public let userID: UUID
    public let login: String
    public let notifications: Int
    public let deliveries: Int
    public let deliveryLog: Int

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case login, notifications, deliveries
        case deliveryLog = "delivery_log"
    }

    /// Ids in lowercase, as everywhere in the API.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userID.uuidString.lowercased(), forKey: .userID)
        try container.encode(login, forKey: .login)
        try container.encode(notifications, forKey: .notifications)
        try container.encode(deliveries, forKey: .deliveries)
        try container.encode(deliveryLog, forKey: .deliveryLog)
    }
}

/// Deleting an account (`account_deletions`, and through the owning repositories every table that holds the
/// user's rows). One transaction: the user's row is locked first, so a worker applying their facts (which locks it
/// FOR SHARE) finishes before and one starting after finds no user and skips. Writers to the tables without foreign
/// keys only join `users` (they do not lock it, see migration 016), so one that read the user just before the commit
/// may write after it; the deleted ids stay in `account_deletions` for a while and each scheduler tick sweeps them.
public struct AccountRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension AccountRepository {
    /// Deletes the user and every row of theirs; nil when there is no such user.
    public func deleteAccount(userID: UUID) async throws -> AccountDeletion? {
        try await database.transaction { transaction -> AccountDeletion? in
            let rows = try await transaction.connection.query("SELECT login FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            var login: String?
            for try await name in rows.decode(String.self) { login = name }
            guard let login else { return nil }
            let sourceIDs = try await SourceRepository(database).sourceIDs(userID: userID, on: transaction)
            let swept = try await deleteUnreferencedRows(userID: userID, sourceIDs: sourceIDs, on: transaction)
            try await transaction.connection.query("DELETE FROM users WHERE id = \(userID)", logger: logger)
            try await transaction.connection.query(
                "INSERT INTO account_deletions (user_id, source_ids) VALUES (\(userID), \(sourceIDs)) ON CONFLICT DO NOTHING", logger: logger)
            return AccountDeletion(
                userID: userID, login: login, notifications: swept.notifications, deliveries: swept.deliveries, deliveryLog: swept.deliveryLog)
        }
    }

    /// Deletes what was written under recently deleted accounts after their deletion, and forgets deletions made before
    /// `settledBefore` once swept a last time; returns the rows deleted. At most `limit` deletions a call.
    @discardableResult
    public func sweepDeletedAccounts(settledBefore cutoff: Date, limit: Int = 100) async throws -> Int {
        try await database.transaction { transaction -> Int in
            let rows = try await transaction.connection.query(
                "SELECT user_id, source_ids, deleted_at < \(cutoff) FROM account_deletions ORDER BY deleted_at LIMIT \(limit)", logger: logger)
            var deletions: [(userID: UUID, sourceIDs: [String], settled: Bool)] = []
            for try await (userID, sourceIDs, settled) in rows.decode((UUID, [String], Bool).self) {
                deletions.append((userID, sourceIDs, settled))
            }
            var swept = 0
            for deletion in deletions {
                let counts = try await deleteUnreferencedRows(userID: deletion.userID, sourceIDs: deletion.sourceIDs, on: transaction)
                swept += counts.notifications + counts.deliveries + counts.deliveryLog
                if deletion.settled {
                    try await transaction.connection.query("DELETE FROM account_deletions WHERE user_id = \(deletion.userID)", logger: logger)
                }
            }
            return swept
        }
    }

    /// The user's rows in the tables without a foreign key to `users` (facts, daily stats and totals since migration 030),
    /// and their leaderboard counts.
    private func deleteUnreferencedRows(
        userID: UUID, sourceIDs: [String], on transaction: DatabaseTransaction
    ) async throws -> (notifications: Int, deliveries: Int, deliveryLog: Int) {
        try await LeaderboardRepository(database).removeUser(userID, on: transaction)
        try await ActivityRepository(database).deleteAll(userID: userID, on: transaction)
        try await AchievementRepository(database).deleteTotals(userID: userID, on: transaction)
        let notifications = try await NotificationRepository(database).deleteAll(userID: userID, on: transaction)
        let deliveries = try await OutboxRepository(database).deleteAll(userID: userID, on: transaction)
        let deliveryLog = try await SourceRepository(database).deleteDeliveryLog(sourceIDs: sourceIDs, on: transaction)
        return (notifications, deliveries, deliveryLog)
    }
}
