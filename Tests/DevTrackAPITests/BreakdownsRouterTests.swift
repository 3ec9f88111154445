import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import PostgresNIO
import Testing

/// `BreakdownsController`: `/metrics/repos` and `/metrics/languages`, over local dates of the user's zone.
@Suite(.timeLimit(.minutes(2)))
struct BreakdownsRouterTests {
    static let routes = [APIRoute(.get, "/api/v1/metrics/repos"), APIRoute(.get, "/api/v1/metrics/languages")]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test(arguments: ["/api/v1/metrics/repos", "/api/v1/metrics/languages"])
    func dateRangesAreValidated(path: String) async throws {
        try await APIRouterTest.run { api in try await expectDateRangeValidated(path, api) }
    }

    /// The test's user lives in Tokyo (UTC+9): 2024-03-01T16:00Z is already 2024-03-02 there.
    static func seed(_ api: APIRouterTest) async throws {
        _ = try await api.store.users.updateTimezone(userID: api.user.id, timezone: "Asia/Tokyo")
        let other = try await api.newUser("other")
        func fact(_ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String, _ repo: String?, _ language: String?) -> ActivityFact {
            ActivityFact(id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, repo: repo, language: language, source: "github-app")
        }
        let me = api.user.id
        let facts = [
            fact("commit:1", me, .commit, "2024-03-01T10:00:00Z", "octo/app", "Swift"),
            fact("commit:2", me, .commit, "2024-03-01T11:00:00Z", "octo/app", "Swift"),
            fact("pr_opened:1", me, .prOpened, "2024-03-01T12:00:00Z", "octo/app", "Swift"),
            fact("commit:3", me, .commit, "2024-03-01T13:00:00Z", "octo/site", "Go"),
            fact("review:1", me, .review, "2024-03-01T13:30:00Z", "friend/lib", nil),
            fact("commit:4", me, .commit, "2024-03-01T14:00:00Z", "octo/docs", nil),
            // 2024-03-02 in Tokyo: outside a range that ends on 2024-03-01.
            fact("commit:late", me, .commit, "2024-03-01T16:00:00Z", "octo/late", "Rust"),
            fact("custom:x:1", me, ActivityKind.custom("deploy")!, "2024-03-01T10:00:00Z", "octo/app", nil),
            fact("commit:theirs", other.id, .commit, "2024-03-01T10:00:00Z", "octo/app", "Swift"),
        ]
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
        for (day, language, seconds) in [
            ("2024-03-01", "Swift", 3600.0), ("2024-03-01", "Go", 1800.0), ("2024-03-01", "", 600.0), ("2024-03-05", "Rust", 60.0),
        ] {
            try await api.store.client.query(
                """
                INSERT INTO coding_daily (user_id, day, project, language, editor, branch, category, machine, seconds)
                VALUES (\(me), \(day)::date, 'p', \(language), 'vim', 'main', 'coding', 'laptop', \(seconds))
                """)
        }
    }

    @Test func repositoriesAreRankedByContributionsInTheUsersDays() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let response = try await api.call(.get, "/api/v1/metrics/repos?from=2024-03-01&to=2024-03-01")
            #expect(response.status == .ok, "\(response)")
            #expect(response.value("timezone", as: String.self) == "Asia/Tokyo")
            let repositories = try #require(response.value("repositories", as: [[String: Any]].self))
            #expect(repositories.map { $0["repo"] as? String } == ["octo/app", "friend/lib", "octo/docs", "octo/site"], "\(response)")
            #expect(repositories[0]["commits"] as? Int == 2 && repositories[0]["prs_opened"] as? Int == 1 && repositories[0]["total"] as? Int == 3)
            #expect(repositories[1]["reviews"] as? Int == 1)
            #expect(
                Set(repositories[0].keys) == [
                    "repo", "commits", "prs_opened", "prs_merged", "reviews", "issues_opened", "issues_closed", "comments", "total",
                ])
            let top = try await api.call(.get, "/api/v1/metrics/repos?from=2024-03-01&to=2024-03-02&limit=1")
            #expect(top.value("repositories.0.repo", as: String.self) == "octo/app" && top.value("repositories", as: [Any].self)?.count == 1)
            let later = try await api.call(.get, "/api/v1/metrics/repos?from=2024-03-02&to=2024-03-02")
            #expect(later.value("repositories.0.repo", as: String.self) == "octo/late", "16:00 UTC is the next day in Tokyo: \(later)")
            for limit in ["0", "101", "x", "-1"] {
                expectBadRequest(try await api.call(.get, "/api/v1/metrics/repos?limit=\(limit)"), "invalid_limit", naming: "limit")
            }
        }
    }

    @Test func languagesShareCommitsAndCodingTime() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let response = try await api.call(.get, "/api/v1/metrics/languages?from=2024-03-01&to=2024-03-01")
            #expect(response.status == .ok, "\(response)")
            #expect(response.value("commits.total", as: Int.self) == 4, "\(response)")
            let commits = try #require(response.value("commits.languages", as: [[String: Any]].self))
            #expect(commits.map { $0["language"] as? String } == ["Swift", "Go", nil], "\(response)")
            #expect(commits.map { $0["commits"] as? Int } == [2, 1, 1])
            #expect(commits.map { $0["share"] as? Double } == [0.5, 0.25, 0.25])
            #expect(commits[2]["language"] is NSNull, "an unknown language is null")
            #expect(response.value("coding.total_seconds", as: Int.self) == 6000)
            let coding = try #require(response.value("coding.languages", as: [[String: Any]].self))
            #expect(coding.map { $0["language"] as? String } == ["Swift", "Go", nil])
            #expect(coding.map { $0["seconds"] as? Int } == [3600, 1800, 600])
            #expect(coding.map { $0["share"] as? Double } == [0.6, 0.3, 0.1])
            let empty = try await api.call(.get, "/api/v1/metrics/languages?from=2020-01-01&to=2020-01-31")
            #expect(empty.value("commits.total", as: Int.self) == 0 && empty.value("coding.languages", as: [Any].self)?.isEmpty == true)
        }
    }
}
