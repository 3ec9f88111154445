import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

/// `ExportController`: an export holds exactly the user's rows (and no secret), another user's never; it is limited,
/// and a download can be told whole by its last line.
@Suite(.timeLimit(.minutes(2)))
struct ExportRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/export"), APIRoute(.get, "/api/v1/export/{id}"), APIRoute(.get, "/api/v1/export/{id}/download"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    /// The lines of a download, parsed; the first and the last apart.
    static func download(
        _ api: APIRouterTest, _ url: String, token: String? = nil
    ) async throws
        -> (header: [String: Any], lines: [[String: Any]], end: [String: Any], response: APIResponse)
    {
        let response = try await api.call(.get, url, token: token)
        #expect(response.status == .ok, "\(response)")
        let objects = try response.text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        return (try #require(objects.first), Array(objects.dropFirst().dropLast()), try #require(objects.last), response)
    }

    @Test func anExportHoldsExactlyTheUsersRowsAndNoSecret() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let me = api.user.id
            func fact(_ id: String, _ user: UUID, _ at: String) -> ActivityFact {
                ActivityFact(
                    id: id, userID: user, kind: .commit, occurredAt: Timestamps.parse(at)!, repo: "octo/app", language: "Swift", source: "github-app")
            }
            let facts = [
                fact("commit:1", me, "2024-03-01T10:00:00Z"), fact("commit:2", me, "2024-03-02T10:00:00Z"),
                fact("commit:x", other.id, "2024-03-01T10:00:00Z"),
            ]
            _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
            try await api.store.client.query(
                """
                INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
                SELECT \(me), 1709287200 + n * 60, 'main.swift', 'file', 'coding', 'app', 'main', 'Swift', 'vim', 'laptop', false
                FROM generate_series(1, 250) AS n
                """)
            let source = try await api.call(.post, "/api/v1/sources", #"{"kind": "github", "name": "mine"}"#)
            let secret = try #require(source.value("secret", as: String.self))
            let key = try #require(try await api.call(.post, "/api/v1/coding/keys", #"{"name": "laptop"}"#).value("key", as: String.self))
            #expect(
                try await api.call(.post, "/api/v1/goals", #"{"title": "Ship", "target": 3, "unit": "commits", "period": "weekly"}"#).status
                    == .created)

            let created = try await api.call(.post, "/api/v1/export", "{}")
            #expect(created.status == .accepted, "\(created)")
            let id = try #require(created.value("id", as: String.self))
            #expect(created.value("status", as: String.self) == "ready")
            #expect(created.value("download_url", as: String.self) == "/api/v1/export/\(id)/download")
            let expiresAt = try #require(created.value("expires_at", as: String.self).flatMap(Timestamps.parse))
            #expect(abs(expiresAt.timeIntervalSinceNow - 86_400) < 60)
            let rows = try #require(created.value("rows", as: [String: Int].self))
            #expect(rows["facts"] == 2 && rows["heartbeats"] == 250 && rows["goals"] == 1 && rows["sources"] == 1, "\(created)")
            #expect(rows["coding_keys"] == 1 && rows["tokens"] == 1 && rows["profile"] == 1, "\(created)")
            #expect(try await api.call(.get, "/api/v1/export/\(id)").value("rows", as: [String: Int].self) == rows)

            let (header, lines, end, response) = try await Self.download(api, "/api/v1/export/\(id)/download")
            #expect(response.headers[.contentType] == "application/x-ndjson; charset=utf-8")
            #expect(response.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"devtrack-export-Codertocat-") == true)
            #expect(
                header["type"] as? String == "export" && header["format"] as? String == "devtrack-export/1"
                    && header["login"] as? String == "Codertocat")
            #expect(end["type"] as? String == "end")
            #expect(end["rows"] as? [String: Int] == rows, "the download holds what was counted")
            #expect(lines.count == rows.values.reduce(0, +))
            let sections = header["sections"] as? [String] ?? []
            #expect(
                lines.map { $0["section"] as? String ?? "" }
                    == lines.map { $0["section"] as? String ?? "" }.sorted {
                        sections.firstIndex(of: $0)! < sections.firstIndex(of: $1)!
                    }, "sections in the header's order")
            func data(_ section: String) -> [[String: Any]] {
                lines.filter { $0["section"] as? String == section }.compactMap { $0["data"] as? [String: Any] }
            }
            #expect(data("facts").map { $0["id"] as? String } == ["commit:1", "commit:2"], "only mine, oldest first")
            #expect(data("facts").first?["occurred_at"] as? String == "2024-03-01T10:00:00+00:00")
            #expect(data("heartbeats").count == 250 && data("heartbeats").first?["time"] as? Double == 1_709_287_260)
            #expect(data("profile").first?["login"] as? String == "Codertocat")
            #expect(data("goals").first?["title"] as? String == "Ship")
            #expect(!response.text.contains(secret) && !response.text.contains(key) && !response.text.contains(api.user.token), "no secret")
            #expect(!response.text.contains("hash") && !response.text.contains("sealed"), "no hash or sealed column")
            #expect(!response.text.contains("commit:x"), "nothing of another user")

            // Another user's export is not found, under any of its routes.
            for path in ["/api/v1/export/\(id)", "/api/v1/export/\(id)/download"] {
                expectError(try await api.call(.get, path, token: other.token), .notFound, "not_found", path)
            }
            expectError(try await api.call(.get, "/api/v1/export/not-an-id"), .notFound, "not_found")
        }
    }

    /// One row in each table of the export for `user`, every text naming `marker`; two facts and days of totals.
    static func seedEverySection(_ api: APIRouterTest, user: UUID, marker: String, githubID: Int64) async throws {
        let facts = ["1", "2"].map {
            ActivityFact(
                id: "commit:\(marker)-\($0)", userID: user, kind: .commit, occurredAt: Timestamps.parse("2024-03-0\($0)T10:00:00Z")!,
                repo: "octo/\(marker)", language: "Swift", source: "github-app")
        }
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
        _ = try await api.store.sessions.createSession(userID: user, lifetime: .seconds(3600))
        _ = try await api.store.codingKeys.createCodingKey(userID: user, name: marker)
        let (account, goal, endpoint, source, outbox) = (UUID(), UUID(), UUID(), UUID(), UUID())
        let client = api.store.client
        try await client.query(
            """
            INSERT INTO github_accounts (id, user_id, github_id, login) VALUES (\(account), \(user), \(githubID), \(marker))
            """)
        try await client.query("INSERT INTO github_sync_state (account_id) VALUES (\(account))")
        try await client.query(
            """
            INSERT INTO webhook_endpoints (id, user_id, name, url, events, secret_sealed)
            VALUES (\(endpoint), \(user), \(marker), \("https://example.com/\(marker)"), ARRAY['test'], '\\x00')
            """)
        try await client.query(
            """
            INSERT INTO webhook_sources (id, user_id, kind, name, secret_sealed) VALUES (\(source), \(user), 'github', \(marker), '\\x00')
            """)
        try await client.query(
            """
            INSERT INTO webhook_deliveries (direction, source, delivery_id, event, status)
            VALUES ('inbound', \(source.uuidString.lowercased()), \(marker), 'push', 'processed')
            """)
        try await client.query(
            """
            INSERT INTO goals (id, user_id, title, target, unit, period) VALUES (\(goal), \(user), \(marker), 3, 'commits', 'weekly')
            """)
        try await client.query("INSERT INTO goal_completions (goal_id, period_start, completed_at) VALUES (\(goal), '2024-02-26', now())")
        try await client.query("INSERT INTO streak_freezes (user_id, day) VALUES (\(user), '2024-03-03')")
        try await client.query(
            "INSERT INTO user_achievements (user_id, achievement_id, unlocked_at, fact_id) VALUES (\(user), 'first_commit', now(), \(facts[0].id))")
        try await client.query(
            """
            INSERT INTO coding_daily (user_id, day, project, language, editor, branch, category, machine, seconds)
            VALUES (\(user), '2024-03-01', \(marker), 'Swift', 'vim', 'main', 'coding', 'laptop', 600)
            """)
        try await client.query("INSERT INTO coding_reported (user_id, day, seconds) VALUES (\(user), '2024-03-01', 900)")
        try await client.query(
            """
            INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
            VALUES (\(user), 1709287200, \(marker), 'file', 'coding', 'app', 'main', 'Swift', 'vim', 'laptop', false)
            """)
        try await client.query(
            """
            INSERT INTO notifications (id, user_id, type, title, body, dedupe_key)
            VALUES (\(UUID()), \(user), 'streak.milestone', \(marker), 'b', \("n-\(marker)"))
            """)
        try await client.query(
            """
            INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload)
            VALUES (\(outbox), \(user), 'webhook', \(endpoint.uuidString.lowercased()), \("o-\(marker)"), 'test', \("{\"m\": \"\(marker)\"}")::jsonb)
            """)
        try await client.query("INSERT INTO delivery_attempts (outbox_id, attempt, latency_ms, error) VALUES (\(outbox), 1, 12, \(marker))")
    }

    /// Every section of an export holds exactly the user's rows: one of each kind seeded for two users, and only the
    /// first user's in their download, section by section.
    @Test func everySectionHoldsTheUsersRowsAndNoOneElses() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            try await Self.seedEverySection(api, user: api.user.id, marker: "mine-7f3a", githubID: 9_000_001)
            try await Self.seedEverySection(api, user: other.id, marker: "theirs-c21b", githubID: 9_000_002)
            let created = try await api.call(.post, "/api/v1/export", "{}")
            let id = try #require(created.value("id", as: String.self), "\(created)")
            let (header, lines, end, response) = try await Self.download(api, "/api/v1/export/\(id)/download")
            let expected = [
                "profile": 1, "settings": 1, "linked_accounts": 2, "tokens": 1, "sessions": 1, "coding_keys": 1, "sources": 1, "webhooks": 1,
                "goals": 1, "goal_history": 1, "streak_freezes": 1, "achievements": 1, "totals": 1, "daily_stats": 2, "coding_daily": 1,
                "coding_reported": 1, "facts": 2, "heartbeats": 1, "notifications": 1, "deliveries": 1, "delivery_attempts": 1,
                "delivery_log": 1,
            ]
            #expect(Set(header["sections"] as? [String] ?? []) == Set(expected.keys), "\(header)")
            #expect(end["rows"] as? [String: Int] == expected, "\(end)")
            var counted: [String: Int] = [:]
            for line in lines { counted[line["section"] as? String ?? "?", default: 0] += 1 }
            #expect(counted == expected.filter { $0.value > 0 })
            func first(_ section: String) -> [String: Any] {
                lines.first { $0["section"] as? String == section }?["data"] as? [String: Any] ?? [:]
            }
            let accounts = lines.filter { $0["section"] as? String == "linked_accounts" }.compactMap {
                ($0["data"] as? [String: Any])?["login"] as? String
            }
            #expect(accounts == ["Codertocat", "mine-7f3a"], "the sign-in's account and the seeded one")
            #expect(first("webhooks")["url"] as? String == "https://example.com/mine-7f3a")
            #expect(first("goals")["title"] as? String == "mine-7f3a" && first("goal_history")["period_start"] as? String == "2024-02-26")
            #expect(first("streak_freezes")["day"] as? String == "2024-03-03")
            #expect(first("achievements")["fact_id"] as? String == "commit:mine-7f3a-1")
            #expect(first("totals")["commits"] as? Int == 2 && first("daily_stats")["day"] as? String == "2024-03-01")
            #expect(first("coding_daily")["project"] as? String == "mine-7f3a" && first("coding_daily")["seconds"] as? Double == 600)
            #expect(first("coding_reported")["seconds"] as? Int == 900 && first("heartbeats")["entity"] as? String == "mine-7f3a")
            #expect(first("notifications")["title"] as? String == "mine-7f3a" && first("deliveries")["status"] as? String == "pending")
            #expect(first("delivery_attempts")["error"] as? String == "mine-7f3a" && first("delivery_log")["delivery_id"] as? String == "mine-7f3a")
            #expect(first("sources")["name"] as? String == "mine-7f3a" && first("sessions")["expires_at"] != nil)
            #expect(first("coding_keys")["name"] as? String == "mine-7f3a")
            #expect(!response.text.contains("theirs-c21b"), "nothing of the other user's")
        }
    }

    @Test func aUserHasAtMostThreeDownloadableExportsAndExpiredOnesGo() async throws {
        try await APIRouterTest.run { api in
            var ids: [String] = []
            for _ in 1...3 { ids.append(try #require(try await api.call(.post, "/api/v1/export", "{}").value("id", as: String.self))) }
            let refused = try await api.call(.post, "/api/v1/export", "{}")
            expectError(refused, .tooManyRequests, "export_limit")
            let wait = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((86_300...86_400).contains(wait), "until the oldest expires: \(wait)")
            #expect(try await api.call(.post, "/api/v1/export", "{}", token: try await api.newUser("other").token).status == .accepted, "per user")
            try await api.store.client.query(
                "UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: ids[0])!)")
            expectError(try await api.call(.get, "/api/v1/export/\(ids[0])/download"), .notFound, "not_found", "expired")
            #expect(try await api.call(.post, "/api/v1/export", "{}").status == .accepted, "an expired one no longer counts")
        }
    }
}
