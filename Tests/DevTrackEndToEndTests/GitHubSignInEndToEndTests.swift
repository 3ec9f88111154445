import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Signing in with GitHub and the GitHub sync, on the built binary against a fake GitHub on loopback: the OAuth
/// flow followed with curl, a year of history backfilled to exact daily numbers, webhooks of the same facts
/// adding nothing, rate limits waited out, a second linked account, and a token GitHub revokes.
@Suite(.serialized, .timeLimit(.minutes(8)))
struct GitHubSignInEndToEndTests {
    static let zone = "America/Los_Angeles"

    /// A developer's year: `commits` over a dozen repositories (one with more than a page of 100), merged and
    /// unmerged pull requests (more than a GraphQL page), reviews and issues; all between 360 days and an hour ago.
    static func year(
        seed: UInt64, commits: Int = 420, pullRequests: Int = 130, reviews: Int = 70, issues: Int = 45, idBase: Int64
    ) -> FakeGitHub.History {
        var random = SeededRandom(seed: seed)
        let now = Date()
        func when() -> Date { now.addingTimeInterval(-Double(random.int(in: 3600...(360 * 86_400)))) }
        let repositories = (0..<12).map { index in
            FakeGitHub.Repo(nameWithOwner: "octo-\(seed)/project-\(index)", isPrivate: index == 3, language: ["Swift", "Go", nil][index % 3])
        }
        // Repository 0 gets a third of the commits, so its listing takes more than one page.
        let history = FakeGitHub.History(
            repositories: repositories,
            commits: (0..<commits).map { index in
                let repo = index % 3 == 0 ? 0 : Int(random.int(in: 1...11))
                return FakeGitHub.Commit(
                    sha: Hex.encode((0..<20).map { _ in UInt8(random.int(in: 0...255)) }), repo: repositories[repo].nameWithOwner, date: when())
            },
            pullRequests: (0..<pullRequests).map { index in
                let created = when()
                let merged =
                    index % 3 != 0 ? min(created.addingTimeInterval(Double(random.int(in: 600...(3 * 86_400)))), now.addingTimeInterval(-60)) : nil
                return FakeGitHub.PullRequest(
                    id: idBase + Int64(index), repo: repositories[index % 12].nameWithOwner, createdAt: created, mergedAt: merged)
            },
            reviews: (0..<reviews).map {
                FakeGitHub.Review(id: idBase + 10_000 + Int64($0), repo: repositories[$0 % 12].nameWithOwner, submittedAt: when())
            },
            issues: (0..<issues).map {
                FakeGitHub.Issue(id: idBase + 20_000 + Int64($0), repo: repositories[$0 % 12].nameWithOwner, createdAt: when())
            })
        return history
    }

    /// What `/api/v1/metrics/daily` must show for these histories, per local date in `zone`.
    static func expectedDays(_ histories: [FakeGitHub.History], zone: String) -> [String: [String: Int]] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        var days: [String: [String: Int]] = [:]
        func add(_ date: Date, _ counter: String) {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let day = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            days[day, default: [:]][counter, default: 0] += 1
        }
        for history in histories {
            history.commits.forEach { add($0.date, "commits") }
            for pr in history.pullRequests {
                add(pr.createdAt, "prs_opened")
                if let merged = pr.mergedAt { add(merged, "prs_merged") }
            }
            history.reviews.forEach { add($0.submittedAt, "reviews") }
            history.issues.forEach { add($0.createdAt, "issues_opened") }
        }
        return days
    }

    /// The daily counters the API shows over the last 365 local days, days without any left out.
    static func shownDays(_ hub: HubUnderTest, token: String) async throws -> [String: [String: Int]] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let today = Date()
        func local(_ date: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        }
        // To tomorrow in `zone`: the range is read in the user's own zone, which is ahead of `zone` while it is still UTC (a
        // commit just after midnight UTC is "tomorrow" in Los Angeles). 366 days, the API's longest range.
        let response = try await hub.get(
            "/api/v1/metrics/daily?from=\(local(today.addingTimeInterval(-364 * 86_400)))&to=\(local(today.addingTimeInterval(86_400)))",
            token: token)
        guard response.status == 200, let days = response.json?["days"] as? [[String: Any]] else {
            throw HarnessError("metrics/daily: \(response.status) \(response.text)")
        }
        var shown: [String: [String: Int]] = [:]
        for day in days {
            let counters = ["commits", "prs_opened", "prs_merged", "reviews", "issues_opened"].compactMap { key in
                (day[key] as? Int).flatMap { $0 > 0 ? (key, $0) : nil }
            }
            if !counters.isEmpty, let date = day["date"] as? String { shown[date] = Dictionary(uniqueKeysWithValues: counters) }
        }
        return shown
    }

    /// Signs in through the whole OAuth flow as curl follows it; returns the browser holding the session.
    static func signIn(_ hub: HubUnderTest, link: Browser? = nil) async throws -> Browser {
        let browser = link ?? Browser(directory: hub.directory)
        let final = try await browser.request(
            "GET", hub.apiURL + "/auth/github" + (link == nil ? "" : "?link=true&return_to=/settings"), follow: true)
        // The flow ends on the hub's own page (`/` or the return path), which has no dashboard yet: a JSON 404.
        guard final.status == 404 || final.status == 200 else { throw HarnessError("sign-in ended with \(final.status): \(final.body)") }
        return browser
    }

    /// A token made through the session (the API's own route), for the `hub.get` helpers.
    static func token(of browser: Browser, _ hub: HubUnderTest) async throws -> String {
        let csrf = try #require(browser.cookie("devtrack_csrf"))
        let answer = try await browser.request(
            "POST", hub.apiURL + "/api/v1/tokens", headers: ["X-CSRF-Token": csrf, "Content-Type": "application/json"], body: #"{"name": "e2e"}"#)
        return try #require(answer.json?["token"] as? String, "\(answer.status) \(answer.body)")
    }

    /// One account's `GET /api/v1/accounts/{id}/sync`, as far as the tests read it.
    struct SyncSeen: Sendable {
        let state: String
        let covered: Bool
        let requests: Int
        let facts: Int
        let lastError: String?
    }

    static func syncStatuses(_ hub: HubUnderTest, token: String) async throws -> [SyncSeen] {
        let accounts = try await hub.get("/api/v1/accounts", token: token).json?["accounts"] as? [[String: Any]] ?? []
        var statuses: [SyncSeen] = []
        for account in accounts {
            guard let id = account["id"] as? String, let json = try await hub.get("/api/v1/accounts/\(id)/sync", token: token).json else { continue }
            statuses.append(
                SyncSeen(
                    state: json["state"] as? String ?? "", covered: json["covered"] is [String: Any], requests: json["requests_total"] as? Int ?? 0,
                    facts: json["facts_total"] as? Int ?? 0, lastError: json["last_error"] as? String))
        }
        return statuses
    }

    /// Waits until every account of the user is idle with a covered window (each run read its whole window).
    static func syncedAll(_ hub: HubUnderTest, token: String, within seconds: Double = 120) async throws -> [SyncSeen] {
        try await eventually(
            within: seconds, every: .milliseconds(500), { try await syncStatuses(hub, token: token) },
            until: { statuses in !statuses.isEmpty && statuses.allSatisfy { $0.state == "idle" && $0.covered } })
    }

    @Test func theOAuthFlowFollowedWithCurlStartsASessionAndRefusesBadOrReplayedStates() async throws {
        let github = FakeGitHub(clientID: HubUnderTest.githubClientID, clientSecret: HubUnderTest.githubClientSecret)
        _ = github.addUser(id: 583_231, login: "octocat")
        github.consentingUser = 583_231
        try await github.serving { githubURL in
            try await withHub(github: githubURL) { hub in
                // Step by step: the hub sends the browser to GitHub with a state and a PKCE challenge.
                let browser = Browser(directory: hub.directory)
                let start = try await browser.request("GET", hub.apiURL + "/auth/github")
                #expect(start.status == 302, "\(start.status) \(start.body)")
                let authorize = try #require(start.location.flatMap(URLComponents.init(string:)))
                let query = Dictionary(uniqueKeysWithValues: (authorize.queryItems ?? []).map { ($0.name, $0.value ?? "") })
                #expect(authorize.path == "/login/oauth/authorize" && query["client_id"] == HubUnderTest.githubClientID)
                #expect(query["redirect_uri"] == hub.apiURL + "/auth/github/callback" && query["code_challenge_method"] == "S256")
                #expect((query["state"] ?? "").count >= 43 && browser.cookie("devtrack_oauth") != nil, "a state bound to this browser")
                #expect(start.headers["set-cookie"]?.contains("HttpOnly") == true)

                let consent = try await browser.request("GET", start.location!)
                let callback = try #require(consent.location, "GitHub sends the browser back: \(consent.status)")
                #expect(callback.hasPrefix(hub.apiURL + "/auth/github/callback?code="))

                // Another browser cannot finish this sign-in with the state it did not start.
                let stranger = Browser(directory: hub.directory)
                let stolen = try await stranger.request("GET", callback)
                #expect(stolen.status == 400 && stolen.errorCode == "state_mismatch", "\(stolen.status) \(stolen.body)")
                // That attempt used the state up: a fresh sign-in in the right browser works.
                let used = try await browser.request("GET", callback)
                #expect(used.status == 400 && used.errorCode == "invalid_state", "a state is good once: \(used.body)")

                let signedIn = try await Self.signIn(hub)
                let session = try #require(signedIn.cookie("devtrack_session"))
                #expect(session.hasPrefix("dts_") && signedIn.cookie("devtrack_csrf") != nil)
                let me = try await signedIn.request("GET", hub.apiURL + "/api/v1/me")
                #expect(me.status == 200 && me.json?["login"] as? String == "octocat" && me.json?["github_id"] as? Int == 583_231, "\(me.body)")

                // Replaying GitHub's callback (state and code) after the sign-in is refused.
                let forged = try await signedIn.request("GET", hub.apiURL + "/auth/github/callback?code=abc&state=forged-state")
                #expect(forged.status == 400 && forged.errorCode == "invalid_state", "\(forged.body)")
                let noCode = try await signedIn.request("GET", hub.apiURL + "/auth/github/callback?state=x")
                #expect(noCode.status == 400 && noCode.errorCode == "missing_code", "\(noCode.body)")

                // A user who declines on GitHub's page lands on a clear error.
                github.denyConsent = true
                let declined = try await Browser(directory: hub.directory).request("GET", hub.apiURL + "/auth/github", follow: true)
                #expect(declined.status == 400 && declined.errorCode == "sign_in_denied", "\(declined.status) \(declined.body)")
                github.denyConsent = false

                // Signing in again is the same user; signing out ends the session.
                let again = try await Self.signIn(hub)
                let same = try await again.request("GET", hub.apiURL + "/api/v1/me")
                #expect(same.json?["id"] as? String == me.json?["id"] as? String)
                let csrf = try #require(signedIn.cookie("devtrack_csrf"))
                let refused = try await signedIn.request("POST", hub.apiURL + "/auth/logout")
                #expect(refused.status == 403 && refused.errorCode == "csrf_token_invalid", "\(refused.body)")
                let out = try await signedIn.request("POST", hub.apiURL + "/auth/logout", headers: ["X-CSRF-Token": csrf])
                #expect(out.status == 204, "\(out.status) \(out.body)")
                let after = try await Browser(directory: hub.directory).request(
                    "GET", hub.apiURL + "/api/v1/me", headers: ["Cookie": "devtrack_session=\(session)"])
                #expect(after.status == 401 && after.errorCode == "invalid_session", "\(after.body)")
                #expect(try await again.request("GET", hub.apiURL + "/api/v1/me").status == 200, "the other browser's session is its own")
            }
        }
    }
}

extension GitHubSignInEndToEndTests {
    /// A push of `commits` (of `login`'s history) as GitHub's webhook sends it to the hub-wide endpoint.
    static func push(_ commits: [FakeGitHub.Commit], login: String, githubID: Int64) -> [UInt8] {
        let items = commits.map { commit in
            #"{"id": "\#(commit.sha)", "distinct": true, "timestamp": "\#(Timestamps.format(commit.date))", "message": "m", "#
                + #""author": {"name": "n", "email": "e@example.com", "username": "\#(login)"}}"#
        }
        let repo = commits.first?.repo ?? "octo/none"
        return Array(
            #"""
            {"ref": "refs/heads/main", "deleted": false, "commits": [\#(items.joined(separator: ","))],
             "repository": {"full_name": "\#(repo)", "language": "Swift"},
             "pusher": {"name": "\#(login)"}, "sender": {"login": "\#(login)", "id": \#(githubID)}}
            """#.utf8)
    }

    @Test func aYearOfHistoryArrivesExactlyOnceAndTheSameCommitsByWebhookAddNothing() async throws {
        let github = FakeGitHub(clientID: HubUnderTest.githubClientID, clientSecret: HubUnderTest.githubClientSecret)
        let history = Self.year(seed: 1, idBase: 1_000_000)
        github.addUser(id: 9_001, login: "yearling", history: history)
        github.consentingUser = 9_001
        try await github.serving { githubURL in
            try await withHub(github: githubURL) { hub in
                let started = Date()
                let browser = try await Self.signIn(hub)
                let token = try await Self.token(of: browser, hub)
                let zoned = try await hub.api("PATCH", "/api/v1/settings", #"{"timezone": "\#(Self.zone)"}"#, token: token)
                #expect(zoned.status == 200, "\(zoned.text)")
                let statuses = try await Self.syncedAll(hub, token: token)
                let backfill = Date().timeIntervalSince(started)
                try await hub.settled()
                let expected = Self.expectedDays([history], zone: Self.zone)
                let shown = try await Self.shownDays(hub, token: token)
                #expect(shown == expected, "days that differ: \(Set(shown.keys).symmetricDifference(expected.keys).sorted().prefix(5))")
                let facts =
                    history.commits.count + history.pullRequests.count + history.pullRequests.filter { $0.mergedAt != nil }.count
                    + history.reviews.count + history.issues.count
                #expect(statuses.first?.facts == facts, "\(statuses)")
                let requests = github.requests.filter { $0.kind == .graphql || $0.kind == .rest }.count
                #expect(statuses.first?.requests == requests, "the status counts every API request: \(statuses)")
                print(
                    "github-sync backfill: \(facts) facts over a year (\(history.commits.count) commits in 12 repositories) "
                        + "from \(requests) GitHub requests (\(github.count(.graphql)) GraphQL, \(github.count(.rest)) REST), "
                        + "\(String(format: "%.1f", backfill)) s from sign-in to synced"
                )

                // The same commits (and PR) by webhook count once; a new one by webhook counts.
                let seen = Array(history.commits.prefix(25))
                let fresh = FakeGitHub.Commit(
                    sha: Hex.encode(Credentials.randomBytes(20)), repo: seen[0].repo, date: Date().addingTimeInterval(-7200))
                let replayed = try await hub.postGitHub("push", Self.push(seen, login: "yearling", githubID: 9_001), delivery: "replay-1")
                #expect(replayed.status == 202, "\(replayed.text)")
                let new = try await hub.postGitHub("push", Self.push([fresh], login: "yearling", githubID: 9_001), delivery: "new-1")
                #expect(new.status == 202)
                try await hub.settled()
                var withNew = expected
                for (day, counters) in Self.expectedDays([FakeGitHub.History(commits: [fresh])], zone: Self.zone) {
                    withNew[day, default: [:]]["commits", default: 0] += counters["commits"] ?? 0
                }
                #expect(try await Self.shownDays(hub, token: token) == withNew, "25 known commits added nothing, the new one added 1")
            }
        }
    }

    @Test func rateLimitsMidBackfillAreWaitedOutWithoutGapsOrDuplicates() async throws {
        let github = FakeGitHub(clientID: HubUnderTest.githubClientID, clientSecret: HubUnderTest.githubClientSecret)
        let history = Self.year(seed: 2, commits: 250, pullRequests: 120, reviews: 30, issues: 20, idBase: 2_000_000)
        github.addUser(id: 9_002, login: "limited", history: history)
        github.consentingUser = 9_002
        // Four requests per budget (GraphQL's and REST's), refilled 2 s after first use.
        github.setPrimaryLimit(perToken: 4, resetAfter: .seconds(2))
        try await github.serving { githubURL in
            try await withHub(github: githubURL) { hub in
                let browser = try await Self.signIn(hub)
                // And a secondary limit on one of the sync's next requests (sign-in's own `/user` is past).
                github.failNextWithSecondaryLimit(count: 1, retryAfterSeconds: 1)
                let token = try await Self.token(of: browser, hub)
                // Watch the status while the backfill runs: it pauses for each limit and resumes after the reset.
                var pauses = Set<String>()
                let deadline = Date().addingTimeInterval(180)
                while Date() < deadline {
                    let statuses = try await Self.syncStatuses(hub, token: token)
                    if let status = statuses.first, status.state == "waiting", let error = status.lastError { pauses.insert(error) }
                    if let status = statuses.first, status.state == "idle", status.covered { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(try await Self.syncStatuses(hub, token: token).first?.covered == true, "the backfill finished within 180 s")
                #expect(pauses.contains { $0.contains("primary rate limit") }, "paused for the primary limit: \(pauses)")
                #expect(pauses.contains { $0.contains("secondary rate limit") }, "paused for the secondary limit: \(pauses)")
                try await hub.settled()
                #expect(try await Self.shownDays(hub, token: token) == Self.expectedDays([history], zone: "UTC"), "no gap, no duplicate")
                // `X-RateLimit-Remaining: 0` is honoured before asking again: the only refusal is the unforeseeable secondary one.
                let refused = github.requests.filter { $0.status == 403 || ($0.kind == .graphql && $0.status != 200) }
                #expect(refused.count == 1, "\(refused.map(\.target))")
                let repeatedPages = Dictionary(grouping: github.requests.filter { $0.status == 200 && $0.kind == .rest }, by: \.target).filter {
                    $0.value.count > 1
                }
                #expect(repeatedPages.isEmpty, "no page read twice: \(repeatedPages.keys.sorted().prefix(3))")
            }
        }
    }

    @Test func aSecondLinkedAccountAddsToTheSameUserAndARevokedTokenAsksForSignIn() async throws {
        let github = FakeGitHub(clientID: HubUnderTest.githubClientID, clientSecret: HubUnderTest.githubClientSecret)
        let personal = Self.year(seed: 3, commits: 60, pullRequests: 20, reviews: 10, issues: 5, idBase: 3_000_000)
        let work = Self.year(seed: 4, commits: 80, pullRequests: 15, reviews: 12, issues: 6, idBase: 4_000_000)
        github.addUser(id: 9_003, login: "dev", history: personal)
        let workToken = github.addUser(id: 9_004, login: "dev-at-work", history: work)
        try await github.serving { githubURL in
            // Accounts are synced again 3 s after each run: the revoked token is noticed soon.
            try await withHub(github: githubURL, syncIntervalSeconds: 3) { hub in
                github.consentingUser = 9_003
                let browser = try await Self.signIn(hub)
                let token = try await Self.token(of: browser, hub)
                github.consentingUser = 9_004
                _ = try await Self.signIn(hub, link: browser)
                let accounts = try await hub.get("/api/v1/accounts", token: token).json?["accounts"] as? [[String: Any]] ?? []
                #expect(accounts.map { $0["login"] as? String } == ["dev", "dev-at-work"], "\(accounts)")
                _ = try await Self.syncedAll(hub, token: token)
                try await hub.settled()
                #expect(try await Self.shownDays(hub, token: token) == Self.expectedDays([personal, work], zone: "UTC"))

                // The work account's own webhook activity credits the same user.
                let commit = FakeGitHub.Commit(sha: Hex.encode(Credentials.randomBytes(20)), repo: "corp/app", date: Date().addingTimeInterval(-600))
                #expect(
                    try await hub.postGitHub("push", Self.push([commit], login: "dev-at-work", githubID: 9_004), delivery: "work-1").status == 202)
                try await hub.settled()
                let shown = try await Self.shownDays(hub, token: token).values.reduce(0) { $0 + ($1["commits"] ?? 0) }
                #expect(shown == personal.commits.count + work.commits.count + 1, "every commit of both accounts and the webhook's")

                // GitHub revokes the work token: that account waits for a new sign-in, and the user is told in-app.
                github.revoke(token: workToken)
                let needsSignIn = try await eventually(
                    within: 60, every: .milliseconds(500), { try await Self.syncStatuses(hub, token: token).map(\.state) },
                    until: { $0.contains("needs_reauth") })
                #expect(needsSignIn == ["idle", "needs_reauth"] || needsSignIn == ["running", "needs_reauth"], "\(needsSignIn)")
                let told = try await eventually(
                    within: 30, every: .milliseconds(500),
                    {
                        let notifications = try await hub.get("/api/v1/notifications", token: token).json?["notifications"] as? [[String: Any]] ?? []
                        return notifications.filter { $0["type"] as? String == "account.reauth_needed" }.compactMap { $0["body"] as? String }
                    }, until: { !$0.isEmpty })
                #expect(told.count == 1 && told[0].contains("@dev-at-work"), "\(told)")
                // Signing in with that account again (linking it anew) resumes its sync.
                github.consentingUser = 9_004
                _ = try await Self.signIn(hub, link: browser)
                let resumed = try await eventually(
                    within: 60, every: .milliseconds(500), { try await Self.syncStatuses(hub, token: token).map(\.state) },
                    until: { !$0.contains("needs_reauth") })
                #expect(!resumed.contains("needs_reauth"))
            }
        }
    }
}
