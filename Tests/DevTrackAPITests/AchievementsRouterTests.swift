import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `AchievementsController`: `GET /achievements`.
@Suite(.timeLimit(.minutes(2)))
struct AchievementsRouterTests {
    static let routes = [APIRoute(.get, "/api/v1/achievements")]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func theWholeCatalogueIsListedWithProgressAndUnlocks() async throws {
        try await APIRouterTest.run { api in
            let before = try await api.call(.get, "/api/v1/achievements")
            #expect(before.status == .ok, "\(before)")
            #expect(before.keys() == ["achievements", "unlocked_count", "total"], "\(before)")
            let catalogue = try #require(before.value("achievements", as: [[String: Any]].self))
            #expect(catalogue.count == 23 && before.value("total", as: Int.self) == 23, "\(before)")
            #expect(catalogue.compactMap { $0["id"] as? String }.first == "first_commit")
            #expect(before.value("unlocked_count", as: Int.self) == 0)
            #expect(
                before.keys("achievements.0") == ["id", "title", "description", "tier", "metric", "threshold", "current", "percent", "unlocked"],
                "unlocked_at and fact_id are absent, not null, while locked: \(before)")
            #expect(catalogue.allSatisfy { $0["unlocked"] as? Bool == false && $0["current"] as? Int == 0 && $0["percent"] as? Double == 0 })

            try await api.store.achievements.recordUnlocks([
                AchievementUnlock(
                    userID: api.user.id, achievementID: "commits_100", at: Date(timeIntervalSince1970: 1_700_000_000), factID: "commit:abc")
            ])
            let after = try await api.call(.get, "/api/v1/achievements")
            #expect(after.value("unlocked_count", as: Int.self) == 1 && after.value("total", as: Int.self) == 23, "\(after)")
            let unlocked = try #require(after.value("achievements", as: [[String: Any]].self)?.first { $0["id"] as? String == "commits_100" })
            #expect(unlocked["unlocked"] as? Bool == true && unlocked["fact_id"] as? String == "commit:abc", "\(unlocked)")
            #expect(unlocked["unlocked_at"] as? String == "2023-11-14T22:13:20.000Z", "\(unlocked)")
            #expect(unlocked["current"] as? Int == 100 && unlocked["threshold"] as? Int == 100 && unlocked["percent"] as? Double == 100)
            #expect(unlocked["tier"] as? String == "silver" && unlocked["metric"] as? String == "commits")

            let other = try await api.newUser("other")
            let theirs = try await api.call(.get, "/api/v1/achievements", token: other.token)
            #expect(theirs.value("unlocked_count", as: Int.self) == 0, "another user's unlocks are their own: \(theirs)")
        }
    }
}
