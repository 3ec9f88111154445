import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(3)))
struct StreakStoreTests {
    @Test func freezesAreLimitedPerCalendarMonthAndIdempotent() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let day = { (text: String) in LocalDate(text)! }
            #expect(try await store.streakFreezes.freeze(userID: user.id, day: day("2024-03-05"), allowance: 2) == .added(remainingThisMonth: 1))
            #expect(
                try await store.streakFreezes.freeze(userID: user.id, day: day("2024-03-05"), allowance: 2) == .alreadyFrozen(remainingThisMonth: 1))
            #expect(try await store.streakFreezes.freeze(userID: user.id, day: day("2024-03-31"), allowance: 2) == .added(remainingThisMonth: 0))
            #expect(try await store.streakFreezes.freeze(userID: user.id, day: day("2024-03-20"), allowance: 2) == .allowanceExhausted(allowance: 2))
            #expect(
                try await store.streakFreezes.freeze(userID: user.id, day: day("2024-04-01"), allowance: 2) == .added(remainingThisMonth: 1),
                "a new month")
            #expect(try await store.streakFreezes.streakFreezes(userID: user.id).map(\.description) == ["2024-03-05", "2024-03-31", "2024-04-01"])
            // Two at once cannot both take the last one of a month.
            let (tenth, eleventh) = (day("2024-04-10"), day("2024-04-11"))
            async let first = store.streakFreezes.freeze(userID: user.id, day: tenth, allowance: 2)
            async let second = store.streakFreezes.freeze(userID: user.id, day: eleventh, allowance: 2)
            let outcomes = try await [first, second]
            #expect(outcomes.filter { if case .added = $0 { true } else { false } }.count == 1)
        }
    }
}
