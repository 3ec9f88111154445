import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(3)))
struct RepositoryTests {
    func fact(_ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String) -> ActivityFact {
        ActivityFact(id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, repo: "o/r", language: nil, source: "github-app")
    }

    @Test func migrationsAreIdempotentAndSafeToRunConcurrently() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let migrator = try Migrator(directory: "\(RepositoryPaths.root)/schema")
            // withFreshStore already migrated; more runs, two at once, apply nothing.
            async let first = migrator.migrate(store.database, logger: Logger(label: "m1"))
            async let second = migrator.migrate(store.database, logger: Logger(label: "m2"))
            let (firstApplied, secondApplied) = try await (first, second)
            #expect(firstApplied.isEmpty && secondApplied.isEmpty)
            try await migrator.requireCurrent(store.database, logger: Logger(label: "m"))
            let rows = try await store.client.query("SELECT count(*) FROM schema_migrations")
            for try await count in rows.decode(Int.self) { #expect(count == migrator.migrations.count) }
        }
    }

    @Test func factsCountOnceAndBucketInTheUsersZone() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "kolkata", githubID: 1, timezone: "Asia/Kolkata")
            let facts = [
                fact("commit:a", user.id, .commit, "2024-03-10T18:29:59Z"),  // 23:59:59 IST on the 10th
                fact("commit:b", user.id, .commit, "2024-03-10T18:30:00Z"),  // 00:00 IST on the 11th
                fact("pr_opened:1", user.id, .prOpened, "2024-03-10T10:00:00Z"),
                fact("commit:ghost", UUID(), .commit, "2024-03-10T10:00:00Z"),  // no such user: skipped
                fact("commit:a", user.id, .commit, "2024-03-10T18:29:59Z"),  // redelivered within the batch: counted once
            ]
            let new = try await store.database.transaction { try await store.activity.applyFacts(facts, on: $0).inserted }
            #expect(new == 3)
            let again = try await store.database.transaction { try await store.activity.applyFacts(facts, on: $0).inserted }
            #expect(again == 0, "a redelivered batch adds nothing")
            let late = fact("commit:c", user.id, .commit, "2024-03-11T02:00:00Z")  // 07:30 IST on the 11th
            #expect(try await store.activity.applyFacts(facts + [late]).insertedByUser == [user.id: 1], "only the fact not stored yet is new")

            let range = try DateRange(from: LocalDate("2024-03-10")!, to: LocalDate("2024-03-11")!)
            let days = try await store.activity.dailyCounters(userID: user.id, range: range)
            #expect(days[LocalDate("2024-03-10")!]?.commits == 1)
            #expect(days[LocalDate("2024-03-10")!]?.prsOpened == 1)
            #expect(days[LocalDate("2024-03-11")!]?.commits == 2)
            #expect(try await store.activity.activeDays(userID: user.id).map(\.description) == ["2024-03-10", "2024-03-11"])
        }
    }

    /// `applyFacts` inserts what its lookup found unstored without a conflict clause; a fact another transaction
    /// stores in between fails that insert, and the batch is applied again, skipping it: nothing counts twice.
    @Test func aFactStoredBetweenTheLookupAndTheInsertCountsOnce() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "racer", githubID: 3, timezone: "UTC")
            let first = fact("commit:first", user.id, .commit, "2024-03-10T10:00:00Z")
            let second = fact("commit:second", user.id, .commit, "2024-03-10T11:00:00Z")
            let later = try await store.database.transaction { transaction in
                #expect(try await store.activity.applyFacts([first], on: transaction).inserted == 1)
                // Uncommitted yet: the other call's lookup finds `first` unstored, and its insert waits on the key.
                let later = Task { try await store.activity.applyFacts([first, second]).insertedByUser }
                var waiting = false
                for _ in 0..<500 where !waiting {
                    try await Task.sleep(for: .milliseconds(10))
                    let rows = try await store.client.query(
                        "SELECT count(*)::int FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
                    for try await count in rows.decode(Int.self) { waiting = count > 0 }
                }
                try #require(waiting, "the second insert never waited on the first transaction's fact")
                return later
            }
            #expect(try await later.value == [user.id: 1], "only the fact the first transaction did not store is new")
            let range = try DateRange(from: LocalDate("2024-03-10")!, to: LocalDate("2024-03-10")!)
            #expect(try await store.activity.dailyCounters(userID: user.id, range: range)[LocalDate("2024-03-10")!]?.commits == 2)
            let totals = try await store.client.query("SELECT commits::int FROM user_totals WHERE user_id = \(user.id)")
            var commits: [Int] = []
            for try await count in totals.decode(Int.self) { commits.append(count) }
            #expect(commits == [2])
        }
    }

    @Test func changingTheZoneRebucketsHistory() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "mover", githubID: 2, timezone: "UTC")
            _ = try await store.database.transaction {
                try await store.activity.applyFacts([self.fact("commit:late", user.id, .commit, "2024-03-10T23:30:00Z")], on: $0)
            }
            let range = try DateRange(from: LocalDate("2024-03-10")!, to: LocalDate("2024-03-11")!)
            #expect(try await store.activity.dailyCounters(userID: user.id, range: range).keys.map(\.description) == ["2024-03-10"])
            let updated = try await store.users.updateTimezone(userID: user.id, timezone: "Asia/Kolkata", codingTimeout: 900)
            #expect(updated?.timezone == "Asia/Kolkata")
            let days = try await store.activity.dailyCounters(userID: user.id, range: range)
            #expect(days.keys.map(\.description) == ["2024-03-11"])
            #expect(days[LocalDate("2024-03-11")!]?.commits == 1)
        }
    }

    @Test func usersTokensAndConflicts() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "Codertocat", githubID: 21_031_067, timezone: "UTC")
            await #expect(throws: StoreError.self) {
                _ = try await store.users.createUser(login: "codertocat", githubID: 5, timezone: "UTC")
            }
            let (_, token) = try await store.tokens.createToken(userID: user.id, name: "test")
            #expect(try await store.tokens.authenticate(bearerToken: token)?.user == user)
            #expect(try await store.tokens.authenticate(bearerToken: token + "x") == nil)
            #expect(try await store.users.user(login: "CODERTOCAT")?.id == user.id)
            let identities = try await store.githubAccounts.identities(githubIDs: [], logins: ["codertocat"])
            #expect(Set(identities.map(\.userID)) == [user.id])
        }
    }

    @Test func rotatedSourcesAcceptBothSecretsDuringTheGracePeriod() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "owner", githubID: 3, timezone: "UTC")
            let source = try await store.sources.createSource(userID: user.id, kind: "github", name: "", sealedSecret: [1, 2, 3])
            #expect(try await store.sources.sourceCredentials(id: source.id)?.sealedSecrets == [[1, 2, 3]])
            let rotated = try await store.sources.rotateSourceSecret(
                userID: user.id, sourceID: source.id, sealedSecret: [4, 5], grace: .seconds(3600))
            #expect(rotated?.rotatedAt != nil)
            #expect(try await store.sources.sourceCredentials(id: source.id)?.sealedSecrets == [[4, 5], [1, 2, 3]])
            _ = try await store.sources.rotateSourceSecret(userID: user.id, sourceID: source.id, sealedSecret: [6], grace: .zero)
            #expect(try await store.sources.sourceCredentials(id: source.id)?.sealedSecrets == [[6]])
            let stranger = try await store.users.createUser(login: "stranger", githubID: 4, timezone: "UTC")
            #expect(
                try await store.sources.rotateSourceSecret(userID: stranger.id, sourceID: source.id, sealedSecret: [7], grace: .zero) == nil,
                "another user's source is not found")
            #expect(try await store.sources.sourceOwners(ids: [source.id])[source.id]?.userID == user.id)
        }
    }
}
