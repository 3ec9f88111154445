import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(3)))
struct CodingStoreTests {
    let logger = Logger(label: "coding-store-tests")

    @Test func keysAuthenticateUntilRevokedWithOrWithoutTheWakaPrefix() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let (record, key) = try await store.codingKeys.createCodingKey(userID: user.id, name: "laptop")
            #expect(
                key.range(of: #"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$"#, options: .regularExpression) != nil,
                "the wakatime CLI accepts only UUID v4 keys: \(key)")
            #expect(record.hint == "…" + key.suffix(4))
            #expect(try await store.codingKeys.user(codingKey: key)?.id == user.id)
            #expect(try await store.codingKeys.user(codingKey: "waka_" + key)?.id == user.id)
            #expect(try await store.codingKeys.user(codingKey: UUID().uuidString.lowercased()) == nil)
            #expect(try await store.codingKeys.codingKeys(userID: user.id).first?.lastUsedAt != nil, "use is recorded")

            let stranger = try await store.users.createUser(login: "other", githubID: 2, timezone: "UTC")
            #expect(try await store.codingKeys.revokeCodingKey(userID: stranger.id, id: record.id) == false)
            #expect(try await store.codingKeys.revokeCodingKey(userID: user.id, id: record.id))
            #expect(try await store.codingKeys.user(codingKey: key) == nil, "a revoked key is rejected at once")
            #expect(try await store.codingKeys.codingKeys(userID: user.id).isEmpty)
        }
    }

    @Test func lateOutOfOrderAndRepeatedHeartbeatsGiveTheSameTotals() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let inOrder = try await store.users.createUser(login: "a", githubID: 1, timezone: "Asia/Kolkata")
            let shuffled = try await store.users.createUser(login: "b", githubID: 2, timezone: "Asia/Kolkata")
            // Around midnight IST on 2024-03-10/11, every 2 minutes for an hour, in two projects, one 20-minute gap.
            let start = 1_710_095_100.0 - 1800
            let beats = (0..<31).compactMap { index -> Heartbeat? in
                if (10..<20).contains(index) && index != 10 { return nil }  // the gap
                return Heartbeat(
                    time: start + Double(index) * 120, entity: "f\(index % 3).swift", project: index < 15 ? "p1" : "p2", language: "Swift")
            }
            func apply(_ user: UUID, _ batch: [Heartbeat]) async throws -> Int {
                try await store.database.transaction { transaction in
                    try await store.codingTime.applyHeartbeats([user: batch], timeout: 900, on: transaction).inserted
                }
            }
            #expect(try await apply(inOrder.id, beats) == beats.count)
            // The other user's arrive late and backwards, in three batches, one of them twice.
            let reversed = Array(beats.reversed())
            #expect(try await apply(shuffled.id, Array(reversed[0..<10])) == 10)
            _ = try await apply(shuffled.id, Array(reversed[10...]))
            #expect(try await apply(shuffled.id, Array(reversed[0..<10])) == 0, "a resent batch stores nothing")

            let range = try DateRange(from: LocalDate("2024-03-10")!, to: LocalDate("2024-03-11")!)
            let expected = try await store.codingTime.codingTotals(userID: inOrder.id, range: range).mapValues(\.heartbeatSeconds)
            #expect(try await store.codingTime.codingTotals(userID: shuffled.id, range: range).mapValues(\.heartbeatSeconds) == expected)
            let all = CodingDurations.slices(beats, timeout: 900, timeZone: TimeZone(identifier: "Asia/Kolkata")!)
            #expect(expected[LocalDate("2024-03-10")!] == all.filter { $0.date.description == "2024-03-10" }.reduce(0) { $0 + $1.seconds })
            #expect(expected.values.reduce(0, +) == all.reduce(0) { $0 + $1.seconds })
            #expect(expected.keys.count == 2, "the hour is split at local midnight: \(expected)")
        }
    }

    @Test func changingTheZoneRebucketsCodingTime() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "mover", githubID: 3, timezone: "UTC")
            // 23:50 and 23:55 UTC on 2024-03-10 are 05:20 and 05:25 IST on the 11th.
            let beats = [Heartbeat(time: 1_710_114_600, entity: "a"), Heartbeat(time: 1_710_114_900, entity: "a")]
            _ = try await store.database.transaction { transaction in
                try await store.codingTime.applyHeartbeats([user.id: beats], timeout: 900, on: transaction)
            }
            let range = try DateRange(from: LocalDate("2024-03-10")!, to: LocalDate("2024-03-11")!)
            #expect(try await store.codingTime.codingTotals(userID: user.id, range: range).mapValues(\.seconds) == [LocalDate("2024-03-10")!: 300])
            _ = try await store.users.updateTimezone(userID: user.id, timezone: "Asia/Kolkata", codingTimeout: 900)
            #expect(try await store.codingTime.codingTotals(userID: user.id, range: range).mapValues(\.seconds) == [LocalDate("2024-03-11")!: 300])
            #expect(try await store.activity.activeDays(userID: user.id).map(\.description) == ["2024-03-11"], "a day with coding time is active")
        }
    }
}
