import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `GET /api/v1/leaderboard` over scores the scheduler's job computes (run here directly, at a fixed instant):
/// order and competition ranks for users in several zones, each score what the user's own summary counts over
/// the same local days, opt-out and private profiles honoured, paging, languages, and the caller's own place.
@Suite(.timeLimit(.minutes(2)))
struct LeaderboardRouterTests {
    /// 12:00 UTC: Sunday 21:00 in Tokyo, 05:00 in Los Angeles (just after its switch to summer time).
    static let now = Timestamps.parse("2024-03-10T12:00:00Z")!

    struct Cast {
        let me: APIUser  // UTC
        let tokyo: APIUser
        let losAngeles: APIUser
        let optedOut: APIUser
        let privateOne: APIUser
    }

    static func refresh(_ api: APIRouterTest) async throws {
        let leaderboard = LeaderboardRepository(api.store.database)
        try await leaderboard.markZonesThatRolledOver(now: now)
        while true {
            let users = try await leaderboard.takeChanged(limit: 2)
            guard !users.isEmpty else { break }
            try await leaderboard.recompute(users, now: now)
        }
    }

    static func seed(_ api: APIRouterTest) async throws -> Cast {
        let cast = Cast(
            me: api.user, tokyo: try await api.newUser("tokyo", timezone: "Asia/Tokyo"),
            losAngeles: try await api.newUser("la", timezone: "America/Los_Angeles"),
            optedOut: try await api.newUser("berlin", timezone: "Europe/Berlin"),
            privateOne: try await api.newUser("hidden"))
        for (user, settings) in [
            (cast.me, #"{"is_public": true, "leaderboard_opt_in": true, "display_name": "Me"}"#),
            (cast.tokyo, #"{"is_public": true, "leaderboard_opt_in": true}"#), (cast.losAngeles, #"{"is_public": true, "leaderboard_opt_in": true}"#),
            (cast.optedOut, #"{"is_public": true, "leaderboard_opt_in": false}"#),
            (cast.privateOne, #"{"is_public": false, "leaderboard_opt_in": true}"#),
        ] {
            #expect(try await api.call(.patch, "/api/v1/settings", settings, token: user.token).status == .ok)
        }
        var facts: [ActivityFact] = []
        func commit(_ user: APIUser, _ at: String, language: String? = nil) {
            facts.append(
                ActivityFact(
                    id: "commit:\(facts.count)", userID: user.id, kind: .commit, occurredAt: Timestamps.parse(at)!, repo: "o/r", language: language,
                    source: "github-app"))
        }
        // Me (UTC): three commits inside the week (2024-03-04 … 2024-03-10).
        for day in ["05", "06", "07"] { commit(cast.me, "2024-03-\(day)T10:00:00Z") }
        // Tokyo: 03-04 01:00 local is inside, 03-03 23:00 local is not.
        commit(cast.tokyo, "2024-03-03T16:00:00Z", language: "Swift")
        commit(cast.tokyo, "2024-03-03T14:00:00Z", language: "Swift")
        commit(cast.tokyo, "2024-03-05T01:00:00Z", language: "Go")
        // Los Angeles: 03-03 23:00 local is outside; 03-04 01:00, 03-09 02:00 and 03-10 04:00 local inside (a 2-day streak).
        commit(cast.losAngeles, "2024-03-04T07:00:00Z")
        commit(cast.losAngeles, "2024-03-04T09:00:00Z")
        commit(cast.losAngeles, "2024-03-09T10:00:00Z")
        commit(cast.losAngeles, "2024-03-10T11:00:00Z")
        for day in ["05", "06", "07", "08", "09"] { commit(cast.optedOut, "2024-03-\(day)T10:00:00Z") }
        for day in ["05", "06", "07", "08"] { commit(cast.privateOne, "2024-03-\(day)T10:00:00Z") }
        let appliedFacts = facts
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(appliedFacts, on: $0) }
        try await refresh(api)
        return cast
    }

    static func ranking(_ response: APIResponse) -> [(rank: Int, login: String, score: Int)] {
        (response.value("entries", as: [[String: Any]].self) ?? []).map {
            ($0["rank"] as? Int ?? -1, $0["login"] as? String ?? "", $0["score"] as? Int ?? -1)
        }
    }

    @Test func usersInSeveralZonesAreRankedByTheirOwnLocalDays() async throws {
        try await APIRouterTest.run { api in
            let cast = try await Self.seed(api)
            let week = try await api.send(.get, "/api/v1/leaderboard?metric=commits&period=week", authorization: nil)
            #expect(week.status == .ok, "\(week)")
            let ranks = Self.ranking(week)
            #expect(ranks.count == 3, "opted out and private users are not listed: \(week)")
            #expect(Set(ranks.prefix(2).map(\.login)) == ["Codertocat", "la"] && ranks.prefix(2).allSatisfy { $0.rank == 1 && $0.score == 3 })
            #expect(ranks.last.map { [$0.rank, $0.score] } == [3, 2] && ranks.last?.login == "tokyo", "competition ranks 1, 1, 3: \(week)")
            #expect(week.value("entries.0.display_name", as: String.self) != nil && week.json?["me"] == nil, "anonymous: no `me`")
            // Each score is the user's own summary over the same local days.
            for user in [cast.me, cast.tokyo, cast.losAngeles] {
                let summary = try await api.call(.get, "/api/v1/metrics/summary?from=2024-03-04&to=2024-03-10", token: user.token)
                let score = ranks.first { $0.login == user.record.login }?.score
                #expect(summary.value("commits", as: Int.self) == score, "\(user.record.login): \(summary)")
            }
            let all = Self.ranking(try await api.send(.get, "/api/v1/leaderboard?metric=commits&period=all", authorization: nil))
            #expect(all.map(\.score) == [4, 3, 3] && all.map(\.rank) == [1, 2, 2] && all.first?.login == "la", "\(all)")
            let streaks = try await api.send(.get, "/api/v1/leaderboard?metric=current_streak&period=month", authorization: nil)
            #expect(Self.ranking(streaks).map { "\($0.login):\($0.score)" } == ["la:2"], "only LA's streak reaches today: \(streaks)")
            #expect(streaks.value("period", as: String.self) == "all", "a streak has no period")
            let swift = Self.ranking(try await api.send(.get, "/api/v1/leaderboard?metric=commits&period=all&language=SWIFT", authorization: nil))
            #expect(swift.map { "\($0.login):\($0.score)" } == ["tokyo:2"])
        }
    }

    @Test func pagesContinueTheRanksAndTheCallerSeesTheirPlace() async throws {
        try await APIRouterTest.run { api in
            let cast = try await Self.seed(api)
            var seen: [(rank: Int, login: String, score: Int)] = []
            var path = "/api/v1/leaderboard?metric=commits&period=week&limit=1"
            for _ in 0..<5 {
                let page = try await api.call(.get, path, token: cast.tokyo.token)
                #expect(page.status == .ok, "\(page)")
                seen += Self.ranking(page)
                #expect(page.value("me.rank", as: Int.self) == 3 && page.value("me.login", as: String.self) == "tokyo", "\(page)")
                guard let next = page.value("next_cursor", as: String.self) else { break }
                path = "/api/v1/leaderboard?metric=commits&period=week&limit=1&cursor=\(next)"
            }
            #expect(seen.map(\.rank) == [1, 1, 3] && seen.map(\.login).last == "tokyo", "\(seen)")
            let outsider = try await api.call(.get, "/api/v1/leaderboard", token: cast.optedOut.token)
            #expect(outsider.isNull("me"), "a signed-in user without a place: null: \(outsider)")
            let bad = try await api.send(.get, "/api/v1/leaderboard", authorization: "Bearer dtk_not-a-token")
            #expect(bad.status == .unauthorized, "a credential presented is checked: \(bad)")
            // A signed-out browser still sends its ended session's cookie: it sees the public board, as a visitor.
            let stale = try await api.send(
                .get, "/api/v1/leaderboard?metric=commits&period=week", authorization: nil, headers: [.cookie: "devtrack_session=dts_ended"])
            #expect(stale.status == .ok && stale.json?["me"] == nil && !Self.ranking(stale).isEmpty, "\(stale)")
        }
    }

    @Test func optingOutOrGoingPrivateTakesAUserOff() async throws {
        try await APIRouterTest.run { api in
            let cast = try await Self.seed(api)
            #expect(try await api.call(.patch, "/api/v1/settings", #"{"leaderboard_opt_in": true}"#, token: cast.optedOut.token).status == .ok)
            try await Self.refresh(api)
            let joined = Self.ranking(try await api.send(.get, "/api/v1/leaderboard?period=week", authorization: nil))
            #expect(joined.first.map { "\($0.login):\($0.score):\($0.rank)" } == "berlin:5:1", "\(joined)")
            #expect(try await api.call(.patch, "/api/v1/settings", #"{"leaderboard_opt_in": false}"#, token: cast.optedOut.token).status == .ok)
            #expect(try await api.call(.patch, "/api/v1/settings", #"{"is_public": false}"#, token: cast.me.token).status == .ok)
            try await Self.refresh(api)
            let left = Self.ranking(try await api.send(.get, "/api/v1/leaderboard?period=week", authorization: nil))
            #expect(left.map(\.login) == ["la", "tokyo"] && left.map(\.rank) == [1, 2], "\(left)")
        }
    }

    @Test func parametersAreValidated() async throws {
        try await APIRouterTest.run { api in
            for (query, code) in [
                ("metric=stars", "invalid_metric"), ("period=decade", "invalid_period"), ("metric=reviews&language=swift", "invalid_language"),
                ("language=%00", "invalid_language"), ("cursor=nope", "invalid_cursor"), ("limit=0", "invalid_limit"),
            ] {
                let response = try await api.send(.get, "/api/v1/leaderboard?\(query)", authorization: nil)
                #expect(response.status == .badRequest && response.errorCode == code, "\(query): \(response)")
            }
            let empty = try await api.send(.get, "/api/v1/leaderboard", authorization: nil)
            #expect(empty.status == .ok && Self.ranking(empty).isEmpty && empty.isNull("next_cursor"), "\(empty)")
        }
    }
}
