import DevTrackAPI
import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

/// `PublicProfileController`: `GET /public/{login}`, without sign-in. Profiles are cached in process for 60 s
/// (a login that was read is not read again within a test: each variant has a login of its own).
@Suite(.timeLimit(.minutes(2)))
struct PublicProfileRouterTests {
    static let baseKeys: Set<String> = ["login", "display_name", "bio", "timezone", "today", "sections"]
    static let sections = ["summary", "streak", "achievements", "languages", "repositories", "coding"]

    /// Makes `user`'s profile public (with `settings`, a JSON object's members) through `PATCH /settings`.
    static func publish(
        _ api: APIRouterTest, token: String? = nil, _ settings: String = "", sourceLocation: SourceLocation = #_sourceLocation
    )
        async throws
    {
        let body = settings.isEmpty ? #"{"is_public": true}"# : #"{"is_public": true, \#(settings)}"#
        let response = try await api.call(.patch, "/api/v1/settings", body, token: token)
        #expect(response.status == .ok && response.value("is_public", as: Bool.self) == true, "\(response)", sourceLocation: sourceLocation)
    }

    /// Facts of `user` on local dates relative to today (UTC), at noon.
    static func facts(
        _ api: APIRouterTest, user: UUID, _ rows: [(id: String, kind: ActivityKind, daysAgo: Int, repo: String?, language: String?, isPrivate: Bool?)]
    ) async throws {
        let facts = rows.map { row in
            ActivityFact(
                id: row.id, userID: user, kind: row.kind,
                occurredAt: APIRouterTest.today.adding(days: -row.daysAgo).startOfDay(in: .gmt).addingTimeInterval(12 * 3_600), repo: row.repo,
                language: row.language, source: "github-app", repoPrivate: row.isPrivate, title: "Work on \(row.repo ?? "nothing")",
                url: row.repo.map { "https://github.com/\($0)/commit/1" })
        }
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
    }

    static func day(_ daysAgo: Int) -> String { "\(APIRouterTest.today.adding(days: -daysAgo))" }

    @Test func noSignInIsNeededAndTheLoginIsFoundInAnyCase() async throws {
        try await APIRouterTest.run { api in
            try await Self.publish(api)
            let anonymous = try await api.open("/api/v1/public/Codertocat")
            #expect(anonymous.status == .ok, "\(anonymous)")
            #expect(anonymous.value("login", as: String.self) == "Codertocat" && anonymous.value("display_name", as: String.self) == "Codertocat")
            let signedIn = try await api.call(.get, "/api/v1/public/Codertocat")
            #expect(signedIn.status == .ok && signedIn.text == anonymous.text, "the same answer signed in: \(signedIn)")
            let upper = try await api.open("/api/v1/public/CODERTOCAT")
            #expect(upper.status == .ok && upper.value("login", as: String.self) == "Codertocat", "logins are case-insensitive: \(upper)")
        }
    }

    @Test func anUnknownAndAPrivateLoginGetTheSameNotFound() async throws {
        try await APIRouterTest.run { api in
            _ = try await api.newUser("shy")  // no profile row: the defaults, private
            let quiet = try await api.newUser("quiet")
            let set = try await api.call(.patch, "/api/v1/settings", #"{"is_public": false, "display_name": "Q", "bio": "b"}"#, token: quiet.token)
            #expect(set.status == .ok, "\(set)")
            let gone = try await api.newUser("gone")
            try await Self.publish(api, token: gone.token)
            _ = try await api.call(.patch, "/api/v1/settings", #"{"is_public": false}"#, token: gone.token)

            var bodies: [String: String] = [:]
            for login in ["nobody-here", "shy", "quiet", "gone", "Codertocat"] {
                let response = try await api.open("/api/v1/public/\(login)")
                expectError(response, .notFound, "not_found", login)
                #expect(response.errorMessage?.contains(login) == true, "\(response)")
                #expect(response.headers[.eTag] == nil && response.headers[.cacheControl] == nil, "\(login): \(response.headers)")
                bodies[login] = response.text.replacingOccurrences(of: login, with: "{login}")
            }
            #expect(Set(bodies.values).count == 1, "nothing tells a private login from an unknown one: \(bodies)")

            for login in [
                "bad_login", "a.b", "a%20b", "%C3%A9t%C3%A9", String(repeating: "a", count: 40), "a%00b", "%27%20OR%201%3D1", "..%2F..%2Fetc",
                "a%2Fb", "%E2%80%AE",
            ] {
                let response = try await api.open("/api/v1/public/\(login)")
                expectError(response, .notFound, "not_found", "a login GitHub cannot have: \(login)")
                #expect(!response.text.contains("\u{0}"), "\(response)")
            }
            let longest = try await api.open("/api/v1/public/\(String(repeating: "a", count: 39))")
            expectError(longest, .notFound, "not_found", "39 characters")
            let none = try await api.open("/api/v1/public/")
            #expect(none.status == .notFound, "\(none)")
        }
    }

    @Test func aPublicProfileShowsEverySection() async throws {
        try await APIRouterTest.run { api in
            let me = api.user.id
            try await Self.facts(
                api, user: me,
                [
                    ("commit:t1", .commit, 0, "octo/public", "Swift", false), ("pr_opened:t1", .prOpened, 0, "octo/public", "Swift", false),
                    ("commit:y1", .commit, 1, "octo/hidden-one", "Go", true), ("review:y1", .review, 1, "octo/unknown-privacy", nil, nil),
                    ("issue_opened:d2", .issueOpened, 2, "octo/public", nil, false),
                    ("commit:old1", .commit, 40, "octo/mixed-privacy", nil, false), ("commit:old2", .commit, 40, "octo/mixed-privacy", nil, true),
                    ("pr_merged:old", .prMerged, 40, "octo/public", nil, false), ("comment:old", .comment, 40, "octo/public", nil, false),
                    ("commit:r60", .commit, 60, "octo/rusty", "Rust", false), ("commit:r60b", .commit, 60, "octo/rusty", "Rust", false),
                    ("commit:r59", .commit, 59, "octo/rusty", "Rust", false), ("commit:r58", .commit, 58, "octo/rusty", "Rust", false),
                    ("commit:r57", .commit, 57, "octo/rusty", "Rust", false), ("commit:r56", .commit, 56, "octo/rusty", "Rust", false),
                    ("custom:deploy:1", ActivityKind.custom("deploy")!, 0, "octo/custom-repo", nil, false),
                ])
            // Another user's public facts are not mine.
            let other = try await api.newUser("other")
            try await Self.facts(api, user: other.id, [("commit:o", .commit, 0, "them/theirs", "Kotlin", false)])
            for (daysAgo, language, seconds) in [(3, "Swift", 3_600.0), (10, "", 600.0), (40, "Go", 7_200.0)] {
                try await api.store.client.query(
                    """
                    INSERT INTO coding_daily (user_id, day, project, language, editor, branch, category, machine, seconds)
                    VALUES (\(me), \(Self.day(daysAgo))::date, 'secret-project', \(language), 'vim', 'main', 'coding', 'laptop', \(seconds))
                    """)
            }
            try await api.store.achievements.recordUnlocks([
                AchievementUnlock(userID: me, achievementID: "first_commit", at: Date(timeIntervalSince1970: 1_700_000_000), factID: "commit:r60"),
                AchievementUnlock(userID: me, achievementID: "commits_100", at: Date(timeIntervalSince1970: 1_710_000_000), factID: "commit:t1"),
            ])
            try await api.store.client.query(
                "INSERT INTO user_achievements (user_id, achievement_id, unlocked_at) VALUES (\(me), 'retired_badge', now())")
            try await Self.publish(api, #""bio": "Hello\nworld""#)

            let response = try await api.open("/api/v1/public/Codertocat")
            #expect(response.status == .ok, "\(response)")
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(
                response.keys() == Self.baseKeys.union(["summary", "streak", "achievements", "languages", "repositories", "coding"]), "\(response)")
            #expect(response.value("login", as: String.self) == "Codertocat" && response.value("display_name", as: String.self) == "Codertocat")
            #expect(response.value("bio", as: String.self) == "Hello\nworld" && response.value("timezone", as: String.self) == "UTC")
            #expect(response.value("today", as: String.self) == Self.day(0) && response.value("sections", as: [String].self) == Self.sections)

            let counters = ["commits", "prs_opened", "prs_merged", "reviews", "issues_opened", "issues_closed", "comments", "coding_seconds"]
            #expect(response.keys("summary") == ["last_30_days", "all_time"], "\(response)")
            let month = try #require(response.value("summary.last_30_days", as: [String: Int].self), "\(response)")
            #expect(Set(month.keys) == Set(counters))
            #expect(
                month == [
                    "commits": 2, "prs_opened": 1, "prs_merged": 0, "reviews": 1, "issues_opened": 1, "issues_closed": 0, "comments": 0,
                    "coding_seconds": 4_200,
                ])
            let all = try #require(response.value("summary.all_time", as: [String: Int].self), "\(response)")
            #expect(
                all == [
                    "commits": 10, "prs_opened": 1, "prs_merged": 1, "reviews": 1, "issues_opened": 1, "issues_closed": 0, "comments": 1,
                    "coding_seconds": 11_400,
                ], "\(all)")

            // Active days: today back to 3 days ago (3 days ago by coding time only), 10 and 40 days ago, 60 to 56 days ago.
            #expect(
                response.keys("streak") == [
                    "current", "longest", "today_active", "current_start", "current_end", "longest_start", "longest_end", "total_contributions",
                    "first_contribution",
                ], "\(response)")
            #expect(response.value("streak.current", as: Int.self) == 4 && response.value("streak.longest", as: Int.self) == 5, "\(response)")
            #expect(response.value("streak.today_active", as: Bool.self) == true)
            #expect(response.value("streak.current_start", as: String.self) == Self.day(3))
            #expect(response.value("streak.current_end", as: String.self) == Self.day(0))
            #expect(response.value("streak.longest_start", as: String.self) == Self.day(60))
            #expect(response.value("streak.longest_end", as: String.self) == Self.day(56))
            #expect(response.value("streak.total_contributions", as: Int.self) == 13, "commits, PRs opened, reviews, issues opened")
            #expect(response.value("streak.first_contribution", as: String.self) == Self.day(60))

            let achievements = try #require(response.value("achievements", as: [[String: Any]].self), "\(response)")
            #expect(achievements.map { $0["id"] as? String } == ["commits_100", "first_commit"], "newest first, known ones only: \(achievements)")
            #expect(achievements.allSatisfy { Set($0.keys) == ["id", "title", "tier", "unlocked_at"] })
            #expect(achievements.first?["title"] as? String == "Centurion" && achievements.first?["tier"] as? String == "silver")
            #expect(achievements.first?["unlocked_at"] as? String == "2024-03-09T16:00:00.000Z")
            #expect(achievements.last?["unlocked_at"] as? String == "2023-11-14T22:13:20.000Z" && achievements.last?["tier"] as? String == "bronze")

            let languages = try #require(response.value("languages", as: [[String: Any]].self), "\(response)")
            #expect(languages.map { $0["language"] as? String } == ["Rust", nil, "Go", "Swift"], "commits of all time by language: \(languages)")
            #expect(languages[1]["language"] is NSNull, "an unknown language is null")
            #expect(languages.map { $0["commits"] as? Int } == [6, 2, 1, 1])
            #expect(languages.map { $0["share"] as? Double } == [0.6, 0.2, 0.1, 0.1])

            let repositories = try #require(response.value("repositories", as: [[String: Any]].self), "\(response)")
            #expect(repositories.map { $0["repo"] as? String } == ["octo/rusty", "octo/public"], "only repositories known to be public: \(response)")
            #expect(repositories.map { $0["commits"] as? Int } == [6, 1] && repositories.map { $0["total"] as? Int } == [6, 5])
            #expect(repositories.allSatisfy { Set($0.keys) == ["repo", "commits", "total"] })
            for hidden in ["hidden-one", "unknown-privacy", "mixed-privacy", "custom-repo", "theirs", "Kotlin", "secret-project", "Work on"] {
                #expect(!response.text.contains(hidden), "\(hidden) is never named: \(response)")
            }

            #expect(response.keys("coding") == ["coding_seconds", "languages"], "\(response)")
            #expect(response.value("coding.coding_seconds", as: Int.self) == 4_200, "the last 30 days")
            let coding = try #require(response.value("coding.languages", as: [[String: Any]].self))
            #expect(coding.map { $0["language"] as? String } == ["Swift", nil] && coding.map { $0["seconds"] as? Int } == [3_600, 600], "\(coding)")
            #expect(coding.map { $0["share"] as? Double } == [0.8571, 0.1429])
        }
    }

    @Test func theDisplayNameAndTheSectionsAreTheUsersChoice() async throws {
        try await APIRouterTest.run { api in
            let some = try await api.newUser("shows-some")
            try await Self.facts(api, user: some.id, [("commit:1", .commit, 0, "octo/named-repo", "Swift", false)])
            try await Self.publish(api, token: some.token, #""display_name": "Mona", "profile_sections": ["coding", "summary"]"#)
            let shown = try await api.open("/api/v1/public/shows-some")
            #expect(shown.status == .ok, "\(shown)")
            #expect(shown.keys() == Self.baseKeys.union(["summary", "coding"]), "hidden sections are absent, not null: \(shown)")
            #expect(shown.value("login", as: String.self) == "shows-some" && shown.value("display_name", as: String.self) == "Mona")
            #expect(shown.isNull("bio") && shown.value("sections", as: [String].self) == ["summary", "coding"], "\(shown)")
            #expect(shown.value("summary.all_time.commits", as: Int.self) == 1)
            #expect(!shown.text.contains("named-repo") && !shown.text.contains("Swift"), "repositories and languages are hidden: \(shown)")

            let none = try await api.newUser("shows-none")
            try await Self.publish(api, token: none.token, #""profile_sections": []"#)
            let bare = try await api.open("/api/v1/public/shows-none")
            #expect(bare.status == .ok && bare.keys() == Self.baseKeys, "\(bare)")
            #expect(bare.value("sections", as: [String].self) == [] && bare.value("display_name", as: String.self) == "shows-none")

            let streakOnly = try await api.newUser("shows-streak")
            try await Self.publish(api, token: streakOnly.token, #""profile_sections": ["streak"]"#)
            let streak = try await api.open("/api/v1/public/shows-streak")
            #expect(streak.keys() == Self.baseKeys.union(["streak"]), "\(streak)")
            #expect(streak.value("streak.current", as: Int.self) == 0 && streak.value("streak.today_active", as: Bool.self) == false)
            for key in ["current_start", "current_end", "longest_start", "longest_end", "first_contribution"] {
                #expect(streak.isNull("streak.\(key)"), "no active day yet: \(key) is null → \(streak)")
            }
            #expect(streak.value("streak.total_contributions", as: Int.self) == 0)
        }
    }

    @Test func answersCarryAnETagAndAMatchingIfNoneMatchGetsNotModified() async throws {
        try await APIRouterTest.run { api in
            try await Self.publish(api, #""bio": "cached""#)
            let first = try await api.open("/api/v1/public/Codertocat")
            #expect(first.status == .ok, "\(first)")
            let tag = try #require(first.headers[.eTag], "\(first.headers)")
            #expect(tag.wholeMatch(of: /"[0-9a-f]{24}"/) != nil, "a strong validator: \(tag)")
            #expect(first.headers[.cacheControl] == "public, max-age=60")
            let again = try await api.open("/api/v1/public/Codertocat")
            #expect(again.headers[.eTag] == tag && again.text == first.text, "the same bytes, the same tag")

            for header in [tag, "W/\(tag)", #""0000", \#(tag)"#, "*"] {
                let cached = try await api.open("/api/v1/public/Codertocat", headers: [.ifNoneMatch: header])
                #expect(cached.status == .notModified, "If-None-Match: \(header) → \(cached)")
                #expect(cached.body.isEmpty, "no body: \(cached)")
                #expect(cached.headers[.eTag] == tag && cached.headers[.cacheControl] == "public, max-age=60", "\(cached.headers)")
            }
            for header in [#""0000""#, String(tag.dropLast()) + "x\"", ""] {
                let changed = try await api.open("/api/v1/public/Codertocat", headers: [.ifNoneMatch: header])
                #expect(changed.status == .ok && changed.text == first.text, "If-None-Match: \(header) → \(changed)")
            }
        }
    }

    @Test func aClientOverItsAllowanceIsToldWhenToRetry() async throws {
        try await APIRouterTest.run(rateLimits: PublicRateLimits(profileRequests: 3, imageRequests: 3_000)) { api in
            try await Self.publish(api)
            // The window is fixed (a minute from the epoch): start well inside one.
            let into = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
            if into > 50 { try await Task.sleep(for: .seconds(61 - into)) }
            let allowed = [
                try await api.open("/api/v1/public/Codertocat"), try await api.open("/api/v1/public/nobody-here"),
                try await api.open("/api/v1/public/bad_login"),
            ]
            #expect(allowed.map(\.status) == [.ok, .notFound, .notFound], "\(allowed)")
            for path in ["/api/v1/public/Codertocat", "/api/v1/public/nobody-here"] {
                let refused = try await api.open(path)
                expectError(refused, .tooManyRequests, "rate_limited", path)
                let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) }, "\(refused.headers)")
                #expect((1...60).contains(retryAfter), "Retry-After: \(retryAfter)")
                #expect(refused.errorMessage?.contains("\(retryAfter)") == true, "\(refused)")
            }
            let signedIn = try await api.call(.get, "/api/v1/me")
            #expect(signedIn.status == .ok, "signed-in routes are not limited: \(signedIn)")
        }
    }

    /// Behind a reverse proxy (`api.client_address_header`), the proxy's header names who counts: its last address,
    /// an IPv6 address by its /64; a header that holds no address counts against the peer.
    @Test func behindAProxyTheForwardedAddressCounts() async throws {
        var configuration = APIRouterTest.configuration()
        configuration.clientAddressHeader = "X-Forwarded-For"
        try await APIRouterTest.run(configuration: configuration, rateLimits: PublicRateLimits(profileRequests: 2, imageRequests: 3_000)) { api in
            let into = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
            if into > 50 { try await Task.sleep(for: .seconds(61 - into)) }
            let forwarded = HTTPField.Name("X-Forwarded-For")!
            func status(_ header: String?) async throws -> HTTPResponse.Status {
                try await api.open("/api/v1/public/nobody-here", headers: header.map { [forwarded: $0] } ?? [:]).status
            }
            #expect(try await status("203.0.113.5") == .notFound)
            #expect(try await status("spoofed, 203.0.113.5") == .notFound, "the last address is the one the proxy saw")
            #expect(try await status("203.0.113.5") == .tooManyRequests)
            #expect(try await status("203.0.113.6") == .notFound, "another client has its own allowance")
            #expect(try await status("2001:db8:1:2::1") == .notFound)
            #expect(try await status("2001:db8:1:2:ffff::9") == .notFound)
            #expect(try await status("2001:db8:1:2::77") == .tooManyRequests, "one /64 is one client")
            #expect(try await status("2001:db8:1:3::1") == .notFound)
            #expect(try await status("not an address") == .notFound)
            #expect(try await status(nil) == .notFound)
            #expect(try await status("") == .tooManyRequests, "no address in the header: the peer's allowance, now used up")
        }
    }
}
