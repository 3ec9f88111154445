import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Leaving the hub on the built binary: a user with data in every part of it deletes their account (and an operator
/// deletes another with `devtrack users delete`); no row of theirs is left in any table, the leaderboard and the other
/// user's numbers are as if they had never been, and their sources, keys and tokens are refused — also for events still
/// in Kafka, replayed.
@Suite(.timeLimit(.minutes(6)))
struct AccountDeletionEndToEndTests {
    /// Tables whose rows belong to a user through another key than a user column, and how to find the leaver's.
    static func ownedByOtherKeys(sourceIDs: [String], goalIDs: [String], outboxIDs: [String], accountIDs: [String]) -> [String: String] {
        func list(_ ids: [String]) -> String { ids.isEmpty ? "NULL" : ids.map { "'\($0)'" }.joined(separator: ",") }
        return [
            "webhook_deliveries": "source IN (\(list(sourceIDs)))",
            "goal_completions": "goal_id::text IN (\(list(goalIDs)))",
            "goal_reminders": "goal_id::text IN (\(list(goalIDs)))",
            "delivery_attempts": "outbox_id::text IN (\(list(outboxIDs)))",
            "github_sync_state": "account_id::text IN (\(list(accountIDs)))",
        ]
    }

    /// Tables that hold nothing of any one user: counts per board, zones' dates, address windows, raw bodies kept as long
    /// as Kafka keeps the events that name them, and the migrations.
    static let sharedTables: Set<String> = [
        "leaderboard_buckets", "leaderboard_zone_days", "request_windows", "large_payloads", "schema_migrations",
    ]

    @Test func deletingAnAccountLeavesNoRowOfItAndItsEventsAreRefusedOrDropped() async throws {
        let receiver = FakeDiscord()
        try await receiver.serving { base in
            try await withHub { hub in
                let leaver = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                let stayer = try await hub.createUser(login: "baxterthehacker", githubID: 6752317)
                func call(_ method: String, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: token ?? leaver.token)
                }

                // The leaver's data in every part of the hub: a source and a push through it, a coding key and heartbeats,
                // a goal, a webhook endpoint (the achievement's delivery), a public profile on the leaderboard, a freeze, a
                // token and a browser session. The stayer's push comes through the hub-wide endpoint.
                // The endpoint first: the first commit's achievement is delivered to it.
                let hook = "300000000000000001"
                #expect(
                    try await call(
                        "POST", "/api/v1/webhooks", #"{"name": "CI", "url": "\#(base)/api/webhooks/\#(hook)/t", "events": ["achievement.unlocked"]}"#
                    ).status == 201)
                let source = try await call("POST", "/api/v1/sources", #"{"kind":"github"}"#)
                let sourceURL = try #require(source.json?["url"] as? String)
                let sourceID = try #require(source.json?["id"] as? String)
                let sourceSecret = try #require(source.json?["secret"] as? String)
                let sourcePath = String(sourceURL.dropFirst(hub.ingestURL.count))
                let push = try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20)))
                #expect(try await hub.postGitHub("push", push, delivery: "leaver-1", path: sourcePath, secret: sourceSecret).status == 202)
                #expect(try await hub.postGitHub("push", Array(try Fixtures.data("push/branch-updated.json")), delivery: "stayer-1").status == 202)
                let key = try #require(try await call("POST", "/api/v1/coding/keys", #"{"name":"laptop"}"#).json?["key"] as? String)
                let now = Date().timeIntervalSince1970.rounded() - 600
                func heartbeats(_ key: String) async throws -> Int {
                    try await hub.request(
                        "POST", hub.ingestURL + "/api/v1/heartbeats",
                        headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
                        body: Array(#"[{"time": \#(now), "entity": "a.swift", "project": "p"}, {"time": \#(now + 60), "entity": "a.swift"}]"#.utf8)
                    ).status
                }
                #expect(try await heartbeats(key) == 201)
                #expect(
                    try await call("POST", "/api/v1/goals", #"{"title": "Ship", "target": 5, "unit": "commits", "period": "weekly"}"#).status == 201)
                for token in [leaver.token, stayer.token] {
                    #expect(
                        try await call("PATCH", "/api/v1/settings", #"{"is_public": true, "leaderboard_opt_in": true}"#, token: token).status == 200)
                }
                let today = LocalDate(Date(), in: .gmt)
                #expect(try await call("POST", "/api/v1/streak/freezes", #"{"date": "\#(today.adding(days: -1))"}"#).status == 201)
                let second = try #require(try await call("POST", "/api/v1/tokens", #"{"name":"script"}"#).json?["token"] as? String)
                let link = try await hub.run(["users", "sign-in-link", "--login", "Codertocat"])
                let linkURL = try #require(link.output.split(separator: "\n").last(where: { $0.contains("/auth/link/") }).map(String.init))
                _ = try await hub.request("GET", linkURL)

                // Everything has arrived: both on the leaderboard, the leaver's first commit delivered to their endpoint.
                _ = try await eventually(within: 90, { try await hub.summary(token: leaver.token) }, until: { $0["commits"] == 1 })
                do {
                    _ = try await eventually(within: 120, { receiver.requests(to: hook) }, until: { !$0.isEmpty })
                } catch {
                    let state = try await hub.query(
                        """
                        SELECT 'notification ' || type || ' ' || created_at FROM notifications
                        UNION ALL SELECT 'outbox ' || channel || ' ' || status || ' ' || attempts || ' ' || coalesce(last_error, '') FROM outbox
                        UNION ALL SELECT 'achievement ' || achievement_id || ' ' || unlocked_at FROM user_achievements
                        """)
                    throw HarnessError("\(error); rows: \(state)")
                }
                let board = try await eventually(
                    within: 30, { try await hub.request("GET", hub.apiURL + "/api/v1/leaderboard?metric=commits&period=all") },
                    until: { (($0.json?["entries"] as? [[String: Any]]) ?? []).count == 2 })
                #expect(board.status == 200)
                try await hub.settled()

                let userTables = Set(
                    try await hub.query(
                        """
                        SELECT table_name || '.' || column_name FROM information_schema.columns
                        WHERE table_schema = 'public' AND column_name IN ('user_id', 'link_user_id')
                        UNION ALL SELECT 'users.id'
                        """))
                let allTables = Set(try await hub.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
                let goalIDs = try await hub.query("SELECT id FROM goals WHERE user_id = '\(leaver.id)'")
                let outboxIDs = try await hub.query("SELECT id FROM outbox WHERE user_id = '\(leaver.id)'")
                let accountIDs = try await hub.query("SELECT id FROM github_accounts WHERE user_id = '\(leaver.id)'")
                let others = Self.ownedByOtherKeys(sourceIDs: [sourceID], goalIDs: goalIDs, outboxIDs: outboxIDs, accountIDs: accountIDs)
                let classified = Set(userTables.map { String($0.split(separator: ".")[0]) }).union(others.keys).union(Self.sharedTables)
                #expect(allTables.subtracting(classified).isEmpty, "tables nobody said whose rows they hold: \(allTables.subtracting(classified))")

                /// A user's rows, per table that has any (`others`: the leaver's, by other keys).
                func rows(of userID: String, others: [String: String]) async throws -> [String: Int] {
                    var parts = userTables.sorted().map { column -> String in
                        let (table, name) = (column.split(separator: ".")[0], column.split(separator: ".")[1])
                        return "SELECT '\(table)', count(*) FROM \(table) WHERE \(name) = '\(userID)'"
                    }
                    parts += others.sorted { $0.key < $1.key }.map { "SELECT '\($0.key)', count(*) FROM \($0.key) WHERE \($0.value)" }
                    var counts: [String: Int] = [:]
                    for line in try await hub.query(parts.joined(separator: " UNION ALL ")) {
                        let fields = line.split(separator: "|")
                        if let count = Int(fields[1]), count > 0 { counts[String(fields[0]), default: 0] += count }
                    }
                    return counts
                }
                func leaversRows() async throws -> [String: Int] { try await rows(of: leaver.id, others: others) }
                let before = try await leaversRows()
                let expected: Set<String> = [
                    "users", "api_tokens", "sessions", "sign_in_links", "github_accounts", "webhook_sources", "webhook_deliveries", "activities",
                    "daily_stats", "user_totals", "coding_api_keys", "heartbeats", "coding_daily", "goals", "streak_freezes", "user_achievements",
                    "notifications", "outbox", "delivery_attempts", "webhook_endpoints", "profiles", "leaderboard_scores",
                ]
                #expect(expected.subtracting(before.keys).isEmpty, "the leaver has rows in these before: \(before)")

                // The confirmation must name the account.
                for body in [#"{}"#, #"{"confirm_login": "someone"}"#] {
                    let refused = try await call("DELETE", "/api/v1/me", body)
                    #expect(refused.status == 400, "\(body): \(refused.text)")
                    #expect((refused.json?["error"] as? [String: Any])?["code"] as? String == "confirmation_mismatch")
                }
                let deleted = try await call("DELETE", "/api/v1/me", #"{"confirm_login": "codertocat"}"#)
                #expect(deleted.status == 200, "\(deleted.text)")
                #expect(deleted.json?["login"] as? String == "Codertocat" && deleted.json?["notifications"] as? Int ?? 0 >= 1, "\(deleted.text)")
                #expect(try await leaversRows() == ["account_deletions": 1], "only the id stays, for the scheduler's sweep")

                // Nothing of theirs answers any more; the stayer alone is on the board, with the same numbers.
                #expect(try await call("GET", "/api/v1/me").status == 401)
                #expect(try await call("GET", "/api/v1/me", token: second).status == 401)
                #expect(try await heartbeats(key) == 401)
                // Ingest may still know the source's secret for `ingest.source_cache_ttl_seconds` (then the normalize worker
                // drops the delivery: no source); after that the source is unknown.
                let late = try await hub.postGitHub("push", push, delivery: "leaver-2", path: sourcePath, secret: sourceSecret)
                #expect([202, 404].contains(late.status), "\(late.text)")
                let after = try await eventually(
                    within: 30, { try await hub.request("GET", hub.apiURL + "/api/v1/leaderboard?metric=commits&period=all") },
                    until: { (($0.json?["entries"] as? [[String: Any]]) ?? []).count == 1 })
                let entry = (after.json?["entries"] as? [[String: Any]])?.first
                #expect(entry?["login"] as? String == "baxterthehacker" && entry?["rank"] as? Int == 1, "\(after.text)")
                let boards = try await hub.query(
                    """
                    SELECT count(*) FROM (SELECT metric, period, language, count(*) AS n FROM leaderboard_scores GROUP BY 1, 2, 3) s
                    FULL JOIN (SELECT metric, period, language, sum(users) AS n FROM leaderboard_buckets GROUP BY 1, 2, 3 HAVING sum(users) > 0) b
                    USING (metric, period, language) WHERE s.n IS DISTINCT FROM b.n
                    """)
                #expect(boards == ["0"], "every board's bucket counts match its scores")
                #expect(try await hub.summary(token: stayer.token, from: "2015-01-01", to: "2015-12-31")["commits"] == 1)

                // A replay of every worker from the start of its topics brings none of it back, nor does a new commit of the
                // leaver's through the hub-wide endpoint (it credits a GitHub account no user has any more).
                await hub.worker.stop()
                let replay = try await hub.run(["replay", "all"])
                #expect(replay.code == 0, "\(replay.output)")
                try await hub.startWorker()
                let newer = try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20)))
                #expect(try await hub.postGitHub("push", newer, delivery: "leaver-3").status == 202)
                try await hub.settled()
                #expect(try await hub.summary(token: stayer.token, from: "2015-01-01", to: "2015-12-31")["commits"] == 1)
                #expect(try await leaversRows() == ["account_deletions": 1], "nothing of the leaver written by the replay")

                // The operator's command does the same for the stayer: it asks for the login twice, says what went, and leaves
                // only the id for the sweep; the board is empty.
                let unconfirmed = try await hub.run(["users", "delete", "--login", "baxterthehacker", "--confirm", "baxter"])
                #expect(unconfirmed.code != 0 && unconfirmed.output.contains("--confirm must repeat --login"), "\(unconfirmed.output)")
                let stayerRows = try await rows(of: stayer.id, others: [:])
                #expect(["users", "activities", "profiles", "leaderboard_scores"].allSatisfy { stayerRows[$0] != nil }, "\(stayerRows)")
                let removed = try await hub.run(["users", "delete", "--login", "baxterthehacker", "--confirm", "BaxterTheHacker"])
                #expect(removed.code == 0, "\(removed.output)")
                let summary = try #require(removed.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(removed.output)")
                #expect(summary.contains("\"login\":\"baxterthehacker\""), "\(summary)")
                #expect(try await rows(of: stayer.id, others: [:]) == ["account_deletions": 1])
                #expect(try await hub.get("/api/v1/me", token: stayer.token).status == 401)
                let empty = try await eventually(
                    within: 30, { try await hub.request("GET", hub.apiURL + "/api/v1/leaderboard?metric=commits&period=all") },
                    until: { (($0.json?["entries"] as? [[String: Any]]) ?? []).isEmpty })
                #expect(empty.status == 200)
                let again = try await hub.run(["users", "delete", "--login", "baxterthehacker", "--confirm", "baxterthehacker"])
                #expect(again.code != 0 && again.output.contains("no user with login"), "\(again.output)")
            }
        }
    }
}
