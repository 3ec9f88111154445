import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `MetricsController`: `/me`, `/metrics/daily`, `/metrics/summary`, `/metrics/custom`, `/metrics/streak`.
@Suite(.timeLimit(.minutes(2)))
struct MetricsRouterTests {
    static let routes = [
        APIRoute(.get, "/api/v1/me"), APIRoute(.get, "/api/v1/metrics/daily"), APIRoute(.get, "/api/v1/metrics/summary"),
        APIRoute(.get, "/api/v1/metrics/custom"), APIRoute(.get, "/api/v1/metrics/streak"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test(arguments: ["/api/v1/metrics/daily", "/api/v1/metrics/summary", "/api/v1/metrics/custom"])
    func dateRangesAreValidated(path: String) async throws {
        try await APIRouterTest.run { api in try await expectDateRangeValidated(path, api) }
    }

    /// Facts of the test's user on 2024-03-01 (a commit) and 2024-03-02 (a PR opened and a deploy of value 3),
    /// and a commit of someone else that must not show.
    static func seed(_ api: APIRouterTest) async throws {
        let other = try await api.newUser("other")
        func fact(_ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String, value: Double = 1) -> ActivityFact {
            ActivityFact(
                id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, value: value, repo: "o/r", language: nil, source: "github-app")
        }
        let facts = [
            fact("commit:a", api.user.id, .commit, "2024-03-01T12:00:00Z"), fact("pr:1", api.user.id, .prOpened, "2024-03-02T09:00:00Z"),
            fact("custom:d1", api.user.id, ActivityKind.custom("deploy")!, "2024-03-02T10:00:00Z", value: 3),
            fact("commit:other", other.id, .commit, "2024-03-01T12:00:00Z"),
        ]
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
    }

    @Test func meIsTheSignedInUser() async throws {
        try await APIRouterTest.run { api in
            let me = try await api.call(.get, "/api/v1/me")
            #expect(me.status == .ok, "\(me)")
            #expect(me.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(me.keys() == ["id", "login", "github_id", "timezone"], "\(me)")
            #expect(me.value("id", as: String.self) == api.user.id.uuidString.lowercased())
            #expect(me.value("login", as: String.self) == "Codertocat")
            #expect(me.value("github_id", as: Int.self) == 21_031_067)
            #expect(me.value("timezone", as: String.self) == "UTC")
            let other = try await api.newUser("no-github", timezone: "Europe/Berlin")
            let theirs = try await api.call(.get, "/api/v1/me", token: other.token)
            #expect(theirs.value("login", as: String.self) == "no-github" && theirs.value("timezone", as: String.self) == "Europe/Berlin")
            #expect(!theirs.keys().contains("github_id"), "absent, not null, without a GitHub identity: \(theirs)")
        }
    }

    @Test func dailyMetricsHaveEveryDateOfTheRangeWithItsCounters() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let daily = try await api.call(.get, "/api/v1/metrics/daily?from=2024-02-29&to=2024-03-02")
            #expect(daily.status == .ok, "\(daily)")
            #expect(daily.value("timezone", as: String.self) == "UTC")
            let days = try #require(daily.value("days", as: [[String: Any]].self))
            #expect(days.compactMap { $0["date"] as? String } == ["2024-02-29", "2024-03-01", "2024-03-02"])
            #expect(
                daily.keys("days.0") == [
                    "date", "commits", "prs_opened", "prs_merged", "reviews", "issues_opened", "issues_closed", "comments", "coding_seconds",
                    "coding_heartbeat_seconds", "coding_reported_seconds",
                ], "\(daily)")
            #expect(daily.value("days.0.commits", as: Int.self) == 0)
            #expect(daily.value("days.1.commits", as: Int.self) == 1, "the other user's commit does not count: \(daily)")
            #expect(daily.value("days.2.prs_opened", as: Int.self) == 1)
            #expect(daily.value("days.2.coding_seconds", as: Int.self) == 0)

            // The default range: the last 30 days, ending today.
            let recent = try await api.call(.get, "/api/v1/metrics/daily")
            let dates = recent.value("days", as: [[String: Any]].self)?.compactMap { $0["date"] as? String } ?? []
            #expect(dates.count == 30 && dates.last == APIRouterTest.today.description, "\(dates)")
        }
    }

    @Test func theSummarySumsTheRangeAndCountsActiveDays() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let summary = try await api.call(.get, "/api/v1/metrics/summary?from=2024-03-01&to=2024-03-31")
            #expect(summary.status == .ok, "\(summary)")
            #expect(
                summary.keys() == [
                    "timezone", "from", "to", "active_days", "commits", "prs_opened", "prs_merged", "reviews", "issues_opened", "issues_closed",
                    "comments", "coding_seconds", "coding_heartbeat_seconds", "coding_reported_seconds",
                ], "\(summary)")
            #expect(summary.value("from", as: String.self) == "2024-03-01" && summary.value("to", as: String.self) == "2024-03-31")
            #expect(summary.value("commits", as: Int.self) == 1)
            #expect(summary.value("prs_opened", as: Int.self) == 1)
            #expect(summary.value("active_days", as: Int.self) == 2)
            let before = try await api.call(.get, "/api/v1/metrics/summary?from=2024-02-01&to=2024-02-29")
            #expect(before.value("commits", as: Int.self) == 0 && before.value("active_days", as: Int.self) == 0, "\(before)")
        }
    }

    @Test func customMetricsAreCountedPerDayAndType() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let custom = try await api.call(.get, "/api/v1/metrics/custom?from=2024-03-01&to=2024-03-31")
            #expect(custom.status == .ok, "\(custom)")
            #expect(custom.keys() == ["timezone", "from", "to", "days", "totals"], "\(custom)")
            #expect(custom.value("days", as: [Any].self)?.count == 1, "\(custom)")
            #expect(custom.keys("days.0") == ["date", "kind", "count", "value"])
            #expect(custom.value("days.0.date", as: String.self) == "2024-03-02")
            #expect(custom.value("days.0.kind", as: String.self) == "deploy", "the type, without custom:")
            #expect(custom.value("days.0.count", as: Int.self) == 1)
            #expect(custom.value("days.0.value", as: Double.self) == 3)
            #expect(custom.value("totals.0.kind", as: String.self) == "deploy" && custom.value("totals.0.value", as: Double.self) == 3)
            let empty = try await api.call(.get, "/api/v1/metrics/custom?from=2024-04-01&to=2024-04-30")
            #expect(empty.value("days", as: [Any].self)?.isEmpty == true && empty.value("totals", as: [Any].self)?.isEmpty == true, "\(empty)")
        }
    }

    @Test func theStreakHasItsBoundsAndLeavesOutWhatDoesNotExist() async throws {
        try await APIRouterTest.run { api in
            let none = try await api.call(.get, "/api/v1/metrics/streak")
            #expect(none.status == .ok, "\(none)")
            #expect(none.keys() == ["current", "longest", "today_active"], "absent, not null, without any active day: \(none)")
            #expect(none.value("current", as: Int.self) == 0 && none.value("today_active", as: Bool.self) == false)
            try await Self.seed(api)
            let streak = try await api.call(.get, "/api/v1/metrics/streak")
            #expect(streak.value("longest", as: Int.self) == 2, "\(streak)")
            #expect(streak.value("longest_start", as: String.self) == "2024-03-01")
            #expect(streak.value("longest_end", as: String.self) == "2024-03-02")
            #expect(streak.value("current", as: Int.self) == 0 && !streak.keys().contains("current_start"), "\(streak)")
        }
    }
}
