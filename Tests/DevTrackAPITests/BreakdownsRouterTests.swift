import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import PostgresNIO
import Testing

/// `BreakdownsController`: `/metrics/repos`, `/metrics/languages` and `/metrics/hourly`, over local dates of the user's zone.
@Suite(.timeLimit(.minutes(2)))
struct BreakdownsRouterTests {
    static let routes = [
        APIRoute(.get, "/api/v1/metrics/repos"), APIRoute(.get, "/api/v1/metrics/languages"), APIRoute(.get, "/api/v1/metrics/hourly"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test(arguments: ["/api/v1/metrics/repos", "/api/v1/metrics/languages", "/api/v1/metrics/hourly"])
    func dateRangesAreValidated(path: String) async throws {
        try await APIRouterTest.run { api in try await expectDateRangeValidated(path, api) }
    }

    /// The test's user lives in Tokyo (UTC+9): 2024-03-01T16:00Z is already 2024-03-02 there.
    static func seed(_ api: APIRouterTest) async throws {
        _ = try await api.store.users.updateTimezone(userID: api.user.id, timezone: "Asia/Tokyo", codingTimeout: 900)
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

    // MARK: - /metrics/hourly

    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    /// The non-zero cells of a weekday × hour grid, as `"friday 19": value`.
    static func cells(_ grid: [[Int]]?) -> [String: Int] {
        var cells: [String: Int] = [:]
        for (weekday, hours) in (grid ?? []).enumerated() {
            for (hour, value) in hours.enumerated() where value != 0 { cells["\(weekdays[weekday]) \(hour)"] = value }
        }
        return cells
    }

    /// `GET /metrics/hourly?{query}`: the response, its contributions and its coding seconds.
    static func hourly(
        _ api: APIRouterTest, _ query: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (response: APIResponse, contributions: [String: Int], coding: [String: Int]) {
        let response = try await api.call(.get, "/api/v1/metrics/hourly?\(query)", token: token)
        #expect(response.status == .ok, "\(query) → \(response)", sourceLocation: sourceLocation)
        for key in ["contributions", "coding_seconds"] {
            let grid = response.value(key, as: [[Int]].self)
            #expect(grid?.count == 7 && grid?.allSatisfy { $0.count == 24 } == true, "\(key): 7 × 24 → \(response)", sourceLocation: sourceLocation)
        }
        return (response, cells(response.value("contributions", as: [[Int]].self)), cells(response.value("coding_seconds", as: [[Int]].self)))
    }

    /// Heartbeats at `times` (Unix seconds) stored as the ingest would, without recomputing `coding_daily`.
    static func insertHeartbeats(_ api: APIRouterTest, user: UUID, _ times: [Double], entity: String = "main.swift") async throws {
        try await api.store.client.query(
            """
            INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
            SELECT \(user), t, \(entity), 'file', 'coding', 'hub', 'main', 'Swift', 'vim', 'laptop', false FROM unnest(\(times)) AS t
            """)
    }

    /// A heartbeat every `step` seconds from `start` to `end` (both included).
    static func beats(_ start: String, _ end: String, every step: Double = 60) -> [Double] {
        Array(stride(from: Timestamps.parse(start)!.timeIntervalSince1970, through: Timestamps.parse(end)!.timeIntervalSince1970, by: step))
    }

    static func time(_ text: String) -> Double { Timestamps.parse(text)!.timeIntervalSince1970 }

    @Test func contributionsLandInTheLocalWeekdayAndHourOfTheUsersZone() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let me = api.user.id
            func fact(_ id: String, _ kind: ActivityKind, _ at: String) -> ActivityFact {
                ActivityFact(id: id, userID: me, kind: kind, occurredAt: Timestamps.parse(at)!, repo: "octo/app", language: nil, source: "github-app")
            }
            // 00:30Z is 09:30 on Friday in Tokyo: only the issue opened there is a contribution.
            let more = [
                fact("issue_opened:1", .issueOpened, "2024-03-01T00:30:00Z"), fact("pr_merged:1", .prMerged, "2024-03-01T00:30:00Z"),
                fact("issue_closed:1", .issueClosed, "2024-03-01T00:30:00Z"), fact("comment:1", .comment, "2024-03-01T00:30:00Z"),
                // Friday's first and Thursday's last instant in Tokyo.
                fact("commit:midnight", .commit, "2024-02-29T15:00:00Z"), fact("commit:thursday", .commit, "2024-02-29T14:59:59Z"),
                // A week later, the same local weekday and hour.
                fact("commit:next-week", .commit, "2024-03-08T10:00:00Z"),
            ]
            _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(more, on: $0) }

            let (response, contributions, coding) = try await Self.hourly(api, "from=2024-03-01&to=2024-03-01")
            #expect(response.keys() == ["timezone", "from", "to", "weekdays", "contributions", "coding_seconds"], "\(response)")
            #expect(response.value("timezone", as: String.self) == "Asia/Tokyo")
            #expect(response.value("from", as: String.self) == "2024-03-01" && response.value("to", as: String.self) == "2024-03-01")
            #expect(response.value("weekdays", as: [String].self) == Self.weekdays, "Monday first")
            // 2024-03-01T10:00Z is Friday 19:00 in Tokyo; the review at 13:30Z shares 22:00 with the commit at 13:00Z.
            #expect(
                contributions == [
                    "friday 0": 1, "friday 9": 1, "friday 19": 1, "friday 20": 1, "friday 21": 1, "friday 22": 2, "friday 23": 1,
                ], "commits, PRs opened, reviews, issues opened; not merges, closes, comments, custom events or another user's: \(response)")
            #expect(coding.isEmpty, "coding seconds come from heartbeats, not from coding_daily: \(response)")

            let wider = try await Self.hourly(api, "from=2024-02-29&to=2024-03-08")
            #expect(
                wider.contributions == [
                    "thursday 23": 1, "friday 0": 1, "friday 9": 1, "friday 19": 2, "friday 20": 1, "friday 21": 1, "friday 22": 2,
                    "friday 23": 1, "saturday 1": 1,
                ], "16:00Z is Saturday 01:00 in Tokyo; the same weekday and hour of two weeks add up: \(wider.response)")
            let before = try await Self.hourly(api, "from=2020-01-01&to=2020-12-31")
            #expect(before.contributions.isEmpty && before.coding.isEmpty, "\(before.response)")

            // The other user lives in UTC: their commit at 10:00Z is Friday 10:00.
            let other = try #require(try await api.store.users.user(login: "other"))
            let otherToken = try await api.store.tokens.createToken(userID: other.id, name: "test").1
            let theirs = try await Self.hourly(api, "from=2024-03-01&to=2024-03-01", token: otherToken)
            #expect(theirs.contributions == ["friday 10": 1] && theirs.response.value("timezone", as: String.self) == "UTC", "\(theirs.response)")
        }
    }

    @Test func codingSecondsFromHeartbeatsAreSplitAtLocalHoursAndGapsAtTheTimeoutCountNothing() async throws {
        try await APIRouterTest.run { api in
            _ = try await api.store.users.updateTimezone(userID: api.user.id, timezone: "Asia/Tokyo", codingTimeout: 900)
            let me = api.user.id
            // Tuesday 2024-03-05, 18:50 to 19:10 in Tokyo (09:50Z to 10:10Z), a heartbeat a minute, in two files.
            try await Self.insertHeartbeats(api, user: me, Self.beats("2024-03-05T09:50:00Z", "2024-03-05T10:10:00Z"))
            try await Self.insertHeartbeats(api, user: me, Self.beats("2024-03-05T09:50:00Z", "2024-03-05T10:10:00Z"), entity: "other.swift")
            // 20:00 Tokyo: a gap just under the 15-minute timeout counts, one of exactly 15 minutes does not.
            try await Self.insertHeartbeats(
                api, user: me,
                [
                    Self.time("2024-03-05T11:00:00Z"), Self.time("2024-03-05T11:14:59Z"), Self.time("2024-03-05T11:29:59Z"),
                    Self.time("2024-03-05T11:30:59Z"),
                ])
            // 21:00 to 22:00 Tokyo: heartbeats an hour apart count nothing.
            try await Self.insertHeartbeats(api, user: me, [Self.time("2024-03-05T12:00:00Z"), Self.time("2024-03-05T13:00:00Z")])
            // Across midnight in Tokyo (23:55 Tuesday to 00:05 Wednesday).
            try await Self.insertHeartbeats(api, user: me, Self.beats("2024-03-05T14:55:00Z", "2024-03-05T15:05:00Z"))
            // Another user's heartbeats at the same instants.
            let other = try await api.newUser("other", timezone: "Asia/Tokyo")
            try await Self.insertHeartbeats(api, user: other.id, Self.beats("2024-03-05T09:00:00Z", "2024-03-05T10:10:00Z"))

            let day = try await Self.hourly(api, "from=2024-03-05&to=2024-03-05")
            #expect(
                day.coding == ["tuesday 18": 600, "tuesday 19": 600, "tuesday 20": 959, "tuesday 23": 300],
                "the day's part of the interval across midnight only: \(day.response)")
            #expect(day.contributions.isEmpty)
            let twoDays = try await Self.hourly(api, "from=2024-03-05&to=2024-03-06")
            #expect(twoDays.coding == ["tuesday 18": 600, "tuesday 19": 600, "tuesday 20": 959, "tuesday 23": 300, "wednesday 0": 300])
            let wednesday = try await Self.hourly(api, "from=2024-03-06&to=2024-03-06")
            #expect(wednesday.coding == ["wednesday 0": 300], "\(wednesday.response)")
            let monday = try await Self.hourly(api, "from=2024-03-04&to=2024-03-04")
            #expect(monday.coding.isEmpty, "\(monday.response)")
            let theirs = try await Self.hourly(api, "from=2024-03-05&to=2024-03-05", token: other.token)
            #expect(theirs.coding == ["tuesday 18": 3_600, "tuesday 19": 600], "\(theirs.response)")

            // In UTC the same heartbeats are other hours of the same Tuesday.
            _ = try await api.call(.patch, "/api/v1/settings", #"{"timezone": "UTC"}"#)
            let utc = try await Self.hourly(api, "from=2024-03-05&to=2024-03-05")
            #expect(utc.coding == ["tuesday 9": 600, "tuesday 10": 600, "tuesday 11": 959, "tuesday 14": 300, "tuesday 15": 300], "\(utc.response)")
        }
    }

    @Test func theCodingTimeoutIsTheConfiguredOne() async throws {
        try await APIRouterTest.run(configuration: APIRouterTest.configuration(codingTimeout: .seconds(300))) { api in
            let times = [Self.time("2024-03-05T11:00:00Z"), Self.time("2024-03-05T11:04:59Z"), Self.time("2024-03-05T11:09:59Z")]
            try await Self.insertHeartbeats(api, user: api.user.id, times)
            let response = try await Self.hourly(api, "from=2024-03-05&to=2024-03-05")
            #expect(response.coding == ["tuesday 11": 299], "a gap of 5 minutes is the timeout here: \(response.response)")
        }
        try await APIRouterTest.run { api in
            let times = [Self.time("2024-03-05T11:00:00Z"), Self.time("2024-03-05T11:04:59Z"), Self.time("2024-03-05T11:09:59Z")]
            try await Self.insertHeartbeats(api, user: api.user.id, times)
            let response = try await Self.hourly(api, "from=2024-03-05&to=2024-03-05")
            #expect(response.coding == ["tuesday 11": 599], "under the default 15 minutes: \(response.response)")
        }
    }

    /// Heartbeats applied as the coding worker applies them: each weekday's hours add up to that day's
    /// `coding_heartbeat_seconds` of `/metrics/daily`.
    @Test func theHoursOfADayAddUpToItsDailyHeartbeatSeconds() async throws {
        try await APIRouterTest.run { api in
            _ = try await api.store.users.updateTimezone(userID: api.user.id, timezone: "Asia/Tokyo", codingTimeout: 900)
            let times =
                Self.beats("2024-03-04T08:00:00Z", "2024-03-04T09:30:00Z", every: 120)  // Monday 17:00 to 18:30
                + Self.beats("2024-03-05T14:50:00Z", "2024-03-05T15:10:00Z", every: 45)  // across Tuesday's midnight
                + Self.beats("2024-03-07T00:00:00Z", "2024-03-07T00:10:00Z") + Self.beats("2024-03-07T01:00:00Z", "2024-03-07T02:33:00Z", every: 90)
                + Self.beats("2024-03-10T14:30:00Z", "2024-03-10T15:30:00Z", every: 300)  // Sunday into the next Monday
            let beats = times.map { Heartbeat(time: $0, entity: "main.swift", project: "hub", language: "Swift", editor: "vim", machine: "laptop") }
            _ = try await api.store.database.transaction {
                try await api.store.codingTime.applyHeartbeats([api.user.id: beats], timeout: 900, on: $0)
            }
            let (from, to) = ("2024-03-04", "2024-03-10")
            let hourly = try await api.call(.get, "/api/v1/metrics/hourly?from=\(from)&to=\(to)")
            let grid = try #require(hourly.value("coding_seconds", as: [[Int]].self), "\(hourly)")
            let daily = try await api.call(.get, "/api/v1/metrics/daily?from=\(from)&to=\(to)")
            let days = try #require(daily.value("days", as: [[String: Any]].self), "\(daily)")
            #expect(days.count == 7)
            // 2024-03-04 is a Monday: the week's dates are the grid's rows in order.
            for (index, day) in days.enumerated() {
                let seconds = try #require(day["coding_heartbeat_seconds"] as? Int, "\(day)")
                #expect(grid[index].reduce(0, +) == seconds, "\(day["date"] ?? "") (\(Self.weekdays[index])): \(grid[index]) vs \(day)")
            }
            let total = grid.joined().reduce(0, +)
            #expect(total > 0 && total == days.compactMap { $0["coding_heartbeat_seconds"] as? Int }.reduce(0, +))
            #expect(grid[6][23] == 1_800 && grid[0][0] == 0, "Sunday's last half hour only: the next Monday is outside the range")
        }
    }
}
