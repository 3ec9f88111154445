import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Account deletion's sweep: rows a worker wrote under a deleted account after its deletion (its transaction read the
/// user before the commit) are removed at the next sweep; the deleted id itself goes once the sweep window is over.
@Suite(.timeLimit(.minutes(2)))
struct AccountDeletionTests {
    let logger = Logger(label: "account-deletion-tests")

    @Test func rowsWrittenAfterTheDeletionAreSweptAndTheIdIsForgottenOnceSettled() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let leaver = try await store.users.createUser(login: "leaver", githubID: 11, timezone: "UTC")
            let stayer = try await store.users.createUser(login: "stayer", githubID: 12, timezone: "UTC")
            let client = store.client
            #expect(try await store.accounts.deleteAccount(userID: UUID()) == nil, "no such user")
            let deletion = try #require(try await store.accounts.deleteAccount(userID: leaver.id))
            #expect(deletion.login == "leaver")
            #expect(try await store.users.user(id: leaver.id) == nil)

            // What a late worker could still write: tables without a foreign key take it.
            func lateRows(for user: UUID) async throws {
                try await client.query(
                    """
                    INSERT INTO notifications (id, user_id, type, title, body, data, dedupe_key)
                    VALUES (\(UUID()), \(user), 'test', 't', 'b', '{}'::jsonb, \(UUID().uuidString))
                    """, logger: logger)
                let outboxID = UUID()
                try await client.query(
                    """
                    INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
                    VALUES (\(outboxID), \(user), 'discord', 'discord', \(outboxID.uuidString), 'test', '{}'::jsonb)
                    """, logger: logger)
                try await client.query(
                    "INSERT INTO delivery_attempts (outbox_id, attempt, latency_ms) VALUES (\(outboxID), 1, 5)", logger: logger)
                try await client.query("INSERT INTO leaderboard_changes (user_id) VALUES (\(user)) ON CONFLICT DO NOTHING", logger: logger)
            }
            try await lateRows(for: leaver.id)
            try await lateRows(for: stayer.id)
            func count(_ sql: PostgresQuery) async throws -> Int {
                var value = 0
                for try await n in try await client.query(sql, logger: logger).decode(Int.self) { value = n }
                return value
            }
            func rows(of user: UUID) async throws -> Int {
                try await count(
                    """
                    SELECT (SELECT count(*) FROM notifications WHERE user_id = \(user)) + (SELECT count(*) FROM outbox WHERE user_id = \(user))
                         + (SELECT count(*) FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.user_id = \(user))
                         + (SELECT count(*) FROM leaderboard_changes WHERE user_id = \(user))
                    """)
            }
            let orphanAttempts = "SELECT count(*) FROM delivery_attempts WHERE outbox_id NOT IN (SELECT id FROM outbox)"
            #expect(try await rows(of: leaver.id) == 4)

            // Within the window: swept, and the id kept for later sweeps.
            let soon = Date().addingTimeInterval(-600)
            #expect(try await store.accounts.sweepDeletedAccounts(settledBefore: soon) == 2, "a notification and a delivery (with its attempt)")
            #expect(try await rows(of: leaver.id) == 0)
            #expect(try await count(PostgresQuery(unsafeSQL: orphanAttempts)) == 0, "the delivery's attempt went with it")
            #expect(try await rows(of: stayer.id) == 4, "another user's rows stay")
            #expect(try await count("SELECT count(*) FROM account_deletions WHERE user_id = \(leaver.id)") == 1)

            // Once settled: swept one last time, and forgotten.
            try await lateRows(for: leaver.id)
            #expect(try await store.accounts.sweepDeletedAccounts(settledBefore: Date().addingTimeInterval(1)) == 2)
            #expect(try await rows(of: leaver.id) == 0)
            #expect(try await count("SELECT count(*) FROM account_deletions") == 0)
            #expect(try await store.accounts.sweepDeletedAccounts(settledBefore: Date().addingTimeInterval(1)) == 0)
        }
    }
}
